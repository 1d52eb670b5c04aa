"""What was typed so far, shown in large separated cells; PINs are masked."""

from __future__ import annotations

import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.dom import DOMNode
from textual.message import Message
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static
from textual.widgets.button import ButtonVariant

from tui.kiosk_node import InKiosk
from tui.screens.prompts import wait_seconds
from tui.widgets.keyboard import Keyboard
from tui.widgets.keypad import BACK, CLEAR, NAMED_KEYS, OK, KeyButton, Keypad

# What the kiosk's entries accept: PINs are digits; units are like "302" or "B-12".
DIGITS = "0123456789"
UNIT_CHARACTERS = DIGITS + string.ascii_uppercase + "-"


def entry_key(event: events.Key) -> str | None:
    """The keypad key a keyboard key means: a character, BACK, CLEAR or OK; None when it
    means nothing to an entry (a space, arrows, function keys)."""
    if event.key in NAMED_KEYS:
        return NAMED_KEYS[event.key]
    if event.character and event.character.isprintable() and event.character != " ":
        return event.character
    return None


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
    """The cells of an entry. A masked one (PINs, pickup codes) shows the character just
    typed for ``REVEAL_S``, so a finger sees what it hit, then a • like the others: whoever
    looks over a shoulder later sees only dots."""

    REVEAL_S = 1.0
    value: reactive[str] = reactive("")

    def __init__(self, length: int, *, masked: bool = False, id: str | None = None):
        super().__init__(id=id, classes="entry")
        self.length = length
        self.masked = masked
        self._revealed = False
        self._hide: Timer | None = None

    def watch_value(self, old: str, new: str) -> None:
        if not self.masked:
            return
        if self._hide is not None:
            self._hide.stop()
            self._hide = None
        self._revealed = len(new) > len(old)
        if self._revealed:
            self._hide = self.set_timer(self.REVEAL_S, self._mask_all)

    def _mask_all(self) -> None:
        self._revealed = False
        self._hide = None
        self.refresh()

    @property
    def revealing(self) -> bool:
        """The last character is shown in clear right now."""
        return self._revealed and bool(self.value)

    def render(self) -> str:
        if not self.masked:
            shown = self.value
        elif self.revealing:
            shown = "•" * (len(self.value) - 1) + self.value[-1]
        else:
            shown = "•" * len(self.value)
        cells = list(shown) + ["_"] * max(0, self.length - len(shown))
        return "  ".join(cells)


@dataclass(frozen=True)
class PaneButton:
    """A button under an entry's message: its label, id and variant."""

    label: str
    id: str
    variant: ButtonVariant = "default"


class EntryPane(InKiosk, Horizontal):
    """A prompt, what was typed, a message line, and a keypad beside them; every PIN,
    unit and code entry of the kiosk's screens.

    With ``keyboard`` the on-screen keyboard (letters, digits, symbols:
    tui/widgets/keyboard.py) stands under the entry instead of the keypad beside it, for
    entries whose alphabet has letters (a member id like "W1"). Takes keys from the
    on-screen keys and, through ``press`` / ``press_key``, from the physical keyboard;
    posts ``Submitted`` on OK. Under the message: ``compose_extra`` (for a subclass), then
    a row of ``buttons`` and, with ``back``, the "Back" button (class ``step-back``: the
    screen steps back).
    """

    @dataclass
    class Submitted(Message):
        pane: EntryPane
        value: str

    def __init__(self, prompt: str, *, allowed: str, keys: str, length: int,
                 masked: bool = False, back: bool = False,
                 buttons: Sequence[PaneButton] = (), keyboard: bool = False,
                 id: str | None = None):
        super().__init__(id=id, classes="entry-pane with-keyboard" if keyboard
                         else "entry-pane")
        self.keyboard = keyboard
        self.prompt = prompt
        self.buffer = EntryBuffer(allowed, length)
        self.keys = keys
        self.masked = masked
        self.length = length
        self.back = back
        self.buttons = tuple(buttons)

    def compose(self) -> ComposeResult:
        with Vertical(classes="entry-side"):
            yield Static(self.prompt, classes="prompt")
            yield EntryDisplay(self.length, masked=self.masked)
            yield Static("", classes="message")
            yield from self.compose_extra()
            if self.buttons or self.back:
                with Horizontal(classes="pane-buttons"):
                    for b in self.buttons:
                        yield KeyButton(b.label, id=b.id, classes="nav",
                                        variant=b.variant)
                    if self.back:
                        yield KeyButton(self.app.t("nav.back"), classes="nav step-back")
        if self.keyboard:
            yield Keyboard(allowed=self.buffer.allowed, upper=True,
                           layer="digits" if self.keys[:1].isdigit() else "letters")
            return
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

    def press_key(self, event: events.Key) -> bool:
        """Apply a key from the physical keyboard; False if it means nothing here."""
        key = entry_key(event)
        return key is not None and self.press(key)

    @dataclass
    class Changed(Message):
        pane: EntryPane
        value: str

    def clear(self) -> None:
        self.buffer.clear()
        self.query_one(EntryDisplay).value = ""

    def set_prompt(self, text: str) -> None:
        self.query_one(".prompt", Static).update(text)

    def say(self, text: str) -> None:
        self.query_one(".message", Static).update(text)


