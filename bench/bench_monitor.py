"""Does ``kiosk monitor`` keep up with a busy fleet? 100 kiosks x 20 events/s by default.

A separate publisher process (raw paho, QoS 1) plays the fleet against a Mosquitto this
script starts on a free loopback port: retained status and snapshots first, then events at
a steady rate (with a door alarm and its all-clear now and then), snapshots every few
seconds. Three subscribers take the same stream in turn:

- raw paho: counts event messages, nothing else (the baseline);
- feed + fleet: ``MonitorFeed`` -> ``UpdateBuffer`` -> ``Fleet``, no screen;
- monitor app: the same, into ``MonitorApp`` running headless at 80x24 (``run_test``).

Printed: events/s offered and handled, events lost, how long the backlog took to drain
after the publisher stopped, the monitor process's CPU, and the UI's frame times: our
redraw (diffing the fleet into the table), Textual's compositor paint of the changed
regions, and the event loop's lag (how late a 10 ms sleep wakes up).

    python bench/bench_monitor.py [--kiosks 100] [--rate 20] [--seconds 10] [--hz 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from mqtt import topics

if TYPE_CHECKING:
    from tests.mqtt_broker import Mosquitto

ROOT = Path(__file__).resolve().parent.parent

COMMUNITY = "bench"

# --- the publisher (runs in its own process) ------------------------------------------------


def publish_fleet(host: str, port: int, kiosks: int, rate: float, seconds: float) -> dict:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex}")
    client.max_inflight_messages_set(1000)
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1

    client.on_publish = on_publish
    client.connect(host, port)
    client.loop_start()
    names = [f"k{i:03d}" for i in range(kiosks)]
    rng = random.Random(1)
    sent = 0

    def snapshots(kiosk: str) -> None:
        nonlocal sent
        free = {"S": rng.randint(0, 12), "M": rng.randint(0, 6), "L": rng.randint(0, 3)}
        for device, payload in (
                (topics.LOCKERS, {"free": free, "capacity": {"S": 12, "M": 6, "L": 3},
                                  "doors_open": [], "out_of_service": [], "faults": []}),
                (topics.UPLINK, {"connected": True, "backlog": rng.randint(0, 40)}),
                (topics.board_device(0), {"online": True, "errors": 0, "last_error": None})):
            topic = topics.state_topic(COMMUNITY, kiosk, device)
            client.publish(topic, json.dumps(payload), qos=1, retain=True)
            sent += 1

    for kiosk in names:
        client.publish(topics.status_topic(COMMUNITY, kiosk), "online", qos=1, retain=True)
        sent += 1
        snapshots(kiosk)

    seqs = dict.fromkeys(names, 0)
    event_topics: dict[tuple[str, str], str] = {}  # built once, not at every event
    total = int(kiosks * rate * seconds)
    interval = 1.0 / (kiosks * rate)
    start = time.monotonic()
    events = 0
    next_snapshot = start + 5.0
    while events < total:
        due = min(total, int((time.monotonic() - start) / interval) + 1)
        while events < due:
            kiosk = names[events % kiosks]
            seqs[kiosk] += 1
            seq = seqs[kiosk]
            if seq % 200 == 0:
                kind, data = "door.left_open", {"compartment": "A3", "open_s": 120}
            elif seq % 200 == 1 and seq > 1:
                kind, data = "door.shut", {"compartment": "A3"}
            else:
                kind, data = "parcel.deposited", {"compartment": f"A{seq % 12 + 1}",
                                                  "size": "SML"[seq % 3],
                                                  "household": f"h-{seq % 97:04x}",
                                                  "courier": "c-2f1e", "parcel": seq}
            ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
            payload = json.dumps({"seq": seq, "id": str(uuid.uuid4()), "ts": ts, "type": kind,
                                  "community": COMMUNITY, "kiosk": kiosk, "data": data})
            topic = event_topics.get((kiosk, kind))
            if topic is None:
                topic = event_topics[kiosk, kind] = topics.event_topic(COMMUNITY, kiosk, kind)
            client.publish(topic, payload, qos=1)
            events += 1
            sent += 1
        if time.monotonic() >= next_snapshot:
            for kiosk in names:
                snapshots(kiosk)
            next_snapshot += 5.0
        time.sleep(0.005)
    elapsed = time.monotonic() - start
    deadline = time.monotonic() + 30
    while acked < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    client.disconnect()
    client.loop_stop()
    return {"events": events, "seconds": elapsed, "messages": sent, "acked": acked}


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    offered: int = 0
    offered_s: float = 0.0
    handled: int = 0
    first: float | None = None
    last: float | None = None
    publisher_done: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    frames: dict[str, list[float]] = field(default_factory=dict)

    def note(self, count: int) -> None:
        now = time.monotonic()
        if self.first is None and count:
            self.first = now
        if count != self.handled:
            self.handled = count
            self.last = now


def cpu_time() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_publisher(broker: Mosquitto, args: argparse.Namespace) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--publish", f"{broker.host}:{broker.port}",
         "--kiosks", str(args.kiosks), "--rate", str(args.rate), "--seconds", str(args.seconds)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)


def finish_publisher(proc: subprocess.Popen[str], run: Run) -> None:
    out, _ = proc.communicate(timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    run.offered, run.offered_s = result["events"], result["seconds"]
    run.publisher_done = time.monotonic()


async def drain(run: Run, count: Callable[[], int], quiet_s: float = 2.0) -> None:
    """After the publisher: wait until every event is handled, or nothing moves for a while."""
    still_since = time.monotonic()
    while run.handled < run.offered and time.monotonic() - still_since < quiet_s:
        before = run.handled
        await asyncio.sleep(0.01)
        run.note(count())
        if run.handled != before:
            still_since = time.monotonic()


async def measure(run: Run, args: argparse.Namespace, broker: Mosquitto,
                  count: Callable[[], int]) -> None:
    cpu0, wall0 = cpu_time(), time.monotonic()
    proc = start_publisher(broker, args)
    while proc.poll() is None:
        await asyncio.sleep(0.01)
        run.note(count())
    finish_publisher(proc, run)
    await drain(run, count)
    run.cpu_s, run.wall_s = cpu_time() - cpu0, time.monotonic() - wall0


def is_event(topic: str) -> bool:
    where = topics.parse(topic)
    return where is not None and where.kind == "event"


async def raw_baseline(args: argparse.Namespace, broker: Mosquitto) -> Run:
    run = Run("raw paho subscriber (baseline)")
    counted = 0

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        nonlocal counted
        if is_event(message.topic):
            counted += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{uuid.uuid4().hex}")
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(
        [(t, 1) for t in topics.public_of(COMMUNITY)])
    client.connect(broker.host, broker.port)
    client.loop_start()
    await asyncio.sleep(0.5)
    await measure(run, args, broker, lambda: counted)
    client.disconnect()
    client.loop_stop()
    return run


async def feed_and_fleet(args: argparse.Namespace, broker: Mosquitto) -> Run:
    from monitor.feed import FeedOptions, MonitorFeed
    from monitor.fleet import Fleet, UpdateBuffer
    from mqtt.connection import BrokerAddress

    run = Run("feed + fleet model (no UI)")
    fleet, buffer, stop = Fleet(), UpdateBuffer(), threading.Event()

    def consume() -> None:  # what the app's frame timer does, on a plain thread
        while not stop.wait(1 / args.hz):
            fleet.apply_all(buffer.drain())
        fleet.apply_all(buffer.drain())

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), COMMUNITY),
                       buffer.put)
    feed.start()
    await asyncio.sleep(0.5)
    await measure(run, args, broker, lambda: fleet.events_applied)
    feed.stop()
    stop.set()
    consumer.join()
    run.note(fleet.events_applied)
    return run


async def monitor_app(args: argparse.Namespace, broker: Mosquitto) -> Run:
    from monitor.feed import FeedOptions, MonitorFeed
    from monitor.fleet import UpdateBuffer
    from mqtt.connection import BrokerAddress
    from tui.monitor import MonitorApp

    run = Run("monitor app (headless 80x24)")
    buffer = UpdateBuffer()
    feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), COMMUNITY),
                       buffer.put)
    feed.start()
    app = MonitorApp(buffer, f"{broker.host}:{broker.port}", refresh_hz=args.hz)
    paints: list[float] = []
    lags: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        # Time Textual's paint of each frame (a private method: bench instrumentation only).
        screen = app.screen
        paint = screen._compositor_refresh

        def timed_paint() -> None:
            started = time.perf_counter()
            paint()
            paints.append(time.perf_counter() - started)

        screen._compositor_refresh = timed_paint  # type: ignore[method-assign]
        app.redraw_times.clear()

        async def watch_lag() -> None:
            while True:
                started = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - started - 0.01)

        await pilot.pause(0.5)
        watcher = asyncio.create_task(watch_lag())
        await measure(run, args, broker, lambda: app.fleet.events_applied)
        watcher.cancel()
        run.frames = {"redraw (fleet -> table)": list(app.redraw_times),
                      "compositor paint": paints, "event-loop lag": lags}
        run.frames["_rows"] = [float(len(app.fleet.kiosks)), float(app.batches)]
    feed.stop()
    return run


# --- report ---------------------------------------------------------------------------------


def report(args: argparse.Namespace, runs: list[Run]) -> None:
    target = args.kiosks * args.rate
    print(f"\nkiosk monitor: {args.kiosks} kiosks x {args.rate:g} events/s for "
          f"{args.seconds:g} s (target {target:,.0f} events/s), redraw at {args.hz:g} Hz\n")
    print(f"{'subscriber':32} {'offered/s':>9} {'handled/s':>9} {'handled':>8} {'lost':>5} "
          f"{'drain s':>7} {'CPU %':>6}")
    for run in runs:
        span = (run.last or 0) - (run.first or 0)
        rate = run.handled / span if span > 0 else 0.0
        drain_s = max(0.0, (run.last or 0) - run.publisher_done)
        print(f"{run.name:32} {run.offered / run.offered_s:9,.0f} {rate:9,.0f} "
              f"{run.handled:8,} {run.offered - run.handled:5} {drain_s:7.2f} "
              f"{100 * run.cpu_s / run.wall_s:6.1f}")
    app = runs[-1]
    kiosks, batches = app.frames.pop("_rows", [0.0, 0.0])
    print(f"\nUI frames of the monitor app ({kiosks:.0f} kiosks in the table, "
          f"{batches:.0f} batches from the feed, {app.handled / max(batches, 1):.0f} "
          "events per batch):")
    print(f"{'':26} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, times in app.frames.items():
        if len(times) < 2:
            print(f"{name:26} {len(times):6}")
            continue
        ms = sorted(t * 1000 for t in times)
        p95 = statistics.quantiles(ms, n=20)[18]
        print(f"{name:26} {len(ms):6} {statistics.median(ms):8.2f} {p95:8.2f} {ms[-1]:8.2f}")


async def bench(args: argparse.Namespace) -> None:
    from tests.mqtt_broker import Mosquitto

    runs = []
    with tempfile.TemporaryDirectory() as tmp, Mosquitto(Path(tmp)) as broker:
        for phase in (raw_baseline, feed_and_fleet, monitor_app):
            runs.append(await phase(args, broker))
            print(f"  done: {runs[-1].name}", file=sys.stderr)
    report(args, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="events/s per kiosk")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hz", type=float, default=8.0, help="monitor redraws per second")
    parser.add_argument("--publish", metavar="HOST:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        host, _, port = args.publish.rpartition(":")
        print(json.dumps(publish_fleet(host, int(port), args.kiosks, args.rate, args.seconds)))
        return
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
