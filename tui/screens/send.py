"""Send: a resident puts an outgoing parcel in; a courier collects it later."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Static

from kiosk.backoff import TooManyAttempts
from kiosk.lockers.model import Household, Slot, WrongPin
from tui.refusals import refusal_text
from tui.screens.slot_flow import SlotFlowScreen, SlotRefused, SlotSettled
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, Countdown, EntryPane
from tui.widgets.size_chooser import size_name


@dataclass
class ResidentAnswered(Message):
    household: Household | None = None
    refusal: WrongPin | TooManyAttempts | None = None


class SendScreen(SlotFlowScreen):
    TITLE_KEY = "send.title"

    def __init__(self) -> None:
        super().__init__()
        self.household: Household | None = None
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
                            length=8, masked=True, back=True, id="send-pin-pane")
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
            return
        self.household = message.household
        self.ask_size(self.t("send.size_prompt"))

    def step_back(self) -> None:
        pane = self.pane
        if pane == "send-pin-pane":
            self.query_one("#send-pin-pane", EntryPane).clear()
            self.show_pane("send-unit-pane")
        elif pane == "send-unit-pane" and self.query_one("#send-unit-pane",
                                                        EntryPane).buffer.value:
            self.query_one("#send-unit-pane", EntryPane).clear()
        else:
            self.go_home()

    def make_slot(self, size: str) -> Slot:
        assert self.household is not None
        return self.app.lockers.send(self.household, size)

    def door_instructions(self, slot: Slot) -> str:
        return self.t("send.put_and_shut", size=size_name(self.t, slot.compartment.size))

    def after_refusal(self, message: SlotRefused) -> None:
        t = self.t
        text = self.refused_text(message, {
            "no_free_compartment": t("send.full", size=size_name(t, message.size)),
            "out_of_order": t("send.out_of_order", size=size_name(t, message.size))})
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
