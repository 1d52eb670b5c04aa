"""Lockers and doors: the locker service and the door controller it opens doors with.

At start the kiosk settles every step a crash interrupted (reconcile) before anyone can
use the screen; reconcile never pulses a lock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.feature import Feature, Periodic
from kiosk.lockers.service import LockerService

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

log = logging.getLogger(__name__)


def build(kiosk: Kiosk) -> None:
    kiosk.lockers = LockerService(kiosk.store, kiosk.outbox, kiosk.board, kiosk.config,
                                  clock=kiosk.clock)
    kiosk.doors = kiosk.lockers.doors


# Doors left open by a pickup whose screen went away are settled this soon after they shut;
# codes a courier's round held for a correction go out once ``correct_within_s`` is over.
TIDY_EVERY_S = 2.0


def start(kiosk: Kiosk) -> None:
    report = kiosk.lockers.reconcile()
    if report.resolved or report.in_review:
        log.warning("carried on after a stop: %d step(s) settled, %d for review",
                    len(report.resolved), len(report.in_review))
    # No courier's session outlives a stop: nobody is left to correct a held unit.
    kiosk.lockers.release_held_codes(all_now=True)


def tidy(kiosk: Kiosk) -> None:
    kiosk.lockers.settle_unattended()
    kiosk.lockers.release_held_codes()


def periodic(kiosk: Kiosk) -> list[Periodic]:
    return [Periodic("lockers", TIDY_EVERY_S, lambda: tidy(kiosk))]


FEATURE = Feature("lockers", build, start=start, periodic=periodic)
