"""The outbox publisher against a real mosquitto: order, acks, outages, retained status."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from mqtt import topics
from mqtt.publisher import Publisher, reconnect_delays
from tests.mqtt_broker import Collector, first_occurrences, wait_until

ROOT = Path(__file__).resolve().parent.parent
C, K = "c1", "k1"


@pytest.fixture
def outbox(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    yield Outbox(store)
    store.close()


def append(outbox: Outbox, n: int, type_: str = "parcel.deposited") -> None:
    for i in range(n):
        with outbox.store.step() as db:
            outbox.append(db, type_, {"i": i, "household": f"h-{i % 7}"})


def acked(outbox: Outbox) -> int:
    return outbox.last_seq() - outbox.pending_count()


def publisher_for(outbox: Outbox, port: int, **kw) -> Publisher:
    config = MqttConfig(host="127.0.0.1", port=port, reconnect_max_s=1)
    kw.setdefault("reconnect_min_s", 0.1)
    kw.setdefault("poll_s", 0.05)
    return Publisher(outbox, config, C, K, **kw)


def test_events_reach_the_broker_in_seq_order_and_leave_the_outbox(broker, outbox):
    sub = Collector(broker.port, [topics.events_of(C)])
    sub.wait_subscribed()
    append(outbox, 250)
    pub = publisher_for(outbox, broker.port, window=16)
    pub.start()
    try:
        assert wait_until(lambda: outbox.pending_count() == 0, 20)
        assert wait_until(lambda: len(sub.event_seqs()) >= 250, 10)
    finally:
        pub.stop()
        sub.stop()
    assert sub.event_seqs() == list(range(1, 251))
    msgs = sub.messages("/event/")
    assert msgs[0].topic == f"community/{C}/kiosk/{K}/event/parcel.deposited"
    body = msgs[0].json()
    assert body["seq"] == 1 and body["kiosk"] == K and body["community"] == C
    assert body["type"] == "parcel.deposited" and body["data"]["i"] == 0


def test_nothing_leaves_the_outbox_while_the_broker_is_down(broker, outbox):
    # A persistent subscriber: the broker keeps its queue even before it is back.
    sub = Collector(broker.port, [topics.events_of(C)], client_id="late", clean_session=False)
    sub.wait_subscribed()
    broker.stop()
    append(outbox, 30)
    pub = publisher_for(outbox, broker.port)
    pub.start()
    try:
        # Several connection attempts fail; nothing may be marked, and the kiosk goes on.
        assert wait_until(lambda: pub.uplink().last_error != "", 5)
        with outbox.store.step() as db:
            outbox.append(db, "parcel.collected", {"waited_s": 60})
        assert outbox.pending_count() == 31
        up = pub.uplink()
        assert not up.connected and up.backlog == 31
        broker.start()
        assert wait_until(lambda: outbox.pending_count() == 0, 20)
        assert wait_until(lambda: set(sub.event_seqs()) >= set(range(1, 32)), 10)
        assert pub.uplink().connected
    finally:
        pub.stop()
        sub.stop()


def test_broker_restarted_again_and_again_while_publishing_loses_nothing(broker, outbox):
    # A persistent subscriber: the broker keeps its queue across restarts (SIGTERM saves it).
    sub = Collector(broker.port, [topics.events_of(C)], client_id="keeper", clean_session=False)
    sub.wait_subscribed()
    pub = publisher_for(outbox, broker.port, window=8)
    pub.start()
    stop = threading.Event()
    total = 0

    def produce() -> None:
        nonlocal total
        while not stop.is_set() and total < 3000:
            with outbox.store.step() as db:
                for _ in range(10):
                    outbox.append(db, "parcel.deposited", {"n": total})
                    total += 1
            pub.kick()
            stop.wait(0.005)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        acked_before = 0
        for _ in range(4):
            # Let the publisher reconnect and make progress, then pull the broker away again.
            floor = acked_before + 100
            assert wait_until(lambda f=floor: acked(outbox) > f, 20)
            acked_before = acked(outbox)
            broker.restart()
        assert not stop.is_set() and total < 3000, "restarts must happen while producing"
        stop.set()
        producer.join()
        assert wait_until(lambda: outbox.pending_count() == 0, 30)
        n = outbox.last_seq()
        assert wait_until(lambda: set(sub.event_seqs()) >= set(range(1, n + 1)), 30)
    finally:
        stop.set()
        producer.join()
        pub.stop()
        sub.stop()
    assert broker.starts == 5
    print(f"{n} events, {len(sub.event_seqs()) - n} duplicates")
    # Duplicates are allowed (at-least-once); first arrivals are in seq order, none missing.
    assert first_occurrences(sub.event_seqs()) == list(range(1, n + 1))


def test_reconnect_back_off_is_short_for_the_kiosks_own_broker_and_bounded_elsewhere(outbox):
    # The kiosk's own broker on its Pi: a short back-off with a low cap, however long the
    # outage; a remote one: quick at first, then up to [mqtt] reconnect_max_s.
    local = Publisher(outbox, MqttConfig(host="127.0.0.1", port=1), C, K)
    assert local.reconnect_delay == (0.1, 0.5)
    assert reconnect_delays(MqttConfig(host="localhost", reconnect_max_s=30)) == (0.1, 0.5)
    assert reconnect_delays(MqttConfig(host="::1")) == (0.1, 0.5)
    assert reconnect_delays(MqttConfig(host="broker.example", reconnect_max_s=30)) == (0.25, 30)
    assert reconnect_delays(MqttConfig(host="10.0.0.7", reconnect_max_s=5)) == (0.25, 5)
    # Given explicitly (the old setting), the cap never drops below the first delay.
    old = Publisher(outbox, MqttConfig(host="127.0.0.1", port=1), C, K,
                    reconnect_min_s=1.0)
    assert old.reconnect_delay == (1.0, 1.0)


def test_events_flow_again_soon_after_the_broker_comes_back(broker, outbox, tmp_path):
    # The publisher as the kiosk builds it (no test overrides), beside one with paho's
    # back-off from 1 s (the old setting), both facing the same broker outage.
    sub = Collector(broker.port, [topics.events_of(C)], client_id="back", clean_session=False)
    sub.wait_subscribed()
    config = MqttConfig(host="127.0.0.1", port=broker.port)
    pub = Publisher(outbox, config, C, K)
    old_store = open_kiosk_store(tmp_path / "old.db")
    old = Publisher(Outbox(old_store), config, C, "old", reconnect_min_s=1.0)
    pub.start()
    old.start()
    try:
        assert wait_until(lambda: pub.uplink().connected and old.uplink().connected)
        broker.stop()
        append(outbox, 1)
        pub.kick()
        # Counting attempts, not seconds: by the time ours has tried eight times (its waits
        # stay at half a second at most), a 1 s back-off doubling has tried at most four
        # times (1 + 2 + 4 s), so the control shows the count can tell them apart.
        assert wait_until(lambda: pub.failed_connects >= 8, 20)
        assert old.failed_connects <= 4, old.failed_connects
        assert outbox.pending_count() == 1  # nothing leaves while the broker is down
        broker.start()
        assert wait_until(lambda: outbox.pending_count() == 0, 10)
        assert wait_until(lambda: 1 in sub.event_seqs(), 10)
    finally:
        pub.stop()
        old.stop(drain_s=0)
        old_store.close()
        sub.stop()


KIOSK_PROCESS = """
import sys, time
from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from mqtt.publisher import Publisher, reconnect_delays
pub = Publisher(Outbox(open_kiosk_store(sys.argv[2])),
                MqttConfig(host="127.0.0.1", port=int(sys.argv[1])), "c1", "k1")
