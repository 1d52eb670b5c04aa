"""The car park's time-driven work: release no-shows, lapse unanswered offers, about once
a minute. Tells listeners (the screen) ``parking.changed`` when something changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature, Periodic

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

EVERY_S = 60.0


def build(kiosk: Kiosk) -> None:
    return None


def tick(kiosk: Kiosk) -> None:
    done = kiosk.parking.tick()
    if any(done.values()):
        kiosk.signals.emit("parking.changed")


def periodic(kiosk: Kiosk) -> list[Periodic]:
    return [Periodic("housekeeping", EVERY_S, lambda: tick(kiosk))]


FEATURE = Feature("housekeeping", build, periodic=periodic)
