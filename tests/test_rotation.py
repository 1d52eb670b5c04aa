"""The fair rotation (``kiosk/rotation.py``) on its own: the rule both the parking draw
and the duty roster are built on. Their own tests hold them to it in their words
(tests/test_parking_allocation.py, tests/test_duty.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.rotation import UNIT, Memory, Turn, draw_seed, eligible_hash


def turns(memory: Memory, stands: list[list[str]], places: int) -> tuple[Memory, dict]:
    given_: dict[str, int] = {}
    for n, standing in enumerate(stands):
        turn = Turn(memory, draw_seed(eligible_hash((c, "p") for c in standing), "v", str(n)))
        chosen = turn.rank("p", standing)[:places]
        turn.settle("p", standing, places, {c: f"place-{n}" for c in chosen})
        for c in chosen:
            given_[c] = given_.get(c, 0) + 1
        memory = turn.memory
    return memory, given_


def test_the_least_served_go_first_and_the_memory_passed_in_stays():
    start = Memory()
    memory, given_ = turns(start, [["a", "b", "c"]] * 3, 1)
    assert given_ == {"a": 1, "b": 1, "c": 1}
    assert start == Memory() and memory.round_no == 3
    assert memory.credit("p", "a") == 3 * (UNIT // 3) - UNIT  # shares in millionths
    assert memory.received("p", "a") == 1


def test_a_turn_not_stood_earns_and_costs_nothing():
    memory, _ = turns(Memory(), [["a", "b"], ["a"]], 1)
    assert memory.types["p"]["b"][2] == 1  # b stood last in the first turn
    assert memory.credit("p", "b") in (UNIT // 2, -UNIT // 2)


def test_nobody_standing_still_counts_the_turn():
    memory, given_ = turns(Memory(), [[]], 1)
    assert (memory.round_no, memory.types, given_) == (1, {}, {})


def test_the_place_given_last_turn_is_remembered():
    memory, _ = turns(Memory(), [["a"]], 1)
    turn = Turn(memory, b"seed")
    assert turn.previous_place("p", "a") == "place-0"
    assert Turn(turn.memory, b"seed").previous_place("p", "a") is None


@settings(max_examples=60, deadline=None)
@given(candidates=st.integers(1, 8), places=st.integers(1, 3), rounds=st.integers(1, 20),
       away=st.sets(st.tuples(st.integers(0, 7), st.integers(0, 19)), max_size=20))
def test_candidates_who_stood_alike_are_served_within_one_of_each_other(
        candidates, places, rounds, away):
    names = [f"c{i}" for i in range(candidates)]
    stands = [[c for i, c in enumerate(names) if (i, n) not in away] for n in range(rounds)]
    memory, given_ = turns(Memory(), stands, places)
    assert Memory.from_json(memory.to_json()) == memory
    # Candidates standing in exactly the same turns.
    by_pattern: dict[tuple[bool, ...], list[int]] = {}
    for c in names:
        pattern = tuple(c in s for s in stands)
        by_pattern.setdefault(pattern, []).append(given_.get(c, 0))
    for counts in by_pattern.values():
        assert max(counts) - min(counts) <= 1
