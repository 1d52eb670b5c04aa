"""The fair parking register, with the car park's spot sensors and barrier.

A spot sensor goes to the register first (check-in, a car on an unreserved spot), then to
whoever listens (the screen) as ``spot`` with the register's outcome.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiosk import households
from kiosk.feature import Feature
from kiosk.parking.register import ParkingRegister
from kiosk.parking.settings import ParkingSettings

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config

log = logging.getLogger(__name__)


def check(config: Config) -> None:
    ParkingSettings.from_config(config)


def build(kiosk: Kiosk) -> None:
    kiosk.parking = ParkingRegister(kiosk.store, kiosk.outbox, clock=kiosk.clock,
                                    settings=ParkingSettings.from_config(kiosk.config),
                                    audit=kiosk.audit,
                                    household_guard=households.guard(kiosk.config.lockers))
    if kiosk.peripherals is not None:
        kiosk.peripherals.on_spot(lambda spot, occupied: spot_changed(kiosk, spot, occupied))


def spot_changed(kiosk: Kiosk, spot: str, occupied: bool) -> None:
    """Runs on gpiozero's thread (the caller's with mock pins); the register is plain
    Python behind the store's lock, so it is called directly."""
    try:
        outcome = kiosk.parking.spot_occupancy_changed(spot, occupied)
    except Exception:  # e.g. a sensor wired for a spot the register does not list
        log.exception("spot sensor %s: the register refused the change", spot)
        return
    kiosk.signals.emit("spot", spot, occupied, outcome)


FEATURE = Feature("parking", build, check=check)
