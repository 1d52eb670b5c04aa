"""One compartment: its state, door, sensor and parcel, and what a maintainer may do to it
(force the door, take it out of or back into service, clear a fault, resolve a review)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from kiosk.maintenance_view import CompartmentView
from tui.kiosk_node import InKiosk
from tui.screens.runbooks import board_letter, note_text, parcel_name
from tui.widgets.compartment_grid import state_name
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name


class CompartmentPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="compartment-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static("", id="comp-info", classes="info")
        with Horizontal(classes="pane-buttons"):
            yield KeyButton(t("comp.force"), id="do-force", classes="nav", variant="warning")
            yield KeyButton(t("comp.out_of_service"), id="do-service", classes="nav")
            yield KeyButton(t("comp.clear_fault"), id="do-clear", classes="nav")
            yield KeyButton(t("comp.resolve"), id="do-resolve", classes="nav")
            yield KeyButton(t("nav.back"), id="comp-back", classes="nav to-overview")
        yield Static("", id="comp-message", classes="message")

    def say(self, text: str) -> None:
        self.query_one("#comp-message", Static).update(text)

    def show(self, c: CompartmentView) -> None:
        t = self.app.t
        if c.door_open is None:
            door = sensor = t("comp.unknown")
        else:
            door = t("door.open") if c.door_open else t("door.shut")
            sensor = t("comp.item") if c.item_inside else t("comp.empty")
        lines = [t("comp.heading", door=c.id, size=size_name(t, c.size),
                   cabinet=board_letter(c.board), lock=c.lock),
                 t("comp.state", state=state_name(t, c.state)),
                 t("comp.door", door=door),
                 t("comp.sensor", sensor=sensor),
                 t("comp.parcel", parcel=parcel_name(t, c.parcel_state))]
        if c.review_parcel is not None:
            lines.append(t("comp.review", parcel=c.review_parcel,
                           note=note_text(t, c.review_note)))
        self.query_one("#comp-info", Static).update("\n".join(lines))
        service = self.query_one("#do-service", Button)
        service.label = t("comp.out_of_service") if c.in_service else t("comp.in_service")
        self.query_one("#do-clear").display = c.fault is not None and c.fault != "board_offline"
        self.query_one("#do-resolve").display = c.review_parcel is not None
