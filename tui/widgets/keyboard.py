"""The on-screen keyboard: letters, digits and symbols wherever the kiosk asks for text.

Three parts, from the smallest:

- ``Keyboard``: the keys only. A fixed grid of 3 × 10 character cells and one row of
  control keys (layer switches, space, ⌫, Clear, OK). Switching the layer relabels the
  cells in place, so no key moves under a finger. Each tap posts ``Keypad.Pressed`` (the
  same message as the digit keypad, tui/widgets/keypad.py): one character, or ``BACK``,
  ``CLEAR``, ``OK``. Characters the field does not accept are shown disabled.
- ``TextEntry``: a prompt, the value typed so far, a message line and a ``Keyboard``;
  edits its ``TextBuffer`` and posts ``TextEntry.Changed`` on each change and
  ``TextEntry.Submitted`` on OK. The physical keyboard and a USB barcode scanner (which
  types like a keyboard, then Enter) reach it through ``press_key`` from the screen's
  ``on_key``.
- ``KeyboardScreen``: a ``TextEntry`` as a modal screen with a Cancel button, for a screen
  that needs one value::

      self.app.push_screen(KeyboardScreen(t("x.prompt"), allowed=UNIT_CHARACTERS),
                           callback=self.got_value)   # the value, or None if cancelled

  It routes physical keys to its entry itself; Escape cancels.

The labels come from the catalogues (``key.*``), so they follow the language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.kiosk_node import InKiosk
from tui.messages import LanguageChanged
from tui.widgets.idle_warning import IdleWarning
from tui.widgets.keypad import BACK, CLEAR, NAMED_KEYS, OK, KeyButton, Keypad

COLUMNS = 10
ROWS = 3
# Each layer: three rows of at most ten characters (short rows leave empty cells).
LAYERS: dict[str, tuple[str, str, str]] = {
    "letters": ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"),
    "digits": ("1234567890", "-/.:,", "+#@_"),
    "symbols": ("-_./@#:+()", "&,;!?*'\"=%", "[]<>$~"),
}
LAYER_ORDER = ("letters", "digits", "symbols")
SPACE, SHIFT = " ", "shift"
# Text a maintainer or resident types as words: any printable character.
ANY = None


@dataclass
class TextBuffer:
    """Typed text: its alphabet (None: any printable character), a length, and whether
    letters fold to upper case (ids, waybills) or keep their case (words)."""

    allowed: str | None = ANY
    max_len: int = 40
    upper: bool = True
    value: str = ""

    def accepts(self, ch: str) -> bool:
        if len(ch) != 1 or not ch.isprintable():
            return False
        if self.upper:
            ch = ch.upper()
        return self.allowed is None or ch in self.allowed

    def add(self, ch: str) -> bool:
        if not self.accepts(ch) or len(self.value) >= self.max_len:
            return False
        if ch == SPACE and (not self.value or self.value.endswith(SPACE)):
            return False  # no leading or doubled spaces: they only hide mistakes
        self.value += ch.upper() if self.upper else ch
        return True

    def back(self) -> None:
        self.value = self.value[:-1]

    def clear(self) -> None:
        self.value = ""


def text_key(event: events.Key) -> str | None:
    """What a physical key means to a text entry: a character (space included), BACK,
    CLEAR or OK; None for keys that mean nothing here (arrows, Tab, function keys)."""
    if event.key in NAMED_KEYS:
        return NAMED_KEYS[event.key]
    if event.character and event.character.isprintable():
        return event.character
    return None


class Keyboard(InKiosk, Vertical):
    """The keys. ``allowed`` (None: anything) disables what the field refuses; ``upper``
    hides the case key; ``layer`` is the one shown first (``shown_layer``: now)."""

    def __init__(self, *, allowed: str | None = ANY, upper: bool = True,
                 layer: str = "letters", space: bool = False, id: str | None = None,
                 classes: str = ""):
        super().__init__(id=id, classes=f"keyboard {classes}".strip())
        if layer not in LAYERS:
            raise ValueError(f"layer must be one of {', '.join(LAYERS)}")
        self.allowed = allowed
        self.upper = upper
        self.shown_layer = layer
        self.space = space
        self.lower = not upper  # words start in lower case
        self._cells: list[str] = []

    def _accepts(self, ch: str) -> bool:
        probe = ch.upper() if self.upper else ch
        return self.allowed is None or probe in self.allowed

    def _layer_cells(self) -> list[str]:
        cells: list[str] = []
        for row in LAYERS[self.shown_layer]:
            chars = [c.lower() if self.lower and c.isalpha() else c for c in row]
            cells += chars + [""] * (COLUMNS - len(chars))
        return cells

    def compose(self) -> ComposeResult:
        t = self.app.t
        labels = {"letters": t("key.layer_letters"), "digits": t("key.layer_digits"),
                  "symbols": t("key.layer_symbols")}
        self._cells = self._layer_cells()
        with Grid(classes="keyboard-cells"):
            for i, ch in enumerate(self._cells):
                yield KeyButton(ch, id=f"kb-cell-{i}", classes="key kb-cell",
                                disabled=not ch or not self._accepts(ch))
        with Horizontal(classes="keyboard-controls"):
            for layer in LAYER_ORDER:
                yield KeyButton(labels[layer], id=f"kb-layer-{layer}",
                                classes="key kb-layer",
                                variant="primary" if layer == self.shown_layer else "default",
                                disabled=not any(self._accepts(c)
                                                 for row in LAYERS[layer] for c in row))
            if not self.upper:
                yield KeyButton(t("key.shift"), id="kb-shift", classes="key kb-shift")
            if self.space:
                yield KeyButton(t("key.space"), id="kb-space", classes="key kb-space")
            yield KeyButton(t("key.back"), id="kb-back", classes="key kb-special")
            yield KeyButton(t("key.clear"), id="kb-clear", classes="key kb-special")
            yield KeyButton(t("key.ok"), id="kb-ok", classes="key kb-special",
                            variant="primary")

    def show_layer(self, layer: str) -> None:
        """Relabel the cells in place: the same positions, another layer's characters."""
        if layer not in LAYERS:
            raise ValueError(f"layer must be one of {', '.join(LAYERS)}")
        self.shown_layer = layer
        self._relabel()
        for name in LAYER_ORDER:
            self.query_one(f"#kb-layer-{name}", Button).variant = (
                "primary" if name == layer else "default")

    def _relabel(self) -> None:
        self._cells = self._layer_cells()
        for i, ch in enumerate(self._cells):
            cell = self.query_one(f"#kb-cell-{i}", Button)
            cell.label = ch
            cell.disabled = not ch or not self._accepts(ch)

    @property
    def characters(self) -> list[str]:
        """The characters of the cells as shown now ("" for an empty cell)."""
        return list(self._cells)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid.startswith("kb-cell-"):
            ch = self._cells[int(bid.removeprefix("kb-cell-"))]
            if ch:
                self.post_message(Keypad.Pressed(ch))
        elif bid.startswith("kb-layer-"):
            self.show_layer(bid.removeprefix("kb-layer-"))
        elif bid == "kb-shift":
            self.lower = not self.lower
            self._relabel()
        elif bid == "kb-space":
            self.post_message(Keypad.Pressed(SPACE))
        else:
            key = {"kb-back": BACK, "kb-clear": CLEAR, "kb-ok": OK}.get(bid)
            if key is not None:
                self.post_message(Keypad.Pressed(key))


