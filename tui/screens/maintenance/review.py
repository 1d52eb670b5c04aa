"""Parcels in review: the list, the one chosen, and the outcomes a maintainer may record."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from tui.kiosk_node import InKiosk
from tui.screens.maintenance.common import back_bar, replace_children
from tui.screens.runbooks import note_text, outcome_name
from tui.widgets.compartment_grid import PickLine
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name

OUTCOMES = ("stored", "collected", "returned", "cancelled")


class ReviewPane(InKiosk, Vertical):
    def __init__(self) -> None:
        super().__init__(id="review-pane", classes="maint-pane")

    def compose(self) -> ComposeResult:
        t = self.app.t
        yield Static(t("review.title"), classes="prompt")
        yield VerticalScroll(id="review-list", classes="pick-list")
        yield Static("", id="review-chosen")
        with Horizontal(id="review-outcomes", classes="pane-buttons"):
            for outcome in OUTCOMES:
                yield KeyButton(outcome_name(t, outcome), id=f"outcome-{outcome}",
                                name=outcome, classes="nav outcome")
        yield Static(t("review.help"), classes="hint")
        yield Static("", id="review-message", classes="message")
        yield back_bar(t, "review-back")

    def say(self, text: str) -> None:
        self.query_one("#review-message", Static).update(text)

    async def show(self, parcels: list[dict[str, Any]]) -> None:
        t = self.app.t
        lines: list[Static] = [
            PickLine(t("review.item", parcel=p["id"], door=p["compartment"],
                       size=size_name(t, p["size"]), note=note_text(t, p["note"])),
                     name=str(p["id"]), id=f"review-{p['id']}", classes="review-line")
            for p in parcels]
        await replace_children(self.query_one("#review-list", VerticalScroll),
                               lines or [Static(t("review.none"))])

    def show_choice(self, parcels: list[dict[str, Any]], chosen_id: int | None) -> None:
        by_id = {p["id"]: p for p in parcels}
        chosen = by_id.get(chosen_id) if chosen_id is not None else None
        for line in self.query(".review-line").results(PickLine):
            line.set_class(line.name == str(chosen_id), "is-selected")
        self.query_one("#review-chosen", Static).update("" if chosen is None else self.app.t(
            "review.chosen", parcel=chosen["id"], door=chosen["compartment"]))
        self.query_one("#review-outcomes").display = chosen is not None
