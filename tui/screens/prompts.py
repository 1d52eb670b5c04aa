"""What the kiosk says aloud at each step (``[speech] enabled``; devices/speech.py speaks).

One place for every spoken prompt: the screen the person is on and the step they reached
(the screen came up, its doors opened, its doors are all shut). The words are the
catalogues' ``speech.*`` keys, in both languages; the screens show the same anyway.
"""

from __future__ import annotations

from collections.abc import Callable

Translate = Callable[..., str]

STEPS = ("opened", "doors_open", "doors_shut", "idle")


def prompt(t: Translate, screen: str, step: str) -> str | None:
    """The prompt for ``step`` on the screen class named ``screen``; None: silence."""
    if step == "idle":
        return t("speech.idle")
    prompts: dict[str, dict[str, str]] = {
        "opened": {"PickupScreen": t("speech.pickup"), "DepositScreen": t("speech.deposit"),
                   "SendScreen": t("speech.send"), "ParkingScreen": t("speech.parking"),
                   "MaintenanceScreen": t("speech.maintenance")},
        "doors_open": {"PickupScreen": t("speech.pickup_doors_open"),
                       "DepositScreen": t("speech.deposit_door_open"),
                       "SendScreen": t("speech.send_door_open")},
        "doors_shut": {"PickupScreen": t("speech.pickup_done"),
                       "DepositScreen": t("speech.door_shut"),
                       "SendScreen": t("speech.door_shut")},
    }
    return prompts.get(step, {}).get(screen)


def every_prompt(t: Translate) -> list[str]:
    """Every prompt the kiosk can say, once each (a test renders them all)."""
    screens = ("PickupScreen", "DepositScreen", "SendScreen", "ParkingScreen",
               "MaintenanceScreen")
    texts = [prompt(t, s, step) for s in screens for step in STEPS]
    return list(dict.fromkeys(p for p in texts if p))