pub.start()
while not pub.uplink().connected:
    time.sleep(0.02)
print("connected", flush=True)
time.sleep(60)
"""


def test_status_is_retained_online_and_the_last_will_says_offline(broker, tmp_path):
    status = topics.status_topic(C, K)
    kiosk = subprocess.Popen([sys.executable, "-c", KIOSK_PROCESS, str(broker.port),
                              str(tmp_path / "k.db")], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert kiosk.stdout.readline().strip() == "connected"
        late = Collector(broker.port, [status])
        assert wait_until(lambda: [m.payload for m in late.messages()] == [b"online"], 10)
        assert late.messages()[0].retain
        # A power cut: no DISCONNECT is sent, so the broker publishes the will.
        kiosk.kill()
        kiosk.wait()
        assert wait_until(lambda: [m.payload for m in late.messages()][-1:] == [b"offline"],
                          10)
        late.stop()
    finally:
        kiosk.kill()
        kiosk.wait()
        kiosk.stdout.close()
    after = Collector(broker.port, [status])
    assert wait_until(lambda: [m.payload for m in after.messages()] == [b"offline"], 10)
    assert after.messages()[0].retain
    after.stop()


def test_clean_stop_says_offline_too(broker, outbox):
    pub = publisher_for(outbox, broker.port)
    pub.start()
    assert wait_until(lambda: pub.uplink().connected, 10)
    pub.stop()
    after = Collector(broker.port, [topics.status_topic(C, K)])
    assert wait_until(lambda: [m.payload for m in after.messages()] == [b"offline"], 10)
    after.stop()


def test_retained_state_and_private_notifications(broker, outbox):
    sub = Collector(broker.port, [f"community/{C}/#"])
    sub.wait_subscribed()
    with outbox.store.step() as db:
        outbox.notify(db, "h-42", "pickup_code", {"code": "K7PX9M", "parcels": 2})
    pub = publisher_for(outbox, broker.port)
    pub.publish_state("lockers", {"free": {"S": 3, "M": 1, "L": 0}})
    pub.start()
    try:
        assert wait_until(lambda: sub.messages("/notify/"), 10)
        # The broker's ack is not delivery: the code stays until the notifier's receipt
        # (tests/test_notify.py).
        assert len(outbox.pending_notifications()) == 1
        pub.publish_state("lockers", {"free": {"S": 2, "M": 1, "L": 0}})
        assert wait_until(lambda: len(sub.messages("/state/lockers")) == 2, 10)
    finally:
        pub.stop()
        sub.stop()
    note = sub.messages("/notify/")[0]
    assert note.topic == topics.notify_topic(C, K, "h-42")
    assert note.json()["data"]["code"] == "K7PX9M" and not note.retain
    later = Collector(broker.port, [topics.state_topic(C, K, "lockers")])
    assert wait_until(lambda: later.messages(), 10)
    assert later.messages()[-1].retain and later.messages()[-1].json()["free"]["S"] == 2
    later.stop()


def test_odd_event_type_does_not_block_the_outbox(broker, outbox):
    with outbox.store.step() as db:
        outbox.append(db, "weird/type+#", {})
    append(outbox, 2)
    pub = publisher_for(outbox, broker.port)
    pub.start()
    try:
        assert wait_until(lambda: outbox.pending_count() == 0, 10)
    finally:
        pub.stop()


def test_fast_payloads_say_exactly_what_the_events_say(outbox):
    with outbox.store.step() as db:
        outbox.append(db, "parcel.deposited", {"note": 'quote " back\\slash \n 包裹 ✓',
                                               "nested": {"b": [1, 2.5, None, True]}})
        outbox.append(db, 'odd "type"\t', {})
        outbox.append(db, "x", {})
    outbox.mark_published([3])
    fast = outbox.pending_payloads(C, K, limit=10)
    assert [(seq, type_) for seq, type_, _ in fast] == [(1, "parcel.deposited"),
                                                         (2, 'odd "type"\t')]
    for (_seq, _type, payload), event in zip(fast, outbox.pending(), strict=True):
        assert json.loads(payload) == event.payload(C, K)
    assert outbox.pending_payloads(C, K, after_seq=1) == fast[1:]


def test_any_unit_name_gets_its_own_notify_topic():
    assert topics.notify_topic(C, K, "A-101") == f"community/{C}/kiosk/{K}/notify/A-101"
    assert topics.household_segment("3/12 #2+") == "3%2F12 %232%2B"
    assert topics.household_segment("50%") == "50%25"
    with pytest.raises(ValueError):
        topics.household_segment("")
