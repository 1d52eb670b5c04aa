"""Retained device snapshots (``…/state/{device}``): their shapes, built in one place.

Home Assistant discovery (mqtt/discovery.py) reads these keys; docs/mqtt.md lists them.
The composition root builds them from the services' state and hands them to
``Publisher.publish_state``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kiosk.events import iso, utc_now
from kiosk.hardware import BoardStatus


def board_device(board: int) -> str:
    return f"board-{board}"


LOCKERS = "lockers"
UPLINK = "uplink"


def board_snapshot(board: int, *, online: bool, status: BoardStatus | None,
                   locks: Iterable[int], errors: int = 0) -> dict[str, Any]:
    """One lock-control board: reachable or not, which configured doors stand open."""
    locks = sorted(locks)
    open_locks = [n for n in locks if status is not None and not status.is_locked(n)]
    occupied = [n for n in locks if status is not None and status.is_occupied(n)]
    return {"board": board, "online": online, "doors_open": len(open_locks),
            "open_locks": open_locks, "occupied": occupied, "errors": errors,
            "ts": iso(utc_now())}


def lockers_snapshot(capacity: Mapping[str, int], free: Mapping[str, int], *,
                     jammed: int = 0, in_review: int = 0, out_of_service: int = 0,
                     boards_offline: int = 0) -> dict[str, Any]:
    """The compartment bank: free compartments per size, and what needs a maintainer."""
    faults = jammed + in_review + out_of_service + boards_offline
    return {"capacity": dict(capacity), "free": {s: free.get(s, 0) for s in capacity},
            "jammed": jammed, "in_review": in_review, "out_of_service": out_of_service,
            "boards_offline": boards_offline, "faults": faults, "ts": iso(utc_now())}
