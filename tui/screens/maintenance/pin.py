"""Logging in: the maintainer taps their name among those on duty (the roster is public),
then types their PIN, which is checked for that name alone (kiosk/duty.py). The way to the
public roster and to practice starts here too."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from kiosk import pins
from kiosk.refusals import Refusal
from tui.kiosk_node import InKiosk
from tui.refusals import Translate, refusal_text
from tui.screens.maintenance.common import replace_children
from tui.widgets.entry import DIGITS, EntryPane
from tui.widgets.keypad import KeyButton

PIN_LENGTH = pins.MAX_DIGITS


class WhoPane(InKiosk, Vertical):
    """Those on duty now, one button each; a digit key picks the n-th."""

    def __init__(self) -> None:
        super().__init__(id="who-pane", classes="maint-pane")
        self.names: tuple[str, ...] | None = None  # None: not read yet

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("maintenance.who_prompt"), classes="prompt")
        yield Horizontal(id="who-choices")
        yield Static("", id="who-message", classes="message")
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("maintenance.roster"), id="pin-roster", classes="nav")
            yield KeyButton(t("maintenance.practice"), id="pin-practice", classes="nav")
            yield KeyButton(t("nav.back"), classes="nav step-back")

    async def show(self, names: Sequence[str]) -> None:
        if self.names == tuple(names):
            return  # unchanged: no button is pulled from under a finger
        self.names = tuple(names)
        await replace_children(self.query_one("#who-choices", Horizontal), [
            KeyButton(name, name=name, id=f"who-{i}", classes="nav who")
            for i, name in enumerate(names)])
        if not names:
            self.say(self.app.t("maintenance.nobody_on_duty"))

    def say(self, text: str) -> None:
        self.query_one("#who-message", Static).update(text)


def duty_pin_entry(t: Translate) -> EntryPane:
    return EntryPane(t("maintenance.pin_prompt"), allowed=DIGITS, keys="123456789",
                     length=PIN_LENGTH, masked=True, back=True, id="pin-pane")


def refused_text(t: Translate, refusal: Refusal, on_duty: tuple[str, ...]) -> str:
    """Why the name or PIN was refused; off shift, also who is on duty now."""
    words = {"not_on_duty": t("maintenance.off_shift"),
             "too_many_attempts": t("pickup.blocked"),
             "wrong_duty_pin": t("maintenance.pin_wrong")}
    text = refusal_text(t, refusal, words, t("maintenance.pin_wrong"))
    if refusal.reason == "not_on_duty":
        text += "\n" + (t("maintenance.on_duty_now", names=", ".join(on_duty)) if on_duty
                        else t("maintenance.nobody_on_duty"))
    return text
