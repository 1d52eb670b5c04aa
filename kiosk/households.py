"""A household's one identity, for the lockers and parking alike: its unit, its pseudonym
and its PIN, kept in one place (the ``households`` table, kiosk/lockers/schema.py).

The lockers log a household in with it (sending a parcel, opening with the PIN when the
code is lost) and parking does too (``ParkingRegister.authenticate``); a household's
parking member is its pseudonym and refers to this row (kiosk/parking/schema.py). Two
households may choose the same PIN: a PIN is only ever checked together with a unit.

A household's secrets are one budget: its parcel codes and its PIN, typed at the lockers
(``LockerService.pickup``, ``resident_login``) or at parking (``authenticate``), count
their wrong tries under one key (``attempts_key``) and one kiosk-wide cap (``CAP_SCOPE``,
``guard``), so a guesser mixing codes and PIN guesses gets no more tries than with either
alone (bench/bench_guessing.py measures this).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlite_utils

from kiosk import backoff, pins
from kiosk.codes import keyed_hash

if TYPE_CHECKING:
    from kiosk.config import LockerConfig

PIN_PURPOSE = "household-pin"
# A parking PIN the identity migration carried over for a household that had none for
# the lockers (kiosk/parking/schema.py, _v3): kept as it was hashed, and hashed again as
# a household PIN at its first right use.
CARRIED_PARKING_PIN = "parking-pin:"
# The kiosk-wide cap every household's codes and PINs count under, and each household's
# key under it ("pickup": the name the counters of codes had before PINs joined them).
CAP_SCOPE = "pickup"


def attempts_key(unit: str) -> str:
    # A unit is at most 16 characters (the lockers' UNIT_MAX): a long login typed at
    # parking cannot make a long key, and counts where the lockers count it.
    return f"{CAP_SCOPE}:{unit[:16]}"


def guard(rules: LockerConfig) -> backoff.Guard:
    """The back-off of one household's codes and PIN: ``[lockers]``' settings."""
    return backoff.Guard(
        backoff.BackoffPolicy(rules.free_attempts, rules.backoff_base_s, rules.backoff_max_s),
        backoff.RateCap(rules.kiosk_burst, rules.kiosk_gap_s))


def pin_hash(secret: str, pin: str) -> str:
    return keyed_hash(secret, PIN_PURPOSE, pin.strip())


def pin_problem(pin: str) -> str | None:
    return pins.problem(pin, "a household PIN")


def check_pin(db: sqlite_utils.Database, secret: str, unit: str,
              pin: str) -> dict[str, str] | None:
    """The active household of ``unit`` if ``pin`` is its PIN, else None; inside the
    caller's step (its back-off is the caller's)."""
    pin = pin.strip()
    carried = CARRIED_PARKING_PIN + keyed_hash(secret, "parking-pin", pin)
    row = db.execute("SELECT unit, pseudonym, pin_hash FROM households WHERE unit = ? AND "
                     "active = 1 AND pin_hash IN (?, ?)",
                     (unit, pin_hash(secret, pin), carried)).fetchone()
    if row is None:
        return None
    if row[2] == carried:
        db.execute("UPDATE households SET pin_hash = ? WHERE unit = ?",
                   (pin_hash(secret, pin), unit))
    return {"unit": row[0], "pseudonym": row[1]}
