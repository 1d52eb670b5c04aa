"""Deposit, for couriers: PIN once, then unit → size → door (scan the waybill) → shut →
next, counted; a wrong unit corrected right after the door shut (the code waits for it);
the parcels to take away (Collect); a summary of the round at the end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk import pins
from kiosk.backoff import TooManyAttempts
from kiosk.lockers.model import Courier, LockerError, Round, Slot, WrongPin
from kiosk.lockers.service import MAX_COURIER_ID, WAYBILL_MAX
from tui.refusals import refusal_text
from tui.screens.base import KioskScreen
from tui.screens.slot_flow import SlotFlowScreen, SlotRefused, SlotSettled
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, Countdown, EntryPane, PaneButton
from tui.widgets.keyboard import KeyboardScreen
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import size_name

# What a waybill may hold, as the keyboard offers it.
WAYBILL_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/."

MAX_MATCHES = 6


@dataclass
class CourierAnswered(Message):
    courier: Courier | None = None
    refusal: WrongPin | TooManyAttempts | LockerError | None = None
    round: Round | None = None  # the courier's round, gone on from before a restart


@dataclass
class RoundEnded(Message):
    round: Round


@dataclass
class UnitsLoaded(Message):
    units: list[str]


@dataclass
class CollectableCounted(Message):
    n: int


@dataclass
class UnitCorrected(Message):
    slot: Slot
    unit: str
    error: LockerError | None = None


@dataclass
class WaybillRecorded(Message):
    waybill: str
    error: LockerError | None = None


def ask_text(screen: KioskScreen, prompt: str, allowed: str, max_len: int,
             done: Callable[[str | None], None]) -> None:
    """Text by the on-screen keyboard (a scanner types into it too, then Enter)."""
    screen.app.push_screen(KeyboardScreen(prompt, allowed=allowed, max_len=max_len,
                                          layer="digits"), callback=done)


def round_sizes(t: Callable[..., str], done: Round) -> str:
    """The summary's sizes line, e.g. "Small 3  Medium 0  Large 0"."""
    return "  ".join(f"{size_name(t, s)} {n}" for s, n in done.by_size.items())


class UnitPane(EntryPane):
    """The unit, with the known units that start with what was typed, to tap."""

    def compose_extra(self) -> ComposeResult:
        yield Horizontal(id="unit-matches", classes="matches")


