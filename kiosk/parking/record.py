"""The published draw record, and its check from the record alone.

A record holds everything needed to redo the draw: the inputs as committed before the
draw (eligible list, spots, the algorithm's memory, version, public random value) and
the results. ``verify`` recomputes the results from the inputs, re-takes every hash and
names each difference; an empty list means the record is what the algorithm gives.
"""

from __future__ import annotations

from typing import Any

from kiosk.parking.allocation import (
    ALGORITHM_VERSION,
    SEED_VERSION,
    VERSIONS,
    Memory,
    allocate,
    draw_seed,
    eligible_list,
    has_fallback,
)
from kiosk.parking.model import ACCESSIBLE, SPOT_TYPES, Ask, Spot, sha256_hex

COMMITMENT_FORMAT = "kiosk-parking-commitment/1"
RECORD_FORMAT = "kiosk-parking-draw/1"

INPUT_KEYS = ("round", "round_no", "algorithm", "public_random", "random_source",
              "announced_at", "closed_at", "committed_at", "lend_accessible", "eligible",
              "eligible_hash", "spots", "prior_state", "prior_state_hash")
RESULT_KEYS = ("seed", "assignments", "refused", "summary", "posterior_state_hash",
               "drawn_at")
RECORD_KEYS = ("format", "inputs", "inputs_hash", "results", "results_hash")
# How many differences of one kind are named before the rest are counted.
SHOW = 10


def make_inputs(round_id: str, asks: list[Ask], spots: list[Spot], memory: Memory,
                public_random: str, committed_at: str, lend_accessible: bool = True,
                version: str = ALGORITHM_VERSION, closed_at: str | None = None,
                random_source: str = "", announced_at: str | None = None
                ) -> dict[str, Any]:
    """The draw's inputs. ``closed_at``: when requests stopped (default: at commit);
    ``random_source``/``announced_at``: where the public random value was announced to
    come from, and when (default: at the close)."""
    eligible = eligible_list(asks)
    prior = memory.to_json()
    closed = closed_at or committed_at
    return {
        "round": round_id,
        "round_no": memory.round_no + 1,
        "algorithm": version,
        "public_random": public_random,
        "random_source": random_source,
        "announced_at": announced_at or closed,
        "closed_at": closed,
        "committed_at": committed_at,
        "lend_accessible": lend_accessible,
        "eligible": eligible,
        "eligible_hash": sha256_hex(eligible),
        "spots": [{"spot": s.id, "type": s.type} for s in sorted(spots, key=lambda s: s.id)],
        "prior_state": prior,
        "prior_state_hash": sha256_hex(prior),
    }


# A public random value is one line of at most this many characters (the register checks).
MAX_PUBLIC_RANDOM = 256


def largest_record(round_id: str, asks: list[Ask], spots: list[Spot], memory: Memory,
                   lend_accessible: bool, *, closed_at: str, random_source: str,
                   announced_at: str) -> dict[str, Any]:
    """A record at least as large, written as JSON, as any draw of a round closed with
    these asks and spots can give: committed with the widest public random value allowed,
    and as many askers as there are spots given the spot with the longest name, as the type
    with the longest name (an assignment row is a refused row with a spot and a type
    added, so which askers does not change the size). The memory is the draw's: nothing is
    drawn while a round is closed, and the summary counts do not hang on the seed. The
    register closes no round whose record could not be published whole."""
    # Every character a control character: JSON writes each as six (\u00XX).
    widest_random = "\x01" * MAX_PUBLIC_RANDOM
    inputs = make_inputs(round_id, asks, spots, memory, widest_random, closed_at,
                         lend_accessible, ALGORITHM_VERSION, closed_at=closed_at,
                         random_source=random_source, announced_at=announced_at)
    results, _ = compute_results(inputs, closed_at)
    spot = max((s.id for s in spots), key=len, default="")
    kind = max(SPOT_TYPES, key=len)
    given = min(len(asks), len(spots))  # a spot goes to one member at most
    results["assignments"] = [{"member": a.member, "spot": spot, "type": kind,
                               "asked": a.type} for a in asks[:given]]
    results["refused"] = [{"member": a.member, "type": a.type} for a in asks[given:]]
    return {"format": RECORD_FORMAT, "inputs": inputs, "inputs_hash": sha256_hex(inputs),
            "results": results, "results_hash": sha256_hex(results)}


def make_commitment(inputs: dict[str, Any]) -> dict[str, Any]:
    """What is published before the draw: the inputs and their hash."""
    return {"format": COMMITMENT_FORMAT, "inputs": inputs, "inputs_hash": sha256_hex(inputs)}


