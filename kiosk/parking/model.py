"""What every parking module speaks: spot types, requests, spots, one round's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kiosk.refusals import Refusal

# The published hashing, shared with the rotation, kept importable from here.
from kiosk.rotation import canonical_json as canonical_json
from kiosk.rotation import sha256_hex as sha256_hex

STANDARD = "standard"
ACCESSIBLE = "accessible"
SPOT_TYPES = (STANDARD, ACCESSIBLE, "ev", "motorcycle", "loading")
MEMBER_KINDS = ("household", "worker")


class ParkingError(Refusal):
    """A request the parking rules refuse; the message is meant for the person at the kiosk.
    The reasons are listed in ``kiosk/parking/register.py``, where each is checked."""

    default_reason = "parking"

    @property
    def detail(self) -> str:
        return self.message

    @property
    def at(self) -> datetime | None:
        """When what was refused becomes possible (``check_in_later``)."""
        return self.details.get("at")

    @property
    def round_id(self) -> str:
        return str(self.details.get("round_id") or "")


def may_ask_for(spot_type: str, need: bool) -> bool:
    """Accessible spots are for members with a declared need; every other type for all."""
    return spot_type != ACCESSIBLE or need


@dataclass(frozen=True)
class Ask:
    """One member's request in one round: one spot of one type."""

    member: str
    type: str
    # Only members with a declared need may ask for an accessible spot.
    need: bool = False


@dataclass(frozen=True)
class Spot:
    id: str
    type: str


@dataclass
class TypeSummary:
    spots: int = 0  # spots of this type in the round, including any lent to it
    askers: int = 0
    allocated: int = 0
    lent: int = 0  # spots of another type added to this pool for the round
    # Spots of this (standard) pool left free and given to refused accessible requests.
    fallback: int = 0

    def to_json(self) -> dict[str, int]:
        counts = {"spots": self.spots, "askers": self.askers, "allocated": self.allocated,
                  "lent": self.lent}
        # Only when it happened: records of the first algorithm have no such field.
        return {**counts, "fallback": self.fallback} if self.fallback else counts


@dataclass
class Outcome:
    """A round's result. ``refused`` is unmet demand: a request that got no spot."""

    assignments: dict[str, Spot] = field(default_factory=dict)  # member -> spot
    refused: list[Ask] = field(default_factory=list)
    summary: dict[str, TypeSummary] = field(default_factory=dict)


def check_asks(asks: list[Ask]) -> None:
    seen: set[str] = set()
    for ask in asks:
        if ask.type not in SPOT_TYPES:
            raise ValueError(f"member {ask.member}: unknown spot type {ask.type!r}")
        if ask.member in seen:
            raise ValueError(f"member {ask.member} asks more than once in one round")
        if not may_ask_for(ask.type, ask.need):
            raise ValueError(f"member {ask.member} asks for an accessible spot "
                             "without a declared need")
        seen.add(ask.member)


def check_spots(spots: list[Spot]) -> None:
    seen: set[str] = set()
    for spot in spots:
        if spot.type not in SPOT_TYPES:
            raise ValueError(f"spot {spot.id}: unknown spot type {spot.type!r}")
        if spot.id in seen:
            raise ValueError(f"spot {spot.id} is listed twice")
        seen.add(spot.id)
