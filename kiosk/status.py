"""What the kiosk tells the person in front of it about itself: uplink, queue, faults.

Plain Python, called from a worker thread (it reads SQLite and polls the boards through
the health monitor); the screen only ever sees the ``KioskStatus`` it returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.health import HealthMonitor

# (connected, events waiting to be published). ``connected`` is None when the kiosk has
# no uplink configured at all, which is different from an uplink that is down.
Uplink = Callable[[], tuple[bool | None, int]]


@dataclass(frozen=True)
class Fault:
    """One active fault: the health monitor's kind (e.g. "door.jammed") and its subject."""

    kind: str
    subject: str = ""


@dataclass(frozen=True)
class KioskStatus:
    uplink: bool | None = None
    backlog: int = 0
    faults: tuple[Fault, ...] = ()


class StatusProbe:
    """Runs the health monitor every ``heartbeat_s`` and reports the kiosk's state.

    Calls are serialized, so the monitor's alarm sets are never read while a poll
    changes them (a slow board can make one status round overlap the next).
    """

    def __init__(self, health: HealthMonitor, uplink: Uplink, heartbeat_s: float = 5.0,
                 on_snapshot: Callable[[dict[str, dict]], None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic):
        self.health = health
        self._uplink = uplink
        self._heartbeat_s = heartbeat_s
        self._on_snapshot = on_snapshot
        self._monotonic = monotonic
        self._polled_at: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> KioskStatus:
        with self._lock:
            return self._probe()

    def _probe(self) -> KioskStatus:
        now = self._monotonic()
        if self._polled_at is None or now - self._polled_at >= self._heartbeat_s:
            self._polled_at = now
            self.health.poll()
            if self._on_snapshot is not None:
                self._on_snapshot(self.health.snapshot())
        connected, backlog = self._uplink()
        faults = tuple(Fault(kind, _subject(details))
                       for kind, details in self.health.faults())
        return KioskStatus(connected, backlog, faults)


def _subject(details: dict) -> str:
    for key in ("compartment", "board"):
        if key in details:
            return str(details[key])
    return ""