def parse_inputs(inputs: dict[str, Any]) -> tuple[list[Ask], list[Spot], Memory]:
    """The algorithm's inputs from a record; ValueError naming what is malformed."""
    if inputs.get("algorithm") not in VERSIONS:
        raise ValueError(f"unknown algorithm version {inputs.get('algorithm')!r} "
                         f"(this kiosk runs {ALGORITHM_VERSION}, checks {', '.join(VERSIONS)})")
    asks, spots = [], []
    for i, e in enumerate(_list(inputs, "eligible")):
        if not (isinstance(e, dict) and set(e) == {"member", "type"}
                and isinstance(e["member"], str) and e["type"] in SPOT_TYPES):
            raise ValueError(f"inputs.eligible[{i}] is malformed")
        # Only members with a declared need are let to ask for an accessible spot.
        asks.append(Ask(e["member"], e["type"], need=e["type"] == ACCESSIBLE))
    for i, s in enumerate(_list(inputs, "spots")):
        if not (isinstance(s, dict) and set(s) == {"spot", "type"}
                and isinstance(s["spot"], str) and s["type"] in SPOT_TYPES):
            raise ValueError(f"inputs.spots[{i}] is malformed")
        spots.append(Spot(s["spot"], s["type"]))
    if not isinstance(inputs.get("prior_state"), dict):
        raise ValueError("inputs.prior_state is malformed")
    if not isinstance(inputs.get("public_random"), str):
        raise ValueError("inputs.public_random is malformed")
    if not isinstance(inputs.get("lend_accessible"), bool):
        raise ValueError("inputs.lend_accessible is malformed")
    return asks, spots, Memory.from_json(inputs["prior_state"])


def _list(inputs: dict[str, Any], key: str) -> list[Any]:
    value = inputs.get(key)
    if not isinstance(value, list):
        raise ValueError(f"inputs.{key} is malformed")
    return value


def compute_results(inputs: dict[str, Any], drawn_at: str) -> tuple[dict[str, Any], Memory]:
    """Run the draw on committed inputs. Raises ValueError on malformed inputs."""
    asks, spots, memory = parse_inputs(inputs)
    seed = draw_seed(sha256_hex(inputs["eligible"]), SEED_VERSION,
                     inputs["public_random"])
    outcome, after = allocate(asks, spots, memory, seed, inputs["lend_accessible"],
                              has_fallback(inputs["algorithm"]))
    asked = {a.member: a.type for a in asks}
    results = {
        "seed": seed.hex(),
        "assignments": [{"member": m, "spot": s.id, "type": s.type, "asked": asked[m]}
                        for m, s in sorted(outcome.assignments.items())],
        "refused": [{"member": a.member, "type": a.type}
                    for a in sorted(outcome.refused, key=lambda a: a.member)],
        "summary": {t: s.to_json() for t, s in outcome.summary.items()
                    if s.askers or s.spots},
        "posterior_state_hash": after.hash(),
        "drawn_at": drawn_at,
    }
    return results, after


def make_record(commitment: dict[str, Any], drawn_at: str) -> tuple[dict[str, Any], Memory]:
    inputs = commitment["inputs"]
    results, after = compute_results(inputs, drawn_at)
    record = {"format": RECORD_FORMAT, "inputs": inputs,
              "inputs_hash": commitment["inputs_hash"],
              "results": results, "results_hash": sha256_hex(results)}
    return record, after


# --- verification ---------------------------------------------------------------------------

