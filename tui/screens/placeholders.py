"""Screens whose features come with later issues. They say so plainly and do nothing else."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from tui.screens.base import KioskScreen
from tui.widgets.keypad import KeyButton


class ParkingScreen(KioskScreen):
    """Parking comes with issue 5; until then this screen only says so."""

    TITLE_KEY = "parking.title"

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="placeholder"):
            yield Static(self.t("parking.coming"), classes="prompt")
            with Horizontal(classes="pane-buttons"):
                yield KeyButton(self.t("nav.back"), classes="nav step-back")

    def on_key(self, event: events.Key) -> None:
        if event.key in ("escape", "enter"):
            event.stop()
            self.go_home()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.go_home()
