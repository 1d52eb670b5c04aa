"""One length rule for every PIN the kiosk keeps: households', couriers', maintainers' and
roles', and parking workers'.

A PIN is a fixed secret guessed at the rate the back-off allows (kiosk/backoff.py): with
8 digits the expected time to guess any one, even at the kiosk-wide cap of one wrong try
each 10 s, is over 10 years (docs/lockers.md, "Guessing"; bench/bench_guessing.py prints
it from the real services). 12 digits at most: the screens' PIN entry holds that many.

PINs set before the rule (4 digits for households and couriers, 6 for maintainers) are
stored as hashes only, their length unknown. A PIN typed shorter than ``MIN_DIGITS``
cannot be one set now, so it is refused before any lookup (``too_short``): nothing is
counted and no hash is computed, so the refusal says nothing about an old short PIN, and
its holder is told to ask a maintainer for a new one.
"""

from __future__ import annotations

MIN_DIGITS = 8
MAX_DIGITS = 12


def problem(pin: str, what: str) -> str | None:
    """Why ``pin`` cannot be set (``what`` names its kind: "a courier PIN"), or None."""
    if pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        return None
    return f"{what} is {MIN_DIGITS}-{MAX_DIGITS} digits"


def too_short(pin: str) -> bool:
    """A PIN typed at a login that no PIN set now can be (see the module's docstring)."""
    return len(pin.strip()) < MIN_DIGITS


def short_message(household: bool = False) -> str:
    """What a PIN ``too_short`` is told (the command line's words; the screens' are the
    catalogue's ``refusal.short_pin`` and ``refusal.short_household_pin``, filled with
    ``digits``). A household is told too that a lost parcel code can still be re-sent."""
    message = (f"PINs have at least {MIN_DIGITS} digits now; if yours is shorter, ask a "
               "maintainer for a new one")
    return message + " (a lost parcel code can still be re-sent)" if household else message
