"""What every kiosk screen has: a title bar, the status line, strings, and door watching."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from kiosk.hardware import BoardError
from kiosk.lockers.model import Compartment
from tui.kiosk_node import InKiosk
from tui.messages import LanguageChanged
from tui.widgets.idle_warning import IdleWarning
from tui.widgets.status_line import StatusLine
from tui.widgets.title_bar import TitleBar


@dataclass
class DoorsChanged(Message):
    """The doors being watched that are still open (empty: all shut)."""

    still_open: list[Compartment]


@dataclass
class DoorsUnreadable(Message):
    error: str


def door_place(t, c: Compartment) -> str:
    """Where a door is, as a person finds it: cabinet letter and the number on the door."""
    return t("door.place", door=c.id, cabinet=c.id[0], number=c.lock)


class KioskScreen(InKiosk, Screen):
    """A screen with the kiosk's frame. Subclasses fill ``compose_body``."""

    TITLE_KEY = "app.title"
    # Whose status line this screen shows: the maintainers' adds the uplink, the queue and
    # every fault (tui/widgets/status_line.py).
    MAINTAINERS_STATUS = False
    # True while a door this screen opened is not shut again: the idle reset waits.
    holds_door = False
    # True while a worker answers for this screen; keys and taps wait for it.
    _busy = False

    def t(self, key: str, **values: object) -> str:
        return self.app.t(key, **values)

    def compose(self) -> ComposeResult:
        yield TitleBar(self.t(self.TITLE_KEY))
        yield IdleWarning()
        yield from self.compose_body()
        yield StatusLine(maintainers=self.MAINTAINERS_STATUS)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def set_note(self, note: str) -> None:
        self.query_one(TitleBar).note = note

    async def on_language_changed(self, message: LanguageChanged) -> None:
        await self.recompose()

    def after_failed_worker(self, worker: Worker) -> None:
        # The answer will not come: let the person try again (the app said why).
        self._busy = False

    # Whether this screen has said its opening prompt, and that its doors are open.
    _greeted = False
    _doors_said_open = False

    def on_screen_resume(self) -> None:
        # A screen just came up for someone (it may have taken a while to mount): the
        # idle reset counts from here.
        self.app.note_activity()
        if not self._greeted:
            self._greeted = True
            self.app.speak(self, "opened")

    def on_doors_changed(self, message: DoorsChanged) -> None:
        # Runs beside a subclass's own handler (Textual calls each class's): the spoken
        # prompts of the door steps, for every screen that opens doors.
        if message.still_open and not self._doors_said_open:
            self._doors_said_open = True
            self.app.speak(self, self.door_step("doors_open"))
        elif not message.still_open and self._doors_said_open:
            self._doors_said_open = False
            self.app.speak(self, self.door_step("doors_shut"))

    def door_step(self, step: str) -> str:
        """The spoken step for a door step; a screen opening a door for something else
        (taking a sent parcel back) names its own."""
        return step

    def go_home(self) -> None:
        if self.holds_door:
            return
        if self.app.screen is self and len(self.app.screen_stack) > 1:
            self.dismiss()

    # --- doors --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="doors", exit_on_error=False)
    def follow_doors(self, compartments: list[Compartment]) -> None:
        """Post ``DoorsChanged`` whenever the set of open doors changes, until all shut."""
        worker = get_current_worker()
        app = self.app
        beep_after = time.monotonic() + app.lockers.rules.door_open_beep_s
        last: list[str] | None = None
        while not worker.is_cancelled:
            try:
                still_open = app.lockers.open_doors(compartments)
            except BoardError as exc:
                self.post_message(DoorsUnreadable(str(exc)))
                time.sleep(max(app.door_poll_s, 0.5))
                continue
            ids = [c.id for c in still_open]
            if ids != last:
                self.post_message(DoorsChanged(still_open))
                last = ids
            if not still_open:
                return
            if app.peripherals is not None and time.monotonic() >= beep_after:
                app.peripherals.beep(2)
                beep_after = time.monotonic() + app.lockers.rules.door_open_beep_s
            time.sleep(app.door_poll_s)
