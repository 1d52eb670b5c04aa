"""The allocation round: least-served-first with memory, per spot type. Pure functions.

How a round runs (the same skeleton serves every policy in ``policies.py``; only the
order of the askers differs):
1. Requests are grouped by spot type. Accessible spots go first, and only to members with
   a declared need. Spots of that type left over are lent to the standard pool for this
   round only (``lend_accessible``); next round the need-holders have first call again.
2. Within a type, the askers are ranked and the first ``k`` get the ``k`` spots; the rest
   are refused, which is counted as unmet demand.

Our ranking, per type, is the kiosk's fair rotation (``kiosk/rotation.py``), with the
spot types as its pools: every round a member asks, they earn that round's equal share,
``min(1, spots / askers)``; every spot they get costs them one; askers with the most
credit (earned minus got) are served first, equal credits in an order drawn from the
round's seed (``draw_seed``). A round not asked earns nothing and costs nothing.

Guarantees (proved in docs/parking.md, checked by tests/test_parking_allocation.py):
- the same members asking every round each get the floor or the ceiling of
  sum(spots) / members, after every round;
- any two members who asked in exactly the same rounds, whatever anyone else did, have
  been given within one allocation of each other, after every round.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk import rotation
from kiosk.parking.model import (
    ACCESSIBLE,
    SPOT_TYPES,
    STANDARD,
    Ask,
    Outcome,
    Spot,
    TypeSummary,
    check_asks,
    check_spots,
)
from kiosk.rotation import Memory, Turn

# The rotation's seed and tie-break, kept importable under the names the draw publishes.
from kiosk.rotation import draw_seed as draw_seed
from kiosk.rotation import tiebreak_key as tiebreak_key

# The rotation's rule inside this module's round (accessible first, lending, keeping last
# round's spot, the accessible fallback): a change to either is a new version. /1 had no
# fallback; its records are still recomputed as they were drawn.
ALGORITHM_VERSION = "least-served-first/2"
VERSIONS = ("least-served-first/1", ALGORITHM_VERSION)
# The tie-break seed is taken over the ranking rule's version (the rotation's), which the
# fallback did not change: a round's ties fall as they did under /1.
SEED_VERSION = rotation.VERSION


def has_fallback(version: str) -> bool:
    return version != "least-served-first/1"

# Ranks the askers of one type, best placed first.
Order = Callable[[str, list[Ask]], list[Ask]]
# The spot a member held last round, if any: they keep it when it is in the pool again.
PreviousSpot = Callable[[str, str], str | None]


def eligible_list(asks: list[Ask]) -> list[dict[str, str]]:
    """The published eligible list. A need is implied by asking for an accessible spot and
    is not published otherwise."""
    return rotation.eligible_list((a.member, a.type) for a in asks)


def eligible_hash(asks: list[Ask]) -> str:
    return rotation.eligible_hash((a.member, a.type) for a in asks)


def run_round(asks: list[Ask], spots: list[Spot], order: Order, lend_accessible: bool = True,
              previous_spot: PreviousSpot | None = None, fallback: bool = True) -> Outcome:
    """One round under any ranking: accessible first, then every other type. With
    ``fallback``, accessible requests refused take the standard spots nobody was given,
    in their accessible rank order (a need is not a reason to get less)."""
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
    refused_accessible: list[Ask] = []
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
        if spot_type == ACCESSIBLE:
            refused_accessible = ranked[len(pool):]
            if lend_accessible:
                taken = {s.id for s in placed.values()}
                lent = [s for s in pool if s.id not in taken]
        if spot_type == STANDARD and fallback and refused_accessible:
            taken = {s.id for s in placed.values()}
            free = [s for s in pool if s.id not in taken]
            moved = refused_accessible[:len(free)]
            for ask, spot in zip(moved, free, strict=False):
                outcome.assignments[ask.member] = spot
            outcome.refused = [a for a in outcome.refused if a not in moved]
            summary.fallback = len(moved)
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


# --- our ranking: the kiosk's fair rotation, with spot types as its pools ------------------


def allocate(asks: list[Ask], spots: list[Spot], memory: Memory, seed: bytes,
             lend_accessible: bool = True, fallback: bool = True) -> tuple[Outcome, Memory]:
    """One round of least-served-first. Returns the outcome and the new memory; the memory
    passed in is left as it was."""
    turn = Turn(memory, seed)
    asking: dict[str, list[Ask]] = {}

    def order(spot_type: str, wanting: list[Ask]) -> list[Ask]:
        asking[spot_type] = wanting
        by_member = {a.member: a for a in wanting}
        return [by_member[m] for m in turn.rank(spot_type, by_member)]

    def previous(member: str, spot_type: str) -> str | None:
        return turn.previous_place(spot_type, member)

    outcome = run_round(asks, spots, order, lend_accessible, previous, fallback)
    for spot_type, wanting in asking.items():
        members = [a.member for a in wanting]
        turn.settle(spot_type, members, outcome.summary[spot_type].spots,
                    {m: outcome.assignments[m].id for m in members
                     if m in outcome.assignments})
    return outcome, turn.memory
