"""Benchmark: events through the SQLite outbox and the publisher, beside raw paho QoS 1.

Both paths send the same payloads (real event JSON) to the same mosquitto in the same
run, with the same in-flight window. Goal: the outbox path sustains >= 0.8x raw paho.

    python bench/bench_mqtt.py [--events 20000] [--drain 10000] [--window 100] [--repeat 3]

Starts its own mosquitto on a free loopback port (it must be stopped and started for the
outage measurement). Prints one table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from kiosk.config import MqttConfig  # noqa: E402
from kiosk.events import Outbox  # noqa: E402
from kiosk.schema import open_kiosk_store  # noqa: E402
from mqtt import topics  # noqa: E402
from mqtt.publisher import Publisher  # noqa: E402
from tests.mqtt_broker import Mosquitto, wait_until  # noqa: E402

C, K = "bench", "kiosk-1"


def fill(outbox: Outbox, n: int, per_step: int = 500) -> None:
    for start in range(0, n, per_step):
        with outbox.store.step() as db:
            for i in range(start, min(n, start + per_step)):
                outbox.append(db, "parcel.deposited", {
                    "parcel": f"p-{i}", "compartment": i % 48 + 1, "size": "SML"[i % 3],
                    "household": f"h-{i % 300:04x}", "courier": f"c-{i % 7}"})


def new_outbox(where: Path, name: str) -> Outbox:
    return Outbox(open_kiosk_store(where / f"{name}.db"))


class RawPublisher:
    """Plain paho: publish everything at QoS 1, count PUBACKs."""

    def __init__(self, port: int, window: int):
        self.acked = 0
        self.connected_at = 0.0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(window)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_publish = self._on_publish
        self.client.on_connect = self._on_connect
        self.client.connect_async("127.0.0.1", port, 30)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected_at = time.perf_counter()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.acked += 1

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def raw_sustained(port: int, payloads: list[tuple[str, str]], window: int) -> float:
    raw = RawPublisher(port, window)
    assert wait_until(lambda: raw.connected_at > 0, 10)
    t0 = time.perf_counter()
    for topic, payload in payloads:
        raw.client.publish(topic, payload, qos=1)
    assert wait_until(lambda: raw.acked == len(payloads), 300, step=0.005)
    elapsed = time.perf_counter() - t0
    raw.stop()
    return elapsed


def outbox_backlog(port: int, where: Path, n: int, window: int) -> float:
    """A filled outbox, drained by the publisher: read, publish, ack, mark on disk."""
    outbox = new_outbox(where, f"backlog-{time.monotonic_ns()}")
    fill(outbox, n)
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=port), C, K, window=window,
                    client_id="bench-outbox")
    t0 = time.perf_counter()
    pub.start()
    assert wait_until(lambda: drained(outbox), 300, step=0.005)
    elapsed = time.perf_counter() - t0
    pub.stop()
    outbox.store.close()
    return elapsed


def outbox_with_producer(port: int, where: Path, n: int, window: int,
                         per_step: int) -> float:
    """As on a kiosk: a producer commits steps (``per_step`` events each) while the
    publisher drains; time until the last event is acknowledged and marked."""
    outbox = new_outbox(where, f"live-{time.monotonic_ns()}")
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=port), C, K, window=window,
                    client_id="bench-live")
    pub.start()
    assert wait_until(lambda: pub.uplink().connected, 10)
    t0 = time.perf_counter()
    for start in range(0, n, per_step):
        with outbox.store.step() as db:
            for i in range(start, min(n, start + per_step)):
                outbox.append(db, "parcel.deposited", {"parcel": f"p-{i}", "size": "M",
                                                       "household": "h-0001",
                                                       "courier": "c-1"})
        pub.kick()
    assert wait_until(lambda: drained(outbox), 300, step=0.005)
    elapsed = time.perf_counter() - t0
    pub.stop()
    outbox.store.close()
    return elapsed


def raw_after_outage(broker: Mosquitto, payloads: list[tuple[str, str]],
                     window: int) -> tuple[float, float]:
    """paho queues in memory while the broker is down; time from connect to last ack."""
    broker.stop()
    raw = RawPublisher(broker.port, window)
    for topic, payload in payloads:
        raw.client.publish(topic, payload, qos=1)
    up = time.perf_counter()
    broker.start()
    assert wait_until(lambda: raw.acked == len(payloads), 300, step=0.005)
    done = time.perf_counter()
    raw.stop()
    return done - raw.connected_at, raw.connected_at - up


def outbox_after_outage(broker: Mosquitto, where: Path, n: int,
                        window: int) -> tuple[float, float]:
    """Events wait on disk while the broker is down; time from reconnect to all marked."""
    broker.stop()
    outbox = new_outbox(where, f"outage-{time.monotonic_ns()}")
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), C, K,
                    window=window, client_id="bench-outage")
    pub.start()
    fill(outbox, n)
    connected: list[float] = []

    def watch() -> bool:
        if not connected and pub.uplink().connected:
            connected.append(time.perf_counter())
        return drained(outbox)

    up = time.perf_counter()
    broker.start()
    assert wait_until(watch, 300, step=0.005)
    done = time.perf_counter()
    pub.stop()
    outbox.store.close()
    return done - connected[0], connected[0] - up


def drained(outbox: Outbox) -> bool:
    # One row through the partial index, not a COUNT(*): polling must not slow the run.
    return not outbox.pending(limit=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--drain", type=int, default=10000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker").start()
        source = new_outbox(tmp, "source")
        fill(source, args.events)
        events = source.events(limit=args.events)
        payloads = [(topics.event_topic(C, K, e.type), e.to_json(C, K)) for e in events]
        size = statistics.mean(len(p) for _, p in payloads)
        n, w, r = args.events, args.window, args.repeat
        # Rounds interleave the paths, so that both see the same load of a shared machine.
        runs: dict[str, list[float]] = {}
        raw_drain: list[tuple[float, float]] = []
        box_drain: list[tuple[float, float]] = []
        d = args.drain
        try:
            for _ in range(r):
                runs.setdefault("raw", []).append(raw_sustained(broker.port, payloads, w))
                runs.setdefault("backlog", []).append(outbox_backlog(broker.port, tmp, n, w))
                runs.setdefault("live10", []).append(
                    outbox_with_producer(broker.port, tmp, n, w, 10))
                runs.setdefault("live1", []).append(
                    outbox_with_producer(broker.port, tmp, n // 4, w, 1))
                raw_drain.append(raw_after_outage(broker, payloads[:d], w))
                box_drain.append(outbox_after_outage(broker, tmp, d, w))
        finally:
            broker.stop()
            source.store.close()
        version = subprocess.run([broker_binary(), "-h"], capture_output=True,
                                 text=True).stdout.splitlines()[0]

    raw, backlog, live10, live1 = (statistics.median(runs[k])
                                   for k in ("raw", "backlog", "live10", "live1"))
    rate = n / raw
    print(f"MQTT publishing, {version}, 127.0.0.1; QoS 1, in-flight window {w}, "
          f"payload ~{size:.0f} B, median of {r}")
    print()
    print(f"{'sustained':<46}{'events':>8}{'seconds':>10}{'events/s':>11}{'vs raw':>8}")
    rows = [("raw paho QoS 1 (same payloads)", n, raw),
            ("outbox + publisher, backlog on disk", n, backlog),
            ("outbox + publisher, producer 10 events/step", n, live10),
            ("outbox + publisher, producer 1 event/step", n // 4, live1)]
    for name, count, secs in rows:
        print(f"{name:<46}{count:>8}{secs:>10.2f}{count / secs:>11.0f}"
              f"{(count / secs) / rate:>8.2f}")
    print()
    print(f"{'drain after an outage':<46}{'events':>8}{'seconds':>10}{'events/s':>11}"
          f"{'vs raw':>8}{'reconnect s':>13}")
    raw_d = statistics.median(x for x, _ in raw_drain)
    box_d = statistics.median(x for x, _ in box_drain)
    for name, secs, wait in [("raw paho (queued in memory)", raw_d,
                              statistics.median(y for _, y in raw_drain)),
                             ("outbox + publisher (queued on disk)", box_d,
                              statistics.median(y for _, y in box_drain))]:
        print(f"{name:<46}{args.drain:>8}{secs:>10.2f}{args.drain / secs:>11.0f}"
              f"{raw_d / secs:>8.2f}{wait:>13.2f}")
    print()
    print("'seconds' for a drain run from the reconnect to the last ack; 'reconnect s' is "
          "the wait from broker start to reconnect (client back-off).")
    return 0


def broker_binary() -> str:
    from tests.mqtt_broker import mosquitto_binary
    return mosquitto_binary() or "mosquitto"


if __name__ == "__main__":
    raise SystemExit(main())
