"""What the kiosk tells the person in front of it about itself: uplink, queue, faults.

Plain Python, called from a worker thread (it reads SQLite); the screen only ever sees
the ``KioskStatus`` it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.health import HealthMonitor

# (connected, events waiting to be published). ``connected`` is None when the kiosk has
# no uplink configured at all, which is different from an uplink that is down.
Uplink = Callable[[], tuple[bool | None, int]]


# Faults the maintenance screen lists but the public status line does not: they say
# nothing a resident can act on (the person at the screen got a calm message already).
MAINTAINERS_ONLY = frozenset({"kiosk.worker_failed", "kiosk.disk_full"})


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
    """What the status line shows: the uplink and the faults the last health poll found.

    Cheap and read-only: the health poll itself runs on the composition's scheduler
    (``kiosk/features/health.py``), so a slow board never delays the screen's status.
    """

    def __init__(self, health: HealthMonitor, uplink: Uplink):
        self.health = health
        self._uplink = uplink

    def __call__(self) -> KioskStatus:
        connected, backlog = self._uplink()
        faults = tuple(Fault(kind, _subject(details))
                       for kind, details in self.health.faults()
                       if kind not in MAINTAINERS_ONLY)
        return KioskStatus(connected, backlog, faults)


def _subject(details: dict) -> str:
    for key in ("compartment", "board"):
        if key in details:
            return str(details[key])
    return ""
