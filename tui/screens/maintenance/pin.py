"""The on-duty PIN (the kiosk's one entry pane), and the way to the public roster."""

from __future__ import annotations

from kiosk.refusals import Refusal
from tui.refusals import Translate, refusal_text
from tui.widgets.entry import DIGITS, EntryPane, PaneButton

PIN_LENGTH = 12

def duty_pin_entry(t: Translate) -> EntryPane:
    return EntryPane(t("maintenance.pin_prompt"), allowed=DIGITS, keys="123456789",
                     length=PIN_LENGTH, masked=True, back=True,
                     buttons=[PaneButton(t("maintenance.roster"), "pin-roster"),
                              PaneButton(t("maintenance.practice"), "pin-practice")],
                     id="pin-pane")


def refused_text(t: Translate, refusal: Refusal, on_duty: tuple[str, ...]) -> str:
    """Why the PIN was refused; off shift, also who is on duty now."""
    words = {"not_on_duty": t("maintenance.off_shift"),
             "too_many_attempts": t("pickup.blocked"),
             "wrong_duty_pin": t("maintenance.pin_wrong")}
    text = refusal_text(t, refusal, words, t("maintenance.pin_wrong"))
    if refusal.reason == "not_on_duty":
        text += "\n" + (t("maintenance.on_duty_now", names=", ".join(on_duty)) if on_duty
                        else t("maintenance.nobody_on_duty"))
    return text
