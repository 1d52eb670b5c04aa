"""Round trips to the lock boards over a pty, against the simulator.

The baseline is plain pyserial: write one status request, read the 9-byte reply. Beside
it: the driver's ``status()``, an unlock until its frame is on the wire (the simulator's
receive timestamp), and ``open_door`` (unlock + confirming status polls).

    python bench/bench_serial.py [--runs 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import serial

from devices import kerong
from devices.board_sim import BoardSimulator
from devices.serial_board import open_board
from kiosk.doors import open_door


def measure(runs: int, once: Callable[[], float | None]) -> list[float]:
    """Run ``once`` ``runs`` times; it returns its own duration or None to be timed here."""
    times = []
    for _ in range(runs):
        start = time.monotonic()
        took = once()
        times.append(took if took is not None else time.monotonic() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    runs = parser.parse_args().runs
    results: dict[str, list[float]] = {}

    with BoardSimulator(boards=(0,)) as sim:
        request = kerong.status_request(0)
        with serial.serial_for_url(sim.port, baudrate=19200, timeout=1) as raw:
            def raw_round_trip() -> None:
                raw.write(request)
                if len(raw.read(9)) != 9:
                    raise SystemExit("simulator did not answer")
            results["pyserial write+read 9 B (baseline)"] = measure(runs, raw_round_trip)

        with open_board(sim.port, timeout_s=0.3) as bus:
            def status_once() -> None:
                bus.status(0)
            results["driver status()"] = measure(runs, status_once)

            def unlock_on_wire() -> float:
                seen = len(sim.log())
                start = time.monotonic()
                bus.unlock(0, 1)
                return sim.wait_frames(seen + 1)[seen].t - start
            results["driver unlock -> frame on the wire"] = measure(runs, unlock_on_wire)

            def confirm() -> float:
                sim.shut(0, 1)
                start = time.monotonic()
                result = open_door(bus, 0, 1, confirm_s=1.0, poll_s=0.005)
                took = time.monotonic() - start
                if not result.opened:
                    raise SystemExit(f"door did not open: {result}")
                return took
            results["open_door (unlock + confirm)"] = measure(runs, confirm)
            counters = bus.counters

    print(f"{'round trip over a pty':40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   n={runs}")
    for name, times in results.items():
        ms = sorted(t * 1000 for t in times)
        p99 = statistics.quantiles(ms, n=100)[98]
        print(f"{name:40} {statistics.median(ms):8.3f} {p99:8.3f} {ms[-1]:8.3f}")
    print(f"driver counters: {counters}")
    # A pty moves bytes instantly; a real RS485 line at 19200 baud 8N1 adds the time on
    # the wire: 5 request + 9 reply bytes at 10 bits each.
    print(f"a real 19200 baud line adds {14 * 10 / 19200 * 1000:.1f} ms per status() "
          "and per confirm poll")


if __name__ == "__main__":
    main()
