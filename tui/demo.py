"""What the demo panels need from the simulated world. ``kiosk demo`` implements it.

The simulated world is the hands and the phone of the person trying the demo: it shuts
doors and puts parcels in, and it shows the pickup codes a resident would have received.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class DoorView:
    board: int
    lock: int
    label: str
    size: str
    open: bool
    occupied: bool
    jammed: bool


@dataclass(frozen=True)
class SpotView:
    spot: str
    occupied: bool


@dataclass(frozen=True)
class DemoHelp:
    couriers: list[tuple[str, str]] = field(default_factory=list)  # (courier, PIN)
    households: list[tuple[str, str]] = field(default_factory=list)  # (unit, PIN)
    # The resident's phone: (unit, latest code, parcels waiting), only units with parcels.
    codes: list[tuple[str, str, int]] = field(default_factory=list)
    # Parking logins: (unit, PIN, spot held this round or "", declared need, worker).
    parking: list[tuple[str, str, str, bool, bool]] = field(default_factory=list)
    # Volunteers on duty now: (pseudonym, duty PIN).
    duty: list[tuple[str, str]] = field(default_factory=list)
    # With a broker: the simulated inbox the real notifier delivered to, newest first
    # (unit, title), and the units whose code went onto a printed slip (no contact).
    inbox: list[tuple[str, str]] = field(default_factory=list)
    slips: list[str] = field(default_factory=list)
    live: bool = False  # codes came through the notifier, not copied at the kiosk


class DemoWorld(Protocol):
    def doors(self) -> list[DoorView]: ...

    def shut(self, board: int, lock: int) -> None: ...

    def put_item(self, board: int, lock: int) -> None: ...

    def take_item(self, board: int, lock: int) -> None: ...

    def set_jammed(self, board: int, lock: int, jammed: bool) -> None: ...

    def force_open(self, board: int, lock: int) -> None: ...

    def tamper_open(self) -> bool: ...

    def set_tamper(self, opened: bool) -> None: ...

    def spots(self) -> list[SpotView]: ...

    def set_spot(self, spot: str, occupied: bool) -> None:
        """Calls the kiosk back through gpiozero: call it from a worker."""
        ...

    def barrier_raised(self) -> bool: ...

    def help(self) -> DemoHelp:
        """Reads the database: call it from a worker."""
        ...
