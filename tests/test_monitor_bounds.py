"""``kiosk monitor`` against a hostile flood, through a real Mosquitto: made-up kiosk ids
are counted, never tracked; snapshots are bounded and a refused one never replaces a good
one; the number of kiosks is bounded."""

from __future__ import annotations

import json

import pytest

from monitor.feed import FeedOptions, MonitorFeed
from monitor.fleet import Fleet, LockerState, UpdateBuffer
from mqtt.connection import BrokerAddress
from tests.mqtt_broker import Mosquitto, close, publish, publisher, wait_until

GOOD_LOCKERS = {"free": {"S": 3}, "capacity": {"S": 8}, "doors_open": [],
                "out_of_service": [], "faults": []}


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path) as b:
        yield b


def watch(broker: Mosquitto, fleet: Fleet) -> tuple[MonitorFeed, UpdateBuffer]:
    buffer = UpdateBuffer()
    feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), "+",
                                   reconnect_min_s=0.2, reconnect_max_s=1.0), buffer.put)
    feed.start(timeout_s=5)
    return feed, buffer


def pump(fleet: Fleet, buffer: UpdateBuffer) -> bool:
    fleet.apply_all(buffer.drain())
    return True


def test_a_flood_under_made_up_ids_is_counted_not_tracked(broker):
    fleet = Fleet()
    feed, buffer = watch(broker, fleet)
    pub = publisher(broker)
    try:
        publish(pub, "community/c1/kiosk/k1/state/lockers", json.dumps(GOOD_LOCKERS))
        assert wait_until(lambda: pump(fleet, buffer) and ("c1", "k1") in fleet.kiosks)
        flood = 3000
        for i in range(flood):
            kiosk = (f"Fake-{i}", f"x{i}\u202e", f"k{i}")[i % 3]
            # The last third have valid ids but break the contract: still not tracked.
            pub.publish(f"community/c1/kiosk/{kiosk}/state/lockers", b'{"free": "lots"}',
                        qos=1)
        # A 4 MB snapshot for the real kiosk: refused, the good one stays.
        publish(pub, "community/c1/kiosk/k1/state/lockers",
                json.dumps({**GOOD_LOCKERS, "doors_open": ["A1"] * 700_000}))
        publish(pub, "community/c1/kiosk/k1/status", "online")
        assert wait_until(lambda: pump(fleet, buffer) and feed.received == flood + 3, 30)
        pump(fleet, buffer)
        assert sorted(fleet.kiosks) == [("c1", "k1")]
        assert fleet.malformed == flood + 1
        view = fleet.kiosks[("c1", "k1")]
        assert view.lockers == LockerState({"S": 3}, {"S": 8}, (), (), ())
        assert view.malformed == 1  # the oversized snapshot, against the kiosk it named
        assert "too_large" in (fleet.last_malformed.reason if fleet.last_malformed else "")
        # Control: the same made-up id with a message on the contract is tracked.
        publish(pub, "community/c1/kiosk/k2/status", "online")
        assert wait_until(lambda: pump(fleet, buffer) and ("c1", "k2") in fleet.kiosks)
    finally:
        feed.stop()
        close(pub)


def test_kiosks_beyond_the_bound_are_counted(broker):
    fleet = Fleet(max_kiosks=5)
    feed, buffer = watch(broker, fleet)
    pub = publisher(broker)
    try:
        for i in range(12):
            publish(pub, f"community/c1/kiosk/k{i}/status", "online")
        assert wait_until(lambda: pump(fleet, buffer) and len(fleet.kiosks) + fleet.untracked
                          == 12)
        assert len(fleet.kiosks) == 5 and fleet.untracked == 7
    finally:
        feed.stop()
        close(pub)


def test_control_and_bidi_characters_never_reach_the_monitor(broker):
    fleet = Fleet()
    feed, buffer = watch(broker, fleet)
    pub = publisher(broker)
    try:
        body = {"seq": 1, "id": "e1", "ts": "2026-11-29T21:00:00Z", "type": "door.jammed",
                "community": "c1", "kiosk": "k1",
                "data": {"compartment": "A\u202e3\x00", "note\x1b[2J": "x"}}
        publish(pub, "community/c1/kiosk/k1/event/door.jammed", json.dumps(body))
        assert wait_until(lambda: pump(fleet, buffer) and fleet.events_applied == 1)
        [event] = fleet.kiosks[("c1", "k1")].events
        text = json.dumps(event.data, ensure_ascii=False)
        assert "\u202e" not in text and "\x00" not in text and "\x1b" not in text
        assert event.data["compartment"] == "A\ufffd3\ufffd"
    finally:
        feed.stop()
        close(pub)
