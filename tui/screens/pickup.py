"""Pick up: unit → code → doors open, and where → doors shut on empty compartments → done.

A lost code: from the unit, "lost my code" sends a new one (the old ones stop working) or
opens with the household's PIN. A parcel left inside when its door shut stays the
household's, with its code; the screen says so and offers the door again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk import pins
from kiosk.backoff import TooManyAttempts
from kiosk.codes import ALPHABET
from kiosk.hardware import BoardError
from kiosk.lockers.model import Compartment, OpenResult, WrongCode, WrongPin
from tui.refusals import refusal_text
from tui.screens.base import DoorsChanged, DoorsUnreadable, KioskScreen, door_place
from tui.screens.prompts import wait_seconds
from tui.widgets.entry import (
    DIGITS,
    UNIT_CHARACTERS,
    Countdown,
    EntryBuffer,
    EntryDisplay,
    EntryPane,
    PaneButton,
    entry_key,
)
from tui.widgets.keypad import BACK, CLEAR, OK, KeyButton, Keypad


@dataclass
class PickupAnswered(Message):
    result: OpenResult | None = None
    # A wrong code (and the wait it earned), or still waiting after earlier wrong codes.
    refusal: WrongCode | WrongPin | TooManyAttempts | None = None
    error: str | None = None  # the board could not be reached


@dataclass
class PickupSettled(Message):
    """The doors are shut: these still hold the parcel (the sensor sees it)."""

    left: list[Compartment] = field(default_factory=list)
    error: str | None = None


@dataclass
class UnitsKnown(Message):
    units: list[str]


@dataclass
class CodeResent(Message):
    refusal: TooManyAttempts | None = None


class PickupScreen(KioskScreen):
    TITLE_KEY = "pickup.title"

    def __init__(self) -> None:
        super().__init__()
        self.code_length = 0
        self.unit = ""
        self.buffer = EntryBuffer(ALPHABET, 12)
        self.result: OpenResult | None = None
        self.left: list[Compartment] = []
        # A code scanned (the 2D scanner types it) before the unit: kept, the unit asked.
        self.scanned = ""
        self.units: set[str] = set()
        self.countdown = Countdown(self, self.t, self._say_wait,
                                   showing=lambda: self.result is None)

    def on_mount(self) -> None:
        self.code_length = self.app.lockers.rules.code_length
        self.buffer.max_len = self.code_length
        self.query_one("#code", EntryDisplay).length = self.code_length
        self.countdown.run()
        self.load_units()

    @work(thread=True, group="units", exit_on_error=False)
    def load_units(self) -> None:
        self.post_message(UnitsKnown(self.app.lockers.units()))

    def on_units_known(self, message: UnitsKnown) -> None:
        self.units = set(message.units)

    def looks_like_code(self, value: str) -> bool:
        return (len(value) == self.code_length and value not in self.units
                and all(ch in ALPHABET for ch in value))

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial="pickup-unit", id="pickup-switcher"):
            yield EntryPane(t("pickup.unit_prompt"), allowed=UNIT_CHARACTERS,
                            keys="123456789", length=8, id="pickup-unit",
                            buttons=[PaneButton(t("pickup.lost"), "pickup-lost")])
            with Vertical(id="pickup-entry"):
                yield Static(t("pickup.prompt"), classes="prompt")
                yield EntryDisplay(self.app.lockers.rules.code_length, masked=True, id="code")
                yield Static("", id="pickup-message", classes="message")
                yield Keypad(list(ALPHABET), (BACK, CLEAR, OK), id="code-keypad")
            with Vertical(id="pickup-lost-pane"):
                yield Static(t("pickup.lost_prompt"), classes="prompt")
                yield Static("", id="lost-message", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("pickup.resend"), id="pickup-resend", classes="nav")
                    yield KeyButton(t("pickup.with_pin"), id="pickup-with-pin",
                                    classes="nav")
            yield EntryPane(t("pickup.pin_prompt"), allowed=DIGITS, keys="123456789",
                            length=pins.MAX_DIGITS, masked=True, id="pickup-pin")
            with Vertical(id="pickup-doors"):
                yield Static("", id="doors-heading", classes="prompt")
                yield Static("", id="doors-list", classes="doors")
                yield Static("", id="doors-message", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("pickup.open_again"), id="pickup-again",
                                    classes="nav", variant="warning")
        with Horizontal(classes="bottom-bar"):
            yield KeyButton(t("nav.back"), id="back", classes="nav")
            yield KeyButton(t("nav.done"), id="done", classes="nav", variant="success")

    @property
    def pane(self) -> str:
        return self.query_one(ContentSwitcher).current or ""

    def show_pane(self, name: str) -> None:
        self.query_one(ContentSwitcher).current = name

    # --- typing -------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.step_back()
            return
        if self.result is not None:
            if event.key == "enter" and not self.left:
                event.stop()
                self.go_home()
            return
        if self.pane in ("pickup-unit", "pickup-pin"):
            if not self._busy and self.query_one(f"#{self.pane}", EntryPane).press_key(event):
                event.stop()
            return
        if self.pane != "pickup-entry":
            return
        key = entry_key(event)
        if key is not None:
            event.stop()
            self.press(key)

    def step_back(self) -> None:
        if self.result is not None or self.pane == "pickup-unit":
            self.go_home()
        else:
            self.buffer.clear()
            self.query_one("#code", EntryDisplay).value = ""
            self.show_pane("pickup-unit")

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        if not message.value or self._busy:
            return
        if message.pane.id == "pickup-unit":
            if not self.scanned and self.looks_like_code(message.value):
                # Scanned from the phone first (one scan): now the unit, then it is checked.
                self.scanned = message.value
                message.pane.clear()
                message.pane.say(self.t("pickup.scanned_unit"))
                return
            self.unit = message.value
            if self.scanned:
                code, self.scanned = self.scanned, ""
                self.buffer.value = code
                self.show_pane("pickup-entry")
                self.submit()
                return
            self.query_one("#pickup-entry .prompt", Static).update(
                self.t("pickup.prompt_unit", unit=self.unit))
            self.show_pane("pickup-entry")
            self.app.speak(self, "code")
        elif message.pane.id == "pickup-pin":
            self._busy = True
            message.pane.say(self.t("pickup.checking"))
            self.open_with_pin(self.unit, message.value)

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
            if key.upper() not in ALPHABET and not self.countdown.note(
                    self.t("pickup.no_lookalikes")):
                self.say(self.t("pickup.no_lookalikes"))
            return
        else:
            self.say("")
        self.query_one("#code", EntryDisplay).value = self.buffer.value

    def say(self, text: str) -> None:
        self.query_one("#pickup-message", Static).update(text)

    def _say_wait(self, text: str) -> None:
        if self.pane == "pickup-pin":
            self.query_one("#pickup-pin", EntryPane).say(text)
        else:
            self.say(text)

    def submit(self) -> None:
        if len(self.buffer.value) < self.code_length:
            self.say(self.t("pickup.too_short", n=self.code_length))
            return
        if self.countdown.waiting:
            self.say(self.t("pickup.wait", s=self.countdown.seconds_left))
            self.app.speak(self, "wait", s=self.countdown.seconds_left)
            return
        self._busy = True
        self.say(self.t("pickup.checking"))
        self.check_code(self.buffer.value, self.unit)

    @work(thread=True, exclusive=True, group="pickup", exit_on_error=False)
    def check_code(self, code: str, unit: str) -> None:
        try:
            answer = PickupAnswered(result=self.app.lockers.pickup(code, unit))
        except (WrongCode, TooManyAttempts) as refusal:
            answer = PickupAnswered(refusal=refusal)
        except BoardError as exc:
            answer = PickupAnswered(error=str(exc))
        self.post_message(answer)

    @work(thread=True, exclusive=True, group="pickup", exit_on_error=False)
    def open_with_pin(self, unit: str, pin: str) -> None:
        try:
            answer = PickupAnswered(result=self.app.lockers.open_with_pin(unit, pin))
        except (WrongPin, TooManyAttempts) as refusal:
            answer = PickupAnswered(refusal=refusal)
        except BoardError as exc:
            answer = PickupAnswered(error=str(exc))
        self.post_message(answer)

    # --- a lost code --------------------------------------------------------------------

    def lost_code(self) -> None:
        unit = self.query_one("#pickup-unit", EntryPane).buffer.value
        if not unit:
            self.query_one("#pickup-unit", EntryPane).say(self.t("pickup.unit_first"))
            return
        self.unit = unit
        self.query_one("#lost-message", Static).update("")
        self.show_pane("pickup-lost-pane")
        self.app.speak(self, "lost")

    @work(thread=True, exclusive=True, group="pickup", exit_on_error=False)
    def resend(self, unit: str) -> None:
        try:
            self.app.lockers.resend_code(unit)
            answer = CodeResent()
        except TooManyAttempts as refusal:
            answer = CodeResent(refusal)
        self.post_message(answer)

    def on_code_resent(self, message: CodeResent) -> None:
        self._busy = False
        text = (self.t("pickup.resend_wait", s=int(message.refusal.wait_s + 0.999))
                if message.refusal else self.t("pickup.resent", unit=self.unit))
        self.query_one("#lost-message", Static).update(text)
        if message.refusal:
            self.app.speak(self, "resend_wait", s=wait_seconds(message.refusal.wait_s))
        else:
            self.app.speak(self, "resent")

    # --- answers ------------------------------------------------------------------------

    def on_pickup_answered(self, answer: PickupAnswered) -> None:
        self._busy = False
        self.buffer.clear()
        self.query_one("#code", EntryDisplay).value = ""
        self.query_one("#pickup-pin", EntryPane).clear()
        if answer.result is not None:
            self.show_result(answer.result)
            return
        if answer.error is not None:
            self._say_wait(self.t("pickup.board_error"))
            return
        assert answer.refusal is not None
        t = self.t
        wrong = t("pickup.pin_wrong") if isinstance(answer.refusal, WrongPin) \
            else t("pickup.wrong")
        refusal = refusal_text(t, answer.refusal, {"wrong_code": t("pickup.wrong"),
                                                   "wrong_pin": t("pickup.pin_wrong"),
                                                   "too_many_attempts": t("pickup.blocked")},
                               wrong)
        if answer.refusal.wait_s:
            self.countdown.start(refusal, answer.refusal.wait_s)
        else:
            self._say_wait(refusal + "\n" + t("pickup.wrong_hint"))
            self.app.speak_refusal(self, answer.refusal)

    def show_result(self, result: OpenResult) -> None:
        self.result = result
        self.left = []
        self.add_class("answered")
        self.show_pane("pickup-doors")
        self.query_one("#pickup-again").display = False
        heading = self.query_one("#doors-heading", Static)
        if not result.parcels:
            heading.update(self.t("pickup.nothing_waiting"))
            self.app.speak(self, "nothing_waiting")
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
            line = f"{door_place(self.t, c)}   {state}"
            if c.id in self.result.waybills:
                line += "   " + self.t("pickup.waybill", waybill=self.result.waybills[c.id])
            lines.append(line)
        self.query_one("#doors-list", Static).update("\n".join(lines))

    def on_doors_changed(self, message: DoorsChanged) -> None:
        if self.result is None:
            return
        self._render_doors([c.id for c in message.still_open])
        if not message.still_open:
            self.query_one("#doors-message", Static).update(self.t("slot.checking"))
            self.settle(self.result)

    @work(thread=True, exclusive=True, group="pickup", exit_on_error=False)
    def settle(self, result: OpenResult) -> None:
        try:
            answer = PickupSettled(self.app.lockers.settle_shut(result))
        except BoardError as exc:
            # Settled by the kiosk once the board answers (settle_unattended).
            answer = PickupSettled(error=str(exc))
        self.post_message(answer)

    def on_pickup_settled(self, message: PickupSettled) -> None:
        self.left = message.left
        if message.error is not None:
            self.query_one("#doors-message", Static).update(self.t("pickup.board_error"))
            return
        if self.left:
            doors = " ".join(c.id for c in self.left)
            self.query_one("#doors-message", Static).update(
                self.t("pickup.left_inside", doors=doors))
            self.query_one("#pickup-again").display = True
            self.app.speak(self, "left_inside")
            return
        self.app.speak(self, "done")
        self._finish()

    def open_again(self) -> None:
        if self._busy or not self.left or self.result is None:
            return
        self._busy = True
        self.query_one("#pickup-again").display = False
        self.reopen(self.left[0].id, self.result.household)

    @work(thread=True, exclusive=True, group="pickup", exit_on_error=False)
    def reopen(self, compartment: str, unit: str | None) -> None:
        try:
            answer = PickupAnswered(result=self.app.lockers.open_again(compartment, unit))
        except BoardError as exc:
            answer = PickupAnswered(error=str(exc))
        self.post_message(answer)

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
        if event.button.id in ("back", "done"):
            # An open door is settled by the kiosk once shut (settle_unattended): leaving
            # never loses anything.
            if event.button.id == "back" and self.result is None:
                self.step_back()
            else:
                self.go_home()
        elif event.button.id == "pickup-lost":
            self.lost_code()
        elif event.button.id == "pickup-resend" and not self._busy:
            self._busy = True
            self.resend(self.unit)
        elif event.button.id == "pickup-with-pin":
            self.query_one("#pickup-pin", EntryPane).say("")
            self.show_pane("pickup-pin")
            self.app.speak(self, "household_pin")
        elif event.button.id == "pickup-again":
            self.open_again()
