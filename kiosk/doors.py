"""Opening a door and knowing it opened: the board does not answer an unlock, so poll."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.hardware import BoardError, LockBoard


@dataclass(frozen=True)
class DoorResult:
    opened: bool
    attempts: int
    error: str | None = None


def open_door(board: LockBoard, board_no: int, lock: int, confirm_s: float = 1.5,
              poll_s: float = 0.05, sleep: Callable[[float], None] = time.sleep) -> DoorResult:
    """Unlock, confirm by polling the lock bit; one retry; else the door is jammed."""
    error = None
    for attempt in (1, 2):
        try:
            board.unlock(board_no, lock)
            deadline = time.monotonic() + confirm_s
            while True:
                if not board.status(board_no).is_locked(lock):
                    return DoorResult(True, attempt)
                if time.monotonic() >= deadline:
                    break
                sleep(poll_s)
        except BoardError as exc:
            error = str(exc)
    return DoorResult(False, 2, error or "lock did not release")


def is_shut(board: LockBoard, board_no: int, lock: int) -> bool:
    return board.status(board_no).is_locked(lock)
