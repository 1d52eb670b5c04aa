"""The draw record: it verifies from itself alone, and any tampering is named."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kiosk.parking.allocation import Memory
from kiosk.parking.model import ACCESSIBLE, SPOT_TYPES, STANDARD, Ask, Spot, sha256_hex
from kiosk.parking.record import (
    MAX_PUBLIC_RANDOM,
    largest_record,
    make_commitment,
    make_inputs,
    make_record,
    verify,
    verify_chain,
)

SPOTS = ([Spot(f"S{i}", STANDARD) for i in range(3)] + [Spot("A1", ACCESSIBLE)]
         + [Spot("E1", "ev")])
ASKS = ([Ask(f"h-{i}", STANDARD) for i in range(6)] + [Ask("w-1", "ev"), Ask("w-2", "ev")]
        + [Ask("h-9", ACCESSIBLE, need=True)])


def chain(rounds: int = 3) -> list[dict[str, Any]]:
    """Records of consecutive rounds, each starting from the memory the last one left."""
    memory, records = Memory(), []
    for r in range(1, rounds + 1):
        inputs = make_inputs(f"2026-{r:02d}", ASKS, SPOTS, memory, f"public value {r}",
                             f"2026-{r:02d}-01T10:00:00.000000Z")
        record, memory = make_record(make_commitment(inputs),
                                     f"2026-{r:02d}-02T10:00:00.000000Z")
        records.append(record)
    return records


RECORDS = chain()
RECORD = RECORDS[-1]  # a record with a non-empty prior state


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value: each container and each leaf."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, (*prefix, i))
    return found


def changed(value: Any, how: int) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + (1 if how % 2 else -1)
    if isinstance(value, str):
        return value + "x" if how % 2 else value[:-1] if value else "x"
    if value is None:
        return "x"
    if isinstance(value, dict):
        if value and how % 2:
            key = sorted(value)[how % len(value)]
            return {k: v for k, v in value.items() if k != key}
        return {**value, "extra": 1}
    if isinstance(value, list):
        if value and how % 3 == 0:
            return value[:-1]
        if value and how % 3 == 1:
            return [*value, value[0]]
        return list(reversed(value))
    raise AssertionError(value)


def tamper(record: dict[str, Any], path: tuple, how: int) -> dict[str, Any]:
    forged = copy.deepcopy(record)
    if not path:
        return changed(forged, how)
    parent = forged
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = changed(parent[path[-1]], how)
    return forged


def test_an_honest_record_verifies():
    assert verify(RECORD) == []
    assert verify_chain(RECORDS) == []
    assert RECORD["inputs"]["prior_state"]["types"], "the last round starts from memory"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(paths(RECORD)), st.integers(0, 5))
def test_any_single_change_is_caught(path, how):
    forged = tamper(RECORD, path, how)
    assume(forged != RECORD)
    assert verify(forged), f"change at {path} went unnoticed"


def test_every_place_in_the_record_is_covered():
    """The same, exhaustively: each place in the record, changed in three ways."""
    missed = []
    for path in paths(RECORD):
        for how in range(3):
            forged = tamper(RECORD, path, how)
            if forged != RECORD and not verify(forged):
                missed.append((path, how))
    assert missed == []


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([p for p in paths(RECORD["results"]) if p]), st.integers(0, 5))
def test_a_changed_result_is_caught_even_with_every_hash_redone(path, how):
    forged = copy.deepcopy(RECORD)
    forged["results"] = tamper(RECORD["results"], path, how)
    assume(forged["results"] != RECORD["results"])
    forged["results_hash"] = sha256_hex(forged["results"])
    assume(path != ("drawn_at",))  # the time of the draw is only fixed by its hash
    assert verify(forged)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([p for p in paths(RECORD["inputs"]) if p]), st.integers(0, 5))
def test_a_changed_input_is_caught_against_the_commitment_even_when_rehashed(path, how):
    commitment = make_commitment(RECORD["inputs"])
    forged = copy.deepcopy(RECORD)
    forged["inputs"] = tamper(RECORD["inputs"], path, how)
    for key, of in (("eligible_hash", "eligible"), ("prior_state_hash", "prior_state")):
        if key in forged["inputs"] and of in forged["inputs"]:
            forged["inputs"][key] = sha256_hex(forged["inputs"][of])
    assume(forged["inputs"] != RECORD["inputs"])  # a redone hash may undo the change
    forged["inputs_hash"] = sha256_hex(forged["inputs"])
    assert verify(forged, commitment=commitment)


def test_a_swapped_allocation_is_named():
    forged = copy.deepcopy(RECORD)
    won = forged["results"]["assignments"][0]
    lost = next(r for r in forged["results"]["refused"] if r["type"] == won["asked"])
    won["member"], lost["member"] = lost["member"], won["member"]
    forged["results"]["assignments"].sort(key=lambda r: r["member"])
    forged["results"]["refused"].sort(key=lambda r: r["member"])
    forged["results_hash"] = sha256_hex(forged["results"])
    problems = verify(forged)
    assert any(f"member {lost['member']} is in the record, not in the recomputed" in p
               for p in problems), problems
    assert any(f"member {won['member']} is missing from the record" in p for p in problems)


def test_a_changed_public_random_value_is_named():
    forged = copy.deepcopy(RECORD)
    forged["inputs"]["public_random"] = "another value"
    problems = verify(forged, commitment=make_commitment(RECORD["inputs"]))
    assert "inputs.public_random: differs from the published commitment" in problems
    assert any(p.startswith("inputs_hash: does not match") for p in problems)
    assert any(p.startswith("results.seed") for p in problems)


def test_a_broken_link_in_the_chain_is_named():
    records = copy.deepcopy(RECORDS)
    del records[1]
    problems = verify_chain(records)
    assert any("prior_state_hash: is not the state round 2026-01 left" in p for p in problems)


def test_an_unknown_algorithm_version_is_named():
    forged = copy.deepcopy(RECORD)
    forged["inputs"]["algorithm"] = "least-served-first/9"
    assert any("unknown algorithm version 'least-served-first/9'" in p for p in verify(forged))


@pytest.mark.parametrize("junk", [None, [], "text", {"format": "kiosk-parking-draw/1"},
                                  {"inputs": {"eligible": 5}, "results": {}}])
def test_junk_is_reported_not_raised(junk):
    assert verify(junk)


def _size(value: Any) -> int:
    import json

    return len(json.dumps(value, ensure_ascii=False, sort_keys=True).encode())


NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789-._", min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(asks=st.dictionaries(NAME, st.sampled_from(list(SPOT_TYPES)), max_size=30),
       spots=st.dictionaries(NAME, st.sampled_from(list(SPOT_TYPES)), max_size=12),
       public_random=st.text(st.characters(exclude_characters="\n",
                                           exclude_categories=("Cs",)),
                             min_size=1, max_size=MAX_PUBLIC_RANDOM),
       lend=st.booleans(), rounds_before=st.integers(0, 2))
def test_no_draw_record_is_larger_than_the_largest_record_of_its_close(
        asks, spots, public_random, lend, rounds_before):
    """The register closes a round only if ``largest_record`` fits the chain's bound: every
    record a draw of that round gives, whatever the public random value, is no larger."""
    closed_at = "2026-05-01T10:00:00.000000Z"
    ask_list = [Ask(m, t, need=t == ACCESSIBLE) for m, t in asks.items()]
    spot_list = [Spot(s, t) for s, t in spots.items()]
    memory = Memory()
    for r in range(rounds_before):  # a memory with members in it, as the draw starts from
        _, memory = make_record(make_commitment(make_inputs(
            f"2026-0{r + 1}", ask_list, spot_list, memory, "earlier", closed_at)), closed_at)
    largest = largest_record("2026-05", ask_list, spot_list, memory, lend,
                             closed_at=closed_at, random_source="the lottery",
                             announced_at=closed_at)
    inputs = make_inputs("2026-05", ask_list, spot_list, memory, public_random,
                         "2026-05-02T10:00:00.000000Z", lend, closed_at=closed_at,
                         random_source="the lottery", announced_at=closed_at)
    record, _ = make_record(make_commitment(inputs), "2026-05-03T10:00:00.000000Z")
    assert _size(record) <= _size(largest)
    assert _size(make_commitment(inputs)) <= _size(largest)


def test_the_largest_record_is_close_to_a_real_one():
    """Control: the bound is not slack for a round where everyone asks for the spot type
    with the longest name and every asker is given a spot."""
    asks = [Ask(f"member-{i:03d}", "motorcycle") for i in range(50)]
    spots = [Spot(f"M{i:03d}", "motorcycle") for i in range(50)]
    at = "2026-05-01T10:00:00.000000Z"
    inputs = make_inputs("2026-05", asks, spots, Memory(), "\x01" * MAX_PUBLIC_RANDOM, at,
                         closed_at=at, random_source="the lottery", announced_at=at)
    record, _ = make_record(make_commitment(inputs), at)
    largest = largest_record("2026-05", asks, spots, Memory(), True, closed_at=at,
                             random_source="the lottery", announced_at=at)
    assert _size(record) == _size(largest)