class Countdown:
    """The wait a back-off imposes after wrong codes or PINs, counted down on screen each
    second, so nobody types into a wall; once it is over, it says so.

    ``say`` shows a line where the person looks (it is looked up on each call: a
    recompose replaces the widgets); ``showing`` tells whether that place is on screen.
    The words are the screen's refusal, then ``pickup.wait`` with the seconds left. The
    screen calls ``run`` when mounted: the count's clock runs with the screen.
    """

    def __init__(self, node: DOMNode, t: Callable[..., str], say: Callable[[str], None],
                 showing: Callable[[], bool] = lambda: True):
        self.node = node
        self.t = t
        self.say = say
        self.showing = showing
        self.refusal = ""
        self.retry_at = 0.0
        # A word said while the wait runs (a look-alike typed…): kept under the count,
        # not wiped by its next second.
        self.hint = ""
        self._timer: Timer | None = None

    @property
    def seconds_left(self) -> int:
        """Whole seconds still to wait, rounded up (0: no wait)."""
        left = self.retry_at - time.monotonic()
        return int(left + 0.999) if self.retry_at and left > 0 else 0

    @property
    def waiting(self) -> bool:
        return self.seconds_left > 0

    def run(self) -> None:
        if self._timer is None:
            self._timer = self.node.set_interval(1.0, self.tick)

    def start(self, refusal: str, wait_s: float) -> None:
        self.refusal = refusal
        self.retry_at = time.monotonic() + wait_s
        self.hint = ""
        self.run()
        self.tick()
        # Said once, as the wait begins (not each second): the screen counts it down.
        self._speak("wait", s=wait_seconds(wait_s))

    def cancel(self) -> None:
        """No wait any more (it was someone else's); the next refusal starts another."""
        self.retry_at = 0.0
        self.refusal = ""
        self.hint = ""

    def note(self, hint: str) -> bool:
        """Say ``hint`` under the count while a wait runs (True), else leave it to the
        screen (False)."""
        if not self.waiting:
            if self.retry_at:
                self.tick()  # the wait's end, said now, so it does not wipe the hint
            return False
        self.hint = hint
        self.tick()
        return True

    def tick(self) -> None:
        if not self.retry_at or not self.showing():
            return
        if self.waiting:
            self.say("\n".join(filter(None, (
                self.refusal, self.t("pickup.wait", s=self.seconds_left), self.hint))))
            return
        self.retry_at = 0.0
        self.hint = ""
        self.say(self.t("pickup.try_again"))
        self._speak("try_again")

    def _speak(self, step: str, **values: object) -> None:
        # The kiosk app speaks (tui/app.py); any other app this widget runs in is silent.
        speak: Callable[..., None] | None = getattr(self.node.app, "speak", None)
        if speak is not None:
            speak(self.node, step, **values)
