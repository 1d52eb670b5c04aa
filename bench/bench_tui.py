"""What the kiosk screen costs, measured beside a bare Textual app in the same run.

1. Process start → first interactive frame, and peak RSS, on an 80×24 pseudo-terminal, of
   ``bench/bare_app.py`` (as many widgets as the kiosk's home screen) against the kiosk
   two ways:
   - ``kiosk run``, the process a Pi runs: its config's board is the pty board simulator
     (in this bench's process, as a real board is outside the Pi's), its pins gpiozero's
     mock pins (tamper, LEDs, buzzer, motion, barrier, two spot sensors, as in the
     example config), its uplink a Mosquitto of this bench's own. The goal is on this one.
   - ``kiosk demo``, which also runs in its process what a Pi does not: the board
     simulator, its own Mosquitto and the community notifier with Apprise (the residents'
     simulated phones); shown for what trying the kiosk costs.
   Runs alternate between the three so all see the same machine. The frame counts when
   the home screen's text reaches the terminal; "ready" when its status line reports
   (the parts answered). Each is quit with Ctrl+Q once ready and after the same pause;
   peak RSS is the child's VmHWM over its whole run, read until it exits (``wait4``'s
   ru_maxrss would not do: it counts the forking bench's own memory). All three read
   compiled bytecode, from a cache the first start of each fills (a Pi's install
   compiles it).
   Goal: ≤ 1.3× on both, for ``kiosk run``. A fourth app, "bare + libraries", is the bare
   app having imported the libraries every kiosk runs on (sqlite-utils, gpiozero, paho,
   pyserial, OpenSSL's hashes) without using them: the floor no code of the kiosk's own
   can go below, shown as its own ratio.
2. Code submitted → unlock frame on the wire: Enter pressed on the pickup screen until the
   board simulator receives the unlock frame (its arrival time, same clock), through the
   real app, worker, locker service, SQLite and serial driver. p50 / p99.

    python bench/bench_tui.py [--runs 7] [--pickups 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
# The residents' status line once the kiosk's parts have answered ("all doors working").
READY = "柜门正常".encode()
SETTLE_S = 0.5
UNLOCK = 0x31


def start_and_quit(argv: list[str], ready_marker: bytes = MARKER,
                   timeout_s: float = 60.0) -> tuple[float, float, int]:
    """(seconds to the first frame, to ``ready_marker``, peak RSS in KiB over the whole
    run, start to exit) of one run."""
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
            # Polled often once quitting, so the last high-water read is just before exit.
            wait_s = 0.005 if closed or quit_at == float("inf") else 0.05
            ready, _, _ = select.select([] if closed else [master], [], [], wait_s)
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
            # The high-water mark only grows: the last read before the exit is the peak.
            peak_kib = max(peak_kib, high_water_kib(proc.pid))
            if quit_at is not None and now >= quit_at:
                os.write(master, b"\x11")  # Ctrl+Q
                quit_at = float("inf")
            if now - started > timeout_s:
                raise RuntimeError(f"{argv} drew no first frame: {seen[-300:]!r}")
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
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
    if not peak_kib:
        raise RuntimeError("no VmHWM in /proc: peak RSS cannot be read here")
    return first_frame, ready_at, peak_kib


def high_water_kib(pid: int) -> int:
    """Peak resident set of a running process since its exec (not inherited from our
    fork); 0 once it is exiting (its memory is gone: there is nothing left to read)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


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
        courier = lockers.courier_login("courier-a", "24682468")
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


def run_config(data: Path, board_port: str, broker_port: int | None) -> Path:
    """A ``kiosk run`` config as a Pi's: the demo's two boards of 16, the example config's
    pins (on gpiozero's mock factory here), the uplink to ``broker_port``."""
    from kiosk.setups.demo import COMPARTMENTS

    mqtt = (f'[mqtt]\nenabled = true\nhost = "127.0.0.1"\nport = {broker_port}\n'
            if broker_port is not None else "[mqtt]\nenabled = false\n")
    groups = "".join(f'[[compartments]]\nboard = {g.board}\nlocks = "{g.locks}"\n'
                     f'size = "{g.size}"\n' for g in COMPARTMENTS)
    path = data / "kiosk.toml"
    path.write_text(
        f'community_id = "bench"\nkiosk_id = "bench-kiosk"\ndata_dir = "{data / "run"}"\n'
        f'language = "zh"\n[board]\nport = "{board_port}"\ntimeout_s = 0.2\n'
        '[gpio]\npin_factory = "mock"\nbuzzer = 17\nled_ok = 27\nled_fault = 22\n'
        'tamper = 23\nmotion = 24\nbarrier = 25\n'
        '[gpio.spot_sensors]\nP01 = 5\nP02 = 6\n' + mqtt + groups)
    return path


