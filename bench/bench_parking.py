"""Parking allocation at community scale: 10,000 members, 2,000 spots, 52 rounds.

Prints, per policy, the time to run all rounds and the fairness figures; then the time to
commit, draw and verify one full-size round with its published record.

    python bench/bench_parking.py [--members N] [--spots M] [--rounds R] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.parking.allocation import Memory
from kiosk.parking.fairness import evaluate, table
from kiosk.parking.history import generate
from kiosk.parking.policies import LeastServedFirst, all_policies, replay
from kiosk.parking.record import make_commitment, make_inputs, make_record, verify


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--spots", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    t = time.perf_counter()
    history = generate(args.members, args.spots, args.rounds, args.seed)
    generated = time.perf_counter() - t
    requests = sum(len(r.asks) for r in history)
    print(f"{args.members} members, {args.spots} spots, {args.rounds} rounds, seed "
          f"{args.seed}: {requests} requests (history made in {generated:.2f} s)\n")

    rows, times = [], {}
    for policy in all_policies():
        t = time.perf_counter()
        outcomes = replay(history, policy)
        times[policy.name] = time.perf_counter() - t
        rows.append(evaluate(policy.name, history, outcomes))
    print(table(rows, times))
    print()

    # One full-size round as the kiosk runs it: the memory of all earlier rounds, then
    # commitment, draw, record, and an independent verify of the record.
    ours = LeastServedFirst()
    for round_ in history[:-1]:
        ours.allocate(round_)
    memory: Memory = ours.memory
    last = history[-1]
    t = time.perf_counter()
    inputs = make_inputs(last.round_id, last.asks, last.spots, memory, last.public_random,
                         "2026-01-01T00:00:00.000000Z")
    record, _ = make_record(make_commitment(inputs), "2026-01-02T00:00:00.000000Z")
    drawn = time.perf_counter() - t
    size = len(json.dumps(record))
    t = time.perf_counter()
    problems = verify(record)
    checked = time.perf_counter() - t
    print(f"one round with its record: draw {drawn:.2f} s, verify {checked:.2f} s, "
          f"record {size / 1e6:.1f} MB, {'ok' if not problems else problems[:3]}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
