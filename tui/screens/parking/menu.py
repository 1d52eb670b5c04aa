"""The first pane: log in as a member, or read the public board."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui.kiosk_node import InKiosk
from tui.widgets.keypad import KeyButton


class ParkingMenu(InKiosk, Vertical):
    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("parking.menu_prompt"), classes="prompt")
        with Horizontal(id="park-menu-buttons"):
            yield KeyButton(t("parking.menu_login"), id="park-login", classes="park-big",
                            variant="primary")
            yield KeyButton(t("parking.menu_board"), id="park-show-board", classes="park-big")
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("nav.back"), classes="nav step-back")