def verify(record: Any, commitment: Any = None, previous: Any = None) -> list[str]:
    """Every way ``record`` differs from what its own inputs give; [] when it matches.

    With ``commitment`` (the copy published before the draw) the inputs must also be the
    committed ones; with ``previous`` (the record of the round before) the memory the draw
    started from must be the one the previous draw left.
    """
    if not isinstance(record, dict):
        return ["not a parking draw record (expected a JSON object)"]
    problems = _shape(record, RECORD_KEYS, "")
    if record.get("format") != RECORD_FORMAT:
        problems.append(f"format: {record.get('format')!r} is not {RECORD_FORMAT!r}")
    inputs, results = record.get("inputs"), record.get("results")
    if not isinstance(inputs, dict) or not isinstance(results, dict):
        return [*problems, "inputs or results missing: nothing to recompute"]
    problems += _shape(inputs, INPUT_KEYS, "inputs.")
    problems += _shape(results, RESULT_KEYS, "results.")

    if sha256_hex(inputs) != record.get("inputs_hash"):
        problems.append("inputs_hash: does not match the inputs (an input was changed, "
                        "or the hash)")
    if sha256_hex(inputs.get("eligible")) != inputs.get("eligible_hash"):
        problems.append("inputs.eligible_hash: does not match the eligible list")
    if sha256_hex(inputs.get("prior_state")) != inputs.get("prior_state_hash"):
        problems.append("inputs.prior_state_hash: does not match the prior state")
    prior = inputs.get("prior_state")
    if isinstance(prior, dict) and inputs.get("round_no") != _succ(prior.get("round_no")):
        problems.append(f"inputs.round_no: {inputs.get('round_no')!r} does not follow the "
                        f"prior state's round {prior.get('round_no')!r}")
    if sha256_hex(results) != record.get("results_hash"):
        problems.append("results_hash: does not match the results (a result was changed, "
                        "or the hash)")
    closed, committed = inputs.get("closed_at"), inputs.get("committed_at")
    announced, drawn = inputs.get("announced_at"), results.get("drawn_at")
    if not all(isinstance(t, str) for t in (announced, closed, committed, drawn)):
        problems.append("inputs.announced_at, inputs.closed_at, inputs.committed_at or "
                        "results.drawn_at: missing or malformed")
    elif not announced <= closed <= committed <= drawn:  # type: ignore[operator]
        problems.append("times out of order: the random source announced, requests "
                        "closed, inputs committed, then the draw")
    if not isinstance(inputs.get("random_source"), str):
        problems.append("inputs.random_source: malformed")
    problems += _canonical_order(inputs)

    try:
        expected, _ = compute_results(inputs, drawn if isinstance(drawn, str) else "")
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(f"cannot recompute the draw: {exc}")
    else:
        problems += _compare_results(results, expected)

    if commitment is not None:
        problems += _against_commitment(inputs, record.get("inputs_hash"), commitment)
    if previous is not None:
        problems += against_previous(inputs, previous)
    return problems


def _canonical_order(inputs: dict[str, Any]) -> list[str]:
    """The eligible list by member and the spots by spot, each once (docs/parking.md):
    any other order would be a second list with another hash, and so another seed."""
    problems = []
    for key, field in (("eligible", "member"), ("spots", "spot")):
        rows = inputs.get(key)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            continue
        names = [r.get(field) for r in rows]
        if not all(isinstance(n, str) for n in names):
            continue
        if len(set(names)) != len(names):
            problems.append(f"inputs.{key}: a {field} appears more than once")
        elif names != sorted(names):
            problems.append(f"inputs.{key}: not in canonical order (by {field}, as the "
                            "code points of its UTF-8 text)")
    return problems


def _succ(value: Any) -> Any:
    return value + 1 if isinstance(value, int) and not isinstance(value, bool) else None


def _shape(obj: dict[str, Any], keys: tuple[str, ...], where: str) -> list[str]:
    problems = [f"{where}{k}: missing" for k in keys if k not in obj]
    problems += [f"{where}{k}: unexpected field" for k in obj if k not in keys]
    return problems


