"""The home screen: six large buttons, nothing personal."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.widgets import Button, Static

from tui.messages import KioskReady
from tui.screens.base import KioskScreen
from tui.widgets.keypad import KeyButton


class HomeButton(KeyButton):
    pass


class HomeScreen(KioskScreen):
    TITLE_KEY = "app.title"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "open('pickup')", show=False),
        Binding("2", "open('deposit')", show=False),
        Binding("3", "open('send')", show=False),
        Binding("4", "open('parking')", show=False),
        Binding("5", "open('maintenance')", show=False),
        Binding("6", "open('language')", show=False),
        Binding("7", "open('large_text')", show=False),
        Binding("8", "open('needs')", show=False),
    ]

    def on_mount(self) -> None:
        self._show_demo_keys()

    def on_kiosk_ready(self, message: KioskReady) -> None:
        self._show_demo_keys()
        self.query_one("#home-welcome", Static).update(self.t("home.welcome"))

    def _show_demo_keys(self) -> None:
        if self.app.demo is not None:
            self.set_note(self.t("home.demo_keys"))

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static(t("home.welcome"), id="home-welcome")
        with Grid(id="home-grid"):
            for name, title, hint in (
                ("pickup", t("home.pickup"), t("home.pickup_hint")),
                ("deposit", t("home.deposit"), t("home.deposit_hint")),
                ("send", t("home.send"), t("home.send_hint")),
                ("parking", t("home.parking"), t("home.parking_hint")),
                ("maintenance", t("home.maintenance"), t("home.maintenance_hint")),
                ("language", t("home.language"), t("home.language_hint")),
                ("needs", t("home.needs"), t("home.needs_hint")),
            ):
                yield HomeButton(f"{title}\n{hint}", name=name, id=f"home-{name}",
                                 classes="home-button")
        with Horizontal(classes="home-extras"):
            # One tap to large, high-contrast text, and one back (the idle reset too).
            yield HomeButton(t("home.large_text_off") if self.app.large_text
                             else t("home.large_text"), name="large_text",
                             id="home-large_text", classes="home-extra")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.name:
            self.action_open(event.button.name)

    def action_open(self, name: str) -> None:
        from tui.screens.deposit import DepositScreen
        from tui.screens.maintenance import MaintenanceScreen
        from tui.screens.needs import NeedsScreen
        from tui.screens.parking import ParkingScreen
        from tui.screens.pickup import PickupScreen
        from tui.screens.send import SendScreen

        if name == "language":
            self.app.set_language("en" if self.app.language == "zh" else "zh")
            return
        if name == "large_text":
            self.app.set_large_text(not self.app.large_text)
            self.query_one("#home-large_text", Button).label = (
                self.t("home.large_text_off") if self.app.large_text
                else self.t("home.large_text"))
            return
        if not self.app.ready:
            self.query_one("#home-welcome", Static).update(self.t("home.starting"))
            return
        screens = {"pickup": PickupScreen, "deposit": DepositScreen, "send": SendScreen,
                   "parking": ParkingScreen, "maintenance": MaintenanceScreen,
                   "needs": NeedsScreen}
        self.app.push_screen(screens[name]())
        # The screens' modules load on the first open, which may take longer than a
        # short idle reset (tests use 0.3 s): the person is not idle meanwhile.
        self.app.note_activity()
