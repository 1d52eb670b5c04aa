"""Asking for a spot in the open allocation round: one button per spot type offered."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from kiosk.parking.desk import MemberView
from kiosk.parking.model import SPOT_TYPES
from tui.kiosk_node import InKiosk
from tui.screens.parking.words import type_name
from tui.widgets.keypad import KeyButton


class RequestPane(InKiosk, Vertical):
    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static("", id="park-request-prompt", classes="prompt")
        with Horizontal(id="park-request-types", classes="park-row-big"):
            for spot_type in SPOT_TYPES:
                yield KeyButton(type_name(t, spot_type), name=spot_type, id=f"req-{spot_type}",
                                classes="park-type")
        yield Static("", id="park-request-message", classes="message", markup=False)
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("nav.back"), classes="nav step-back")

    def say(self, text: str) -> None:
        self.query_one("#park-request-message", Static).update(text)

    def show(self, view: MemberView) -> None:
        t = self.app.t
        self.query_one("#park-request-prompt", Static).update(
            t("parking.request_prompt", round=view.open_round or ""))
        self.say(t("parking.request_fair"))
        offered = {c.type: c for c in view.round_types}
        for spot_type in SPOT_TYPES:
            button = self.query_one(f"#req-{spot_type}", KeyButton)
            choice = offered.get(spot_type)
            button.display = choice is not None
            if choice is not None:
                button.label = (f"{type_name(t, spot_type)}\n"
                                + t("parking.type_choice", spots=choice.spots,
                                    askers=choice.askers))
                button.variant = "primary" if spot_type == view.asked else "default"
