"""Send: a resident says where the parcel goes (a destination, or a waybill number typed
or scanned), puts it in; a courier collects it later. Until then the sender can take it
back ("My sent parcels")."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk import pins
from kiosk.backoff import TooManyAttempts
from kiosk.hardware import BoardError
from kiosk.lockers.model import Household, LockerError, OpenResult, Slot, WrongPin
from kiosk.lockers.service import DESTINATION_MAX, WAYBILL_MAX
from tui.refusals import refusal_text
from tui.screens.base import DoorsChanged, door_place
from tui.screens.deposit import WAYBILL_CHARACTERS
from tui.screens.slot_flow import SlotFlowScreen, SlotRefused, SlotSettled
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, Countdown, EntryPane
from tui.widgets.keyboard import KeyboardScreen
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name


@dataclass
class ResidentAnswered(Message):
    household: Household | None = None
    refusal: WrongPin | TooManyAttempts | None = None


@dataclass
class SentLoaded(Message):
    parcels: list[dict]


@dataclass
class TakeBackOpened(Message):
    result: OpenResult | None = None
    error: str | None = None


@dataclass
class TakeBackSettled(Message):
    left: bool


class SendScreen(SlotFlowScreen):
    TITLE_KEY = "send.title"

    def __init__(self) -> None:
        super().__init__()
        self.household: Household | None = None
        self.destination = ""
        self.waybill = ""
        self.sent: list[dict] = []
        self.taking_back: OpenResult | None = None
        self.countdown = Countdown(
            self, self.t, lambda text: self.query_one("#send-unit-pane", EntryPane).say(text),
            showing=lambda: self.household is None)

    def on_mount(self) -> None:
        self.countdown.run()

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial="send-unit-pane"):
            yield EntryPane(t("send.unit_prompt"), allowed=UNIT_CHARACTERS,
                            keys="123456789", length=8, back=True, id="send-unit-pane")
            yield EntryPane(t("send.pin_prompt"), allowed=DIGITS, keys="123456789",
                            length=pins.MAX_DIGITS, masked=True, back=True, id="send-pin-pane")
            with Vertical(id="send-what-pane"):
                yield Static(t("send.what_prompt"), classes="prompt")
                yield Static("", id="send-what", classes="doors")
                yield Static("", id="send-what-message", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("send.destination"), id="send-destination",
                                    classes="nav")
                    yield KeyButton(t("send.waybill"), id="send-waybill", classes="nav")
                    yield KeyButton(t("send.continue"), id="send-continue", classes="nav",
                                    variant="primary")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("send.mine"), id="send-mine", classes="nav")
            with Vertical(id="send-mine-pane"):
                yield Static("", id="send-mine-heading", classes="prompt")
                yield Horizontal(id="send-mine-list", classes="matches")
                yield Static("", id="send-mine-message", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.back"), id="send-mine-back", classes="nav")
            yield from self.compose_size_pane()
            yield from self.compose_door_pane()
            with Vertical(id="send-done-pane"):
                yield Static("", id="send-done", classes="doors")

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        if not message.value:
            return
        if message.pane.id == "send-unit-pane":
            self.unit = message.value
            self.query_one("#send-pin-pane", EntryPane).say("")
            self.show_pane("send-pin-pane")
            self.app.speak(self, "household_pin")
        elif message.pane.id == "send-pin-pane":
            self._busy = True
            message.pane.say(self.t("deposit.pin_checking"))
            self.login(self.unit, message.value)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def login(self, unit: str, pin: str) -> None:
        try:
            answer = ResidentAnswered(household=self.app.lockers.resident_login(unit, pin))
        except (WrongPin, TooManyAttempts) as refusal:
            answer = ResidentAnswered(refusal=refusal)
        self.post_message(answer)

    def on_resident_answered(self, message: ResidentAnswered) -> None:
        self._busy = False
        pin_pane = self.query_one("#send-pin-pane", EntryPane)
        pin_pane.clear()
        if message.household is None:
            assert message.refusal is not None
            wrong = refusal_text(self.t, message.refusal, {}, self.t("send.login_wrong"))
            unit_pane = self.query_one("#send-unit-pane", EntryPane)
            unit_pane.clear()
            self.show_pane("send-unit-pane")
            if message.refusal.wait_s:
                self.countdown.start(wrong, message.refusal.wait_s)
            else:
                unit_pane.say(wrong)
                self.app.speak_refusal(self, message.refusal)
            return
        self.household = message.household
        self.ask_what()
        self.app.speak(self, "what")

    # --- where it goes ------------------------------------------------------------------

    def ask_what(self, message: str = "") -> None:
        t = self.t
        lines = [t("send.destination_is", text=self.destination or "–"),
                 t("send.waybill_is", text=self.waybill or "–")]
        self.query_one("#send-what", Static).update("\n".join(lines))
        self.query_one("#send-what-message", Static).update(message)
        self.show_pane("send-what-pane")

    def ask_text(self, which: str) -> None:
        t = self.t
        if which == "destination":
            screen = KeyboardScreen(t("send.destination_prompt"), value=self.destination,
                                    upper=False, max_len=DESTINATION_MAX)
        else:
            screen = KeyboardScreen(t("send.waybill_prompt"), value=self.waybill,
                                    allowed=WAYBILL_CHARACTERS, max_len=WAYBILL_MAX,
                                    layer="digits")

        def got(value: str | None) -> None:
            if value is not None:
                setattr(self, which, value.strip())
            self.ask_what()

        self.app.push_screen(screen, callback=got)

    def go_on(self) -> None:
        if not (self.destination or self.waybill):
            self.ask_what(self.t("send.what_needed"))
            return
        self.ask_size(self.t("send.size_prompt"))
        self.app.speak(self, "size")

    # --- taking a sent parcel back ------------------------------------------------------

    @work(thread=True, exclusive=True, group="sent", exit_on_error=False)
    def load_sent(self, unit: str) -> None:
        self.post_message(SentLoaded(self.app.lockers.sent_by(unit)))

    def on_sent_loaded(self, message: SentLoaded) -> None:
        self.sent = message.parcels
        box = self.query_one("#send-mine-list", Horizontal)
        box.remove_children()
        self.query_one("#send-mine-heading", Static).update(
            self.t("send.mine_heading") if self.sent else self.t("send.mine_none"))
        box.mount_all(KeyButton(f"{p['compartment']} {p['destination'] or p['waybill'] or ''}"
                                .strip(), name=str(p["id"]), classes="match take-back")
                      for p in self.sent)
        self.show_pane("send-mine-pane")

    @work(thread=True, exclusive=True, group="sent", exit_on_error=False)
    def take_back(self, household: Household, parcel_id: int) -> None:
        try:
            answer = TakeBackOpened(self.app.lockers.cancel_send(household, parcel_id))
        except (LockerError, BoardError) as exc:
            answer = TakeBackOpened(error=str(exc))
        self.post_message(answer)

    def on_take_back_opened(self, message: TakeBackOpened) -> None:
        self._busy = False
        say = self.query_one("#send-mine-message", Static).update
        if message.result is None or not message.result.opened:
            say(self.t("send.take_back_failed"))
            return
        self.taking_back = message.result
        say(self.t("send.take_back_open",
                   place=door_place(self.t, message.result.opened[0])))
        self.follow_doors(message.result.opened)

    def door_step(self, step: str) -> str:
        # The door of a parcel taken back: its own words (nothing is put in).
        return f"take_back_{step}" if self.taking_back is not None else step

    def on_doors_changed(self, message: DoorsChanged) -> None:
        if self.taking_back is not None:
            if not message.still_open:
                self.settle_take_back(self.taking_back)
            return
        super().on_doors_changed(message)

    @work(thread=True, exclusive=True, group="sent", exit_on_error=False)
    def settle_take_back(self, result: OpenResult) -> None:
        try:
            left = bool(self.app.lockers.settle_shut(result))
        except BoardError:
            left = False  # settled by the kiosk once the board answers
        self.post_message(TakeBackSettled(left))

    def on_take_back_settled(self, message: TakeBackSettled) -> None:
        self.taking_back = None
        self.query_one("#send-mine-message", Static).update(
            self.t("send.take_back_left") if message.left else self.t("send.taken_back"))
        self.app.speak(self, "take_back_left" if message.left else "taken_back")
        if self.household is not None:
            self.load_sent(self.household.unit)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id
        if bid == "send-destination":
            self.ask_text("destination")
        elif bid == "send-waybill":
            self.ask_text("waybill")
        elif bid == "send-continue":
            self.go_on()
        elif bid == "send-mine" and self.household is not None:
            self.load_sent(self.household.unit)
        elif bid == "send-mine-back":
            self.ask_what()
        elif event.button.has_class("take-back") and event.button.name \
                and self.household is not None and not self._busy \
                and self.taking_back is None:
            event.stop()
            self._busy = True
            self.take_back(self.household, int(event.button.name))
        else:
            super().on_button_pressed(event)

    def step_back(self) -> None:
        pane = self.pane
        if pane == "send-pin-pane":
            self.query_one("#send-pin-pane", EntryPane).clear()
            self.show_pane("send-unit-pane")
        elif pane == "size-pane" or pane == "send-mine-pane":
            self.ask_what()
        elif pane == "send-unit-pane" and self.query_one("#send-unit-pane",
                                                        EntryPane).buffer.value:
            self.query_one("#send-unit-pane", EntryPane).clear()
        else:
            self.go_home()

    def make_slot(self, size: str) -> Slot:
        assert self.household is not None
        return self.app.lockers.send(self.household, size, destination=self.destination,
                                     waybill=self.waybill)

    def door_instructions(self, slot: Slot) -> str:
        return self.t("send.put_and_shut", size=size_name(self.t, slot.compartment.size))

    def after_refusal(self, message: SlotRefused) -> None:
        t = self.t
        text = self.refused_text(message, {
            "no_free_compartment": t("send.full", size=size_name(t, message.size)),
            "out_of_order": t("send.out_of_order", size=size_name(t, message.size)),
            "bad_text": t("send.bad_text")})
        if message.reason == "bad_text":
            self.ask_what(text)
            return
        self.ask_size(t("send.size_prompt"), text)

    def after_slot(self, message: SlotSettled) -> None:
        door = message.slot.compartment.id
        if message.outcome == "stored":
            self.query_one("#send-done", Static).update(self.t("send.done", door=door))
            self.show_pane("send-done-pane")
            self.set_timer(self.app.done_s, self.go_home)
        elif message.outcome == "empty":
            self.ask_size(self.t("send.size_prompt"), self.t("slot.empty", door=door))
        elif message.outcome == "cancelled":
            self.ask_size(self.t("send.size_prompt"), self.t("slot.cancelled", door=door))
        else:
            self.query_one("#send-done", Static).update(self.t("slot.unconfirmed", door=door))
            self.show_pane("send-done-pane")
