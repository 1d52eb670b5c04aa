"""An on-screen keypad, and the button every kiosk screen uses.

A tap never moves the focus (``FOCUS_ON_CLICK``): what a person then types on a physical
keyboard, or a barcode scanner types, goes to the screen's entry, never to the last button
tapped. Tab does move it, so every button is reachable from the keyboard too; Enter or
Space then presses the focused button (priority bindings: a screen's own Enter, "OK",
only hears Enter while no button has the focus).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Button

from tui.kiosk_node import InKiosk

# Keys that are not characters; their labels come from the catalogue.
BACK, CLEAR, OK = "back", "clear", "ok"

# The physical keyboard's keys that mean a keypad key.
NAMED_KEYS = {"backspace": BACK, "delete": CLEAR, "enter": OK}


class KeyButton(Button):
    """A button for touch that is reachable by Tab, and pressed by Enter once there."""

    FOCUS_ON_CLICK = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "press", show=False, priority=True),
        Binding("space", "press", show=False, priority=True),
    ]


class Keypad(InKiosk, Grid):
    @dataclass
    class Pressed(Message):
        key: str  # one character, or BACK / CLEAR / OK

    def __init__(self, characters: Sequence[str], specials: Sequence[str] = (BACK, OK), *,
                 id: str | None = None, classes: str = ""):
        super().__init__(id=id, classes=classes)
        self.characters = list(characters)
        self.specials = list(specials)

    def compose(self) -> ComposeResult:
        labels = {BACK: self.app.t("key.back"), CLEAR: self.app.t("key.clear"),
                  OK: self.app.t("key.ok")}
        for ch in self.characters:
            yield KeyButton(ch, name=ch, id=f"key-{ch}", classes="key")
        for special in self.specials:
            yield KeyButton(labels.get(special, special), name=special, id=f"key-{special}",
                            classes=f"key key-{special}",
                            variant="primary" if special == OK else "default")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.name:
            self.post_message(self.Pressed(event.button.name))
