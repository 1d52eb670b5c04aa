"""How long the maintenance screen waits for its data and for a forced door.

On the demo composition (two boards of 16 on the pty simulator, the real serial driver,
the seeded community): ``gather`` — one refresh of the overview, read every two seconds
while the screen is open — and ``perform(force_door)`` from the reason's OK to the door
confirmed open, audit entry included. Also one refresh with board B silent, which costs
the driver's timeouts.

    python bench/bench_maintenance.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.maintenance_view import Action, gather, perform
from kiosk.setups.demo import DemoKiosk
from kiosk.setups.screen import parts as screen_parts


def timed(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row(name: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"| {name} | {len(samples)} | {statistics.median(samples):.2f} | {p99:.2f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DemoKiosk(Path(tmp) / "demo") as demo:
        # The maintainers' tools exactly as the screen gets them from the composition.
        parts = screen_parts(demo.kiosk).maintenance
        assert parts is not None
        shift = parts.duty.on_duty()
        assert shift is not None  # the demo's roster has someone on duty now
        actor = shift.maintainers[0]
        door = next(c for c in parts.lockers.compartments() if c.free)

        def force() -> None:
            assert perform(parts, actor, Action("force_door", door.id), "bench").done
            demo.sim.shut(door.board, door.lock)

        overview = timed(lambda: gather(parts, None, 0), args.runs)
        forced = timed(force, args.runs)
        demo.sim.set_silent(1, True)
        silent = timed(lambda: gather(parts, None, 0), max(5, args.runs // 20))
    print("| step | runs | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(row("overview refresh (32 compartments, 2 boards)", overview))
    print(row("force door: reason OK → door confirmed, audited", forced))
    print(row("overview refresh, board B silent", silent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
