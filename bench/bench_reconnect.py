"""Benchmark: how soon events flow again after the broker comes back.

A real mosquitto on a free loopback port is stopped and started ``--restarts`` times. While
it is down, each client gets one event to send; once the broker listens again, the time to
that event's PUBACK is taken, for three clients facing the same outages in the same run:

- raw paho with its default reconnect back-off (1 s doubling to 120 s), the event queued
  in paho's memory;
- the outbox publisher with the old setting (1 s doubling to ``reconnect_max_s``, 30 s);
- the outbox publisher as the kiosk builds it (``mqtt.publisher.reconnect_delays``: for a
  broker on the same machine 0.1 s doubling to 0.5 s).

The broker stays down a different while each round (``--down``, cycled), since where a
doubling back-off stands when the broker returns depends on how long it was away.

    python bench/bench_reconnect.py [--restarts 10] [--down 0,0.5,1,2,3]

Prints one table (p50 and max per client); no assertions.
"""

from __future__ import annotations

import argparse
import statistics
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
from tests.mqtt_broker import Mosquitto, mosquitto_binary, wait_until  # noqa: E402

C = "bench"


class RawClient:
    """Plain paho, default back-off; one QoS 1 message queued in memory per outage."""

    def __init__(self, port: int):
        self._lock = threading.Lock()
        self.connected = False
        self.acked: dict[int, float] = {}  # mid -> when its PUBACK came
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw",
                                  protocol=mqtt.MQTTv311)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.connect_async("127.0.0.1", port, 30)
        self.client.loop_start()
        self.mid = 0

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = not reason_code.is_failure

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.acked[mid] = time.perf_counter()

    def send_one(self, n: int) -> None:
        self.mid = self.client.publish(topics.event_topic(C, "raw", "bench.ping"),
                                       f'{{"n": {n}}}', qos=1).mid

    def acked_at(self) -> float | None:
        with self._lock:
            return self.acked.get(self.mid)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class OutboxClient:
    """The kiosk's publisher on its own outbox; one event appended per outage."""

    def __init__(self, where: Path, port: int, name: str,
                 delays: tuple[float | None, float | None] = (None, None)):
        self.outbox = Outbox(open_kiosk_store(where / f"{name}.db"))
        self.pub = Publisher(self.outbox, MqttConfig(host="127.0.0.1", port=port), C, name,
                             client_id=f"bench-{name}", reconnect_min_s=delays[0],
                             reconnect_max_s=delays[1])
        self.pub.start()
        self.done_at: float | None = None

    @property
    def connected(self) -> bool:
        return self.pub.uplink().connected

    def send_one(self, n: int) -> None:
        self.done_at = None
        with self.outbox.store.step() as db:
            self.outbox.append(db, "bench.ping", {"n": n})
        self.pub.kick()

    def acked_at(self) -> float | None:
        # Marked published only after the PUBACK (polled every few ms below).
        if self.done_at is None and not self.outbox.pending(limit=1):
            self.done_at = time.perf_counter()
        return self.done_at

    def stop(self) -> None:
        self.pub.stop()
        self.outbox.store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--down", default="0,0.5,1,2,3",
                        help="seconds the broker stays down, cycled over the restarts")
    args = parser.parse_args()
    downs = [float(x) for x in args.down.split(",")]
    if mosquitto_binary() is None:
        print("mosquitto is not installed", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker").start()
        clients: dict[str, RawClient | OutboxClient] = {
            "raw paho, default back-off (1 s doubling to 120 s)": RawClient(broker.port),
            "publisher, old setting (1 s doubling to 30 s)":
                OutboxClient(tmp, broker.port, "old", delays=(1.0, 30.0)),
            "publisher as built (local broker: 0.1 s to 0.5 s)":
                OutboxClient(tmp, broker.port, "new"),
        }
        lags: dict[str, list[float]] = {name: [] for name in clients}
        try:
            assert wait_until(lambda: all(c.connected for c in clients.values()), 10)
            for n in range(args.restarts):
                broker.stop()
                assert wait_until(lambda: not any(c.connected for c in clients.values()), 10)
                for c in clients.values():
                    c.send_one(n)
                time.sleep(downs[n % len(downs)])
                broker.start()  # returns once it accepts connections (20 ms polls)
                listening = time.perf_counter()
                pending = dict(clients)
                deadline = listening + 300
                while pending and time.perf_counter() < deadline:
                    for name, c in list(pending.items()):
                        at = c.acked_at()
                        if at is not None:
                            lags[name].append(at - listening)
                            del pending[name]
                    time.sleep(0.002)
                assert not pending, f"no PUBACK within 300 s: {list(pending)}"
        finally:
            for c in clients.values():
                c.stop()
            broker.stop()

    print(f"Broker listening again -> first event PUBACKed; {args.restarts} restarts of a "
          f"local mosquitto, down {args.down} s (cycled)")
    print()
    print(f"{'client':<54}{'p50 s':>8}{'max s':>8}")
    for name, values in lags.items():
        print(f"{name:<54}{statistics.median(values):>8.2f}{max(values):>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
