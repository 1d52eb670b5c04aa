"""The allocation round: least-served-first with memory, per spot type. Pure functions.

How a round runs (the same skeleton serves every policy in ``policies.py``; only the
order of the askers differs):
1. Requests are grouped by spot type. Accessible spots go first, and only to members with
   a declared need. Spots of that type left over are lent to the standard pool for this
   round only (``lend_accessible``); next round the need-holders have first call again.
2. Within a type, the askers are ranked and the first ``k`` get the ``k`` spots; the rest
   are refused, which is counted as unmet demand.

Our ranking, per type. Every round a member asks, they earn that round's equal share,
``min(1, spots / askers)``; every spot they get costs them one. Their *credit* is what
they earned minus what they got: askers with the most credit are served first, so the
member least served relative to their equal share goes first. Equal credits are put in an
order drawn from the round's seed (see ``draw_seed``). A round not asked earns nothing
and costs nothing: pausing neither gains nor loses. Shares are counted in millionths
(integers), so every computer ranks exactly alike.

Guarantees (proved in docs/parking.md, checked by tests/test_parking_allocation.py):
- the same members asking every round each get the floor or the ceiling of
  sum(spots) / members, after every round;
- any two members who asked in exactly the same rounds, whatever anyone else did, have
  been given within one allocation of each other, after every round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk.parking.model import (
    ACCESSIBLE,
    SPOT_TYPES,
    STANDARD,
    Ask,
    Outcome,
    Spot,
    TypeSummary,
    canonical_json,
    check_asks,
    check_spots,
    sha256_hex,
)

ALGORITHM_VERSION = "least-served-first/1"

# Ranks the askers of one type, best placed first.
Order = Callable[[str, list[Ask]], list[Ask]]
# The spot a member held last round, if any: they keep it when it is in the pool again.
PreviousSpot = Callable[[str, str], str | None]


def eligible_list(asks: list[Ask]) -> list[dict[str, str]]:
    """The published eligible list. A need is implied by asking for an accessible spot and
    is not published otherwise."""
    return [{"member": a.member, "type": a.type}
            for a in sorted(asks, key=lambda a: a.member)]


def eligible_hash(asks: list[Ask]) -> str:
    return sha256_hex(eligible_list(asks))


def draw_seed(eligible_hash_hex: str, version: str, public_random: str) -> bytes:
    """The tie-break seed, from inputs that are all published before the draw."""
    return hashlib.sha256(canonical_json(
        ["kiosk-parking-draw", version, eligible_hash_hex, public_random])).digest()


def tiebreak_key(seed: bytes, spot_type: str, member: str) -> bytes:
    return hashlib.sha256(seed + spot_type.encode() + b"\0" + member.encode()).digest()


def run_round(asks: list[Ask], spots: list[Spot], order: Order, lend_accessible: bool = True,
              previous_spot: PreviousSpot | None = None) -> Outcome:
    """One round under any ranking: accessible first, then every other type."""
    check_asks(asks)
    check_spots(spots)
    askers: dict[str, list[Ask]] = {}
    for ask in asks:
        askers.setdefault(ask.type, []).append(ask)
    pools: dict[str, list[Spot]] = {}
    for spot in sorted(spots, key=lambda s: s.id):
        pools.setdefault(spot.type, []).append(spot)

    outcome = Outcome()
    lent: list[Spot] = []
    for spot_type in (ACCESSIBLE, *[t for t in SPOT_TYPES if t != ACCESSIBLE]):
        wanting = askers.get(spot_type, [])
        pool = pools.get(spot_type, [])
        summary = TypeSummary(spots=len(pool), askers=len(wanting))
        if spot_type == STANDARD:
            pool = pool + lent
            summary.spots += len(lent)
            summary.lent = len(lent)
        ranked = order(spot_type, wanting) if wanting else []
        chosen = ranked[:len(pool)]
        placed = _place(chosen, pool, spot_type, previous_spot)
        outcome.assignments.update(placed)
        outcome.refused.extend(ranked[len(pool):])
        summary.allocated = len(placed)
        outcome.summary[spot_type] = summary
        if spot_type == ACCESSIBLE and lend_accessible:
            taken = {s.id for s in placed.values()}
            lent = [s for s in pool if s.id not in taken]
    return outcome


def _place(chosen: list[Ask], pool: list[Spot], spot_type: str,
           previous_spot: PreviousSpot | None) -> dict[str, Spot]:
    """Which spot each chosen member gets: last round's spot when it is free again, so
    nobody moves their car without need; the rest in rank order."""
    free = {s.id: s for s in pool}
    placed: dict[str, Spot] = {}
    moving: list[Ask] = []
    for ask in chosen:
        previous = previous_spot(ask.member, spot_type) if previous_spot else None
        if previous is not None and previous in free:
            placed[ask.member] = free.pop(previous)
        else:
            moving.append(ask)
    for ask, spot in zip(moving, list(free.values()), strict=False):
        placed[ask.member] = spot
    return placed


# --- our memory -----------------------------------------------------------------------------

# Shares are counted in millionths of a spot.
UNIT = 1_000_000

# Per member and type: [earned (millionths), received, last round asked, spot got then].
MemberMemory = tuple[int, int, int, str | None]


@dataclass
class Memory:
    """Everything the algorithm remembers between rounds. Published with each draw."""

    round_no: int = 0  # rounds drawn so far
    types: dict[str, dict[str, MemberMemory]] = field(default_factory=dict)

    def copy(self) -> Memory:
        return Memory(self.round_no, {t: dict(m) for t, m in self.types.items()})

    def to_json(self) -> dict[str, Any]:
        return {"round_no": self.round_no,
                "types": {t: {k: list(v) for k, v in m.items()} for t, m in self.types.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Memory:
        """Rebuild from published JSON; raises ValueError on anything malformed."""
        try:
            if set(data) != {"round_no", "types"} or not _is_int(data["round_no"]):
                raise ValueError("round_no or types malformed")
            types: dict[str, dict[str, MemberMemory]] = {}
            for spot_type, raw in data["types"].items():
                members = {}
                for member, (earned, received, last, spot) in raw.items():
                    if not (_is_int(earned) and _is_int(received) and _is_int(last)
                            and (spot is None or isinstance(spot, str))):
                        raise ValueError(f"{spot_type} memory of {member}")
                    members[member] = (earned, received, last, spot)
                types[spot_type] = members
            return cls(data["round_no"], types)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"prior state is malformed ({exc})") from None

    def hash(self) -> str:
        return sha256_hex(self.to_json())

    def received(self, spot_type: str, member: str) -> int:
        record = self.types.get(spot_type, {}).get(member)
        return 0 if record is None else record[1]

    def credit(self, spot_type: str, member: str) -> int:
        """Earned minus received, in millionths of a spot."""
        record = self.types.get(spot_type, {}).get(member)
        return 0 if record is None else record[0] - record[1] * UNIT


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def allocate(asks: list[Ask], spots: list[Spot], memory: Memory, seed: bytes,
             lend_accessible: bool = True) -> tuple[Outcome, Memory]:
    """One round of least-served-first. Returns the outcome and the new memory; the memory
    passed in is left as it was."""
    round_no = memory.round_no + 1
    after = memory.copy()
    after.round_no = round_no
    asking: dict[str, list[Ask]] = {}

    def order(spot_type: str, wanting: list[Ask]) -> list[Ask]:
        members = after.types.setdefault(spot_type, {})
        asking[spot_type] = wanting
        credit = {}
        for ask in wanting:
            earned, received, _, _ = members.get(ask.member, (0, 0, 0, None))
            credit[ask.member] = earned - received * UNIT
        return sorted(wanting, key=lambda a: (-credit[a.member],
                                              tiebreak_key(seed, spot_type, a.member)))

    def previous(member: str, spot_type: str) -> str | None:
        record = memory.types.get(spot_type, {}).get(member)
        return record[3] if record is not None and record[2] == round_no - 1 else None

    outcome = run_round(asks, spots, order, lend_accessible, previous)
    for spot_type, wanting in asking.items():
        summary = outcome.summary[spot_type]
        share = min(UNIT, summary.spots * UNIT // summary.askers)
        members = after.types[spot_type]
        for ask in wanting:
            earned, received, _, _ = members.get(ask.member, (0, 0, 0, None))
            spot = outcome.assignments.get(ask.member)
            members[ask.member] = (earned + share, received + (spot is not None), round_no,
                                   None if spot is None else spot.id)
    return outcome, after
