"""What the kiosk tells about itself: to residents, the faults that concern them; to the
maintainers, also the uplink, the queue and every other fault.

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


# The faults a resident at the screen is told about: those that change what they can do
# (a door that will not open, a door left open). Everything else (a sensor mismatch, the
# cabinet's tamper switch, a suspect board setting, software faults, the uplink and its
# queue) is the maintainers', on the maintenance screen only.
RESIDENTS_SEE = frozenset({"door.jammed", "door.left_open", "door.tamper", "board.offline"})


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

    @property
    def residents_faults(self) -> tuple[Fault, ...]:
        """What the public status line shows: ``RESIDENTS_SEE`` only."""
        return tuple(f for f in self.faults if f.kind in RESIDENTS_SEE)


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
                       for kind, details in self.health.faults())
        return KioskStatus(connected, backlog, faults)


def _subject(details: dict) -> str:
    for key in ("compartment", "board"):
        if key in details:
            return str(details[key])
    return ""
