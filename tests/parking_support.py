"""What the parking tests share: a clock the test moves, and a register on a fresh store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk.events import Outbox
from kiosk.parking.register import ParkingRegister
from kiosk.parking.settings import ParkingSettings
from kiosk.schema import open_kiosk_store

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

MEMBERS_CSV = """member,unit,kind,accessible_need,pin
h-1,A-101,household,no,11111111
h-2,A-102,household,yes,22222222
h-3,A-103,household,no,33333333
w-1,,worker,no,44444444
"""

SPOTS_CSV = """spot,type,pool
S1,standard,rounds
S2,standard,rounds
A1,accessible,rounds
V1,standard,short
V2,standard,short
L1,loading,
"""


class Clock:
    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_register(path, clock: Clock, **settings) -> ParkingRegister:
    store = open_kiosk_store(path)
    return ParkingRegister(store, Outbox(store, clock), clock=clock,
                           settings=ParkingSettings(**settings))


def events(register: ParkingRegister, prefix: str = "parking.") -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in register.outbox.events(limit=100_000)
            if e.type.startswith(prefix)]


def close_round(register: ParkingRegister, round_id: str, actor: str = "kiosk") -> dict:
    """Announce the random value's source (if not yet), then close the round."""
    row = register.store.query("SELECT announced FROM parking_rounds WHERE round = ?",
                               (round_id,))
    if not row or row[0]["announced"] is None:
        register.announce(round_id, f"the public lottery drawn after {round_id} closes",
                          actor)
    return register.close(round_id, actor)


def commit_round(register: ParkingRegister, round_id: str, public_random: str,
                 actor: str = "kiosk") -> dict:
    """Announce, close (if still open) and commit a round, in the order the rules ask."""
    if register.round_status(round_id) in (None, "open"):
        close_round(register, round_id, actor)
    return register.commit(round_id, public_random, actor)
