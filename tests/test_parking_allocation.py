"""The allocation algorithm and its guarantees, over random histories."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.parking.allocation import ALGORITHM_VERSION, Memory, allocate, draw_seed, eligible_hash
from kiosk.parking.model import ACCESSIBLE, STANDARD, Ask, Spot
from kiosk.parking.policies import (
    FirstComeFirstServed,
    LeastServedFirst,
    PlainLottery,
    RoundInput,
)


def spots(n: int, spot_type: str = STANDARD, prefix: str = "S") -> list[Spot]:
    return [Spot(f"{prefix}{i:02d}", spot_type) for i in range(n)]


def seed_for(asks: list[Ask], public: str) -> bytes:
    return draw_seed(eligible_hash(asks), ALGORITHM_VERSION, public)


def run(rounds: list[tuple[list[Ask], list[Spot]]], memory: Memory | None = None):
    """Every round in turn; yields (outcome, memory after) per round."""
    memory = memory or Memory()
    for i, (asks, pool) in enumerate(rounds):
        outcome, memory = allocate(asks, pool, memory, seed_for(asks, f"r{i}"))
        yield outcome, memory


# --- random histories ------------------------------------------------------------------------

@st.composite
def histories(draw, max_members: int = 10, max_rounds: int = 14):
    """Members come and go at random, switch types now and then; spots vary per round."""
    n = draw(st.integers(1, max_members))
    members = [f"m{i}" for i in range(n)]
    need = {m: draw(st.booleans()) for m in members}
    rounds = []
    for _ in range(draw(st.integers(1, max_rounds))):
        asks = []
        for m in members:
            choice = draw(st.sampled_from(["none", STANDARD, STANDARD, "ev", ACCESSIBLE]))
            if choice == ACCESSIBLE and not need[m]:
                choice = STANDARD
            if choice != "none":
                asks.append(Ask(m, choice, need[m]))
        pool = (spots(draw(st.integers(0, 5)), STANDARD, "S")
                + spots(draw(st.integers(0, 2)), ACCESSIBLE, "A")
                + spots(draw(st.integers(0, 2)), "ev", "E"))
        rounds.append((asks, pool))
    return rounds


@st.composite
def steady_histories(draw):
    """The same members ask for standard spots every round; the number of spots varies."""
    n = draw(st.integers(1, 12))
    asks = [Ask(f"m{i}", STANDARD) for i in range(n)]
    return [(asks, spots(draw(st.integers(0, n + 2)))) for _ in range(draw(st.integers(1, 20)))]


@settings(max_examples=150, deadline=None)
@given(steady_histories())
def test_steady_askers_get_floor_or_ceiling_of_equal_share_after_every_round(rounds):
    n = len(rounds[0][0])
    received = dict.fromkeys((a.member for a in rounds[0][0]), 0)
    total = 0
    for (_, pool), (outcome, _) in zip(rounds, run(rounds), strict=True):
        total += min(len(pool), n)
        for member in outcome.assignments:
            received[member] += 1
        low, high = total // n, -(-total // n)
        assert all(low <= got <= high for got in received.values()), (total, n, received)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_members_who_asked_in_the_same_rounds_stay_within_one(rounds):
    """Whatever the others do: equal asking histories, at most one allocation apart."""
    asked: dict[tuple[str, str], list[int]] = {}
    received: dict[tuple[str, str], int] = {}
    for r, ((asks, _), (outcome, _)) in enumerate(zip(rounds, run(rounds), strict=True)):
        for ask in asks:
            claim = (ask.member, ask.type)
            asked.setdefault(claim, []).append(r)
            received[claim] = received.get(claim, 0) + (ask.member in outcome.assignments)
        groups: dict[tuple, list[int]] = {}
        for claim, rounds_asked in asked.items():
            groups.setdefault((claim[1], tuple(rounds_asked)), []).append(received[claim])
        for key, counts in groups.items():
            assert max(counts) - min(counts) <= 1, (r, key, counts)


@settings(max_examples=200, deadline=None)
@given(histories())
def test_every_round_fills_what_it_can_and_serves_accessible_needs_first(rounds):
    for (asks, pool), (outcome, _) in zip(rounds, run(rounds), strict=True):
        wanted = {a.member: a.type for a in asks}
        by_type = {t: sum(1 for s in pool if s.type == t) for t in (STANDARD, ACCESSIBLE, "ev")}
        asking = {t: sum(1 for a in asks if a.type == t) for t in by_type}
        lent = max(0, by_type[ACCESSIBLE] - asking[ACCESSIBLE])
        got = {t: sum(1 for m in outcome.assignments if wanted[m] == t) for t in by_type}
        # An accessible request refused falls back to a standard spot nobody was given.
        fallback = min(max(0, asking[ACCESSIBLE] - by_type[ACCESSIBLE]),
                       max(0, by_type[STANDARD] + lent - asking[STANDARD]))
        assert got[ACCESSIBLE] == min(by_type[ACCESSIBLE], asking[ACCESSIBLE]) + fallback
        assert got["ev"] == min(by_type["ev"], asking["ev"])
        assert got[STANDARD] == min(by_type[STANDARD] + lent, asking[STANDARD])
        assert len(outcome.refused) == len(asks) - len(outcome.assignments)
        # No spot twice; a spot of a type goes to that type, or an accessible one on loan.
        assert len({s.id for s in outcome.assignments.values()}) == len(outcome.assignments)
        for member, spot in outcome.assignments.items():
            assert spot.type == wanted[member] or (
                spot.type == ACCESSIBLE and wanted[member] == STANDARD) or (
                spot.type == STANDARD and wanted[member] == ACCESSIBLE)
        if any(a.type == ACCESSIBLE for a in outcome.refused):
            assert all(s.type != ACCESSIBLE or wanted[m] == ACCESSIBLE
                       for m, s in outcome.assignments.items())
            # ... and only once no standard spot is left for them.
            assert got[STANDARD] + fallback == by_type[STANDARD] + lent


@settings(max_examples=100, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_the_order_of_requests_and_spots_changes_nothing(rounds, rnd):
    memory = Memory()
    for i, (asks, pool) in enumerate(rounds):
        shuffled_asks, shuffled_pool = list(asks), list(pool)
        rnd.shuffle(shuffled_asks)
        rnd.shuffle(shuffled_pool)
        seed = seed_for(asks, f"r{i}")
        one, after = allocate(asks, pool, memory, seed)
        two, after_two = allocate(shuffled_asks, shuffled_pool, memory, seed)
        assert one.assignments == two.assignments
        assert after.to_json() == after_two.to_json()
        memory = after


@settings(max_examples=100, deadline=None)
@given(histories())
def test_every_policy_fills_the_same_number_of_spots(rounds):
    history = [RoundInput(f"r{i}", asks, pool, f"p{i}",
                          {a.member: float(j) for j, a in enumerate(asks)})
               for i, (asks, pool) in enumerate(rounds)]
    counts = []
    for policy in (LeastServedFirst(), FirstComeFirstServed(), PlainLottery()):
        counts.append([len(policy.allocate(r).assignments) for r in history])
    assert counts[0] == counts[1] == counts[2]


def test_least_served_goes_first_and_memory_carries_over():
    asks = [Ask(m, STANDARD) for m in ("a", "b", "c")]
    got = []
    for outcome, _ in run([(asks, spots(1))] * 6):
        got += list(outcome.assignments)
    # Each served once before anyone twice, whatever the draws say.
    assert sorted(got[:3]) == ["a", "b", "c"]
    assert sorted(got[3:]) == ["a", "b", "c"]


def test_a_newcomer_earns_from_the_round_they_join_no_backlog_either_way():
    old = [Ask(m, STANDARD) for m in ("a", "b")]
    rounds = [(old, spots(1))] * 4 + [([*old, Ask("new", STANDARD)], spots(1))] * 3
    outcomes = [o for o, _ in run(rounds)]
    last = outcomes[-1]
    # After 4 rounds a and b have 2 each and credit 0; the newcomer then earns 1/3 a round
    # like them: in three rounds of one spot each of the three gets exactly one.
    assert sorted(m for o in outcomes[4:] for m in o.assignments) == ["a", "b", "new"]
    assert len(last.assignments) == 1


def test_pausing_neither_earns_nor_loses():
    pair = [Ask("a", STANDARD), Ask("b", STANDARD)]
    rounds = [(pair, spots(1)), ([Ask("b", STANDARD)], spots(1)), (pair, spots(1))]
    memory = Memory()
    for i, (asks, pool) in enumerate(rounds):
        _, memory = allocate(asks, pool, memory, seed_for(asks, f"x{i}"))
    # a asked twice (earned 1/2 + 1/2) and b three times (1/2 + 1 + 1/2).
    assert memory.types[STANDARD]["a"][0] == 1_000_000
    assert memory.types[STANDARD]["b"][0] == 2_000_000


def test_a_member_keeps_their_spot_from_round_to_round():
    asks = [Ask(m, STANDARD) for m in ("a", "b", "c", "d")]
    held: dict[str, set[str]] = {}
    for outcome, _ in run([(asks, spots(4))] * 5):
        for member, spot in outcome.assignments.items():
            held.setdefault(member, set()).add(spot.id)
    assert all(len(ids) == 1 for ids in held.values())


def test_ties_follow_the_public_random_value():
    asks = [Ask("a", STANDARD), Ask("b", STANDARD)]
    winners = {next(iter(allocate(asks, spots(1), Memory(), seed_for(asks, f"v{i}"))[0]
                         .assignments)) for i in range(20)}
    assert winners == {"a", "b"}


def test_allocate_leaves_the_memory_it_was_given_alone():
    asks = [Ask("a", STANDARD), Ask("b", STANDARD)]
    _, memory = allocate(asks, spots(1), Memory(), seed_for(asks, "x"))
    before = memory.to_json()
    allocate(asks, spots(1), memory, seed_for(asks, "y"))
    assert memory.to_json() == before


def test_accessible_spots_lent_for_one_round_only():
    need = Ask("n", ACCESSIBLE, need=True)
    others = [Ask("a", STANDARD), Ask("b", STANDARD)]
    pool = spots(1, STANDARD) + spots(1, ACCESSIBLE, "A")
    first, memory = allocate(others, pool, Memory(), seed_for(others, "1"))
    assert len(first.assignments) == 2  # the accessible spot was lent
    second, _ = allocate([need, *others], pool, memory, seed_for([need, *others], "2"))
    assert second.assignments["n"].type == ACCESSIBLE
    assert len(second.assignments) == 2


def test_no_lending_when_the_policy_says_so():
    others = [Ask("a", STANDARD), Ask("b", STANDARD)]
    pool = spots(1, STANDARD) + spots(1, ACCESSIBLE, "A")
    outcome, _ = allocate(others, pool, Memory(), seed_for(others, "1"), lend_accessible=False)
    assert len(outcome.assignments) == 1


@pytest.mark.parametrize("asks, message", [
    ([Ask("a", ACCESSIBLE)], "without a declared need"),
    ([Ask("a", STANDARD), Ask("a", "ev")], "more than once"),
    ([Ask("a", "boat")], "unknown spot type"),
])
def test_malformed_requests_are_refused(asks, message):
    with pytest.raises(ValueError, match=message):
        allocate(asks, spots(1), Memory(), b"0" * 32)


def test_memory_round_trips_through_json():
    asks = [Ask("a", STANDARD), Ask("n", ACCESSIBLE, True)]
    *_, (_, memory) = run([(asks, spots(1) + spots(1, ACCESSIBLE, "A"))] * 3)
    assert Memory.from_json(memory.to_json()).to_json() == memory.to_json()
    with pytest.raises(ValueError):
        Memory.from_json({"round_no": 1, "types": {"standard": {"a": [1, "x", 1, None]}}})