class DepositScreen(SlotFlowScreen):
    TITLE_KEY = "deposit.title"

    def __init__(self) -> None:
        super().__init__()
        self.courier: Courier | None = None
        self.courier_id = ""  # as typed: an unknown one reads like a wrong PIN
        self.count = 0
        self.units: list[str] = []
        # The round itself is in SQLite (LockerService.begin_round, round_of): a restart
        # in the middle loses none of it. The last parcel's code is held until the courier
        # moves on, so its unit can still be corrected.
        self.held: Slot | None = None
        self.correcting = False
        self.scan = ""  # what a barcode scanner typed on the door pane, until Enter
        self.countdown = Countdown(self, self.t,
                              lambda text: self.query_one("#pin-pane", EntryPane).say(text),
                              showing=lambda: self.courier is None)

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial="courier-pane"):
            # The id first: wrong PINs are counted for it, so a prankster typing PINs
            # for one id never locks the other couriers out (LockerService.courier_login).
            yield EntryPane(t("deposit.courier_prompt"), allowed=UNIT_CHARACTERS,
                            keys="123456789", length=MAX_COURIER_ID, back=True,
                            keyboard=True, id="courier-pane")
            yield EntryPane(t("deposit.pin_prompt"), allowed=DIGITS, keys="123456789",
                            length=pins.MAX_DIGITS, masked=True, back=True, id="pin-pane")
            yield UnitPane(t("deposit.unit_prompt"), allowed=UNIT_CHARACTERS,
                           keys="123456789", length=8, id="unit-pane",
                           buttons=[PaneButton(t("deposit.correct"), "deposit-correct",
                                               "warning"),
                                    PaneButton(t("deposit.collect"), "deposit-collect"),
                                    PaneButton(t("deposit.finish"), "deposit-finish",
                                               "success")])
            yield from self.compose_size_pane()
            yield from self.compose_door_pane()
            with Vertical(id="round-pane"):
                yield Static("", id="round-summary", classes="doors")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.done"), id="round-done", classes="nav",
                                    variant="success")

    def compose_door_extra(self) -> ComposeResult:
        with Horizontal(classes="pane-buttons"):
            yield Static(self.t("deposit.waybill_hint"), id="door-waybill")
            yield KeyButton(self.t("deposit.waybill"), id="door-waybill-type", classes="nav")

    def on_mount(self) -> None:
        self.countdown.run()
        self.load_units()
        self._offer_correction(False)

    def _offer_correction(self, offered: bool) -> None:
        # Hidden, not removed: the buttons beside it keep their places, so a tap meant for
        # "finish" never lands on another action when this one comes or goes.
        button = self.query_one("#deposit-correct")
        button.visible = offered
        button.disabled = not offered

    @work(thread=True, group="units", exit_on_error=False)
    def load_units(self) -> None:
        self.post_message(UnitsLoaded(self.app.lockers.units()))

    def on_units_loaded(self, message: UnitsLoaded) -> None:
        self.units = message.units

    def _note(self) -> None:
        self.set_note(self.t("deposit.count", n=self.count))

    # --- PIN ----------------------------------------------------------------------------

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        if message.pane.id == "courier-pane":
            if not message.value:
                return
            self.courier_id = message.value
            pin = self.query_one("#pin-pane", EntryPane)
            pin.clear()
            pin.set_prompt(self.t("deposit.pin_prompt_id", id=self.courier_id))
            self.show_pane("pin-pane")
            self.app.speak(self, "courier_pin")
        elif message.pane.id == "pin-pane":
            if not message.value:
                return
            self._busy = True
            message.pane.say(self.t("deposit.pin_checking"))
            self.login(self.courier_id, message.value)
        elif message.pane.id == "unit-pane":
            self.choose_unit(message.value)

    @work(thread=True, exclusive=True, group="login", exit_on_error=False)
    def login(self, courier_id: str, pin: str) -> None:
        try:
            courier = self.app.lockers.courier_login(courier_id, pin)
            answer = CourierAnswered(courier=courier,
                                     round=self.app.lockers.begin_round(courier))
        except (WrongPin, TooManyAttempts, LockerError) as refusal:
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
                self.app.speak_refusal(self, message.refusal)
            return
        self.courier = message.courier
        if message.round is not None:  # the round goes on: its count too
            self.count = message.round.parcels
        self._note()
        self.show_pane("unit-pane")
        self.app.speak(self, "unit")
        self.count_collectable()

    # --- what waits to be taken away ----------------------------------------------------

    @work(thread=True, exclusive=True, group="collectable", exit_on_error=False)
    def count_collectable(self) -> None:
        self.post_message(CollectableCounted(len(self.app.lockers.collectable())))

    def on_collectable_counted(self, message: CollectableCounted) -> None:
        self.query_one("#deposit-collect", Button).label = self.t("deposit.collect_n",
                                                                  n=message.n)

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.courier is not None:  # back from the collection
            self.count_collectable()

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
        if not unit or self._busy:
            return
        if self.units and unit not in self.units:
            pane.say(self.t("deposit.unknown_unit", unit=unit))
            return
        if self.correcting and self.held is not None:
            self._busy = True
            self.correct(self.held, unit)
            return
        self.release_held()
        self.unit = unit
        self.ask_size(self.t("deposit.size_prompt", unit=unit))
        self.app.speak(self, "size")

    # --- a wrong unit, corrected; the held code -----------------------------------------

    def release_held(self) -> None:
        """The courier moved on: the last parcel's code goes to its household now."""
        if self.held is not None:
            self.confirm(self.held)
        self.held = None
        self.correcting = False
        self._offer_correction(False)

    @work(thread=True, group="confirm", exit_on_error=False)
    def confirm(self, slot: Slot) -> None:
        self.app.lockers.confirm(slot.parcel_id)

    def on_unmount(self) -> None:
        # Gone (home, the idle reset): nobody is left to correct the unit, so the held code
        # goes now, on a thread of its own (the screen's workers end with it).
        if self.held is not None:
            threading.Thread(target=self.app.lockers.confirm, args=(self.held.parcel_id,),
                             name="confirm-held-code", daemon=True).start()
            self.held = None

    @work(thread=True, exclusive=True, group="correct", exit_on_error=False)
    def correct(self, slot: Slot, unit: str) -> None:
        try:
            self.app.lockers.correct_unit(slot.parcel_id, unit)
            answer = UnitCorrected(slot, unit)
        except LockerError as refusal:  # too late: the code went out already
            answer = UnitCorrected(slot, unit, refusal)
        self.post_message(answer)

    def on_unit_corrected(self, message: UnitCorrected) -> None:
        self._busy = False
        self.held = None
        self.correcting = False
        self._offer_correction(False)
        door = message.slot.compartment.id
        if message.error is None:
            self.next_parcel(self.t("deposit.corrected", door=door, unit=message.unit))
        else:
            self.next_parcel(self.t("deposit.too_late", door=door))

    # --- the waybill, scanned or typed while the door is open ----------------------------

    def _key(self, event: events.Key) -> bool:
        if self.pane == "door-pane" and self.slot is not None:
            # A USB scanner types like a keyboard, then Enter.
            if event.key == "enter" and self.scan:
                self.waybill(self.slot, self.scan)
                self.scan = ""
                return True
            ch = event.character or ""
            if len(ch) == 1 and ch.isprintable() and ch != " ":
                self.scan = (self.scan + ch)[:WAYBILL_MAX + 1]
                return True
            return False
        return super()._key(event)

    def type_waybill(self) -> None:
        slot = self.slot
        if slot is None:
            return

        def got(value: str | None) -> None:
            if value:
                self.waybill(slot, value)

        ask_text(self, self.t("deposit.waybill_prompt"), WAYBILL_CHARACTERS, WAYBILL_MAX, got)

    @work(thread=True, group="waybill", exit_on_error=False)
    def waybill(self, slot: Slot, text: str) -> None:
        try:
            answer = WaybillRecorded(self.app.lockers.record_waybill(slot.parcel_id, text))
        except LockerError as refusal:
            answer = WaybillRecorded(text, refusal)
        self.post_message(answer)

    def on_waybill_recorded(self, message: WaybillRecorded) -> None:
        self.query_one("#door-waybill", Static).update(
            self.t("deposit.waybill_bad") if message.error is not None
            else self.t("deposit.waybill_seen", waybill=message.waybill))

    # --- the end of the round -----------------------------------------------------------

    def finish_round(self) -> None:
        if self._busy or self.courier is None:
            return
        self.release_held()
        self._busy = True
        self.end_round(self.courier)

    @work(thread=True, exclusive=True, group="round", exit_on_error=False)
    def end_round(self, courier: Courier) -> None:
        self.post_message(RoundEnded(self.app.lockers.end_round(courier)))

    def on_round_ended(self, message: RoundEnded) -> None:
        self._busy = False
        t = self.t
        done = message.round
        lines = [t("deposit.round", n=done.parcels), round_sizes(t, done),
                 t("deposit.round_units", units=" ".join(done.units) if done.units else "–")]
        self.query_one("#round-summary", Static).update("\n".join(lines))
        self.show_pane("round-pane")
        self.app.speak(self, "round_done")

    def step_back(self) -> None:
        pane = self.pane
        if pane == "size-pane":
            self.show_pane("unit-pane")
        elif pane == "pin-pane" and self.courier is None:
            self.query_one("#pin-pane", EntryPane).clear()
            self.show_pane("courier-pane")
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
        return self.app.lockers.deposit(self.courier, self.unit, size, hold_code=True)

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
        self.scan = ""
        self.query_one("#door-waybill", Static).update(self.t("deposit.waybill_hint"))
        if message.outcome == "stored":
            self.count += 1
            self._note()
            self.held = message.slot
            self._offer_correction(True)
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
            self.finish_round()
        elif event.button.id == "round-done":
            self.go_home()
        elif event.button.id == "deposit-correct" and self.held is not None:
            self.correcting = True
            pane = self.query_one("#unit-pane", EntryPane)
            pane.clear()
            self._show_matches("")
            pane.say(self.t("deposit.correct_prompt", door=self.held.compartment.id))
        elif event.button.id == "deposit-collect" and self.courier is not None:
            from tui.screens.collect import CollectScreen

            self.release_held()
            self.app.push_screen(CollectScreen(self.courier))
        elif event.button.id == "door-waybill-type":
            self.type_waybill()
        else:
            super().on_button_pressed(event)