class ValueDisplay(Static):
    """The value typed so far, with a cursor; an empty value shows the hint."""

    def __init__(self, hint: str = "", *, id: str | None = None):
        super().__init__(id=id, classes="entry text-value")
        self.hint = hint
        self.value = ""

    def show(self, value: str) -> None:
        self.value = value
        self.update(value + "▏" if value else "▏" + self.hint)


class TextEntry(InKiosk, Vertical):
    """A prompt, the value, a message line and the keyboard; posts ``Submitted`` on OK.

    ``validate`` (optional) returns why a value is refused, or None: a refused value is
    not submitted and the reason shows on the message line.
    """

    @dataclass
    class Submitted(Message):
        entry: TextEntry
        value: str

    @dataclass
    class Changed(Message):
        entry: TextEntry
        value: str

    def __init__(self, prompt: str, *, value: str = "", allowed: str | None = ANY,
                 max_len: int = 40, upper: bool = True, space: bool | None = None,
                 layer: str = "letters", hint: str = "",
                 validate: Callable[[str], str | None] | None = None,
                 id: str | None = None, classes: str = ""):
        super().__init__(id=id, classes=f"text-entry {classes}".strip())
        self.prompt = prompt
        self.buffer = TextBuffer(allowed, max_len, upper)
        for ch in value:
            self.buffer.add(ch)
        self.space = (allowed is None or SPACE in allowed) if space is None else space
        self.first_layer = layer
        self.hint = hint
        self.validate = validate

    @property
    def value(self) -> str:
        return self.buffer.value

    def compose(self) -> ComposeResult:
        yield Static(self.prompt, classes="prompt text-prompt")
        yield ValueDisplay(self.hint)
        yield Static("", classes="message text-message")
        yield Keyboard(allowed=self.buffer.allowed, upper=self.buffer.upper,
                       layer=self.first_layer, space=self.space)

    def on_mount(self) -> None:
        self.query_one(ValueDisplay).show(self.buffer.value)

    def on_keypad_pressed(self, message: Keypad.Pressed) -> None:
        message.stop()
        self.press(message.key)

    def press(self, key: str) -> bool:
        """Apply one key (a character, BACK, CLEAR or OK); False if it means nothing."""
        if key == OK:
            value = self.buffer.value.strip()
            refusal = self.validate(value) if self.validate is not None else None
            if refusal:
                self.say(refusal)
                return True
            self.post_message(self.Submitted(self, value))
            return True
        if key == BACK:
            self.buffer.back()
        elif key == CLEAR:
            self.buffer.clear()
        elif not self.buffer.add(key):
            return False
        self.say("")
        self.query_one(ValueDisplay).show(self.buffer.value)
        self.post_message(self.Changed(self, self.buffer.value))
        return True

    def press_key(self, event: events.Key) -> bool:
        """Apply a key of the physical keyboard or a scanner; False if it means nothing."""
        key = text_key(event)
        return key is not None and self.press(key)

    def set_value(self, value: str) -> None:
        self.buffer.clear()
        for ch in value:
            self.buffer.add(ch)
        self.query_one(ValueDisplay).show(self.buffer.value)

    def set_prompt(self, text: str) -> None:
        self.prompt = text
        self.query_one(".text-prompt", Static).update(text)

    def say(self, text: str) -> None:
        self.query_one(".text-message", Static).update(text)


