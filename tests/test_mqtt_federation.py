"""Federation: the shipped Mosquitto bridge config between two real brokers on loopback.

A kiosk publishes to its community broker (A); the bridge forwards the public topics to
the federation broker (F), where a plan aggregator reads them. F is down while thousands
of events pass: with the shipped config none is lost; with mosquitto's default queue limit
most are, and the aggregator's gap report says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from mqtt.publisher import Publisher
from plan.aggregator import PlanAggregator
from plan.store import PlanStore
from tests.mqtt_broker import Collector, Mosquitto, free_port, mosquitto_binary, wait_until

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "systemd" / "mosquitto"
C, K = "maple-court", "gate-east"  # the community named in the shipped config
N = 3000

# Lines that only make sense on a real host (certificates, passwords, paths): the test
# harness provides its own listener, persistence directory and user.
HOST_ONLY = {"listener", "cafile", "certfile", "keyfile", "allow_anonymous", "password_file",
             "acl_file", "persistence", "persistence_location", "bridge_cafile",
             "remote_username", "remote_password"}


def render(name: str, federation_port: int | None = None,
           drop: frozenset[str] = frozenset()) -> str:
    lines = []
    for line in (SHIPPED / name).read_text().splitlines():
        key = line.split()[0] if line.strip() and not line.lstrip().startswith("#") else ""
        if key in HOST_ONLY or key in drop:
            continue
        if key == "address":
            line = f"address 127.0.0.1:{federation_port}"
        elif key == "restart_timeout":
            line = "restart_timeout 1"  # only to keep the test short
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_shipped_configs_have_the_knobs_that_matter():
    community = (SHIPPED / "community-broker.conf.example").read_text()
    for line in ("max_queued_messages 1000000", "cleansession false",
                 "local_cleansession false", "autosave_interval 30"):
        assert f"\n{line}\n" in community
    bridged = [ln.split()[1] for ln in community.splitlines() if ln.startswith("topic ")]
    assert bridged and all(ln.endswith(" out 1") for ln in community.splitlines()
                           if ln.startswith("topic "))
    assert not any("notify" in t or t.endswith("community/#") for t in bridged)
    federation = (SHIPPED / "federation-broker.conf.example").read_text()
    assert "\nmax_queued_messages 1000000\n" in federation


class Federation:
    def __init__(self, tmp: Path, community_drop: frozenset[str] = frozenset()):
        self.fed = Mosquitto(tmp / "federation", conf=render("federation-broker.conf.example"),
                             default_limits=False)
        self.community = Mosquitto(tmp / "community", port=free_port(), default_limits=False,
                                   conf=render("community-broker.conf.example", self.fed.port,
                                               community_drop))
        self.fed.start()
        self.community.start()
        self.plan_store = PlanStore(tmp / "plan" / "plan.db")
        self.plan = PlanAggregator(self.plan_store, MqttConfig(host="127.0.0.1",
                                                               port=self.fed.port,
                                                               reconnect_max_s=1),
                                   interval_s=0.5, reconnect_min_s=0.1)
        self.plan.start()
        self.store = open_kiosk_store(tmp / "kiosk.db")
        self.outbox = Outbox(self.store)
        self.kiosk = Publisher(self.outbox, MqttConfig(host="127.0.0.1",
                                                       port=self.community.port), C, K,
                               reconnect_min_s=0.1, uplink_every_s=0.2)

    def stored(self, kiosk: str = K) -> list[int]:
        return [r["seq"] for r in self.plan_store.store.query(
            "SELECT seq FROM events WHERE community = ? AND kiosk = ? ORDER BY seq", (C, kiosk))]

    def wait_for_the_path(self) -> None:
        """Until the aggregator has subscribed on F and the bridge from A is up."""
        probe = Publisher(Outbox(open_kiosk_store(self.store.path + ".probe")),
                          MqttConfig(host="127.0.0.1", port=self.community.port), C, "probe",
                          reconnect_min_s=0.1)
        probe.start()
        n = 0
        try:
            def through() -> bool:
                nonlocal n
                n += 1
                with probe.outbox.store.step() as db:
                    probe.outbox.append(db, "probe", {"n": n})
                probe.kick()
                return bool(self.stored("probe"))
            assert wait_until(through, 30, step=0.3)
        finally:
            probe.stop()
            probe.outbox.store.close()

    def append(self, n: int) -> None:
        for start in range(0, n, 100):
            with self.store.step() as db:
                for i in range(start, min(n, start + 100)):
                    self.outbox.append(db, "parcel.deposited",
                                       {"parcel": f"p{i}", "size": "M", "household": "h-1"})
        self.kiosk.kick()

    def close(self) -> None:
        self.kiosk.stop()
        self.plan.stop()
        self.plan_store.close()
        self.store.close()
        self.community.stop()
        self.fed.stop()


@pytest.fixture
def federation(tmp_path) -> Iterator[Federation]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    f = Federation(tmp_path)
    yield f
    f.close()


def federation_outage(f: Federation) -> None:
    """F goes down; N events pass through A while it is away; F comes back; one more event."""
    f.wait_for_the_path()
    f.kiosk.start()
    f.fed.stop()
    f.append(N)
    # A acknowledged every event: from here on only the brokers can lose them.
    assert wait_until(lambda: f.outbox.pending_count() == 0, 60)
    f.fed.start()
    # The bridge reconnects and drains what A kept for it (all of it, or mosquitto's 1,000).
    assert wait_until(lambda: len(f.stored()) > 500, 60)
    settled = [0, time.monotonic()]

    def settled_for_a_second() -> bool:
        n = len(f.stored())
        if n != settled[0]:
            settled[:] = [n, time.monotonic()]
        return time.monotonic() - settled[1] > 1.0

    assert wait_until(settled_for_a_second, 60, step=0.1)
    f.append(1)
    assert wait_until(lambda: N + 1 in f.stored(), 60)


def test_events_cross_the_bridge_while_the_federation_was_down_none_lost(federation):
    public = Collector(federation.community.port, ["#"])
    public.wait_subscribed()
    with federation.store.step() as db:
        federation.outbox.notify(db, "h-1", "pickup_code", {"code": "K7PX9M"})
    federation_outage(federation)
    assert wait_until(lambda: federation.stored() == list(range(1, N + 2)), 60)
    gaps = {g.kiosk: g for g in federation.plan_store.gaps(C)}
    assert gaps[K].missing == 0 and gaps[K].ranges == []
    # The private notification stayed on the community broker.
    assert any("/notify/" in m.topic for m in public.messages())
    on_federation = Collector(federation.fed.port, ["#"])
    on_federation.wait_subscribed()
    with federation.store.step() as db:
        federation.outbox.notify(db, "h-1", "pickup_code", {"code": "X2Y3Z4"})
    federation.append(1)
    assert wait_until(lambda: any(json.loads(m.payload).get("seq") == N + 2
                                  for m in on_federation.messages("/event/")), 30)
    assert not [m for m in on_federation.messages() if "/notify/" in m.topic]
    public.stop()
    on_federation.stop()


def test_mosquitto_default_queue_limit_loses_events_and_the_gap_report_shows_it(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    f = Federation(tmp_path, frozenset({"max_queued_messages", "max_queued_bytes"}))
    try:
        federation_outage(f)
        got = f.stored()
        gap = {g.kiosk: g for g in f.plan_store.gaps(C)}[K]
        assert gap.max_seq == N + 1 and gap.received == len(got)
        assert gap.missing == N + 1 - len(got) > N // 2
        first, last = gap.ranges[0]
        assert first > 900 and last == N
    finally:
        f.close()
