"""Practice: any resident walks a runbook, step by step, on a simulated cabinet.

Reached from the maintenance screen's PIN pane (no on-duty PIN needed): the household's
unit and PIN say who practised (their pseudonym goes into the public
``maintenance.practiced`` event), then a task, then its runbook one line at a time.
"Try it" pulses lock 1 of the practice cabinet (kiosk/practice.py, opened by the setup):
never the kiosk's own board, never through the door controller. For a jammed door the
practice lock is jammed while the checks are walked and freed for the fix.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, ContentSwitcher, Static

from kiosk import pins
from kiosk.backoff import TooManyAttempts
from kiosk.lockers.model import Household, WrongPin
from kiosk.maintenance_view import FaultView
from kiosk.practice import PRACTICE_TASKS, PracticeCabinet, PracticeLog
from tui.refusals import refusal_text
from tui.screens.base import KioskScreen
from tui.screens.runbooks import runbook
from tui.widgets.compartment_grid import PickLine
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, EntryPane
from tui.widgets.keypad import KeyButton

PRACTICE_DOOR = "P01"  # lock 1 of board 0 of the practice cabinet
SAMPLE: dict[str, dict[str, Any]] = {"door.jammed": {"compartment": PRACTICE_DOOR},
          "sensor.mismatch": {"compartment": PRACTICE_DOOR},
          "parcel.in_review": {"compartment": PRACTICE_DOOR, "parcel": 1}}


@dataclass
class PracticeLogin(Message):
    household: Household | None = None
    refusal: WrongPin | TooManyAttempts | None = None


@dataclass
class PracticeTried(Message):
    opened: bool | None  # None: the practice cabinet could not be reached
    error: str = ""


@dataclass
class PracticeRecorded(Message):
    task: str
    error: str = ""


@dataclass(frozen=True)
class Step:
    heading: str  # what to check / how to fix it
    text: str
    fixing: bool


class PracticeScreen(KioskScreen):
    TITLE_KEY = "practice.title"

    def __init__(self) -> None:
        super().__init__()
        self.pane = "practice-unit-pane"
        self.unit = ""
        self.household: Household | None = None
        self.practising = ""
        self.steps: list[Step] = []
        self.step = 0
        self.cabinet: PracticeCabinet | None = None
        self._cabinet_lock = threading.Lock()

    @property
    def practice_log(self) -> PracticeLog:
        log = self.app.parts.practice if self.app.parts else None
        if log is None:
            raise RuntimeError("this kiosk was built without practice")
        return log

    def compose_body(self) -> ComposeResult:
        t = self.t
        with ContentSwitcher(initial=self.pane, id="practice-switcher"):
            yield EntryPane(t("practice.unit_prompt"), allowed=UNIT_CHARACTERS,
                            keys="123456789", length=8, back=True, id="practice-unit-pane")
            yield EntryPane(t("send.pin_prompt"), allowed=DIGITS, keys="123456789",
                            length=pins.MAX_DIGITS, masked=True, back=True,
                            id="practice-pin-pane")
            with Vertical(id="practice-tasks-pane"):
                yield Static(t("practice.choose"), classes="prompt")
                yield Static("", id="practice-message", classes="message")
                with VerticalScroll(classes="reading"):
                    for task in PRACTICE_TASKS:
                        book = runbook(t, FaultView(task, SAMPLE[task]))
                        yield PickLine(book.title, name=task,
                                       id="practice-task-" + task.replace(".", "-"),
                                       classes="practice-task")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("nav.back"), classes="nav step-back")
            with Vertical(id="practice-step-pane"):
                yield Static("", id="practice-step", classes="reading")
                yield Static("", id="practice-said", classes="message")
                with Horizontal(classes="pane-buttons"):
                    yield KeyButton(t("practice.try", door=PRACTICE_DOOR), id="practice-try",
                                    classes="nav")
                    yield KeyButton(t("practice.next"), id="practice-next", classes="nav")
                    yield KeyButton(t("nav.back"), id="practice-back", classes="nav")

    def show_pane(self, pane: str) -> None:
        self.pane = pane
        self.query_one("#practice-switcher", ContentSwitcher).current = pane

    def on_unmount(self) -> None:
        with self._cabinet_lock:
            if self.cabinet is not None:
                self.cabinet.close()
                self.cabinet = None

    # --- who practises ------------------------------------------------------------------

    def on_entry_pane_submitted(self, message: EntryPane.Submitted) -> None:
        if not message.value or self._busy:
            return
        if message.pane.id == "practice-unit-pane":
            self.unit = message.value
            self.show_pane("practice-pin-pane")
        else:
            self._busy = True
            message.pane.say(self.t("deposit.pin_checking"))
            self.login(self.unit, message.value)

    @work(thread=True, exclusive=True, group="practice-login", exit_on_error=False)
    def login(self, unit: str, pin: str) -> None:
        try:
            answer = PracticeLogin(household=self.app.lockers.resident_login(unit, pin))
        except (WrongPin, TooManyAttempts) as refusal:
            answer = PracticeLogin(refusal=refusal)
        self.post_message(answer)

    def on_practice_login(self, message: PracticeLogin) -> None:
        self._busy = False
        self.query_one("#practice-pin-pane", EntryPane).clear()
        if message.household is None:
            assert message.refusal is not None
            unit = self.query_one("#practice-unit-pane", EntryPane)
            unit.clear()
            unit.say(refusal_text(self.t, message.refusal, {}, self.t("send.login_wrong")))
            self.app.speak_refusal(self, message.refusal, countdown=False)
            self.show_pane("practice-unit-pane")
            return
        self.household = message.household
        self.set_note(self.t("practice.note"))
        self.show_pane("practice-tasks-pane")

    # --- walking a runbook --------------------------------------------------------------

    def on_pick_line_picked(self, message: PickLine.Picked) -> None:
        task = message.line.name or ""
        if task not in PRACTICE_TASKS or self.household is None:
            return
        t = self.t
        book = runbook(t, FaultView(task, SAMPLE[task]))
        self.practising = task
        self.steps = ([Step(t("runbook.check"), line, False) for line in _lines(book.check)]
                      + [Step(t("runbook.fix"), line, True) for line in _lines(book.fix)])
        self.step = 0
        self.query_one("#practice-said", Static).update("")
        self.prepare(task, fixing=False)
        self.show_step()
        self.show_pane("practice-step-pane")

    def show_step(self) -> None:
        t = self.t
        step = self.steps[self.step]
        book = runbook(t, FaultView(self.practising, SAMPLE[self.practising]))
        self.query_one("#practice-step", Static).update(
            f"{book.title}\n\n" + t("practice.step", i=self.step + 1, n=len(self.steps))
            + f" · {step.heading}\n\n{step.text}")
        last = self.step == len(self.steps) - 1
        self.query_one("#practice-next", Button).label = (t("practice.done") if last
                                                          else t("practice.next"))

    @work(thread=True, exclusive=True, group="practice-cabinet", exit_on_error=False)
    def prepare(self, task: str, fixing: bool) -> None:
        """The practice cabinet as the step finds it: a jammed lock while checking."""
        try:
            cabinet = self._cabinet()
        except Exception as exc:  # no practice cabinet: the walk goes on without "try"
            self.post_message(PracticeTried(None, type(exc).__name__))
            return
        sim = cabinet.simulator
        if sim is not None:
            if task == "door.jammed" and not fixing:
                sim.jam(0, 1)
            else:
                sim.unjam(0, 1)

    def _cabinet(self) -> PracticeCabinet:
        with self._cabinet_lock:  # two workers may ask at once: one cabinet
            if self.cabinet is None:
                open_cabinet = self.app.parts.practice_cabinet if self.app.parts else None
                if open_cabinet is None:
                    raise RuntimeError("this kiosk has no practice cabinet")
                self.cabinet = open_cabinet()
            return self.cabinet

    @work(thread=True, exclusive=True, group="practice-cabinet", exit_on_error=False)
    def try_door(self) -> None:
        try:
            opened = self._cabinet().try_lock(0, 1)
        except Exception as exc:
            self.post_message(PracticeTried(None, type(exc).__name__))
            return
        self.post_message(PracticeTried(opened))

    def on_practice_tried(self, message: PracticeTried) -> None:
        self._busy = False
        t = self.t
        if message.opened is None:
            said = t("practice.no_cabinet")
        elif message.opened:
            said = t("practice.opened", door=PRACTICE_DOOR)
        else:
            said = t("practice.stuck", door=PRACTICE_DOOR)
        self.query_one("#practice-said", Static).update(said)

    def next_step(self) -> None:
        if self.step < len(self.steps) - 1:
            was_fixing = self.steps[self.step].fixing
            self.step += 1
            self.query_one("#practice-said", Static).update("")
            if self.steps[self.step].fixing and not was_fixing:
                self.prepare(self.practising, fixing=True)
            self.show_step()
            return
        assert self.household is not None
        self._busy = True
        self.record(self.household.pseudonym, self.practising, len(self.steps))

    @work(thread=True, exclusive=True, group="practice-record", exit_on_error=False)
    def record(self, who: str, task: str, steps: int) -> None:
        self.practice_log.record(who, task, steps)
        self.post_message(PracticeRecorded(task))

    def on_practice_recorded(self, message: PracticeRecorded) -> None:
        self._busy = False
        self.query_one("#practice-message", Static).update(self.t("practice.recorded"))
        self.show_pane("practice-tasks-pane")

    # --- keys and buttons ---------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            self.step_back()
        elif self.pane in ("practice-unit-pane", "practice-pin-pane"):
            if not self.query_one(f"#{self.pane}", EntryPane).press_key(event):
                return
        else:
            return
        event.stop()

    def step_back(self) -> None:
        if self.pane == "practice-pin-pane":
            self.show_pane("practice-unit-pane")
        elif self.pane == "practice-step-pane":
            self.show_pane("practice-tasks-pane")
        else:
            self.go_home()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        event.stop()
        if self._busy:
            return
        if event.button.has_class("step-back") or bid == "practice-back":
            self.step_back()
        elif bid == "practice-next":
            self.next_step()
        elif bid == "practice-try":
            self._busy = True
            self.query_one("#practice-said", Static).update(self.t("practice.trying"))
            self.try_door()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
