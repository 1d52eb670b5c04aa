"""Compartment doors: opening one and knowing it opened (DESIGN §3, door behaviour), and
``DoorController``, the one owner of what the kiosk does to doors and of compartment faults.

Boards do not answer an unlock, so an opening is confirmed by polling the lock bit:
unlock, poll until the lock shows unlocked within ``confirm_s``; if not, pulse once more;
then give up as jammed. Plain Python against ``LockBoard``; it never pulses a lock more
than twice, and never on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.events import Clock, Outbox, utc_now
from kiosk.hardware import BoardError, BoardStatus, LockBoard

if TYPE_CHECKING:
    import sqlite_utils

    from kiosk.lockers.model import Compartment
    from kiosk.store import Store

JAMMED = "jammed"
PULSES = 2
# A compartment fault: its board's lock bits look reversed (``[board] lock_bit_locked``),
# so no opening could be confirmed and no door is pulsed for a parcel flow.
POLARITY = "polarity_suspect"


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
                # One request a read: this loop is the retry, and a silent board then holds
                # the bus for one timeout at a time, not the driver's every try, so the
                # health poll's probes of the other boards get through meanwhile.
                if not board.status(board_no, once=True).is_locked(lock):
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


# Parcel states in which the occupancy sensor is not expected to agree with the database
# yet: a door is being used for it right now, or a maintainer is to decide.
SENSOR_UNSETTLED = ("deposit_pending", "pickup_pending", "in_review")


def sensor_mismatch(parcel_state: str | None, occupied: bool) -> str | None:
    """The one rule for a compartment's sensor against its parcel: the problem, or None."""
    if parcel_state in SENSOR_UNSETTLED:
        return None
    if occupied and parcel_state is None:
        return "item in a free compartment"
    if not occupied and parcel_state is not None:
        return "parcel missing"
    return None


