"""Every compartment of the kiosk in one grid: its door label, size and state, by colour and
by a mark, so no state rests on colour alone. Tapping a cell chooses that compartment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.message import Message
from textual.widgets import Static

from kiosk.maintenance_view import GRID_STATES, CompartmentView

Translate = Callable[..., str]


def state_name(t: Translate, state: str) -> str:
    return {"free": t("grid.free"), "occupied": t("grid.occupied"), "open": t("grid.open"),
            "jammed": t("grid.jammed"), "out_of_service": t("grid.out_of_service"),
            "in_review": t("grid.in_review"), "offline": t("grid.offline"),
            "left_in": t("grid.left_in")}[state]


def state_mark(t: Translate, state: str) -> str:
    """One character beside the colour, so a state never rests on colour alone."""
    return {"free": t("mark.free"), "occupied": t("mark.occupied"), "open": t("mark.open"),
            "jammed": t("mark.jammed"), "out_of_service": t("mark.out_of_service"),
            "in_review": t("mark.in_review"), "offline": t("mark.offline"),
            "left_in": t("mark.left_in")}[state]


def state_class(state: str) -> str:
    return "is-" + state.replace("_", "-")


class PickLine(Static, can_focus=True):
    """One line of a list that a tap picks (a fault, a parcel, a spot); Tab reaches it and
    Enter picks it, as for a button (a tap does not take the focus: tui/widgets/keypad.py)."""

    FOCUS_ON_CLICK = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "pick", show=False, priority=True)]

    @dataclass
    class Picked(Message):
        line: PickLine

    def action_pick(self) -> None:
        self.post_message(self.Picked(self))

    def __init__(self, text: str, name: str, *, id: str | None = None, classes: str = ""):
        super().__init__(text, name=name, id=id, classes=f"pick-line {classes}".strip())

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Picked(self))


class CompartmentCell(Static, can_focus=False):
    @dataclass
    class Chosen(Message):
        compartment: str

    def __init__(self, compartment: str):
        super().__init__("", id=f"cell-{compartment}", classes="cell")
        self.compartment = compartment

    def show(self, t: Translate, view: CompartmentView, selected: bool) -> None:
        self.update(f"{view.id} {view.size} {state_mark(t, view.state)}")
        for state in GRID_STATES:
            self.set_class(state == view.state, state_class(state))
        self.set_class(selected, "is-selected")

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Chosen(self.compartment))


class CompartmentGrid(Grid):
    """Cells in cabinet order, eight to a row."""

    def show(self, t: Translate, views: list[CompartmentView], selected: str | None) -> None:
        cells = list(self.query(CompartmentCell))
        if [c.compartment for c in cells] != [v.id for v in views]:
            self.remove_children()
            cells = [CompartmentCell(v.id) for v in views]
            self.mount_all(cells)
        for cell, view in zip(cells, views, strict=True):
            cell.show(t, view, view.id == selected)


class GridLegend(Horizontal):
    """What each colour and mark means, in the grid's own colours."""

    def __init__(self, t: Translate, *, id: str | None = None):
        super().__init__(id=id)
        self._t = t

    def compose(self):
        for state in reversed(GRID_STATES):
            yield Static(f"{state_mark(self._t, state)} {state_name(self._t, state)}",
                         classes=f"chip {state_class(state)}")
