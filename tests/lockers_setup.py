"""Building a locker service on the real driver and the pty simulator, for tests."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.config import config_from_dict
from kiosk.events import Outbox
from kiosk.lockers.service import LockerService
from kiosk.schema import open_kiosk_store

# Board 0: A01-A04 small, A05-A06 medium, A07 large. Board 1: B01-B02 small.
COMPARTMENTS = [
    {"board": 0, "locks": "1-4", "size": "S"},
    {"board": 0, "locks": "5-6", "size": "M"},
    {"board": 0, "locks": 7, "size": "L"},
    {"board": 1, "locks": [1, 2], "size": "S"},
]


def locker_config(port: str, **lockers):
    return config_from_dict({
        "community_id": "maple", "kiosk_id": "k1",
        "board": {"port": port, "timeout_s": 0.1, "confirm_s": 0.3},
        "compartments": COMPARTMENTS,
        "lockers": {"free_attempts": 2, "backoff_base_s": 5, **lockers},
    })


class Clock:
    """A clock the test moves by hand; real time plays no part in a locker rule."""

    def __init__(self):
        from datetime import UTC, datetime

        self.now = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


@dataclass
class Lockers:
    service: LockerService
    outbox: Outbox
    clock: Clock

    def event_types(self) -> list[str]:
        return [e.type for e in self.outbox.events()]

    def codes_for(self, unit: str) -> list[str]:
        return [n.data["code"] for n in self.outbox.pending_notifications()
                if n.household == unit]


def build_lockers(db_path, bus, port, **lockers) -> Lockers:
    clock = Clock()
    store = open_kiosk_store(db_path)
    outbox = Outbox(store, clock)
    service = LockerService(store, outbox, bus, locker_config(port, **lockers), clock=clock)
    return Lockers(service, outbox, clock)
