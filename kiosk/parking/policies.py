"""Allocation policies behind one interface, so residents can compare them on one history.

All three share the round skeleton of ``allocation.run_round`` (accessible first, leftover
accessible spots lent to standard): only the order in which askers of a type are served
differs, so a difference in the figures comes from that order alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from kiosk.parking.allocation import (
    SEED_VERSION,
    Memory,
    allocate,
    draw_seed,
    eligible_hash,
    run_round,
    tiebreak_key,
)
from kiosk.parking.model import Ask, Outcome, Spot


@dataclass(frozen=True)
class RoundInput:
    round_id: str
    asks: list[Ask]
    spots: list[Spot]
    public_random: str
    # When each member asked, in seconds from the opening of the round: only FCFS looks.
    request_times: dict[str, float] = field(default_factory=dict)
    lend_accessible: bool = True


class Policy(Protocol):
    name: str

    def reset(self) -> None: ...

    def allocate(self, round_: RoundInput) -> Outcome: ...


class LeastServedFirst:
    """Ours: least-served-first with memory; ties drawn from the published seed."""

    name = "least-served-first"

    def __init__(self) -> None:
        self.memory = Memory()

    def reset(self) -> None:
        self.memory = Memory()

    def allocate(self, round_: RoundInput) -> Outcome:
        seed = draw_seed(eligible_hash(round_.asks), SEED_VERSION, round_.public_random)
        outcome, self.memory = allocate(round_.asks, round_.spots, self.memory, seed,
                                        round_.lend_accessible)
        return outcome


class FirstComeFirstServed:
    """Whoever asked first is served first; no memory. Equal times are drawn."""

    name = "first-come-first-served"

    def reset(self) -> None:
        pass

    def allocate(self, round_: RoundInput) -> Outcome:
        seed = _round_seed("fcfs", round_)
        times = round_.request_times

        def order(spot_type: str, wanting: list[Ask]) -> list[Ask]:
            return sorted(wanting, key=lambda a: (times.get(a.member, float("inf")),
                                                  tiebreak_key(seed, spot_type, a.member)))

        return run_round(round_.asks, round_.spots, order, round_.lend_accessible)


class PlainLottery:
    """A fresh uniform draw every round; no memory of earlier rounds."""

    name = "plain lottery"

    def reset(self) -> None:
        pass

    def allocate(self, round_: RoundInput) -> Outcome:
        seed = _round_seed("lottery", round_)

        def order(spot_type: str, wanting: list[Ask]) -> list[Ask]:
            return sorted(wanting, key=lambda a: tiebreak_key(seed, spot_type, a.member))

        return run_round(round_.asks, round_.spots, order, round_.lend_accessible)


def _round_seed(label: str, round_: RoundInput) -> bytes:
    return hashlib.sha256(f"{label}\0{round_.round_id}\0{round_.public_random}".encode()).digest()


def all_policies() -> list[Policy]:
    return [LeastServedFirst(), FirstComeFirstServed(), PlainLottery()]


def replay(history: Iterable[RoundInput], policy: Policy) -> list[Outcome]:
    """Every round of a history under one policy, from a fresh start."""
    policy.reset()
    return [policy.allocate(round_) for round_ in history]
