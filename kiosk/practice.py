"""Practice: any resident walks a maintenance runbook on a simulated cabinet, so that no
task rests on one person's skill.

A practice run never reaches the kiosk's own boards: it drives a ``PracticeCabinet`` of
its own (the pty board simulator behind the same serial driver, opened by the setup:
kiosk/setups/screen.py) and never goes through the door controller, so it can neither open
a real door nor write a compartment fault. What it leaves is one public event,
``maintenance.practiced`` with the task and the household's pseudonym, which the plan
counts towards how many people can do each task (plan/needs.py, ``skills_of``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.events import Clock, Event, Outbox, utc_now
from kiosk.hardware import LockBoard
from kiosk.refusals import Refusal
from kiosk.store import Store

# A maintainer's audited action, and the task (a runbook's fault kind) it is the skill of.
ACTION_TASKS = {
    "compartment.fault_cleared": "door.jammed",
    "parcel.review_resolved": "parcel.in_review",
    "lockers.reconcile": "sensor.mismatch",
    "door.force": "door.force",
    "compartment.out_of_service": "compartment.service",
    "compartment.in_service": "compartment.service",
}
TASKS = tuple(sorted(set(ACTION_TASKS.values())))
# The tasks a runbook walks through (tui/runbooks/): these can be practised.
PRACTICE_TASKS = ("door.jammed", "sensor.mismatch", "parcel.in_review")
MAX_STEPS = 100


class PracticeError(Refusal):
    default_reason = "practice"


@dataclass
class PracticeCabinet:
    """A simulated cabinet for practice: its board (the same driver as the real one) and
    how to close it; ``simulator`` is the simulated hardware behind it (shut a door, jam a
    lock)."""

    board: LockBoard
    close: Callable[[], None]
    simulator: Any = None
    boards: tuple[int, ...] = field(default=(0,))

    def try_lock(self, board: int = 0, lock: int = 1) -> bool:
        """Pulse one practice lock; True if it opened (then the simulated door is shut
        again for the next try). Only this cabinet's own board: never the kiosk's."""
        self.board.unlock(board, lock)
        opened = not self.board.status(board).is_locked(lock)
        if opened and self.simulator is not None:
            self.simulator.shut(board, lock)
        return opened


class PracticeLog:
    def __init__(self, store: Store, outbox: Outbox, clock: Clock = utc_now):
        self.store = store
        self.outbox = outbox
        self.clock = clock

    def record(self, who: str, task: str, steps: int) -> Event:
        """One walk of a runbook, done: a public event, no door moved."""
        if task not in PRACTICE_TASKS:
            raise PracticeError(f"no runbook to practise for {task!r}", reason="bad_task")
        if not who or len(who) > 64:
            raise PracticeError("who practised must be a pseudonym", reason="bad_pseudonym")
        with self.store.step() as db:
            return self.outbox.append(db, "maintenance.practiced",
                                      {"task": task, "by": who,
                                       "steps": max(0, min(int(steps), MAX_STEPS))})