class KeyboardScreen(InKiosk, ModalScreen[str | None]):
    """One value asked on a screen of its own; dismissed with the value, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, prompt: str, *, value: str = "", allowed: str | None = ANY,
                 max_len: int = 40, upper: bool = True, space: bool | None = None,
                 layer: str = "letters", hint: str = "",
                 validate: Callable[[str], str | None] | None = None):
        super().__init__(classes="keyboard-screen")
        self.options: dict = dict(allowed=allowed, max_len=max_len, upper=upper,
                                  space=space, layer=layer, hint=hint, validate=validate)
        self.prompt = prompt
        self.initial = value

    def compose(self) -> ComposeResult:
        yield IdleWarning()
        with Vertical(classes="keyboard-panel"):
            yield TextEntry(self.prompt, value=self.initial, id="keyboard-entry",
                            **self.options)
            with Horizontal(classes="pane-buttons"):
                yield KeyButton(self.app.t("key.cancel"), id="keyboard-cancel",
                                classes="nav")

    @property
    def entry(self) -> TextEntry:
        return self.query_one("#keyboard-entry", TextEntry)

    def on_key(self, event: events.Key) -> None:
        if event.key != "escape" and self.entry.press_key(event):
            event.stop()

    def on_text_entry_submitted(self, message: TextEntry.Submitted) -> None:
        message.stop()
        self.dismiss(message.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "keyboard-cancel":
            event.stop()
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    async def on_language_changed(self, message: LanguageChanged) -> None:
        # Keep what was typed; only the words change.
        self.initial = self.entry.value
        await self.recompose()

