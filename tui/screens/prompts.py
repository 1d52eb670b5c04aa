"""What the kiosk says aloud at each step (``[speech] enabled``; devices/speech.py speaks).

One place for every spoken prompt: the screen the person is on and the step they reached
(the screen came up, a pane asking for the next thing, its doors opened, its doors are
all shut, a parcel left inside, a code or PIN refused, a wait after too many tries). The
words are the catalogues' ``speech.*`` keys, in both languages; the screens show the same
anyway. A step a screen has no prompt for is silence.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Translate = Callable[..., str]

# Steps every screen says the same way: a refusal at login, the back-off's wait and its
# end (tui/widgets/entry.py Countdown), the idle warning.
COMMON: dict[str, str] = {
    "idle": "speech.idle",
    "wait": "speech.wait",            # {s}: whole seconds to wait
    "try_again": "speech.try_again",
    "wrong_code": "speech.wrong_code",
    "wrong_pin": "speech.wrong_pin",
    "off_shift": "speech.off_shift",
}

# Each screen's own steps, by the screen's class name. "opened" is said when the screen
# comes up; "doors_open" / "doors_shut" by KioskScreen as its doors change (a screen may
# rename them: ``door_step``); the others where the screen reaches them.
SCREENS: dict[str, dict[str, str]] = {
    "PickupScreen": {
        "opened": "speech.pickup",
        "code": "speech.pickup_code",
        "doors_open": "speech.pickup_doors_open",
        # Silence at the shut door: "done" waits for the sensor (a parcel may be left).
        "done": "speech.pickup_done",
        "left_inside": "speech.left_inside",
        "nothing_waiting": "speech.nothing_waiting",
        "lost": "speech.lost",
        "resent": "speech.resent",
        "resend_wait": "speech.resend_wait",  # {s}
        "household_pin": "speech.household_pin",
    },
    "DepositScreen": {
        "opened": "speech.deposit",
        "courier_pin": "speech.courier_pin",
        "unit": "speech.deposit_unit",
        "size": "speech.size",
        "doors_open": "speech.deposit_door_open",
        "doors_shut": "speech.door_shut",
        "round_done": "speech.round_done",
    },
    "SendScreen": {
        "opened": "speech.send",
        "household_pin": "speech.household_pin",
        "what": "speech.send_what",
        "size": "speech.size",
        "doors_open": "speech.send_door_open",
        "doors_shut": "speech.door_shut",
        "take_back_doors_open": "speech.take_back_door_open",
        "taken_back": "speech.taken_back",
        "take_back_left": "speech.take_back_left",
    },
    "CollectScreen": {
        # Said once the list is known: "opened" could not tell whether there is any.
        "listed": "speech.collect",
        "none": "speech.collect_none",
        "doors_open": "speech.collect_doors_open",
        "done": "speech.collect_done",
        "left_inside": "speech.left_inside",
    },
    "ParkingScreen": {
        "opened": "speech.parking",
        "unit": "speech.parking_unit",
        "household_pin": "speech.household_pin",
        "member": "speech.parking_member",
    },
    "MaintenanceScreen": {
        "opened": "speech.maintenance",
    },
}

# A refused login's reason → its spoken step (a refusal with a wait says the wait instead).
REFUSALS: dict[str, str] = {
    "wrong_code": "wrong_code",
    "wrong_pin": "wrong_pin",
    "wrong_login": "wrong_pin",
    "wrong_duty_pin": "wrong_pin",
    "not_on_duty": "off_shift",
}

# The values every prompt is rendered with when all are rendered at once (a test).
SAMPLE: dict[str, object] = {"s": 30}


def prompt(t: Translate, screen: str, step: str, **values: object) -> str | None:
    """The prompt for ``step`` on the screen class named ``screen``; None: silence."""
    key = SCREENS.get(screen, {}).get(step) or COMMON.get(step)
    return t(key, **values) if key else None


def wait_seconds(wait_s: float) -> int:
    """A wait as said aloud: whole seconds, rounded up (never "0 seconds")."""
    return max(1, math.ceil(wait_s))


def refusal_step(refusal: Any) -> tuple[str, dict[str, object]] | None:
    """The spoken step for a refused code or PIN, and its values; None: not one we say."""
    wait_s = float(getattr(refusal, "wait_s", 0.0) or 0.0)
    if wait_s > 0:
        return "wait", {"s": wait_seconds(wait_s)}
    step = REFUSALS.get(getattr(refusal, "reason", ""))
    return (step, {}) if step else None


def every_key() -> list[str]:
    keys = [*COMMON.values(), *(k for steps in SCREENS.values() for k in steps.values())]
    return sorted(set(keys))


def every_prompt(t: Translate) -> list[str]:
    """Every prompt the kiosk can say, once each (a test renders them all)."""
    return list(dict.fromkeys(t(key, **SAMPLE) for key in every_key()))
