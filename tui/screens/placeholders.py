"""Screens whose features come with later issues. They say so plainly and do nothing else."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button

from tui.screens.base import KioskScreen
from tui.widgets.entry import EntryPane
from tui.widgets.keypad import KeyButton


class DutyPinPane(EntryPane):
    def compose_extra(self) -> ComposeResult:
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(self.app.t("nav.back"), classes="nav step-back")


class MaintenanceScreen(KioskScreen):
    """Asks for the on-duty PIN. Checking it and the tools behind it come with issue 6;
    the screen says that instead of pretending to log anyone in."""

    TITLE_KEY = "maintenance.title"

    def compose_body(self) -> ComposeResult:
        yield DutyPinPane(self.t("maintenance.pin_prompt"), allowed="0123456789",
                          keys="123456789", length=8, masked=True, id="duty-pin")

    def on_key(self, event: events.Key) -> None:
        pane = self.query_one(EntryPane)
        if event.key == "escape":
            self.go_home()
        elif event.key in ("backspace", "delete", "enter"):
            pane.press({"backspace": "back", "delete": "clear", "enter": "ok"}[event.key])
        elif event.character and event.character.isprintable():
            pane.press(event.character)
        else:
            return
        event.stop()

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        message.pane.clear()
        message.pane.say(self.t("maintenance.not_yet"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.has_class("step-back"):
            self.go_home()
