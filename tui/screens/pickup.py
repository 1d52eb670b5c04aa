"""Pick up: code → doors open, and where → doors shut again → done."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk.backoff import TooManyAttempts
from kiosk.codes import ALPHABET
from kiosk.hardware import BoardError
from kiosk.lockers.model import OpenResult, WrongCode
from tui.refusals import refusal_text
from tui.screens.base import DoorsChanged, DoorsUnreadable, KioskScreen, door_place
from tui.widgets.entry import Countdown, EntryBuffer, EntryDisplay, entry_key
from tui.widgets.keypad import BACK, CLEAR, OK, KeyButton, Keypad


@dataclass
class PickupAnswered(Message):
    result: OpenResult | None = None
    # A wrong code (and the wait it earned), or still waiting after earlier wrong codes.
    refusal: WrongCode | TooManyAttempts | None = None
    error: str | None = None  # the board could not be reached


class PickupScreen(KioskScreen):
    TITLE_KEY = "pickup.title"

    def __init__(self) -> None:
        super().__init__()
        self.code_length = 0
        self.buffer = EntryBuffer(ALPHABET, 12)
        self.result: OpenResult | None = None
        self._busy = False
        self.countdown = Countdown(self, self.t, self.say, showing=lambda: self.result is None)

    def on_mount(self) -> None:
        self.code_length = self.app.lockers.rules.code_length
        self.buffer.max_len = self.code_length
        self.query_one(EntryDisplay).length = self.code_length
        self.countdown.run()

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial="pickup-entry", id="pickup-switcher"):
            with Vertical(id="pickup-entry"):
                yield Static(t("pickup.prompt"), classes="prompt")
                yield EntryDisplay(self.app.lockers.rules.code_length, masked=True, id="code")
                yield Static("", id="pickup-message", classes="message")
                yield Keypad(list(ALPHABET), (BACK, CLEAR, OK), id="code-keypad")
            with Vertical(id="pickup-doors"):
                yield Static("", id="doors-heading", classes="prompt")
                yield Static("", id="doors-list", classes="doors")
                yield Static("", id="doors-message", classes="message")
        with Horizontal(classes="bottom-bar"):
            yield KeyButton(t("nav.back"), id="back", classes="nav")
            yield KeyButton(t("nav.done"), id="done", classes="nav", variant="success")

    # --- typing -------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.go_home()
            return
        if self.result is not None:
            if event.key == "enter":
                event.stop()
                self.go_home()
            return
        key = entry_key(event)
        if key is not None:
            event.stop()
            self.press(key)

    def on_keypad_pressed(self, message: Keypad.Pressed) -> None:
        self.press(message.key)

    def press(self, key: str) -> None:
        if self._busy or self.result is not None:
            return
        if key == BACK:
            self.buffer.back()
        elif key == CLEAR:
            self.buffer.clear()
        elif key == OK:
            self.submit()
            return
        elif not self.buffer.add(key):
            if key.upper() not in ALPHABET:
                self.say(self.t("pickup.no_lookalikes"))
            return
        else:
            self.say("")
        self.query_one("#code", EntryDisplay).value = self.buffer.value

    def say(self, text: str) -> None:
        self.query_one("#pickup-message", Static).update(text)

    def submit(self) -> None:
        if len(self.buffer.value) < self.code_length:
            self.say(self.t("pickup.too_short", n=self.code_length))
            return
        if self.countdown.waiting:
            self.say(self.t("pickup.wait", s=self.countdown.seconds_left))
            return
        self._busy = True
        self.say(self.t("pickup.checking"))
        self.check_code(self.buffer.value)

    @work(thread=True, exclusive=True, group="pickup", exit_on_error=False)
    def check_code(self, code: str) -> None:
        try:
            answer = PickupAnswered(result=self.app.lockers.pickup(code))
        except (WrongCode, TooManyAttempts) as refusal:
            answer = PickupAnswered(refusal=refusal)
        except BoardError as exc:
            answer = PickupAnswered(error=str(exc))
        self.post_message(answer)

    # --- answers ------------------------------------------------------------------------

    def on_pickup_answered(self, answer: PickupAnswered) -> None:
        self._busy = False
        self.buffer.clear()
        self.query_one("#code", EntryDisplay).value = ""
        if answer.result is not None:
            self.show_result(answer.result)
            return
        if answer.error is not None:
            self.say(self.t("pickup.board_error"))
            return
        assert answer.refusal is not None
        t = self.t
        refusal = refusal_text(t, answer.refusal, {"wrong_code": t("pickup.wrong"),
                                                   "too_many_attempts": t("pickup.blocked")},
                               t("pickup.wrong"))
        if answer.refusal.wait_s:
            self.countdown.start(refusal, answer.refusal.wait_s)
        else:
            self.say(refusal + "\n" + t("pickup.wrong_hint"))

    def show_result(self, result: OpenResult) -> None:
        self.result = result
        self.add_class("answered")
        self.query_one(ContentSwitcher).current = "pickup-doors"
        heading = self.query_one("#doors-heading", Static)
        if not result.parcels:
            heading.update(self.t("pickup.nothing_waiting"))
        elif result.opened:
            heading.update(self.t("pickup.opened", n=len(result.opened)))
        else:
            heading.update(self.t("pickup.none_opened"))
        self._render_doors([c.id for c in result.opened])
        notes = []
        if result.failed:
            notes.append(self.t("pickup.failed", doors=" ".join(c.id for c in result.failed)))
        if result.opened:
            notes.append(self.t("pickup.shut_doors"))
            self.follow_doors(result.opened)
        else:
            self._finish()
        self.query_one("#doors-message", Static).update("\n".join(notes))

    def _render_doors(self, still_open: list[str]) -> None:
        assert self.result is not None
        lines = []
        for c in self.result.opened:
            state = self.t("door.open") if c.id in still_open else self.t("door.shut")
            lines.append(f"{door_place(self.t, c)}   {state}")
        self.query_one("#doors-list", Static).update("\n".join(lines))

    def on_doors_changed(self, message: DoorsChanged) -> None:
        if self.result is None:
            return
        self._render_doors([c.id for c in message.still_open])
        if not message.still_open:
            self._finish()

    def on_doors_unreadable(self, message: DoorsUnreadable) -> None:
        self.query_one("#doors-message", Static).update(self.t("pickup.board_error"))

    def _finish(self) -> None:
        assert self.result is not None
        lines = []
        if self.result.failed:
            lines.append(self.t("pickup.failed",
                                doors=" ".join(c.id for c in self.result.failed)))
        lines.append(self.t("pickup.done"))
        self.query_one("#doors-message", Static).update("\n".join(lines))
        self.set_timer(self.app.done_s, self.go_home)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        # Parcels are handed over once their doors opened: leaving never loses anything.
        if event.button.id in ("back", "done"):
            self.go_home()
