"""What the kiosk screen costs, measured beside a bare Textual app in the same run.

1. Process start → first interactive frame, and peak RSS, of ``kiosk demo`` on an 80×24
   pseudo-terminal, against ``bench/bare_app.py`` with as many widgets as the kiosk's home
   screen. Runs alternate between the two so both see the same machine. The frame counts
   when the home screen's text reaches the terminal. The kiosk draws home first and opens
   its parts (simulated boards, SQLite, services) behind it; "ready" is when its status
   line reports. Peak RSS is the child's VmHWM read, once it is ready, after the same
   pause for both, just before Ctrl+Q. Goal: ≤ 1.3× on both.
2. Code submitted → unlock frame on the wire: Enter pressed on the pickup screen until the
   board simulator receives the unlock frame (its arrival time, same clock), through the
   real app, worker, locker service, SQLite and serial driver. p50 / p99.

    python bench/bench_tui.py [--runs 7] [--pickups 200]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MARKER = "取件".encode()
READY = "待发送".encode()  # the kiosk's status line, once its parts answer
SETTLE_S = 0.5
UNLOCK = 0x31


def start_and_quit(argv: list[str], ready_marker: bytes = MARKER,
                   timeout_s: float = 60.0) -> tuple[float, float, int]:
    """(seconds to the first frame, to ``ready_marker``, peak RSS in KiB) of one run."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    first_frame = None
    ready_at = None
    quit_at = None
    peak_kib = 0
    closed = False  # the child closed the terminal: it is exiting
    try:
        while True:
            ready, _, _ = select.select([] if closed else [master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 1 << 16)
                except OSError:
                    closed = True
            now = time.monotonic()
            if first_frame is None and MARKER in seen:
                first_frame = now - started
            if first_frame is not None and ready_at is None and ready_marker in seen:
                ready_at = now - started
                quit_at = now + SETTLE_S
            if quit_at is not None and now >= quit_at:
                peak_kib = high_water_kib(proc.pid)
                os.write(master, b"\x11")  # Ctrl+Q
                quit_at = float("inf")
            if now - started > timeout_s:
                raise RuntimeError(f"{argv} drew no first frame: {seen[-300:]!r}")
            pid, status, _ = os.wait4(proc.pid, 0 if closed else os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        os.close(master)
    if first_frame is None or ready_at is None or proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {seen[-300:]!r}")
    return first_frame, ready_at, peak_kib


def high_water_kib(pid: int) -> int:
    """Peak resident set of a process since its exec (not inherited from our fork)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc: peak RSS cannot be read here")


async def home_widget_count() -> int:
    from kiosk.setups.demo import DemoKiosk

    with tempfile.TemporaryDirectory() as data, DemoKiosk(Path(data) / "demo") as demo:
        async with demo.app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.2)
            return len(list(demo.app.screen.walk_children()))


async def pickup_latencies(count: int) -> list[float]:
    from kiosk.setups.demo import DemoKiosk
    from tui.screens.home import HomeScreen
    from tui.screens.pickup import PickupScreen

    async def until(pilot, condition) -> None:
        deadline = time.monotonic() + 10
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError("the kiosk screen stopped answering")
            await pilot.pause(0.001)

    samples: list[float] = []
    with tempfile.TemporaryDirectory() as data, DemoKiosk(
            Path(data) / "demo", idle_s=3600, door_poll_s=0.02, done_s=3600) as demo:
        app, sim, lockers = demo.app, demo.sim, demo.kiosk.lockers
        courier = lockers.courier_login("courier-a", "2468")
        async with app.run_test(size=(80, 24)) as pilot:
            for i in range(count):
                # Not timed: a courier's parcel, and the code the resident's phone got.
                slot = lockers.deposit(courier, "104", "S")
                c = slot.compartment
                sim.put_item(c.board, c.lock)
                sim.shut(c.board, c.lock)
                lockers.finish(slot)
                code = [n for n in demo.kiosk.outbox.pending_notifications(limit=10_000)
                        if n.household == "104"][-1].data["code"]
                await pilot.press("1")
                await until(pilot, lambda: isinstance(app.screen, PickupScreen))
                for ch in code:
                    await pilot.press(ch.lower() if ch.isalpha() else ch)
                frames = len(sim.log())
                submitted = time.monotonic()
                await pilot.press("enter")
                await until(pilot, lambda n=frames: any(f.cmd == UNLOCK
                                                        for f in sim.log()[n:]))
                unlock = next(f for f in sim.log()[frames:] if f.cmd == UNLOCK)
                samples.append(unlock.t - submitted)
                await until(pilot, lambda: app.screen.result is not None)
                sim.take_item(c.board, c.lock)
                sim.shut(c.board, c.lock)
                await until(pilot, lambda: app.t("pickup.done") in str(
                    app.screen.query_one("#doors-message").render()))
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, HomeScreen))
                if i % 50 == 49:
                    print(f"  {i + 1} pickups", file=sys.stderr)
    return samples


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="starts of each app")
    parser.add_argument("--pickups", type=int, default=200)
    args = parser.parse_args()

    widgets = asyncio.run(home_widget_count())
    with tempfile.TemporaryDirectory() as data:
        kiosk = [sys.executable, "-m", "kiosk", "demo", "--data", str(Path(data) / "demo")]
        bare = [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(widgets)]
        start_and_quit(kiosk, READY)  # seeds the demo and warms the bytecode caches
        start_and_quit(bare)
        results: dict[str, list[tuple[float, float, int]]] = {"kiosk": [], "bare": []}
        for _ in range(args.runs):
            results["kiosk"].append(start_and_quit(kiosk, READY))
            results["bare"].append(start_and_quit(bare))
    latencies = asyncio.run(pickup_latencies(args.pickups))

    def median(name: str, i: int) -> float:
        return statistics.median(r[i] for r in results[name])

    k_start, b_start = median("kiosk", 0) * 1000, median("bare", 0) * 1000
    k_ready = median("kiosk", 1) * 1000
    k_rss, b_rss = median("kiosk", 2) / 1024, median("bare", 2) / 1024
    print(f"\nkiosk screen, {args.runs} starts of each (alternating), medians; "
          f"bare app with {widgets} widgets like the home screen\n")
    print(f"{'':34}{'kiosk demo':>12}{'bare Textual':>14}{'ratio':>8}{'goal':>8}")
    print(f"{'start → first interactive frame':34}{k_start:>9.0f} ms{b_start:>11.0f} ms"
          f"{k_start / b_start:>7.2f}×{'≤ 1.3×':>8}")
    print(f"{'peak RSS (kiosk ready)':34}{k_rss:>9.1f} MB{b_rss:>11.1f} MB"
          f"{k_rss / b_rss:>7.2f}×{'≤ 1.3×':>8}")
    print(f"{'start → kiosk ready (status shown)':34}{k_ready:>9.0f} ms")
    ms = [x * 1000 for x in latencies]
    print(f"\ncode submitted → unlock frame on the wire ({len(ms)} pickups): "
          f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
          f"max {max(ms):.1f} ms")


if __name__ == "__main__":
    main()
