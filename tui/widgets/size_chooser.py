"""Three large size buttons, each saying which compartment the parcel will really get."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button

from kiosk.lockers.model import SIZES, sizes_that_fit
from tui.kiosk_node import InKiosk
from tui.widgets.keypad import KeyButton


def best_fit(size: str, free: dict[str, int]) -> str | None:
    """The size a parcel of ``size`` gets: itself, else the next larger one that is free."""
    return next((s for s in sizes_that_fit(size) if free.get(s, 0)), None)


def size_name(t, size: str) -> str:
    return {"S": t("size.S"), "M": t("size.M"), "L": t("size.L")}[size]


class SizeChooser(InKiosk, Horizontal):
    @dataclass
    class Chosen(Message):
        size: str

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id, classes="size-chooser")
        self.free: dict[str, int] = {}
        self.default: str | None = None

    def compose(self) -> ComposeResult:
        for size in SIZES:
            yield KeyButton(size_name(self.app.t, size), name=size, id=f"size-{size}",
                            classes="size-button")

    def show(self, free: dict[str, int], default: str | None,
             out_of_order: Collection[str] = ()) -> None:
        """Label each button with what it will get; ``default`` is what Enter picks.
        A size none can be had of says "out of order" when ``out_of_order`` names it (an
        outage), else "full"."""
        self.free = dict(free)
        self.default = default
        t = self.app.t
        for size in SIZES:
            button = self.query_one(f"#size-{size}", KeyButton)
            fit = best_fit(size, free)
            if fit == size:
                note = t("size.free", n=free[size])
            elif fit is not None:
                note = t("size.uses", size=fit)
            elif size in out_of_order:
                note = t("size.out_of_order")
            else:
                note = t("size.full")
            button.label = f"{size_name(t, size)}\n{note}"
            button.variant = "primary" if size == default else "default"
            button.set_class(fit is None, "full")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.name:
            self.post_message(self.Chosen(event.button.name))
