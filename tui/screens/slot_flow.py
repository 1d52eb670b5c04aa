"""Putting a parcel in: size → door opens → door shut → stored. Shared by deposit and send."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static
from textual.worker import get_current_worker

from kiosk.hardware import BoardError
from kiosk.lockers.model import (
    DoorDidNotOpen,
    LockerError,
    NothingInside,
    Slot,
)
from kiosk.refusals import Refusal
from tui.refusals import refusal_text
from tui.screens.base import DoorsChanged, DoorsUnreadable, KioskScreen, door_place
from tui.widgets.entry import EntryPane
from tui.widgets.keypad import KeyButton
from tui.widgets.size_chooser import SizeChooser, size_name


@dataclass
class FreeCounted(Message):
    free: dict[str, int]
    # Sizes none can be had of for an outage (a board offline, jams): "out of order".
    out_of_order: frozenset[str] = frozenset()


@dataclass
class SlotOpened(Message):
    slot: Slot


@dataclass
class SlotRefused(Message):
    refusal: LockerError | None  # None: the board could not be reached
    size: str = ""
    door: str = ""  # the door that did not open

    @property
    def reason(self) -> str:
        return self.refusal.reason if self.refusal is not None else "board"


@dataclass
class SlotWaiting(Message):
    """The database is busy (another writer): the parcel's step is tried again until it
    answers; the person is told to wait."""


@dataclass
class SlotSettled(Message):
    slot: Slot
    outcome: str  # "stored", "empty", "cancelled", "unconfirmed"


class SlotFlowScreen(KioskScreen):
    """Subclasses compose their own panes plus ``compose_size_pane`` and
    ``compose_door_pane``, implement ``make_slot`` and react in ``after_slot``."""

    def __init__(self) -> None:
        super().__init__()
        self.slot: Slot | None = None
        self.unit = ""
        self.last_size: str | None = None
        self._busy = False
        self._cancel = False

    # --- panes --------------------------------------------------------------------------

    def compose_size_pane(self) -> ComposeResult:
        with Vertical(id="size-pane"):
            yield Static("", id="size-prompt", classes="prompt")
            yield SizeChooser(id="sizes")
            yield Static("", id="size-message", classes="message")
            with Horizontal(classes="pane-buttons"):
                yield KeyButton(self.t("nav.back"), classes="nav step-back")

    def compose_door_pane(self) -> ComposeResult:
        with Vertical(id="door-pane"):
            yield Static("", id="door-where", classes="doors")
            yield Static("", id="door-message", classes="message")
            yield from self.compose_door_extra()
            with Horizontal(classes="pane-buttons"):
                yield KeyButton(self.t("slot.cancel"), id="door-cancel", classes="nav",
                                variant="warning")

    def compose_door_extra(self) -> ComposeResult:
        """More of the door pane, for a subclass (a courier's waybill)."""
        yield from ()

    @property
    def pane(self) -> str:
        return self.query_one(ContentSwitcher).current or ""

    def show_pane(self, name: str) -> None:
        self.query_one(ContentSwitcher).current = name
        self.set_class(name == "door-pane", "door-open")

    def current_entry(self) -> EntryPane | None:
        pane = self.pane
        if not pane:
            return None
        widget = self.query_one(f"#{pane}")
        return widget if isinstance(widget, EntryPane) else None

    # --- keys ---------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if self._key(event):
            event.stop()

    def _key(self, event: events.Key) -> bool:
        if self.pane == "door-pane":
            return False
        if event.key == "escape":
            self.step_back()
            return True
        entry = self.current_entry()
        if entry is not None and not self._busy:
            return entry.press_key(event)
        if self.pane == "size-pane":
            if event.key == "enter" and self.last_size:
                self.choose_size(self.last_size)
                return True
            key = (event.character or "").upper()
            by_key = {"S": "S", "M": "M", "L": "L", "1": "S", "2": "M", "3": "L"}
            if key in by_key:
                self.choose_size(by_key[key])
                return True
        return False

    def step_back(self) -> None:
        """Escape / Back: one step back; from the first step, home."""
        self.go_home()

    # --- size and door ------------------------------------------------------------------

    def ask_size(self, prompt: str, message: str = "") -> None:
        self.query_one("#size-prompt", Static).update(prompt)
        self.query_one("#size-message", Static).update(message)
        self.show_pane("size-pane")
        self.count_free()

    @work(thread=True, exclusive=True, group="free", exit_on_error=False)
    def count_free(self) -> None:
        lockers = self.app.lockers
        self.post_message(FreeCounted(lockers.free_counts(),
                                      frozenset(lockers.unavailable_sizes())))

    def on_free_counted(self, message: FreeCounted) -> None:
        self.query_one(SizeChooser).show(message.free, self.last_size, message.out_of_order)

    def on_size_chooser_chosen(self, message: SizeChooser.Chosen) -> None:
        self.choose_size(message.size)

    def choose_size(self, size: str) -> None:
        if self._busy or self.pane != "size-pane":
            return
        self._busy = True
        self.last_size = size
        self.query_one("#size-message", Static).update(self.t("slot.opening"))
        self.open_slot(size)

    def make_slot(self, size: str) -> Slot:
        """Blocking: choose a compartment and open its door (runs in a worker)."""
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="slot", exit_on_error=False)
    def open_slot(self, size: str) -> None:
        try:
            answer: Message = SlotOpened(self.make_slot(size))
        except DoorDidNotOpen as refusal:
            answer = SlotRefused(refusal, size=size, door=refusal.compartment.id)
        except LockerError as refusal:  # no free compartment, an unknown unit…
            answer = SlotRefused(refusal, size=size)
        except BoardError:
            answer = SlotRefused(None, size=size)
        self.post_message(answer)

    def on_slot_opened(self, message: SlotOpened) -> None:
        self._busy = False
        self.slot = message.slot
        self.holds_door = True
        self._cancel = False
        c = message.slot.compartment
        self.query_one("#door-where", Static).update(
            self.t("slot.door_open", place=door_place(self.t, c)))
        self.query_one("#door-message", Static).update(self.door_instructions(message.slot))
        self.show_pane("door-pane")
        self.follow_doors([c])

    def door_instructions(self, slot: Slot) -> str:
        return self.t("slot.put_and_shut", size=size_name(self.t, slot.compartment.size))

    def on_slot_refused(self, message: SlotRefused) -> None:
        self._busy = False
        self.after_refusal(message)

    def after_refusal(self, message: SlotRefused) -> None:
        raise NotImplementedError

    def refused_text(self, message: SlotRefused, words: dict[str, str]) -> str:
        """Why no door opened, in this screen's ``words`` by reason; else a board error."""
        t = self.t
        words = {"door_did_not_open": t("slot.jammed", door=message.door), **words}
        if message.refusal is None:
            return t("slot.board_error")
        return refusal_text(t, message.refusal, words, t("slot.board_error"))

    def on_doors_changed(self, message: DoorsChanged) -> None:
        if self.slot is not None and not message.still_open:
            self.query_one("#door-message", Static).update(self.t("slot.checking"))
            self.settle(self.slot, self._cancel)

    def on_doors_unreadable(self, message: DoorsUnreadable) -> None:
        self.query_one("#door-message", Static).update(self.t("slot.board_error"))

    @work(thread=True, exclusive=True, group="slot", exit_on_error=False)
    def settle(self, slot: Slot, cancel: bool) -> None:
        worker = get_current_worker()
        lockers = self.app.lockers
        outcome = "unconfirmed"
        board_tries = 0
        told = False
        while board_tries < 3:
            try:
                if cancel:
                    lockers.cancel(slot)
                    outcome = "cancelled"
                else:
                    lockers.finish(slot)
                    outcome = "stored"
                break
            except NothingInside:
                outcome = "empty"
                break
            except Refusal as refusal:
                # The store busy (kiosk/store.py, StoreBusy; not imported before the first
                # frame): nothing was written, the step never began. The same step again,
                # each try after the store's busy timeout, so the parcel is recorded once.
                if refusal.reason != "store_busy":
                    raise
                if worker.is_cancelled:
                    return  # left deposit_pending: settled at the next start (reconcile)
                if not told:
                    told = True
                    self.post_message(SlotWaiting())
                time.sleep(0.1)
            except BoardError:
                # Left deposit_pending, the step is settled at the next start (reconcile).
                board_tries += 1
                time.sleep(0.3)
        self.post_message(SlotSettled(slot, outcome))

    def on_slot_waiting(self, message: SlotWaiting) -> None:
        self.query_one("#door-message", Static).update(self.t("slot.store_busy"))

    def on_slot_settled(self, message: SlotSettled) -> None:
        self.slot = None
        self.holds_door = False
        self.after_slot(message)

    def after_slot(self, message: SlotSettled) -> None:
        raise NotImplementedError

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "door-cancel" and self.slot is not None:
            self._cancel = True
            self.query_one("#door-message", Static).update(
                self.t("slot.cancel_shut", door=self.slot.compartment.id))
        elif event.button.has_class("step-back") and not self._busy:
            self.step_back()