def _compare_results(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    problems = []
    if got.get("seed") != want["seed"]:
        problems.append(f"results.seed: record has {got.get('seed')!r}, recomputed "
                        f"{want['seed']!r}")
    problems += _compare_rows("results.assignments", got.get("assignments"),
                              want["assignments"])
    problems += _compare_rows("results.refused", got.get("refused"), want["refused"])
    if got.get("summary") != want["summary"]:
        problems.append("results.summary: differs from the recomputed counts")
    if got.get("posterior_state_hash") != want["posterior_state_hash"]:
        problems.append("results.posterior_state_hash: differs from the recomputed state")
    return problems


def _compare_rows(where: str, got: Any, want: list[dict[str, Any]]) -> list[str]:
    if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
        return [f"{where}: malformed"]
    if got == want:
        return []
    problems = []
    by_member: dict[Any, list[dict[str, Any]]] = {}
    for row in got:
        by_member.setdefault(row.get("member"), []).append(row)
    wanted = {row["member"]: row for row in want}
    for member, rows in by_member.items():
        if len(rows) > 1:
            problems.append(f"{where}: member {member} appears {len(rows)} times")
        elif member not in wanted:
            problems.append(f"{where}: member {member} is in the record, not in the "
                            "recomputed draw")
        elif rows[0] != wanted[member]:
            problems.append(f"{where}: member {member}: record has {_brief(rows[0])}, "
                            f"recomputed {_brief(wanted[member])}")
    problems += [f"{where}: member {m} is missing from the record"
                 for m in wanted if m not in by_member]
    if not problems:
        problems.append(f"{where}: not in the published order")
    if len(problems) > SHOW:
        problems = [*problems[:SHOW], f"{where}: ... and {len(problems) - SHOW} more"]
    return problems


def _brief(row: dict[str, Any]) -> str:
    return ", ".join(f"{k} {row[k]}" for k in sorted(row) if k != "member")


def _against_commitment(inputs: dict[str, Any], inputs_hash: Any,
                        commitment: Any) -> list[str]:
    if not isinstance(commitment, dict) or commitment.get("format") != COMMITMENT_FORMAT:
        return ["commitment: not a parking commitment"]
    committed = commitment.get("inputs")
    problems = []
    if not isinstance(committed, dict):
        return ["commitment: has no inputs"]
    if sha256_hex(committed) != commitment.get("inputs_hash"):
        problems.append("commitment: its inputs_hash does not match its inputs")
    for key in sorted(set(committed) | set(inputs)):
        if committed.get(key) != inputs.get(key):
            problems.append(f"inputs.{key}: differs from the published commitment")
    if commitment.get("inputs_hash") != inputs_hash:
        problems.append("inputs_hash: differs from the published commitment")
    return problems


def against_previous(inputs: dict[str, Any], previous: Any) -> list[str]:
    """How inputs fail to start from the memory the ``previous`` draw's record left."""
    try:
        before = previous["results"]["posterior_state_hash"]
        before_no = previous["inputs"]["round_no"]
    except (KeyError, TypeError):
        return ["previous: not a parking draw record"]
    problems = []
    if inputs.get("prior_state_hash") != before:
        problems.append(f"inputs.prior_state_hash: is not the state round "
                        f"{previous['inputs'].get('round')} left")
    if inputs.get("round_no") != _succ(before_no):
        problems.append(f"inputs.round_no: does not follow round "
                        f"{previous['inputs'].get('round')}")
    return problems


# What each earlier step of a round fixed, and where a commitment's inputs carry it.
CLOSED_KEYS = ("closed_at", "eligible", "spots")
ANNOUNCED_KEYS = ("random_source", "announced_at")
ROW_KEYS = {"eligible": "member", "spots": "spot"}


def against_steps(inputs: Any, closed: Any, announced: Any) -> list[str]:
    """Every way a commitment's inputs differ from what the round's earlier draw chain
    entries published: ``parking.closed`` (the eligible list, the spots, when requests
    closed) and ``parking.announced`` (the random value's source, and when). None: no such
    entry. [] when the commitment carries exactly what they said."""
    if not isinstance(inputs, dict):
        return ["commitment: has no inputs"]
    problems = []
    for action, step, keys in (("parking.closed", closed, CLOSED_KEYS),
                               ("parking.announced", announced, ANNOUNCED_KEYS)):
        if not isinstance(step, dict):
            problems.append(f"no {action} entry for round {inputs.get('round')!r} in the "
                            "draw chain")
            continue
        for key in keys:
            if inputs.get(key) != step.get(key):
                problems.append(f"inputs.{key}: differs from the round's {action} entry"
                                + rows_differ(key, inputs.get(key), step.get(key)))
    return problems


def rows_differ(key: str, got: Any, want: Any) -> str:
    """Which rows of an eligible list or spot list differ, named by member or spot."""
    field = ROW_KEYS.get(key)
    if field is None or not (isinstance(got, list) and isinstance(want, list)
                             and all(isinstance(r, dict) for r in got + want)):
        return ""
    mine = {str(r.get(field)): r for r in got}
    theirs = {str(r.get(field)): r for r in want}
    named = [f"{field} {n} " + ("missing" if n not in mine else "added" if n not in theirs
                                else "changed")
             for n in sorted(set(mine) | set(theirs)) if mine.get(n) != theirs.get(n)]
    if len(named) > SHOW:
        named = [*named[:SHOW], f"... and {len(named) - SHOW} more"]
    return f" ({', '.join(named)})" if named else " (order)"


def verify_chain(records: list[Any]) -> list[str]:
    """Several records of consecutive rounds, oldest first: each alone and each link."""
    problems = []
    for i, record in enumerate(records):
        name = _name(record, i)
        previous = records[i - 1] if i else None
        problems += [f"{name}: {p}" for p in verify(record, previous=previous)]
    return problems


def _name(record: Any, index: int) -> str:
    try:
        return f"round {record['inputs']['round']}"
    except (KeyError, TypeError):
        return f"record {index + 1}"
