"""docs/parking.md is enough to re-check a draw (issue 14): its worked example is redone
here from the doc's own text with nothing but SHA-256 and JSON, following the section
"For a verifier: every encoding" step by step, and the numbers must be the doc's and the
kiosk's. A wrong number in the doc, or code that drifted from the doc, fails."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

DOC = (Path(__file__).resolve().parent.parent / "docs" / "parking.md").read_text("utf-8")
TYPES = ("accessible", "standard", "ev", "motorcycle", "loading")
UNIT = 1_000_000


def block(name: str):
    match = re.search(r"```json " + name + r"\n(.*?)```", DOC, re.S)
    assert match, f"docs/parking.md has no {name} block"
    return json.loads(match.group(1))


def table() -> dict[str, str]:
    return dict(re.findall(r"^\| ([a-z_ 0-9-]+) \| `([0-9a-f]{64})` \|$", DOC, re.M))


# --- a verifier written from the doc ------------------------------------------------------

def canonical(v) -> bytes:
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def h(v) -> str:
    return hashlib.sha256(canonical(v)).hexdigest()


def redo(inputs: dict, drawn_at: str) -> tuple[dict, dict, bytes]:
    seed = hashlib.sha256(canonical(["kiosk-parking-draw", "least-served-first/1",
                                     inputs["eligible_hash"], inputs["public_random"]])).digest()
    memory = json.loads(json.dumps(inputs["prior_state"]))
    n = memory["round_no"] + 1
    asked = {e["member"]: e["type"] for e in inputs["eligible"]}
    given: dict[str, dict] = {}
    refused, summary, lent = [], {}, []
    refused_accessible: list[str] = []
    for t in TYPES:
        spots = [s["spot"] for s in inputs["spots"] if s["type"] == t]
        askers = [m for m, a in asked.items() if a == t]
        pool = spots + (lent if t == "standard" else [])
        if askers or spots:
            summary[t] = {"spots": len(pool), "askers": len(askers), "allocated": 0,
                          "lent": len(lent) if t == "standard" else 0}
        mem = memory["types"].setdefault(t, {}) if askers else memory["types"].get(t, {})

        def credit(m, mem=mem):
            return mem[m][0] - UNIT * mem[m][1] if m in mem else 0

        def key(m, t=t):
            return hashlib.sha256(seed + t.encode() + b"\0" + m.encode()).digest()

        ranked = sorted(askers, key=lambda m: (-credit(m), key(m)))
        served, refused_here = ranked[:len(pool)], ranked[len(pool):]
        free = list(pool)
        place = {}
        for m in served:
            if m in mem and mem[m][2] == n - 1 and mem[m][3] in free:
                place[m] = mem[m][3]
                free.remove(mem[m][3])
        for m in served:
            if m not in place:
                place[m] = free.pop(0)
        type_of = {s["spot"]: s["type"] for s in inputs["spots"]}
        for m, s in place.items():
            given[m] = {"member": m, "spot": s, "type": type_of[s], "asked": t}
        refused += [{"member": m, "type": t} for m in refused_here]
        if askers:
            summary[t]["allocated"] = len(place)
            share = min(UNIT, len(pool) * UNIT // len(askers))
            for m in askers:
                earned, received = mem.get(m, [0, 0, 0, None])[:2]
                mem[m] = [earned + share, received + (m in place), n, place.get(m)]
        if t == "accessible":
            refused_accessible = refused_here
            if inputs["lend_accessible"]:
                taken = set(place.values())
                lent = [s for s in spots if s not in taken]
        if t == "standard" and inputs["algorithm"].endswith("/2") and refused_accessible:
            left = [s for s in pool if s not in set(place.values())]
            moved = refused_accessible[:len(left)]
            acc = memory["types"]["accessible"]
            for m, s in zip(moved, left, strict=False):
                given[m] = {"member": m, "spot": s, "type": type_of[s], "asked": "accessible"}
                acc[m] = [acc[m][0], acc[m][1] + 1, n, s]
            refused = [r for r in refused if r["member"] not in moved]
            if moved:
                summary["standard"]["fallback"] = len(moved)
    memory["round_no"] = n
    results = {"seed": seed.hex(),
               "assignments": [given[m] for m in sorted(given)],
               "refused": sorted(refused, key=lambda r: r["member"]),
               "summary": summary, "posterior_state_hash": h(memory), "drawn_at": drawn_at}
    return results, memory, seed


# --- the checks ---------------------------------------------------------------------------

DRAWN_AT = re.search(r"drawn at `([^`]+)`", DOC).group(1)  # type: ignore[union-attr]


def test_the_docs_example_hashes_are_what_the_doc_says():
    inputs, numbers = block("example-inputs"), table()
    assert [e["member"] for e in inputs["eligible"]] == sorted(
        e["member"] for e in inputs["eligible"])
    eligible_text = re.search(r"canonical JSON is\n`([^`]+)`", DOC).group(1)  # type: ignore[union-attr]
    assert canonical(inputs["eligible"]).decode() == eligible_text
    assert h(inputs["eligible"]) == numbers["eligible_hash"] == inputs["eligible_hash"]
    assert h(inputs["prior_state"]) == numbers["prior_state_hash"] == inputs["prior_state_hash"]
    assert h(inputs) == numbers["inputs_hash"]


def test_the_docs_example_draw_redone_from_the_doc_alone():
    inputs, numbers = block("example-inputs"), table()
    results, memory, seed = redo(inputs, DRAWN_AT)
    assert seed.hex() == numbers["seed"]
    for member in ("h-1", "h-3", "w-1"):
        key = hashlib.sha256(seed + b"standard\0" + member.encode()).hexdigest()
        assert key == numbers[f"key standard {member}"]
    assert memory == block("example-posterior")
    assert results["posterior_state_hash"] == numbers["posterior_state_hash"]
    assert [(a["member"], a["spot"]) for a in results["assignments"]] == [
        ("h-2", "A1"), ("h-3", "S2"), ("w-1", "S1")]
    assert results["refused"] == [{"member": "h-1", "type": "standard"}]
    assert h(results) == numbers["results_hash"]


def test_the_kiosk_computes_the_docs_example_alike_and_verifies_it():
    from kiosk.parking.record import RECORD_FORMAT, compute_results, verify

    inputs, numbers = block("example-inputs"), table()
    ours, _ = compute_results(inputs, DRAWN_AT)
    assert ours == redo(inputs, DRAWN_AT)[0]
    record = {"format": RECORD_FORMAT, "inputs": inputs, "inputs_hash": h(inputs),
              "results": ours, "results_hash": h(ours)}
    assert verify(record) == []
    assert record["results_hash"] == numbers["results_hash"]


@pytest.mark.parametrize("change, named", [
    (lambda i: i["eligible"].reverse(), "inputs.eligible: not in canonical order"),
    (lambda i: i["spots"].reverse(), "inputs.spots: not in canonical order"),
    (lambda i: i.update(announced_at="2026-04-01T00:00:00.000000Z"), "times out of order"),
])
def test_verify_requires_the_canonical_order_and_the_announcement_first(change, named):
    from kiosk.parking.record import RECORD_FORMAT, compute_results, verify

    inputs = block("example-inputs")
    change(inputs)
    inputs["eligible_hash"] = h(inputs["eligible"])  # a forger redoes every hash
    results, _ = compute_results(inputs, DRAWN_AT)
    record = {"format": RECORD_FORMAT, "inputs": inputs, "inputs_hash": h(inputs),
              "results": results, "results_hash": h(results)}
    assert any(named in p for p in verify(record)), verify(record)


def _draw_for(version: str) -> dict:
    """One accessible spot, two members with a need asking, one standard spot free."""
    inputs = block("example-inputs")
    inputs["algorithm"] = version
    inputs["eligible"] = [{"member": "h-1", "type": "standard"},
                          {"member": "h-2", "type": "accessible"},
                          {"member": "h-4", "type": "accessible"}]
    inputs["spots"] += [{"spot": "S3", "type": "standard"}]
    inputs["eligible_hash"] = h(inputs["eligible"])
    return inputs


@pytest.mark.parametrize("version, h4", [("least-served-first/2", "S"),
                                         ("least-served-first/1", None)])
def test_a_refused_accessible_request_falls_back_to_a_free_standard_spot(version, h4):
    """/2 gives the refused need-holder a standard spot left free; /1 records, drawn
    before, still recompute as they were (the control)."""
    from kiosk.parking.record import RECORD_FORMAT, compute_results, verify

    inputs = _draw_for(version)
    ours, _ = compute_results(inputs, DRAWN_AT)
    assert ours == redo(inputs, DRAWN_AT)[0]
    got = {a["member"]: a["spot"] for a in ours["assignments"]}
    served_accessible = [m for m in ("h-2", "h-4") if got.get(m) == "A1"]
    other = ({"h-2", "h-4"} - set(served_accessible)).pop()
    assert (got.get(other) or "")[:1] == (h4 or "")
    record = {"format": RECORD_FORMAT, "inputs": inputs, "inputs_hash": h(inputs),
              "results": ours, "results_hash": h(ours)}
    assert verify(record) == []
