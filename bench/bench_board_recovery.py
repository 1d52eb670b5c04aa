"""How long a board outage lasts after the board is back, on the kiosk ``kiosk run`` runs.

Two journeys against the pty simulator, on ``production_kiosk`` without an uplink:
- the USB-RS485 adapter pulled out and plugged back in (the simulator's link re-pointed at
  a new pty): from the replug until every compartment is back in service;
- the board silent, the kiosk restarted during the outage: from the board answering again
  until every compartment is back in service;
- the adapter replugged while the board ahead of it on the bus (board 0) stays silent: from
  the replug until board 1's compartments are back in service (a silent board costs the
  others at most one timeout a probe).
Each waits a random part of a heartbeat first, so the board comes back at any point of
the poll cycle. The goal is at most one heartbeat.

    python bench/bench_board_recovery.py [--heartbeat 1.0] [--runs 15]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gpiozero.pins.mock import MockFactory

from devices.board_sim import BoardSimulator
from kiosk.composition import Kiosk
from kiosk.config import Config, load_config
from kiosk.setups.production import production_kiosk


def config_for(folder: Path, port: str, heartbeat_s: float) -> Config:
    path = folder / "kiosk.toml"
    path.write_text(f"""community_id = "bench"
kiosk_id = "recovery"
data_dir = "{folder / 'state'}"
[board]
port = "{port}"
timeout_s = 0.1
heartbeat_s = {heartbeat_s}
[[compartments]]
board = 0
locks = "1-8"
size = "S"
[[compartments]]
board = 1
locks = "1-8"
size = "M"
""", encoding="utf-8")
    return load_config(path)


def wait(predicate: Callable[[], bool], timeout_s: float = 120.0) -> float:
    """Poll until ``predicate`` holds; the monotonic time it was first seen to."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return time.monotonic()
        time.sleep(0.005)
    raise SystemExit("gave up waiting: the board never came back")


def in_service(kiosk: Kiosk, board: int | None = None) -> bool:
    return all(c.fault is None for c in kiosk.lockers.compartments()
               if board in (None, c.board))


def offline(kiosk: Kiosk, board: int | None = None) -> bool:
    return all(c.fault == "board_offline" for c in kiosk.lockers.compartments()
               if board in (None, c.board))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    hb = args.heartbeat
    rng = random.Random(12)
    replug: list[float] = []
    restart: list[float] = []
    behind: list[float] = []
    with tempfile.TemporaryDirectory() as folder, \
            BoardSimulator((0, 1), link=Path(folder) / "usb-rs485") as sim:
        config = config_for(Path(folder), sim.port, hb)
        pins = MockFactory()
        kiosk = production_kiosk(config, pins)
        try:
            for _ in range(args.runs):
                sim.unplug()
                wait(lambda: offline(kiosk))
                time.sleep(rng.uniform(0, hb))
                start = time.monotonic()
                sim.replug()
                replug.append(wait(lambda: in_service(kiosk)) - start)
            sim.set_silent(0, True)
            for _ in range(args.runs):
                sim.unplug()
                wait(lambda: offline(kiosk))
                time.sleep(rng.uniform(0, hb))
                start = time.monotonic()
                sim.replug()
                behind.append(wait(lambda: in_service(kiosk, 1)) - start)
            sim.set_silent(0, False)
            wait(lambda: in_service(kiosk))
        finally:
            kiosk.close()
        for _ in range(args.runs):
            kiosk = production_kiosk(config, pins)
            sim.set_silent(0, True)
            wait(partial(offline, kiosk, 0))
            kiosk.close()
            kiosk = production_kiosk(config, pins)
            try:
                time.sleep(rng.uniform(0, 2 * hb))
                assert offline(kiosk, 0), "still silent: still out of service"
                start = time.monotonic()
                sim.set_silent(0, False)
                restart.append(wait(partial(in_service, kiosk)) - start)
            finally:
                kiosk.close()
    print(f"heartbeat {hb:g} s, {args.runs} runs each")
    for name, times in (("adapter replugged -> in service", replug),
                        ("restarted in an outage, board answers -> in service", restart),
                        ("replugged, board 0 still silent -> board 1 in service", behind)):
        print(f"  {name:52} p50 {statistics.median(times):.2f} s  max {max(times):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
