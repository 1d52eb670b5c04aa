"""An on-screen keypad. Its keys never take focus, so the physical keyboard keeps working."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Button

from tui.kiosk_node import InKiosk

# Keys that are not characters; their labels come from the catalogue.
BACK, CLEAR, OK = "back", "clear", "ok"


class KeyButton(Button, can_focus=False):
    """A button for touch: no focus ring, no keyboard capture."""


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
