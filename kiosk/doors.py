"""Opening a compartment door and knowing it opened (DESIGN §3, door behaviour).

Boards do not answer an unlock, so an opening is confirmed by polling the lock bit:
unlock, poll until the lock shows unlocked within ``confirm_s``; if not, pulse once more;
then give up as jammed. Plain Python against ``LockBoard``; it never pulses a lock more
than twice, and never on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.hardware import BoardError, LockBoard

JAMMED = "jammed"
PULSES = 2


@dataclass(frozen=True)
class DoorResult:
    opened: bool
    attempts: int
    # None when opened; JAMMED when the board answered but the lock stayed locked;
    # otherwise what the board (or line) said.
    error: str | None = None

    @property
    def jammed(self) -> bool:
        return self.error == JAMMED


def open_door(board: LockBoard, board_no: int, lock: int, confirm_s: float = 1.5,
              poll_s: float = 0.05, *, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> DoorResult:
    error: str | None = None
    for attempt in range(1, PULSES + 1):
        try:
            board.unlock(board_no, lock)
        except BoardError as exc:
            error = str(exc)
            continue
        deadline = clock() + confirm_s
        while True:
            try:
                if not board.status(board_no).is_locked(lock):
                    return DoorResult(True, attempt)
                error = JAMMED
            except BoardError as exc:
                error = str(exc)
            if clock() >= deadline:
                break
            sleep(poll_s)
    return DoorResult(False, PULSES, error)


def is_shut(board: LockBoard, board_no: int, lock: int) -> bool:
    """True when the door is closed and latched (the lock shows locked)."""
    return board.status(board_no).is_locked(lock)


def wait_shut(board: LockBoard, board_no: int, lock: int, timeout_s: float,
              poll_s: float = 0.1, *, clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> bool:
    """Poll until the door is shut; False if it is still open after ``timeout_s``.

    A board that stops answering raises ``BoardError``: an unknown door is not a shut one.
    """
    deadline = clock() + timeout_s
    while not is_shut(board, board_no, lock):
        if clock() >= deadline:
            return False
        sleep(poll_s)
    return True
