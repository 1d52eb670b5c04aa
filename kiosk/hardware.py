"""What the core needs from hardware, as plain Python interfaces.

Adapters in ``devices/`` implement these; the core never imports pyserial or gpiozero.
Lock numbers here are the ones printed on the cabinet: 1-16 per board. Boards are bus
addresses 0-15.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

LOCKS_PER_BOARD = 16


class BoardError(Exception):
    """The lock-control board could not be reached or answered nonsense."""


class BoardTimeout(BoardError):
    """The board did not answer in time (absent board, dead line)."""


@dataclass(frozen=True)
class BoardStatus:
    """One board's lock and occupancy bits, already interpreted (polarity applied).

    ``locked[i]`` and ``occupied[i]`` describe lock ``i + 1``.
    """

    board: int
    locked: tuple[bool, ...]
    occupied: tuple[bool, ...]

    def is_locked(self, lock: int) -> bool:
        return self.locked[lock - 1]

    def is_occupied(self, lock: int) -> bool:
        return self.occupied[lock - 1]


class LockBoard(Protocol):
    """A bus of lock-control boards."""

    def unlock(self, board: int, lock: int) -> None:
        """Pulse one lock open. Boards do not acknowledge; confirm with ``status``."""

    def status(self, board: int, *, once: bool = False) -> BoardStatus:
        """Read one board's lock and sensor bits. Raises ``BoardError`` on failure.

        ``once``: a single request, none of the bus's retries (a board known offline is
        probed so: its silence then costs one timeout, not one per try)."""

    def close(self) -> None:
        """Release the port; the kiosk closes its board when it stops."""


class Peripherals(Protocol):
    """GPIO peripherals of a cabinet: buzzer, LEDs, tamper switch, motion sensor, and the
    car park's spot sensors and barrier relay."""

    def beep(self, times: int = 1) -> None: ...

    def set_status_led(self, name: str, on: bool) -> None: ...

    def on_tamper(self, callback: Callable[[bool], None]) -> None: ...

    def on_motion(self, callback: Callable[[], None]) -> None: ...

    def on_spot(self, callback: Callable[[str, bool], None]) -> None: ...

    def set_barrier(self, raised: bool) -> None: ...

    @property
    def cabinet_open(self) -> bool:
        """The tamper switch reads "cabinet open" right now."""
        ...

    def close(self) -> None: ...
