"""Device health, always on: board heartbeats, doors left open, tamper, sensor mismatches.

``HealthMonitor.poll()`` runs one round; the kiosk calls it every ``heartbeat_s`` from a
background thread. Alarms are raised once and cleared when the cause goes away, so the
event stream says when a problem started and ended, not every poll in between.

A board's state outlives the process: one the database has as offline (its compartments
carry ``board_offline``) starts offline, so its first answer puts them back in service,
also after a restart during the outage. A board known offline is probed with one request
(no retries) at the start of every poll and again half a heartbeat later
(``probe_offline``): it is back in service within 5/8 of a heartbeat of answering, and
a silent board costs the others one timeout a probe, twice a heartbeat, never its retries.
A board whose every lock reads unlocked while the
kiosk opened none is suspected of the wrong ``[board] lock_bit_locked``: one fault, one
event, its compartments out of service (``polarity_suspect``, also across a restart) and
no door alarms for that board while the suspicion stands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.doors import SENSOR_UNSETTLED, sensor_mismatch
from kiosk.events import Clock, utc_now
from kiosk.hardware import BoardError, BoardStatus, Peripherals
from kiosk.lockers.service import LockerService

log = logging.getLogger(__name__)

POLARITY_SETTING = "[board] lock_bit_locked"

# How long a failed screen worker stays listed as a fault after its last failure.
SOFTWARE_FAULT_S = 600.0
# ``probe_offline`` runs this many times a heartbeat; it probes an offline board half a
# heartbeat after the board's last request (a poll's or its own), so a board is probed
# twice a heartbeat and never more than 5/8 of one apart, whatever the phase between the
# two tasks.
PROBE_CHECKS_PER_HEARTBEAT = 8


@dataclass
class BoardHealth:
    board: int
    online: bool = True
    failures_in_row: int = 0
    errors: int = 0
    last_error: str | None = None
    probed_at: float = -1e9  # monotonic time of the last request, for ``probe_offline``


@dataclass
class DoorAlarms:
    """Doors seen open, and which alarms are already raised for them."""

    seen_open_since: dict[str, datetime] = field(default_factory=dict)
    left_open: set[str] = field(default_factory=set)
    tamper: set[str] = field(default_factory=set)
    mismatch: dict[str, str] = field(default_factory=dict)


def looks_reversed(status: BoardStatus, locks: Iterable[int]) -> bool:
    """Every one of ``locks`` (two or more) reads unlocked: all doors of a cabinet cannot
    be open at once, so the lock bit's polarity is more likely reversed. The caller makes
    sure the kiosk opened none of them on purpose."""
    locks = list(locks)
    return len(locks) >= 2 and not any(status.is_locked(n) for n in locks)


def polarity_hint(lock_bit_locked: int) -> str:
    """What to tell a person whose readings look reversed, naming the setting."""
    return (f"every lock reads unlocked, but all doors cannot be open at once: the lock bit "
            f"looks reversed; check {POLARITY_SETTING} (now {lock_bit_locked}, "
            f"try {1 - lock_bit_locked})")


class HealthMonitor:
    def __init__(self, lockers: LockerService, peripherals: Peripherals | None = None,
                 clock: Clock = utc_now, offline_after: int = 3, wire_tamper: bool = True,
                 monotonic: Callable[[], float] = time.monotonic):
        self.lockers = lockers
        self.store = lockers.store
        self.outbox = lockers.outbox
        self.board = lockers.board
        self.doors = lockers.doors
        self.rules = lockers.rules
        self.peripherals = peripherals
        self.clock = clock
        self.monotonic = monotonic
        self.offline_after = offline_after
        # ``probe_offline`` probes an offline board this long after its last request.
        self.probe_gap_s = lockers.config.board.heartbeat_s / 2
        # Boards the database has as offline (a restart during an outage) start offline:
        # their first answer clears the fault, as it would have without the restart.
        offline = self.doors.offline_boards()
        self.boards = {b: BoardHealth(b, online=b not in offline,
                                      last_error="offline before the kiosk started"
                                      if b in offline else None)
                       for b in lockers.config.board_addresses()}
        # Boards whose lock bits look reversed (see ``looks_reversed``); the database keeps
        # the suspicion across a restart (their compartments carry ``polarity_suspect``).
        self.polarity_suspect: set[int] = self.doors.polarity_boards()
        self.alarms = DoorAlarms()
        self.cabinet_open = False
        self._cabinet_untold = False  # the switch changed since its last event
        self._cabinet_lock = threading.RLock()
        # Screen workers that failed: where -> (last failure, error kind). Listed as a
        # fault for ``software_fault_s`` after the last failure, then cleared by a poll.
        self.software: dict[str, tuple[datetime, str]] = {}
        self.software_fault_s = SOFTWARE_FAULT_S
        self._lock = threading.Lock()
        # gpiozero keeps one callback per input: the composition fans the tamper switch
        # out to every listener itself (``wire_tamper=False``).
        if peripherals is not None and wire_tamper:
            peripherals.on_tamper(self.cabinet_tamper)

    def poll(self) -> None:
        with self._lock:
            self._expire_software_faults()
            self._tell_cabinet()
            # Offline boards first, so an online one's retries never delay their return.
            for health in sorted(self.boards.values(), key=lambda h: (h.online, h.board)):
                self._read(health)

    def probe_offline(self) -> bool:
        """Between two polls: probe each offline board whose last request is half a
        heartbeat old. True when one answered (its compartments are back in service)."""
        back = False
        with self._lock:
            now = self.monotonic()
            for health in sorted(self.boards.values(), key=lambda h: h.board):
                if not health.online and now - health.probed_at >= self.probe_gap_s:
                    self._read(health)
                    back |= health.online
        return back

    def _read(self, health: BoardHealth) -> None:
        """One board's round: its status (a single request while it is offline), its
        outage started or ended, then its doors."""
        health.probed_at = self.monotonic()
        try:
            status = self.board.status(health.board, once=not health.online)
        except BoardError as exc:
            self._board_failed(health, str(exc))
            return
        self._board_answered(health)
        if self._polarity_suspected(status):
            return  # its readings mean nothing: no tamper alarm per door
        self._check_doors(status)

    def _board_failed(self, health: BoardHealth, error: str) -> None:
        health.failures_in_row += 1
        health.errors += 1
        health.last_error = error
        if health.online and health.failures_in_row >= self.offline_after:
            self.doors.board_offline(health.board, error)
            health.online = False
            log.warning("board %d offline after %d failed polls: %s", health.board,
                        health.failures_in_row, error)

    def _board_answered(self, health: BoardHealth) -> None:
        health.failures_in_row = 0
        if not health.online:
            self.doors.board_online(health.board)
            health.online = True
            log.warning("board %d answers again: its compartments are back in service",
                        health.board)

    def _polarity_suspected(self, status: BoardStatus) -> bool:
        """Raise or clear the polarity suspicion for ``status``'s board; True while it stands.

        Raised when every lock of the board reads unlocked and the kiosk opened none of
        them; it stands until every lock reads locked (every door shut, a reading a
        reversed bit cannot give while the doors are shut), not at the first door that
        reads otherwise: with the bit reversed, that is the one open door.
        """
        board = status.board
        mine = [c for c in self.lockers.compartments() if c.board == board]
        locks = [c.lock for c in mine]
        if board in self.polarity_suspect:
            if locks and all(status.is_locked(n) for n in locks):
                self.doors.polarity_cleared(board)
                self.polarity_suspect.discard(board)
                log.warning("board %d: lock readings look right again", board)
                return False
            if any(c.fault is None for c in mine):
                self.doors.polarity_suspect(board)  # cleared by hand: the cause stands
            return True
        if any(self.doors.opened_since(c.id) is not None for c in mine):
            return False
        if not looks_reversed(status, locks):
            return False
        setting = self.lockers.config.board.lock_bit_locked
        # Recorded once its step is written (a busy database: the next poll tries again).
        self.doors.polarity_suspect(board, {
            "setting": POLARITY_SETTING, "lock_bit_locked": setting, "locks": len(locks)})
        self.polarity_suspect.add(board)
        log.warning("board %d: %s; its compartments are out of service until then", board,
                    polarity_hint(setting))
        return True

    def _check_doors(self, status: BoardStatus) -> None:
        now = self.clock()
        for c in self.lockers.compartments():
            if c.board != status.board:
                continue
            if status.is_locked(c.lock):
                self._door_shut(c.id)
                self._check_sensor(c.id, c.parcel_state, status.is_occupied(c.lock))
                continue
            commanded = self.doors.opened_since(c.id)
            since = self.alarms.seen_open_since.setdefault(c.id, commanded or now)
            if commanded is None:
                self._raise(self.alarms.tamper, c.id, "door.tamper", {"compartment": c.id})
                continue
            open_s = (now - since).total_seconds()
            if open_s >= self.rules.door_open_beep_s and self.peripherals is not None:
                self.peripherals.beep()
            if open_s >= self.rules.door_open_alert_s:
                self._raise(self.alarms.left_open, c.id, "door.left_open",
                            {"compartment": c.id, "open_s": int(open_s)})

    def _door_shut(self, compartment: str) -> None:
        self.alarms.seen_open_since.pop(compartment, None)
        self.doors.seen_shut(compartment)
        for alarms, kind in ((self.alarms.left_open, "door.shut"),
                             (self.alarms.tamper, "door.tamper_cleared")):
            if compartment in alarms:
                # Cleared once its event is written, as ``_raise`` raises: a refused step
                # leaves the alarm standing, and the next poll ends it again.
                self._emit(kind, {"compartment": compartment})
                alarms.discard(compartment)

    def _check_sensor(self, compartment: str, parcel_state: str | None,
                      occupied: bool) -> None:
        if not self.rules.occupancy_sensors or parcel_state in SENSOR_UNSETTLED:
            # Being used right now, or a maintainer's to decide: keep what was raised.
            return
        problem = sensor_mismatch(parcel_state, occupied)
        previous = self.alarms.mismatch.get(compartment)
        if problem == previous:
            return
        if problem is None:
            self._emit("sensor.mismatch_cleared", {"compartment": compartment})
            del self.alarms.mismatch[compartment]
        else:
            self._emit("sensor.mismatch", {"compartment": compartment, "problem": problem})
            self.alarms.mismatch[compartment] = problem

    def cabinet_tamper(self, opened: bool) -> None:
        """Called by the tamper switch (on gpiozero's thread)."""
        with self._cabinet_lock:
            if opened != self.cabinet_open:
                self.cabinet_open = opened  # listed as a fault at once, written or not
                self._cabinet_untold = True
                self._tell_cabinet()

    def _tell_cabinet(self) -> None:
        """The switch's last change as an event. The switch calls once per change, so a
        change whose step a busy or full database refused is written by a later poll."""
        with self._cabinet_lock:  # the switch's thread and the poll's
            if self._cabinet_untold:
                self._emit("cabinet.tamper", {"opened": self.cabinet_open})
                self._cabinet_untold = False

    def _raise(self, alarms: set[str], compartment: str, kind: str, data: dict) -> None:
        if compartment not in alarms:
            # Recorded once its event is written: a busy or full database refuses the
            # step, and the next poll raises the alarm again instead of losing it.
            self._emit(kind, data)
            alarms.add(compartment)

    def _emit(self, kind: str, data: dict) -> None:
        with self.store.step() as db:
            self.outbox.append(db, kind, data)

    def worker_failed(self, where: str, error: str) -> None:
        """A screen's worker raised: the kiosk carries on, maintainers are told once per
        spell of failures. ``error`` is the exception's kind, never its text (it could
        carry what a person typed)."""
        with self._lock:
            if where not in self.software:
                # Listed once its event is written: a refused step tells the next failure.
                self._emit("kiosk.worker_failed", {"where": where, "error": error})
            self.software[where] = (self.clock(), error)

    def _expire_software_faults(self) -> None:
        now = self.clock()
        for where, (at, _) in list(self.software.items()):
            if (now - at).total_seconds() >= self.software_fault_s:
                self._emit("kiosk.worker_recovered", {"where": where})
                del self.software[where]

    def faults(self) -> list[tuple[str, dict]]:
        """Active faults as (kind, details), for the status line and the maintenance screen.

        Safe from any thread: the status line and the maintenance screen read them from
        their own workers while a poll may be changing the alarm sets.
        """
        compartments = self.lockers.compartments()
        jammed = [c.id for c in compartments if c.fault == "jammed"]
        # Something inside that must not be offered (kiosk/lockers/service.py): a parcel
        # left behind at a pickup, or an item no parcel record explains.
        inside = [(c.id, c.fault) for c in compartments
                  if c.fault in ("item_inside", "left_inside")]
        faults: list[tuple[str, dict]] = []
        with self._lock:
            faults += [("board.offline", {"board": h.board}) for h in self.boards.values()
                       if not h.online]
            faults += [("board.polarity_suspect", {"board": b, "setting": POLARITY_SETTING})
                       for b in sorted(self.polarity_suspect)]
            faults += [("door.jammed", {"compartment": c}) for c in jammed]
            faults += [("sensor.item_inside", {"compartment": c, "fault": f})
                       for c, f in inside]
            faults += [("door.left_open", {"compartment": c})
                       for c in sorted(self.alarms.left_open)]
            faults += [("door.tamper", {"compartment": c}) for c in sorted(self.alarms.tamper)]
            faults += [("sensor.mismatch", {"compartment": c, "problem": p})
                       for c, p in sorted(self.alarms.mismatch.items())]
            faults += [("kiosk.worker_failed", {"where": w, "error": e})
                       for w, (_, e) in sorted(self.software.items())]
        if self.cabinet_open:
            faults.append(("cabinet.tamper", {}))
        if self.disk is not None:
            faults.append(("kiosk.disk_full", {}))
        return faults

    # -- the database's disk (the store's space watcher, kiosk/composition.py) ----------

    disk: str | None = None  # SQLite's error while the database cannot grow

    def disk_full(self, error: str) -> None:
        """A write failed for want of space: a fault until ``disk_ok``. Its event may not
        fit either; the fault is listed (status line, maintenance screen) all the same."""
        if self.disk is not None:
            return
        self.disk = error
        self._emit_if_room("kiosk.disk_full", {"error": error[:120]})

    def disk_ok(self) -> None:
        if self.disk is None:
            return
        self.disk = None
        self._emit_if_room("kiosk.disk_ok", {})

    def _emit_if_room(self, kind: str, data: dict) -> None:
        from contextlib import suppress

        from kiosk.store import DiskFull

        # If it does not fit, the store logged it; the fault stays listed in memory.
        with suppress(DiskFull):
            self._emit(kind, data)

    def snapshot(self) -> dict[str, dict]:
        """Retained device states for MQTT, by device name."""
        # Read first: every event up to it is reflected below, so a consumer can order
        # the snapshot against the events, which travel apart.
        last_seq = self.outbox.last_seq()
        compartments = self.lockers.compartments()
        free = self.lockers.free_counts()
        states: dict[str, dict] = {}
        for h in self.boards.values():
            states[f"board-{h.board}"] = {
                "online": h.online, "errors": h.errors, "last_error": h.last_error}
        states["lockers"] = {
            "free": free,
            "capacity": {s: sum(1 for c in compartments if c.size == s) for s in free},
            "doors_open": sorted(self.alarms.seen_open_since),
            "out_of_service": sorted(c.id for c in compartments if not c.in_service),
            "faults": [kind for kind, _ in self.faults()],
            "last_seq": last_seq,
        }
        return states