def main() -> None:
    from devices.board_sim import BoardSimulator
    from tests.mqtt_broker import Mosquitto, mosquitto_binary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="starts of each app")
    parser.add_argument("--pickups", type=int, default=200, help="0: start-up only")
    args = parser.parse_args()

    widgets = asyncio.run(home_widget_count())
    names = ("kiosk run", "kiosk demo", "bare Textual", "bare + libraries")
    results: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    with (tempfile.TemporaryDirectory() as tmp,
          BoardSimulator(boards=(0, 1), seed=0) as sim,
          contextlib.ExitStack() as stack):
        data = Path(tmp)
        # Every app reads compiled bytecode, as on a Pi (scripts/install-pi.sh compiles
        # it at install): a shell with PYTHONDONTWRITEBYTECODE would otherwise have the
        # kiosk compile its own modules from source at every start (~1.7 MB of peak RSS,
        # tens of ms) while the bare app reads Textual's from site-packages. The first
        # (unmeasured) start of each fills this cache for all three alike.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(data / "bytecode")
        broker = (stack.enter_context(Mosquitto(data / "broker"))
                  if mosquitto_binary() else None)
        config = run_config(data, sim.port, broker.port if broker else None)
        argvs = {
            "kiosk run": [sys.executable, "-m", "kiosk", "run", "--config", str(config)],
            "kiosk demo": [sys.executable, "-m", "kiosk", "demo", "--data",
                           str(data / "demo")],
            "bare Textual": [sys.executable, str(ROOT / "bench" / "bare_app.py"),
                             str(widgets)],
            "bare + libraries": [sys.executable, str(ROOT / "bench" / "bare_app.py"),
                                 str(widgets), "--libraries"],
        }
        markers = {"kiosk run": READY, "kiosk demo": READY, "bare Textual": MARKER,
                   "bare + libraries": MARKER}
        for name in names:  # seeds the demo, makes the run's database, warms the caches
            start_and_quit(argvs[name], markers[name])
        for _ in range(args.runs):
            for name in names:
                results[name].append(start_and_quit(argvs[name], markers[name]))

    def median(name: str, i: int) -> float:
        return statistics.median(r[i] for r in results[name])

    start = {n: median(n, 0) * 1000 for n in names}
    ready = {n: median(n, 1) * 1000 for n in names}
    rss = {n: median(n, 2) / 1024 for n in names}
    bare = "bare Textual"
    print(f"\nkiosk screen, {args.runs} starts of each (alternating), medians; bare app "
          f"with {widgets} widgets like the home screen; uplink: "
          f"{'a Mosquitto of its own' if broker else 'none (no mosquitto installed)'}\n")
    print(f"{'':34}{'kiosk run':>12}{'kiosk demo':>12}{'bare Textual':>14}"
          f"{'run ratio':>10}{'demo ratio':>11}{'goal':>8}")

    def row(label: str, figures: dict[str, float], unit: str, fmt: str) -> None:
        cells = "".join(f"{format(figures[n], fmt):>{w - len(unit)}}{unit}"
                        for n, w in zip(names[:3], (12, 12, 14), strict=True))
        print(f"{label:34}{cells}{figures['kiosk run'] / figures[bare]:>9.2f}×"
              f"{figures['kiosk demo'] / figures[bare]:>10.2f}×{'≤ 1.3×':>8}")

    row("start → first interactive frame", start, " ms", ".0f")
    row("peak RSS (whole run, start to exit)", rss, " MB", ".1f")
    print(f"{'start → kiosk ready (status shown)':34}{ready['kiosk run']:>9.0f} ms"
          f"{ready['kiosk demo']:>9.0f} ms")
    floor = "bare + libraries"
    print(f"\nthe floor, a bare app having imported the kiosk's libraries: first frame "
          f"{start[floor]:.0f} ms ({start[floor] / start[bare]:.2f}×), peak RSS "
          f"{rss[floor]:.1f} MB ({rss[floor] / rss[bare]:.2f}×)")
    if args.pickups:
        latencies = asyncio.run(pickup_latencies(args.pickups))
        ms = [x * 1000 for x in latencies]
        print(f"\ncode submitted → unlock frame on the wire ({len(ms)} pickups): "
              f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
              f"max {max(ms):.1f} ms")


if __name__ == "__main__":
    main()
