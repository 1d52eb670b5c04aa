"""Locker states, records and the errors a person at the screen is told about."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kiosk.refusals import Refusal

SIZES = ("S", "M", "L")


class ParcelState(StrEnum):
    DEPOSIT_PENDING = "deposit_pending"
    STORED = "stored"
    OUTGOING = "outgoing"
    PICKUP_PENDING = "pickup_pending"
    COLLECTED = "collected"
    RETURNED = "returned"
    IN_REVIEW = "in_review"
    CANCELLED = "cancelled"
    AT_DESK = "at_desk"  # taken to the community's desk after the last reminder


# A parcel in one of these holds its compartment.
HOLDING_STATES = (ParcelState.DEPOSIT_PENDING, ParcelState.STORED, ParcelState.OUTGOING,
                  ParcelState.PICKUP_PENDING, ParcelState.IN_REVIEW)


def compartment_label(board: int, lock: int) -> str:
    """What is printed on the door: board A, B, ... and the lock number, e.g. 'A03'."""
    return f"{chr(ord('A') + board)}{lock:02d}"


def sizes_that_fit(size: str) -> list[str]:
    """The requested size first, then larger ones: best fit, never a smaller door."""
    return list(SIZES[SIZES.index(size):])


@dataclass(frozen=True)
class Compartment:
    id: str
    board: int
    lock: int
    size: str
    in_service: bool
    fault: str | None = None
    parcel_state: str | None = None

    @property
    def free(self) -> bool:
        return self.in_service and self.fault is None and self.parcel_state is None


@dataclass(frozen=True)
class Courier:
    id: str
    pseudonym: str


@dataclass(frozen=True)
class Household:
    unit: str
    pseudonym: str


@dataclass(frozen=True)
class Slot:
    """A compartment chosen for a deposit or a send, with its pending parcel."""

    parcel_id: int
    compartment: Compartment
    unit: str
    outgoing: bool = False
    # A courier's round: the code waits until the unit is confirmed (``confirm``), so a
    # corrected unit is the only one ever told.
    hold_code: bool = False


@dataclass(frozen=True)
class Round:
    """A courier's round so far, from the parcels stored since it started (SQLite, so a
    restart in the middle loses none): how many, by the size the courier chose, and the
    units served (as corrected)."""

    started_ts: str | None = None
    parcels: int = 0
    by_size: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SIZES, 0))
    units: list[str] = field(default_factory=list)
    resumed: bool = False  # it went on from before (a restart, a new login)


@dataclass
class OpenResult:
    """Doors a pickup (or a courier's collection) opened, and those that did not."""

    opened: list[Compartment] = field(default_factory=list)
    failed: list[Compartment] = field(default_factory=list)
    parcels: int = 0
    household: str | None = None  # whose parcels (a resident's pickup)
    # Parcel ids behind each opened door, and the waybill a courier scanned, if any.
    parcel_ids: dict[str, list[int]] = field(default_factory=dict)
    waybills: dict[str, str] = field(default_factory=dict)

    def ids(self, compartments: list[Compartment] | None = None) -> list[int]:
        doors = compartments if compartments is not None else self.opened
        return [i for c in doors for i in self.parcel_ids.get(c.id, [])]


class LockerError(Refusal):
    """Something the person at the screen must be told; nothing was changed."""

    default_reason = "locker"


class UnknownUnit(LockerError):
    default_reason = "unknown_unit"


class WrongPin(LockerError):
    default_reason = "wrong_pin"

    def __init__(self, wait_s: float = 0.0):
        super().__init__("wrong PIN" + (f"; wait {wait_s:.0f} s" if wait_s else ""),
                         wait_s=wait_s)


class ShortPin(WrongPin):
    """Shorter than any PIN set now (kiosk/pins.py): refused before any lookup, and not
    counted. ``reason``: ``short_pin`` (a courier) or ``short_household_pin``."""

    default_reason = "short_pin"

    def __init__(self, message: str, reason: str, digits: int):
        LockerError.__init__(self, message, reason=reason, digits=digits)


class WrongCode(LockerError):
    default_reason = "wrong_code"

    def __init__(self, wait_s: float):
        super().__init__("wrong code" + (f"; wait {wait_s:.0f} s" if wait_s else ""),
                         wait_s=wait_s)


class NoFreeCompartment(LockerError):
    default_reason = "no_free_compartment"

    def __init__(self, size: str):
        self.size = size
        super().__init__(f"no free compartment of size {size} or larger", size=size)


class LockersOutOfOrder(NoFreeCompartment):
    """No compartment is free because some that would be are out of order (their board
    offline, jammed, taken out of service): an outage, not a shortage. Building more would
    not have helped, so this is never counted as unmet demand (docs/lockers.md)."""

    default_reason = "out_of_order"

    def __init__(self, size: str, causes: dict[str, int]):
        self.size = size
        self.causes = dict(causes)
        LockerError.__init__(self, f"compartments of size {size} or larger are out of order ("
                             + ", ".join(f"{n} {cause}" for cause, n in sorted(causes.items()))
                             + ")", size=size, causes=self.causes)


class DoorDidNotOpen(LockerError):
    default_reason = "door_did_not_open"

    def __init__(self, compartment: Compartment):
        self.compartment = compartment
        super().__init__(f"door {compartment.id} did not open", compartment=compartment.id)


class BadText(LockerError):
    """A destination or waybill number that is too long or has characters it cannot have."""

    default_reason = "bad_text"


class NothingInside(LockerError):
    """The door was shut but the compartment's sensor sees no parcel."""

    default_reason = "nothing_inside"