class DoorController:
    """The one object that acts on compartment doors and owns their state.

    It alone pulses locks (for a parcel flow or a maintainer's forced door), knows which
    doors the kiosk opened on purpose (any other open door is tampering), confirms an
    opening, and writes every compartment fault (``jammed``, ``board_offline``,
    ``polarity_suspect``) and its clearing. Locker flows, the health monitor and
    maintenance all go through it.
    Thread-safe: screens' workers and the scheduler's health poll use it at once.
    """

    def __init__(self, store: Store, outbox: Outbox, board: LockBoard, confirm_s: float,
                 clock: Clock = utc_now, sleep: Callable[[float], None] = time.sleep):
        self.store = store
        self.outbox = outbox
        self.board = board
        self.confirm_s = confirm_s
        self.clock = clock
        self.sleep = sleep
        self._opened: dict[str, datetime] = {}  # doors opened on purpose, and when
        self._lock = threading.Lock()

    # --- opening --------------------------------------------------------------------------

    def open(self, c: Compartment, *, report_jam: bool = True) -> DoorResult:
        """Pulse ``c`` open and confirm it; a jam becomes the compartment's fault (unless
        ``report_jam`` is off: a maintainer's forced door is audited by the caller).

        A compartment whose board's polarity is suspect is not pulsed for a parcel flow:
        its opening could not be confirmed (a door that opened would read jammed). A
        maintainer's forced door still is."""
        fault = self._fault_of(c.id)
        if report_jam and fault == POLARITY:
            return DoorResult(False, 0, f"board {c.board}: lock readings look reversed")
        with self._lock:
            self._opened[c.id] = self.clock()
        result = open_door(self.board, c.board, c.lock, self.confirm_s, sleep=self.sleep)
        if result.opened:
            if fault == JAMMED:
                self._jam_ended(c)
            return result
        with self._lock:
            self._opened.pop(c.id, None)
        if not report_jam:
            return result
        with self.store.step() as db:
            if result.jammed:
                self._set_fault(db, "jammed", "id = ?", (c.id,))
                self.outbox.append(db, "door.jammed", {
                    "compartment": c.id, "board": c.board, "lock": c.lock,
                    "attempts": result.attempts})
            else:
                # The line failed, not the lock: the health monitor follows the board.
                self.outbox.append(db, "door.not_opened", {
                    "compartment": c.id, "board": c.board, "error": result.error})
        return result

    def _jam_ended(self, c: Compartment) -> None:
        """A lock reported jammed just opened and was seen open: it is not jammed any more,
        so the compartment is back in service without waiting for a maintainer (the events
        keep that it jammed once)."""
        with self.store.step() as db:
            self._clear_fault(db, "id = ? AND fault = ?", (c.id, JAMMED))
            self.outbox.append(db, "door.jam_cleared", {
                "compartment": c.id, "board": c.board, "lock": c.lock})

    def opened_since(self, compartment: str) -> datetime | None:
        """When the kiosk opened this door on purpose; None if it did not."""
        with self._lock:
            return self._opened.get(compartment)

    def left_open_at_start(self, compartment: str) -> None:
        """Found open at start-up for a step the kiosk had begun: not a break-in."""
        with self._lock:
            self._opened.setdefault(compartment, self.clock())

    def seen_shut(self, compartment: str) -> None:
        with self._lock:
            self._opened.pop(compartment, None)

    # --- reading --------------------------------------------------------------------------

    def is_shut(self, c: Compartment) -> bool:
        return is_shut(self.board, c.board, c.lock)

    def still_open(self, compartments: Iterable[Compartment]) -> list[Compartment]:
        """Those of ``compartments`` whose doors are still open (one status read a board)."""
        compartments = list(compartments)
        statuses = {b: self.board.status(b) for b in {c.board for c in compartments}}
        return [c for c in compartments if not statuses[c.board].is_locked(c.lock)]

    def occupied(self, c: Compartment) -> bool:
        return self.board.status(c.board).is_occupied(c.lock)

    def status(self, board: int) -> BoardStatus:
        return self.board.status(board)

    # --- faults ---------------------------------------------------------------------------

    def offline_boards(self) -> set[int]:
        """Boards whose compartments carry ``board_offline``: offline when the kiosk last
        knew, maybe before a restart. The health monitor starts them offline."""
        rows = self.store.query(
            "SELECT DISTINCT board FROM compartments WHERE fault = 'board_offline'")
        return {int(r["board"]) for r in rows}

    def board_offline(self, board: int, error: str) -> None:
        """The board stopped answering: its compartments cannot be trusted until it does."""
        with self.store.step() as db:
            self._set_fault(db, "board_offline", "board = ? AND fault IS NULL", (board,))
            self.outbox.append(db, "board.offline", {"board": board, "error": error})

    def board_online(self, board: int) -> None:
        """The board answers again: every ``board_offline`` of its compartments goes, also
        one left from before a restart."""
        with self.store.step() as db:
            self._clear_fault(db, "board = ? AND fault = 'board_offline'", (board,))
            self.outbox.append(db, "board.online", {"board": board})

    def something_inside(self, db: sqlite_utils.Database, compartment: str,
                         fault: str) -> None:
        """The sensor sees something the compartment must not be offered with
        (``item_inside``, ``left_inside``); inside the caller's step. A fault already
        there stays."""
        self._set_fault(db, fault, "id = ? AND fault IS NULL", (compartment,))

    def emptied(self, db: sqlite_utils.Database, compartment: str, fault: str) -> None:
        """A door shut on the compartment empty: its ``fault`` of that kind goes."""
        self._clear_fault(db, "id = ? AND fault = ?", (compartment, fault))

    def polarity_boards(self) -> set[int]:
        """Boards whose compartments carry ``polarity_suspect``: still suspected after a
        restart, until their readings look right (the health monitor decides)."""
        rows = self.store.query(
            f"SELECT DISTINCT board FROM compartments WHERE fault = '{POLARITY}'")
        return {int(r["board"]) for r in rows}

    def polarity_suspect(self, board: int, data: dict | None = None) -> None:
        """The board's lock bits look reversed: its compartments go out of service until
        they look right. With ``data``, the suspicion is new: its event goes with it; without,
        compartments that lost the fault meanwhile (a maintainer cleared it) get it back."""
        with self.store.step() as db:
            self._set_fault(db, POLARITY, "board = ? AND fault IS NULL", (board,))
            if data is not None:
                self.outbox.append(db, "board.polarity_suspect", {"board": board, **data})

    def polarity_cleared(self, board: int) -> None:
        """The board's readings look right again: its compartments are back in service."""
        with self.store.step() as db:
            self._clear_fault(db, f"board = ? AND fault = '{POLARITY}'", (board,))
            self.outbox.append(db, "board.polarity_cleared", {"board": board})

    def _fault_of(self, compartment: str) -> str | None:
        rows = self.store.query("SELECT fault FROM compartments WHERE id = ?", (compartment,))
        return rows[0]["fault"] if rows else None

    def clear_fault(self, db: sqlite_utils.Database, compartment: str) -> None:
        """A maintainer fixed the compartment; inside the caller's audited step."""
        self._clear_fault(db, "id = ?", (compartment,))

    def _set_fault(self, db: sqlite_utils.Database, fault: str, where: str,
                   params: tuple) -> None:
        db.execute(f"UPDATE compartments SET fault = ? WHERE {where}", (fault, *params))

    def _clear_fault(self, db: sqlite_utils.Database, where: str, params: tuple) -> None:
        db.execute(f"UPDATE compartments SET fault = NULL WHERE {where}", params)
