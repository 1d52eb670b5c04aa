"""A household's one identity, for the lockers and parking alike: its unit, its pseudonym
and its PIN, kept in one place (the ``households`` table, kiosk/lockers/schema.py).

The lockers log a household in with it (sending a parcel, opening with the PIN when the
code is lost) and parking does too (``ParkingRegister.authenticate``); a household's
parking member is its pseudonym and refers to this row (kiosk/parking/schema.py). Two
households may choose the same PIN: a PIN is only ever checked together with a unit.
"""

from __future__ import annotations

import re

import sqlite_utils

from kiosk.codes import keyed_hash

PIN_PURPOSE = "household-pin"
# A parking PIN the identity migration carried over for a household that had none for
# the lockers (kiosk/parking/schema.py, _v3): kept as it was hashed, and hashed again as
# a household PIN at its first right use.
CARRIED_PARKING_PIN = "parking-pin:"
_PIN = re.compile(r"^[0-9]{4,8}$")


def pin_hash(secret: str, pin: str) -> str:
    return keyed_hash(secret, PIN_PURPOSE, pin.strip())


def pin_problem(pin: str) -> str | None:
    return None if _PIN.match(pin) else "a household PIN is 4-8 digits"


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
