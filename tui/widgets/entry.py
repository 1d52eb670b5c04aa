"""What was typed so far, shown in large separated cells; PINs are masked."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from tui.kiosk_node import InKiosk
from tui.widgets.keypad import BACK, CLEAR, OK, Keypad


@dataclass
class EntryBuffer:
    """Typed characters, limited to an alphabet and a length. Plain, so it is easy to test."""

    allowed: str
    max_len: int
    value: str = ""

    def add(self, ch: str) -> bool:
        ch = ch.upper()
        if len(ch) != 1 or ch not in self.allowed or len(self.value) >= self.max_len:
            return False
        self.value += ch
        return True

    def back(self) -> None:
        self.value = self.value[:-1]

    def clear(self) -> None:
        self.value = ""


class EntryDisplay(Static):
    value: reactive[str] = reactive("")

    def __init__(self, length: int, *, masked: bool = False, id: str | None = None):
        super().__init__(id=id, classes="entry")
        self.length = length
        self.masked = masked

    def render(self) -> str:
        shown = "•" * len(self.value) if self.masked else self.value
        cells = list(shown) + ["_"] * max(0, self.length - len(shown))
        return "  ".join(cells)


class EntryPane(InKiosk, Horizontal):
    """A prompt, what was typed, a message line, and a keypad beside them.

    Takes keys from the on-screen keypad and, through ``press``, from the keyboard;
    posts ``Submitted`` on OK. Extra widgets (buttons) go under the message.
    """

    @dataclass
    class Submitted(Message):
        pane: EntryPane
        value: str

    def __init__(self, prompt: str, *, allowed: str, keys: str, length: int,
                 masked: bool = False, id: str | None = None):
        super().__init__(id=id, classes="entry-pane")
        self.prompt = prompt
        self.buffer = EntryBuffer(allowed, length)
        self.keys = keys
        self.masked = masked
        self.length = length

    def compose(self) -> ComposeResult:
        with Vertical(classes="entry-side"):
            yield Static(self.prompt, classes="prompt")
            yield EntryDisplay(self.length, masked=self.masked)
            yield Static("", classes="message")
            yield from self.compose_extra()
        yield Keypad(list(self.keys), (BACK, "0", OK) if self.keys == "123456789" else
                     (BACK, CLEAR, OK), classes="digit-keypad")

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_keypad_pressed(self, message: Keypad.Pressed) -> None:
        message.stop()
        self.press(message.key)

    def press(self, key: str) -> bool:
        """Apply one key; False if it means nothing here."""
        if key == BACK:
            self.buffer.back()
        elif key == CLEAR:
            self.buffer.clear()
        elif key == OK:
            self.post_message(self.Submitted(self, self.buffer.value))
            return True
        elif not self.buffer.add(key):
            return False
        self.query_one(EntryDisplay).value = self.buffer.value
        self.post_message(self.Changed(self, self.buffer.value))
        return True

    @dataclass
    class Changed(Message):
        pane: EntryPane
        value: str

    def clear(self) -> None:
        self.buffer.clear()
        self.query_one(EntryDisplay).value = ""

    def say(self, text: str) -> None:
        self.query_one(".message", Static).update(text)


def count_down(pane: EntryPane, refusal: str, retry_at: float,
               t: Callable[..., str]) -> float:
    """Show a refusal with the seconds still to wait, so nobody types into a wall; once
    the wait is over, say so. Returns the new ``retry_at`` (0 when the wait is over)."""
    wait = retry_at - time.monotonic()
    if wait > 0:
        pane.say(refusal + "\n" + t("pickup.wait", s=int(wait + 0.999)))
        return retry_at
    pane.say(t("pickup.try_again"))
    return 0.0
