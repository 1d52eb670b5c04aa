"""Lockers and doors: the locker service and the door controller it opens doors with.

At start the kiosk settles every step a crash interrupted (reconcile) before anyone can
use the screen; reconcile never pulses a lock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk.feature import Feature
from kiosk.lockers.service import LockerService

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

log = logging.getLogger(__name__)


def build(kiosk: Kiosk) -> None:
    kiosk.lockers = LockerService(kiosk.store, kiosk.outbox, kiosk.board, kiosk.config,
                                  clock=kiosk.clock)
    kiosk.doors = kiosk.lockers.doors


def start(kiosk: Kiosk) -> None:
    report = kiosk.lockers.reconcile()
    if report.resolved or report.in_review:
        log.warning("carried on after a stop: %d step(s) settled, %d for review",
                    len(report.resolved), len(report.in_review))


FEATURE = Feature("lockers", build, start=start)
