"""The cabinet's status LEDs and buzzer.

After every health poll the green LED says "all well" and the red one "a fault is
active"; an opened cabinet (tamper switch) beeps three times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

TAMPER_BEEPS = 3


def build(kiosk: Kiosk) -> None:
    peripherals = kiosk.peripherals
    if peripherals is None:
        return
    kiosk.signals.connect("health.polled", lambda: show_health(kiosk))

    def beep_when_opened(opened: bool) -> None:
        if opened:  # shutting the cabinet again is no alarm
            peripherals.beep(TAMPER_BEEPS)

    kiosk.signals.connect("tamper", beep_when_opened)


def show_health(kiosk: Kiosk) -> None:
    peripherals = kiosk.peripherals
    if peripherals is None:
        return
    faulty = bool(kiosk.health.faults())
    peripherals.set_status_led("ok", not faulty)
    peripherals.set_status_led("fault", faulty)


def start(kiosk: Kiosk) -> None:
    if kiosk.peripherals is not None:
        show_health(kiosk)


FEATURE = Feature("indicators", build, start=start)
