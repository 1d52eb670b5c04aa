"""Deposit, for couriers: PIN once, then unit → size → door → shut → next, counted."""

from __future__ import annotations

from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, ContentSwitcher

from kiosk.backoff import TooManyAttempts
from kiosk.lockers.model import Courier, Slot, WrongPin
from tui.refusals import refusal_text
from tui.screens.slot_flow import SlotFlowScreen, SlotRefused, SlotSettled
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, Countdown, EntryPane, PaneButton
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name

MAX_MATCHES = 6


@dataclass
class CourierAnswered(Message):
    courier: Courier | None = None
    refusal: WrongPin | TooManyAttempts | None = None


@dataclass
class UnitsLoaded(Message):
    units: list[str]


class UnitPane(EntryPane):
    """The unit, with the known units that start with what was typed, to tap."""

    def compose_extra(self) -> ComposeResult:
        yield Horizontal(id="unit-matches", classes="matches")


class DepositScreen(SlotFlowScreen):
    TITLE_KEY = "deposit.title"

    def __init__(self) -> None:
        super().__init__()
        self.courier: Courier | None = None
        self.count = 0
        self.units: list[str] = []
        self.countdown = Countdown(self, self.t,
                              lambda text: self.query_one("#pin-pane", EntryPane).say(text),
                              showing=lambda: self.courier is None)

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial="pin-pane"):
            yield EntryPane(t("deposit.pin_prompt"), allowed=DIGITS, keys="123456789",
                            length=8, masked=True, back=True, id="pin-pane")
            yield UnitPane(t("deposit.unit_prompt"), allowed=UNIT_CHARACTERS,
                           keys="123456789", length=8, id="unit-pane",
                           buttons=[PaneButton(t("deposit.finish"), "deposit-finish",
                                               "success")])
            yield from self.compose_size_pane()
            yield from self.compose_door_pane()

    def on_mount(self) -> None:
        self.countdown.run()
        self.load_units()

    @work(thread=True, group="units", exit_on_error=False)
    def load_units(self) -> None:
        self.post_message(UnitsLoaded(self.app.lockers.units()))

    def on_units_loaded(self, message: UnitsLoaded) -> None:
        self.units = message.units

    def _note(self) -> None:
        self.set_note(self.t("deposit.count", n=self.count))

    # --- PIN ----------------------------------------------------------------------------

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        if message.pane.id == "pin-pane":
            if len(message.value) < 4:
                message.pane.say(self.t("deposit.pin_short"))
                return
            self._busy = True
            message.pane.say(self.t("deposit.pin_checking"))
            self.login(message.value)
        elif message.pane.id == "unit-pane":
            self.choose_unit(message.value)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def login(self, pin: str) -> None:
        try:
            answer = CourierAnswered(courier=self.app.lockers.courier_login(pin))
        except (WrongPin, TooManyAttempts) as refusal:
            answer = CourierAnswered(refusal=refusal)
        self.post_message(answer)

    def on_courier_answered(self, message: CourierAnswered) -> None:
        self._busy = False
        pane = self.query_one("#pin-pane", EntryPane)
        pane.clear()
        if message.courier is None:
            assert message.refusal is not None
            # Wrong, or still waiting: the courier reads the same words.
            wrong = refusal_text(self.t, message.refusal, {}, self.t("deposit.pin_wrong"))
            if message.refusal.wait_s:
                self.countdown.start(wrong, message.refusal.wait_s)
            else:
                pane.say(wrong)
            return
        self.courier = message.courier
        self._note()
        self.show_pane("unit-pane")

    # --- unit ---------------------------------------------------------------------------

    def on_entry_pane_changed(self, message: EntryPane.Changed) -> None:
        if message.pane.id == "unit-pane":
            self._show_matches(message.value)

    def _show_matches(self, typed: str) -> None:
        box = self.query_one("#unit-matches", Horizontal)
        box.remove_children()
        if not typed:
            return
        matches = [u for u in self.units if u.startswith(typed)][:MAX_MATCHES]
        box.mount_all(KeyButton(u, name=u, classes="match") for u in matches)

    def choose_unit(self, unit: str) -> None:
        pane = self.query_one("#unit-pane", EntryPane)
        unit = unit.strip().upper()
        if not unit:
            return
        if self.units and unit not in self.units:
            pane.say(self.t("deposit.unknown_unit", unit=unit))
            return
        self.unit = unit
        self.ask_size(self.t("deposit.size_prompt", unit=unit))

    def step_back(self) -> None:
        pane = self.pane
        if pane == "size-pane":
            self.show_pane("unit-pane")
        elif pane == "unit-pane" and self.query_one("#unit-pane", EntryPane).buffer.value:
            self.query_one("#unit-pane", EntryPane).clear()
            self._show_matches("")
        else:
            self.go_home()

    def next_parcel(self, message: str) -> None:
        self.unit = ""
        pane = self.query_one("#unit-pane", EntryPane)
        pane.clear()
        self._show_matches("")
        pane.say(message)
        self.show_pane("unit-pane")

    # --- slot ---------------------------------------------------------------------------

    def make_slot(self, size: str) -> Slot:
        assert self.courier is not None
        return self.app.lockers.deposit(self.courier, self.unit, size)

    def door_instructions(self, slot: Slot) -> str:
        return self.t("deposit.put_and_shut", unit=slot.unit,
                      size=size_name(self.t, slot.compartment.size))

    def after_refusal(self, message: SlotRefused) -> None:
        t = self.t
        text = self.refused_text(message, {
            "no_free_compartment": t("deposit.full", size=size_name(t, message.size)),
            "out_of_order": t("deposit.out_of_order", size=size_name(t, message.size)),
            "unknown_unit": t("deposit.unknown_unit", unit=self.unit)})
        if message.reason in ("no_free_compartment", "out_of_order", "unknown_unit"):
            self.next_parcel(text)  # this parcel cannot go in: the next one
        else:
            self.ask_size(t("deposit.size_prompt", unit=self.unit), text)

    def after_slot(self, message: SlotSettled) -> None:
        door = message.slot.compartment.id
        if message.outcome == "stored":
            self.count += 1
            self._note()
            self.next_parcel(self.t("deposit.stored", door=door, unit=message.slot.unit))
        elif message.outcome == "empty":
            self.next_parcel(self.t("slot.empty", door=door))
        elif message.outcome == "cancelled":
            self.next_parcel(self.t("slot.cancelled", door=door))
        else:
            self.next_parcel(self.t("slot.unconfirmed", door=door))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.has_class("match") and event.button.name:
            event.stop()
            self.choose_unit(event.button.name)
        elif event.button.id == "deposit-finish":
            self.go_home()
        else:
            super().on_button_pressed(event)
