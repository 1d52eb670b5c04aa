"""Does the plan's cost grow with new events, not with history?

For each history size (100k, 1M, 10M events stored by default) a plan store is filled
fast (rows written with ``executemany``, then the aggregates rebuilt once from them, which
is timed: that is a full recompute through the incremental rules). Then, with that history
stored, it times:

- publish cost per 1,000 new events: ``PlanStore.ingest`` of 1,000 new event messages
  (checks, dedupe, gaps and every aggregate, one transaction) plus one full report
  (``indicators.report``) — what the aggregator does between two publishes;
- a full report alone;
- the baseline, in the same run on the same store: the first build's recompute of every
  indicator from every stored event (``bench/baseline_plan_indicators.py``), which it did
  at every publish.

The synthetic history: 4 kiosks, 3 years, 12 couriers, parcels deposited and collected
with their compartments, full banks, outages, jams and their repairs, parking rounds.

    python bench/bench_plan.py [--sizes 100000,1000000,10000000] [--baseline-max 1000000]
                               [--database postgresql://…]

The baseline is skipped above ``--baseline-max`` events (it grows linearly; the table says
so). ``--database`` runs the same against PostgreSQL (each size in a fresh schema).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import baseline_plan_indicators as baseline
from mqtt import topics
from plan import indicators
from plan.store import PlanStore

COMMUNITY = "bench"
KIOSKS = ("gate-1", "gate-2", "gate-3", "gate-4")
SIZES = ("S", "M", "L")
START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_S = 3 * 365 * 24 * 3600


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def history(n: int, seed: int = 7) -> Iterator[tuple[str, int, str, str, str]]:
    """(kiosk, seq, ts, type, data JSON), per kiosk in seq order, over three years: each
    compartment filled then emptied, full banks, outages, jams and their repairs, parking
    requests. Cheap to make, so 10M rows take minutes, not hours."""
    rng = random.Random(seed)
    per_kiosk = n // len(KIOSKS)
    comps = [f"{s}{i}" for s in SIZES for i in range(16)]
    for kiosk in KIOSKS:
        step = SPAN_S / max(1, per_kiosk)
        for seq in range(1, per_kiosk + 1):
            ts = _iso(START + timedelta(seconds=seq * step))
            r = seq % 20
            comp = comps[(seq // 2) % len(comps)]
            if r < 18:
                parcel = seq // 2
                if seq % 2:
                    yield kiosk, seq, ts, "parcel.deposited", (
                        f'{{"compartment": "{comp}", "compartment_size": "{comp[0]}", '
                        f'"courier": "c-{parcel % 12}", "household": "h-{parcel % 300}", '
                        f'"parcel": {parcel}, "size": "{comp[0]}"}}')
                else:
                    yield kiosk, seq, ts, "parcel.collected", (
                        f'{{"compartment": "{comp}", "compartment_size": "{comp[0]}", '
                        f'"parcel": {parcel}, "size": "{comp[0]}", '
                        f'"waited_s": {rng.randrange(60, 5 * 86400)}}}')
            elif seq % 100 == 18:
                yield kiosk, seq, ts, "door.jammed", f'{{"compartment": "S{seq % 16}"}}'
            elif seq % 100 == 19:
                yield kiosk, seq, ts, "audit.entry", (
                    f'{{"action": "compartment.fault_cleared", "actor": "m-{seq % 6}", '
                    f'"subject": "S{(seq - 1) % 16}"}}')
            elif seq % 100 == 38:
                yield kiosk, seq, ts, "locker.unavailable", '{"causes": {"jammed": 1}, "size": "S"}'
            elif r == 18:
                yield kiosk, seq, ts, "locker.full", f'{{"size": "{SIZES[seq % 3]}"}}'
            else:
                month = ts[:7]
                yield kiosk, seq, ts, "parking.requested", (
                    f'{{"member": "m-{seq % 80}", "round": "{month}", '
                    f'"type": "{("standard", "ev")[seq % 2]}"}}')


def fill(store: PlanStore, n: int, replay_max: int) -> tuple[float, bool]:
    """Write ``n`` events straight into the table, then rebuild the aggregates; returns
    the rebuild's seconds (the full recompute through the incremental rules) and whether
    it replayed all of them. Above ``replay_max`` events one in so many is replayed: the
    aggregates' rows are keyed by days, couriers, compartments, weeks, rounds — the keys
    of the whole history, which a sample spread over it has too; only the counts in them
    are smaller, which costs nothing."""
    now = _iso(datetime.now(UTC))
    sql = ("INSERT INTO events (community, kiosk, seq, id, ts, type, data, received_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    rows: list[tuple[Any, ...]] = []
    begun = time.perf_counter()
    with store.db.step() as tx:
        if store.db.kind == "sqlite":
            # A bigger page cache (256 MiB) for the bulk load.
            tx.execute("PRAGMA cache_size = -262144")
        for kiosk in KIOSKS:
            tx.execute("INSERT INTO kiosks (community, kiosk, first_seen, last_seen) "
                       "VALUES (?, ?, ?, ?)", (COMMUNITY, kiosk, now, now))
    for kiosk, seq, ts, type_, data in history(n):
        rows.append((COMMUNITY, kiosk, seq, f"{kiosk}-{seq}", ts, type_, data, now))
        if len(rows) >= 100_000:
            # One transaction a chunk keeps the write-ahead log small.
            with store.db.step() as tx:
                tx.executemany(sql, rows)
            rows.clear()
    with store.db.step() as tx:
        tx.executemany(sql, rows)
        for kiosk in KIOSKS:
            tx.execute("INSERT INTO states (community, kiosk, device, payload, received_at) "
                       "VALUES (?, ?, ?, ?, ?)", (COMMUNITY, kiosk, topics.LOCKERS, json.dumps(
                           {"free": {}, "capacity": {"S": 16, "M": 16, "L": 16},
                            "doors_open": [], "out_of_service": [], "faults": []}), now))
            top = tx.query("SELECT MAX(seq) AS top FROM events WHERE community = ? AND "
                           "kiosk = ?", (COMMUNITY, kiosk))[0]["top"]
            tx.execute("INSERT INTO states (community, kiosk, device, payload, received_at) "
                       "VALUES (?, ?, ?, ?, ?)", (COMMUNITY, kiosk, topics.UPLINK, json.dumps(
                           {"connected": True, "backlog": 0, "last_seq": top}), now))
    print(f"  rows written in {time.perf_counter() - begun:.1f} s", file=sys.stderr, flush=True)
    started = time.perf_counter()
    every = max(1, -(-n // replay_max))
    store.rebuild(sample_every=every)
    return time.perf_counter() - started, every == 1


def new_events(store: PlanStore, count: int, round_no: int) -> list[tuple[str, bytes]]:
    out = []
    for kiosk in KIOSKS:
        top = int(store.db.scalar("SELECT MAX(seq) FROM events WHERE community = ? AND "
                                  "kiosk = ?", (COMMUNITY, kiosk)) or 0)
        # The kiosk announces its new head, as its publisher does every few seconds.
        out.append((topics.state_topic(COMMUNITY, kiosk, topics.UPLINK), json.dumps(
            {"connected": True, "backlog": 0, "last_seq": top + count}).encode()))
        for i in range(count // len(KIOSKS)):
            seq = top + 1 + i
            body = {"seq": seq, "id": str(uuid.uuid4()), "type": "parcel.deposited",
                    "ts": _iso(START + timedelta(seconds=SPAN_S + round_no * 3600 + i)),
                    "community": COMMUNITY, "kiosk": kiosk,
                    "data": {"parcel": 10**7 + seq, "compartment": f"L{i % 16}", "size": "L",
                             "compartment_size": "L", "courier": f"c-{i % 12}"}}
            out.append((topics.event_topic(COMMUNITY, kiosk, "parcel.deposited"),
                        json.dumps(body).encode()))
    return out


def timed(fn: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def run(size: int, where: str | Path, baseline_max: int, replay_max: int) -> dict[str, Any]:
    store = PlanStore(where)
    try:
        built = time.perf_counter()
        rebuild_s, full = fill(store, size, replay_max)
        built_s = time.perf_counter() - built
        stored = store.event_count()
        publish = []
        for round_no in range(5):
            batch = new_events(store, 1000, round_no)
            started = time.perf_counter()
            result = store.ingest(batch)
            indicators.report(store, COMMUNITY)
            publish.append(time.perf_counter() - started)
            assert result.stored == 1000, result
        report_s = timed(lambda: indicators.report(store, COMMUNITY))
        base_s = (timed(lambda: baseline.compute(store, COMMUNITY), repeat=1)
                  if stored <= baseline_max else None)
        return {"size": stored, "build_s": built_s, "rebuild_s": rebuild_s if full else None,
                "publish_s": min(publish), "report_s": report_s, "baseline_s": base_s}
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--baseline-max", type=int, default=1_000_000)
    parser.add_argument("--replay-max", type=int, default=1_000_000,
                        help="above this, the aggregates are built from a sample")
    parser.add_argument("--database", help="a PostgreSQL DSN instead of SQLite files")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            if args.database:
                where: str | Path = args.database
            else:
                where = Path(tmp) / f"plan-{size}.db"
            print(f"building {size:,} events…", file=sys.stderr, flush=True)
            rows.append(run(size, where, args.baseline_max, args.replay_max))
            print(f"  built in {rows[-1]['build_s']:.0f} s", file=sys.stderr, flush=True)
            if args.database:
                _drop(args.database)
    print(f"\nplan store: {'PostgreSQL' if args.database else 'SQLite'}; publish = ingest "
          "1,000 new events + one full report\n")
    print(f"{'events stored':>14} | {'publish /1,000 new':>18} | {'full report':>11} | "
          f"{'baseline recompute':>18} | {'rebuild (replay)':>16}")
    print(f"{'-' * 14}-+-{'-' * 18}-+-{'-' * 11}-+-{'-' * 18}-+-{'-' * 16}")
    for r in rows:
        base = f"{r['baseline_s']:.2f} s" if r["baseline_s"] is not None else "not run"
        rebuild = f"{r['rebuild_s']:.1f} s" if r["rebuild_s"] is not None else "sampled"
        print(f"{r['size']:>14,} | {r['publish_s'] * 1000:>15.0f} ms | "
              f"{r['report_s'] * 1000:>8.0f} ms | {base:>18} | {rebuild:>16}")
    return 0


def _drop(dsn: str) -> None:
    import psycopg
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("events", "kiosks", "rejects", "states", "meta", "seq_gaps", "held",
                      "tallies", "slots", "occupancy", "open_faults", "parking_asks",
                      "plan_schema"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")


if __name__ == "__main__":
    sys.exit(main())
