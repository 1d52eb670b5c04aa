"""The monitor's MQTT feed: payload checks, and a real paho client against real Mosquitto."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from monitor.feed import FeedError, FeedOptions, MonitorFeed, parse_message
from monitor.fleet import (
    BoardState,
    ConnectionChange,
    EventUpdate,
    LockerState,
    Malformed,
    StateUpdate,
    StatusUpdate,
    Update,
    UplinkState,
)
from mqtt.connection import BrokerAddress, parse_broker
from mqtt.topics import public_of
from tests.mqtt_broker import Mosquitto, close, free_port, publish, publisher, wait_until

P = "community/c1/kiosk/k1"


def event_json(seq: int, type_: str = "parcel.deposited", kiosk: str = "k1",
               community: str = "c1", **data: object) -> str:
    return json.dumps({"seq": seq, "id": f"e{seq}", "ts": "2026-11-29T21:00:00Z",
                       "type": type_, "community": community, "kiosk": kiosk,
                       "data": data})


class TestParse:
    def test_status(self):
        assert parse_message(f"{P}/status", b"online", True) == StatusUpdate("c1", "k1", True,
                                                                              True)
        assert parse_message(f"{P}/status", b"offline") == StatusUpdate("c1", "k1", False)
        assert parse_message(f"{P}/status", b"") == StatusUpdate("c1", "k1", None)

    def test_states(self):
        board = parse_message(f"{P}/state/board-3",
                              b'{"online": false, "errors": 4, "last_error": "timeout"}')
        assert board == StateUpdate("c1", "k1", "board-3", BoardState(3, False, 4, "timeout"))
        lockers = parse_message(f"{P}/state/lockers", json.dumps({
            "free": {"S": 1, "M": 0, "L": 2}, "capacity": {"S": 4, "M": 2, "L": 2},
            "doors_open": ["A1"], "out_of_service": [], "faults": ["door.jammed"],
            "last_seq": 41}).encode())
        assert isinstance(lockers, StateUpdate)
        assert lockers.state == LockerState({"S": 1, "M": 0, "L": 2}, {"S": 4, "M": 2, "L": 2},
                                            ("A1",), (), ("door.jammed",), 41)
        uplink = parse_message(f"{P}/state/uplink", b'{"connected": true, "backlog": 12}')
        assert isinstance(uplink, StateUpdate)
        assert uplink.state == UplinkState(True, 12)
        other = parse_message(f"{P}/state/spots", b'{"free": 3}')
        assert isinstance(other, StateUpdate) and other.state == {"free": 3}

    def test_event(self):
        update = parse_message(f"{P}/event/door.jammed",
                               event_json(4, "door.jammed", compartment="A3").encode())
        assert update == EventUpdate("c1", "k1", 4, "e4", "2026-11-29T21:00:00.000000Z",
                                     "door.jammed", {"compartment": "A3"})

    @pytest.mark.parametrize(("topic", "payload"), [
        (f"{P}/status", b"ONLINE"),
        (f"{P}/status", b"\xff\xfe"),
        (f"{P}/state/board-1", b'{"online": "yes", "errors": 0}'),
        (f"{P}/state/board-1", b'{"online": true, "errors": -1}'),
        (f"{P}/state/board-1", b'{"online": true, "errors": true}'),
        (f"{P}/state/lockers", b'{"free": {"S": "many"}, "capacity": {}}'),
        (f"{P}/state/lockers", b'{"free": {}, "capacity": {}, "faults": "door.jammed"}'),
        (f"{P}/state/lockers", b'{"free": {}, "capacity": {}, "last_seq": -1}'),
        (f"{P}/state/uplink", b'[1, 2]'),
        (f"{P}/state/spots", b'not json'),
        (f"{P}/event/parcel.deposited", b'{"seq": 1}'),
        (f"{P}/event/parcel.deposited", event_json(0).encode()),
        (f"{P}/event/parcel.deposited", event_json(1, "door.jammed").encode()),
        (f"{P}/event/parcel.deposited", event_json(1, kiosk="k2").encode()),
        (f"{P}/event/parcel.deposited", event_json(1, community="c2").encode()),
        (f"{P}/event/parcel.deposited", event_json(1).replace("2026-11-29T21:00:00Z",
                                                                "yesterday").encode()),
        (f"{P}/event/parcel.deposited", b'{"seq": 1, "id": "x", "ts": "2026-11-29T21:00:00Z",'
                                        b' "type": "parcel.deposited", "community": "c1",'
                                        b' "kiosk": "k1", "data": [1]}'),
        (f"{P}/event/parcel.deposited", b"[" * 100_000),
        (f"{P}/state/a/b", b"{}"),
        (f"{P}/notify/h1", b'{"code": "X"}'),
        ("community/c1/plan/spots", b"{}"),
    ])
    def test_off_contract_is_malformed(self, topic, payload):
        update = parse_message(topic, payload)
        assert isinstance(update, Malformed), update
        assert update.reason

    @given(st.lists(st.sampled_from(["community", "c1", "kiosk", "k1", "status", "state",
                                     "event", "board-1", "lockers", "uplink", "", "+", "x"]),
                    max_size=7),
           st.one_of(st.binary(max_size=200),
                     st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                                  lambda inner: st.lists(inner, max_size=4)
                                  | st.dictionaries(st.sampled_from(
                                      ["seq", "id", "ts", "type", "community", "kiosk", "data",
                                       "online", "errors", "free", "capacity", "faults",
                                       "connected", "backlog"]), inner, max_size=8),
                                  max_leaves=20).map(lambda v: json.dumps(v).encode())))
    def test_never_raises(self, levels, payload):
        update = parse_message("/".join(levels), payload)
        assert isinstance(update, StatusUpdate | StateUpdate | EventUpdate | Malformed)

    def test_broker_addresses(self):
        assert parse_broker("127.0.0.1:1884") == BrokerAddress("127.0.0.1", 1884)
        assert parse_broker("broker.lan") == BrokerAddress("broker.lan", 1883)
        assert parse_broker("[::1]:8883") == BrokerAddress("::1", 8883)
        assert str(BrokerAddress("::1", 8883)) == "[::1]:8883"
        for bad in ("", ":1883", "host:", "host:0", "host:65536", "host:port", "::1:1883",
                    "[::1", "a b:1", "mqtt://host:1883"):
            with pytest.raises(ValueError, match="bad broker address"):
                parse_broker(bad)

    def test_subscriptions_never_cover_notify(self):
        for community in ("c1", "+"):
            topics = public_of(community)
            assert not any(topic_matches_sub(t, "community/c1/kiosk/k1/notify/h1")
                           for t in topics)
            assert all(any(topic_matches_sub(t, f"{P}/{rest}") for t in topics)
                       for rest in ("status", "state/lockers", "event/door.jammed"))
        with pytest.raises(ValueError):
            public_of("c/#")


class Collector:
    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.lock = threading.Lock()

    def __call__(self, update: Update) -> None:
        with self.lock:
            self.updates.append(update)

    def of(self, kind: type) -> list:
        with self.lock:
            return [u for u in self.updates if isinstance(u, kind)]


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path) as b:
        yield b


def start_feed(broker: Mosquitto, community: str = "c1", **options: object
               ) -> tuple[MonitorFeed, Collector]:
    got = Collector()
    feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), community,
                                   reconnect_min_s=0.2, reconnect_max_s=1.0,
                                   **options),  # type: ignore[arg-type]
                       got)
    feed.start(timeout_s=5)
    return feed, got


def test_feed_receives_retained_state_and_live_events(broker):
    pub = publisher(broker)
    publish(pub, f"{P}/status", "online", retain=True)
    publish(pub, f"{P}/state/uplink", '{"connected": true, "backlog": 3}', retain=True)
    feed, got = start_feed(broker)
    try:
        assert wait_until(lambda: len(got.of(StateUpdate)) == 1)
        assert got.of(StatusUpdate) == [StatusUpdate("c1", "k1", True, retained=True)]
        publish(pub, f"{P}/event/door.jammed", event_json(1, "door.jammed", compartment="A3"))
        publish(pub, "community/c2/kiosk/k9/status", "online")  # another community
        assert wait_until(lambda: got.of(EventUpdate))
        assert got.of(EventUpdate)[0].data == {"compartment": "A3"}
        assert not got.of(EventUpdate)[0].retained
        assert ConnectionChange(True, "") in got.of(ConnectionChange)
        assert all(u.community == "c1" for u in got.of(StatusUpdate))
    finally:
        feed.stop()
        close(pub)


def test_malformed_payloads_are_counted_and_the_feed_goes_on(broker):
    feed, got = start_feed(broker)
    pub = publisher(broker)
    try:
        publish(pub, f"{P}/status", b"\x00garbage")
        publish(pub, f"{P}/event/parcel.deposited", "{not json")
        publish(pub, f"{P}/state/lockers", '{"free": 3}')
        publish(pub, f"{P}/event/parcel.deposited", event_json(1))
        assert wait_until(lambda: got.of(EventUpdate))
        assert feed.malformed == 3 and len(got.of(Malformed)) == 3
        assert feed.received == 4
    finally:
        feed.stop()
        close(pub)


def test_notify_topics_are_never_subscribed_nor_received(broker):
    feed, got = start_feed(broker, community="+")
    pub = publisher(broker)
    try:
        assert feed.subscribed == public_of("+")
        assert not any(topic_matches_sub(t, f"{P}/notify/h1") for t in feed.subscribed)
        publish(pub, f"{P}/notify/h1", '{"kind": "pickup", "code": "K7M4Q2"}')
        publish(pub, f"{P}/event/parcel.deposited", event_json(1))
        assert wait_until(lambda: got.of(EventUpdate))
        assert feed.received == 1, "the notify message reached the monitor"
    finally:
        feed.stop()
        close(pub)


def test_feed_reconnects_and_resubscribes_after_the_broker_restarts(broker):
    feed, got = start_feed(broker)
    try:
        broker.restart()
        assert wait_until(lambda: feed.connects == 2, timeout=10)
        assert [c.connected for c in got.of(ConnectionChange)] == [True, False, True]
        pub = publisher(broker)
        publish(pub, f"{P}/event/parcel.deposited", event_json(1))
        assert wait_until(lambda: got.of(EventUpdate))
        close(pub)
    finally:
        feed.stop()


def test_unreachable_broker_is_a_one_line_error(tmp_path):
    feed = MonitorFeed(FeedOptions(BrokerAddress("127.0.0.1", free_port())), lambda u: None)
    with pytest.raises(FeedError, match=r"cannot connect to the broker 127\.0\.0\.1:"):
        feed.start(timeout_s=2)


def test_refused_credentials_are_a_one_line_error(tmp_path):
    (tmp_path / "passwd").write_text("")  # nobody may log in
    closed = f"allow_anonymous false\npassword_file {tmp_path / 'passwd'}"
    with Mosquitto(tmp_path, conf=closed) as broker:
        feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port),
                                       username="someone", password="wrong"), lambda u: None)
        with pytest.raises(FeedError, match="refused the connection"):
            feed.start(timeout_s=5)


def make_tls_files(directory) -> tuple[str, str, str]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with openssl."""
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")

    def run(*args: object) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", ca_key, "-out", ca_crt)
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key,
        "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-extfile", ext, "-out", crt)
    return str(ca_crt), str(crt), str(key)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_tls_with_a_ca_file(tmp_path):
    ca, crt, key = make_tls_files(tmp_path)
    with Mosquitto(tmp_path, conf=f"certfile {crt}\nkeyfile {key}") as broker:
        got = Collector()
        feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), tls=True,
                                       ca_file=ca), got)
        feed.start(timeout_s=5)
        try:
            assert feed.connected and feed.subscribed
        finally:
            feed.stop()
        # Without our CA the server's certificate is not trusted.
        untrusting = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port),
                                             tls=True), got)
        with pytest.raises(FeedError, match="cannot connect to the broker"):
            untrusting.start(timeout_s=5)
