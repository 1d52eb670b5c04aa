"""What does the public page cost beside the report it is made from?

For each history size (100k and 1M events stored by default; the synthetic history of
bench/bench_plan.py, plus 500 needs with their support and a year of practice), it times,
on the same store in the same run:

- the baseline: ``indicators.report`` alone (what the aggregator computes to publish);
- ``page_data``: the report plus the needs with their evidence, skills shared, draws and
  alarms (plan/needs.py: ranges on the (community, type) index, skills from six months);
- ``PlanPages.refresh``: all that, rendered in both languages and written as files.

    python bench/bench_page.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_plan import COMMUNITY, KIOSKS, fill, timed
from plan import indicators
from plan.page import page_data
from plan.store import PlanStore
from plan.web import PlanPages

NEEDS = 500


def add_needs(store: PlanStore) -> None:
    kiosk = KIOSKS[0]
    top = int(store.db.scalar("SELECT MAX(seq) FROM events WHERE community = ? AND kiosk = ?",
                              (COMMUNITY, kiosk)) or 0)
    rows: list[tuple[Any, ...]] = []
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    seq = top
    for need in range(1, NEEDS + 1):
        for support in range(1, need % 20 + 2):
            seq += 1
            kind = "need.raised" if support == 1 else "need.supported"
            data = ({"need": need, "kind": "need", "topic": "lockers", "size": "L",
                     "text": f"More large lockers ({need})", "support": 1}
                    if support == 1 else {"need": need, "support": support})
            rows.append((COMMUNITY, kiosk, seq, f"n-{seq}", now, kind, json.dumps(data), now))
    for i in range(300):
        seq += 1
        rows.append((COMMUNITY, kiosk, seq, f"p-{seq}", now, "maintenance.practiced",
                     json.dumps({"task": "door.jammed", "by": f"h-{i % 40}"}), now))
    with store.db.step() as tx:
        tx.executemany("INSERT INTO events (community, kiosk, seq, id, ts, type, data, "
                       "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def run(size: int, where: Path, out: Path) -> dict[str, Any]:
    store = PlanStore(where)
    try:
        fill(store, size, replay_max=200_000)
        add_needs(store)
        now = datetime.now(UTC)
        report_s = timed(lambda: indicators.report(store, COMMUNITY))
        data_s = timed(lambda: page_data(store, COMMUNITY, now))
        pages = PlanPages(store, [COMMUNITY], out)
        refresh_s = timed(lambda: pages.refresh(now))
        listed = len(page_data(store, COMMUNITY, now)["needs"])
        assert listed == NEEDS, listed
        return {"size": store.event_count(), "report_s": report_s, "data_s": data_s,
                "refresh_s": refresh_s, "bytes": len(pages.page("zh") or b"")}
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            print(f"{size:,} events…", file=sys.stderr, flush=True)
            rows.append(run(size, Path(tmp) / "plan.db", Path(tmp) / "board"))
    print("| events stored | report alone (baseline) | page data | page refresh (zh+en, files) "
          "| page size |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']:,} | {r['report_s'] * 1000:.0f} ms | {r['data_s'] * 1000:.0f} ms "
              f"| {r['refresh_s'] * 1000:.0f} ms | {r['bytes'] / 1024:.0f} KiB |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
