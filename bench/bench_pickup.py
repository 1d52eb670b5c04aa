"""The whole pickup step against the pty board simulator, with a short and a long history.

For each run a parcel is deposited (not timed), then its code is submitted and timed
until the unlock frame is on the wire (the simulator's receive time) and until
``pickup()`` returns with the door confirmed open. The baseline is the raw round trip of
one status frame over the same pty. History must not slow a pickup: the table shows
the ratio of the long history's p50 to the short one's (goal ≤ 1.2).

    python bench/bench_pickup.py [--runs 300] [--history 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import serial

from devices import kerong
from devices.board_sim import BoardSimulator
from devices.serial_board import open_board
from kiosk.codes import keyed_hash
from kiosk.config import config_from_dict
from kiosk.events import Outbox
from kiosk.lockers.service import LockerService
from kiosk.schema import open_kiosk_store

UNITS = [f"{floor}{door:02d}" for floor in range(1, 21) for door in range(1, 11)]


def config(port: str):
    return config_from_dict({
        "board": {"port": port, "timeout_s": 0.3, "confirm_s": 1.0},
        "compartments": [{"board": 0, "locks": "1-16", "size": "M"}],
    })


def fill_history(store, parcels: int) -> None:
    """Collected parcels with their used codes and their events, as years of use leave."""
    secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")
    ts = "2025-01-01T00:00:00.000000Z"
    batch = 50_000
    with store.step() as db:
        for start in range(0, parcels, batch):
            ids = range(start + 1, min(start + batch, parcels) + 1)
            db.conn.executemany(
                "INSERT INTO parcels (id, household, compartment, size, state, created_ts, "
                "stored_ts, done_ts) VALUES (?, ?, 'A01', 'M', 'collected', ?, ?, ?)",
                [(i, UNITS[i % len(UNITS)], ts, ts, ts) for i in ids])
            db.conn.executemany(
                "INSERT INTO codes (hash, household, created_ts, used_ts) VALUES (?, ?, ?, ?)",
                [(keyed_hash(secret, "code", f"OLD{i}"), UNITS[i % len(UNITS)], ts, ts)
                 for i in ids])
            db.conn.executemany(
                "INSERT INTO events (seq, id, ts, type, data, published) "
                "VALUES (?, ?, ?, ?, '{}', 1)",
                [(2 * i - k, f"h{i}-{k}", ts, t) for i in ids
                 for k, t in ((1, "parcel.deposited"), (0, "parcel.collected"))])


def run(history: int, runs: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp, BoardSimulator(boards=(0,)) as sim, \
            open_board(sim.port, timeout_s=0.3) as bus:
        store = open_kiosk_store(Path(tmp) / "kiosk.db")
        for unit in UNITS:
            store.db.table("households").insert({"unit": unit, "pseudonym": "h-" + unit})
        outbox = Outbox(store)
        service = LockerService(store, outbox, bus, config(sim.port))
        fill_history(store, history)
        courier = service.add_courier("c1", "12341234")
        to_wire, to_confirmed = [], []
        for i in range(runs):
            unit = UNITS[i % len(UNITS)]
            slot = service.deposit(courier, unit, "M")
            c = slot.compartment
            sim.put_item(c.board, c.lock)
            sim.shut(c.board, c.lock)
            service.finish(slot)
            # As the notifier's receipt would: the code leaves the kiosk's disk once delivered.
            [note] = outbox.pending_notifications()
            outbox.delivered([note.uid])
            code = note.data["code"]
            seen = len(sim.log())
            start = time.monotonic()
            result = service.pickup(code, unit)
            done = time.monotonic()
            assert result.opened, "door did not open"
            unlock = next(f for f in sim.log()[seen:] if f.cmd == kerong.CMD_UNLOCK)
            to_wire.append(unlock.t - start)
            to_confirmed.append(done - start)
            sim.take_item(c.board, c.lock)
            sim.shut(c.board, c.lock)
            service.settle_shut(result)
        store.close()
    return {"code → unlock on wire": to_wire, "code → door confirmed": to_confirmed}


def raw_status(runs: int) -> list[float]:
    with BoardSimulator(boards=(0,)) as sim, \
            serial.serial_for_url(sim.port, baudrate=19200, timeout=1) as port:
        request = kerong.status_request(0)
        times = []
        for _ in range(runs):
            start = time.monotonic()
            port.write(request)
            assert len(port.read(9)) == 9
            times.append(time.monotonic() - start)
        return times


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--history", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = [("raw status frame round trip (baseline)", "-", raw_status(args.runs))]
    results = {}
    for history in (100, args.history):
        print(f"filling {history:,} parcels of history ...", file=sys.stderr)
        started = time.monotonic()
        results[history] = run(history, args.runs)
        print(f"  done in {time.monotonic() - started:.0f} s", file=sys.stderr)
        rows += [(name, f"{history:,}", times) for name, times in results[history].items()]
    print(f"\n{'step':<40} {'history':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, history, times in rows:
        print(f"{name:<40} {history:>10} {pct(times, 50):8.3f} {pct(times, 99):8.3f}")
    short, long = results[100], results[args.history]
    for name in short:
        ratio = pct(long[name], 50) / pct(short[name], 50)
        print(f"ratio p50 {name} ({args.history:,} / 100): {ratio:.2f}  (goal ≤ 1.2)")


if __name__ == "__main__":
    main()
