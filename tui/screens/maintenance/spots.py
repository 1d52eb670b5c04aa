"""Car park spots: each with its type and state; tapping one takes it out of or back into
service (with a reason)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from kiosk.parking.register import SpotInfo
from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import back_bar, replace_children
from tui.screens.runbooks import spot_state_name, spot_type_name
from tui.widgets.compartment_grid import PickLine


class SpotsPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="spots-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("spots.title"), classes="prompt")
        yield VerticalScroll(id="spot-list", classes="pick-list")
        yield Static("", id="spots-message", classes="message")
        yield back_bar(t, "spots-back")

    def say(self, text: str) -> None:
        self.query_one("#spots-message", Static).update(text)

    async def show(self, spots: list[SpotInfo]) -> None:
        t = self.app.t
        lines: list[Static] = []
        for i, spot in enumerate(spots):
            line = PickLine(t("spots.item", spot=spot.spot, type=spot_type_name(t, spot.type),
                              state=spot_state_name(t, spot.state)),
                            name=spot.spot, id=f"spot-{i}", classes="spot-line")
            line.set_class(spot.state != "in_service", "is-out-of-service")
            lines.append(line)
        await replace_children(self.query_one("#spot-list", VerticalScroll),
                               lines or [Static(t("spots.none"))])
