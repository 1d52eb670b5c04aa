"""The appliance's broker config, run in a real mosquitto: who reads what, and a bridge
that loses nothing while the community's broker is away.

The shipped files are used as they are; only the port and file paths are rewritten.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "systemd" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PASSWD = shutil.which("mosquitto_passwd")
pytestmark = pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or PASSWD is None,
    reason="mosquitto and mosquitto_passwd are needed (apt-get install mosquitto)")

PREFIX = "community/maple-court/kiosk/gate-east"
ACCOUNTS = {"kiosk-gate-east": "k-secret", "notifier": "n-secret", "plan": "p-secret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder: Path, main_conf: str, port: int) -> None:
        self.folder, self.port = folder, port
        if os.geteuid() == 0:
            # Run as root, mosquitto would switch to its own user, who cannot read tmp_path.
            main_conf = "user root\n" + main_conf
        (folder / "mosquitto.conf").write_text(main_conf, encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")],
                                     stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while True:
            assert self.proc.poll() is None, self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, self.log()
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # mosquitto saves its persistence file on SIGTERM
            self.proc.wait(timeout=10)

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def appliance_broker(folder: Path, bridge_to: int | None = None) -> Broker:
    """The Pi's broker: Debian's main config + our conf.d files, paths rewritten."""
    port = free_port()
    conf_d = folder / "conf.d"
    conf_d.mkdir(parents=True)
    passwd = folder / "kiosk.passwd"
    for i, (user, password) in enumerate(ACCOUNTS.items()):
        assert PASSWD
        subprocess.run([PASSWD, *(["-c"] if i == 0 else []), "-b", str(passwd), user, password],
                       check=True, capture_output=True)
    shutil.copy(CONF / "acl.example", folder / "kiosk.acl")
    kiosk_conf = (CONF / "kiosk.conf").read_text(encoding="utf-8")
    for old, new in (("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1"),
                     ("/etc/mosquitto/", f"{folder}/")):
        assert old in kiosk_conf
        kiosk_conf = kiosk_conf.replace(old, new)
    (conf_d / "kiosk.conf").write_text(kiosk_conf, encoding="utf-8")
    if bridge_to is not None:
        bridge = []
        for line in (CONF / "bridge.conf.example").read_text(encoding="utf-8").splitlines():
            key = line.split(" ", 1)[0]
            if key in ("bridge_cafile", "bridge_insecure", "remote_username", "remote_password"):
                continue  # the test's community broker speaks plain MQTT, anonymously
            if key == "address":
                line = f"address 127.0.0.1:{bridge_to}"
            if key == "restart_timeout":
                line = "restart_timeout 1"
            bridge.append(line)
        (conf_d / "bridge.conf").write_text("\n".join(bridge) + "\n", encoding="utf-8")
    # As in Debian's /etc/mosquitto/mosquitto.conf.
    main = (f"persistence true\npersistence_location {folder}/\n"
            f"log_dest stderr\ninclude_dir {conf_d}\n")
    return Broker(folder, main, port)


class Client:
    """A paho client that collects what it receives, for reading in the test thread."""

    def __init__(self, port: int, user: str | None = None, client_id: str = "",
                 clean: bool = True) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  clean_session=clean)
        if user:
            self.client.username_pw_set(user, ACCOUNTS[user])
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.gone = threading.Event()
        self.client.on_disconnect = lambda c, u, f, rc, p: self.gone.set()
        connected: queue.Queue[object] = queue.Queue()
        self.client.on_connect = lambda c, u, f, rc, p: connected.put(rc)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        rc = connected.get(timeout=10)
        assert not getattr(rc, "is_failure", False), f"{user} refused: {rc}"

    def subscribe(self, topic: str) -> None:
        done: queue.Queue[object] = queue.Queue()
        self.client.on_subscribe = lambda c, u, mid, codes, p: done.put(codes)
        self.client.subscribe(topic, qos=1)
        done.get(timeout=10)

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)

    def attempt(self, topic: str, payload: str) -> None:
        """Publish where we may not: mosquitto 2 drops it and disconnects us."""
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 10
        while not (info.is_published() or self.gone.is_set()):
            assert time.monotonic() < deadline
            time.sleep(0.01)

    def until(self, topic: str, timeout: float = 10) -> list[tuple[str, bytes]]:
        """Everything received up to and including a message on ``topic``."""
        got = []
        while True:
            item = self.messages.get(timeout=timeout)
            got.append(item)
            if item[0] == topic:
                return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    b = appliance_broker(tmp_path / "pi")
    b.start()
    yield b
    b.stop()


def test_the_public_reads_events_only_the_notifier_reads_notify(broker):
    public = Client(broker.port)
    notifier = Client(broker.port, "notifier")
    kiosk = Client(broker.port, "kiosk-gate-east")
    plan = Client(broker.port, "plan")
    everyone = (public, notifier, kiosk, plan)
    try:
        for c in everyone:
            c.subscribe("#")
        kiosk.publish(f"{PREFIX}/event/parcel.deposited", '{"seq": 1}')
        kiosk.publish(f"{PREFIX}/notify/h-7f3a", '{"code": "K7QM2P"}')
        # Forgeries: the public posing as a kiosk, a kiosk posing as another, and
        # anyone but `kiosk plan` writing the plan.
        for user, topic in ((None, f"{PREFIX}/event/parcel.collected"),
                            ("kiosk-gate-east", "community/maple-court/kiosk/gate-west/event/x"),
                            ("kiosk-gate-east", "community/maple-court/plan/lockers_full"),
                            ("notifier", f"{PREFIX}/notify/h-7f3a/forged")):
            forger = Client(broker.port, user)
            forger.attempt(topic, "forged")
            forger.close()
        plan.publish("community/maple-court/plan/parking_refused", '{"count": 3}')
        # Messages from one publisher arrive in order: once this is seen, anything
        # published before it that a client may read has arrived too.
        kiosk.publish(f"{PREFIX}/status", "online")
        seen = {name: {t for t, _ in c.until(f"{PREFIX}/status")}
                for name, c in zip(("public", "notifier", "kiosk", "plan"), everyone,
                                   strict=True)}
    finally:
        for c in everyone:
            c.close()
    event, notify = f"{PREFIX}/event/parcel.deposited", f"{PREFIX}/notify/h-7f3a"
    assert seen["public"] >= {event, f"{PREFIX}/status"}
    assert notify not in seen["public"]
    assert notify not in seen["kiosk"]
    assert notify not in seen["plan"]
    assert seen["notifier"] == {notify, f"{PREFIX}/status"}
    assert seen["plan"] >= {event}
    assert seen["public"] >= {"community/maple-court/plan/parking_refused"}
    everything = set().union(*seen.values())
    assert f"{PREFIX}/event/parcel.collected" not in everything
    assert "community/maple-court/kiosk/gate-west/event/x" not in everything
    assert "community/maple-court/plan/lockers_full" not in everything
    assert f"{PREFIX}/notify/h-7f3a/forged" not in everything


def test_a_wrong_password_is_refused(broker):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.username_pw_set("notifier", "guess")
    results: queue.Queue[object] = queue.Queue()
    client.on_connect = lambda c, u, f, rc, p: results.put(rc)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert getattr(results.get(timeout=10), "is_failure", False)
    finally:
        client.loop_stop()


def test_bridge_queues_past_mosquittos_default_limit_while_the_uplink_is_down(tmp_path):
    """1,500 events (the default queue holds 1,000) published while the community's
    broker is down all arrive once it is back, notify included, in order."""
    count = 1500
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    central_port = free_port()
    central = Broker(central_dir, f"listener {central_port} 127.0.0.1\nallow_anonymous true\n"
                                  f"persistence true\npersistence_location {central_dir}/\n"
                                  "max_queued_messages 0\nlog_dest stderr\n", central_port)
    pi = appliance_broker(tmp_path / "pi", bridge_to=central_port)
    central.start()
    pi.start()
    try:
        # The community's archive keeps a session there, like any durable consumer.
        archive = Client(central_port, client_id="archive", clean=False)
        archive.subscribe(f"{PREFIX}/#")
        kiosk = Client(pi.port, "kiosk-gate-east")
        kiosk.publish(f"{PREFIX}/status", "online")
        archive.until(f"{PREFIX}/status", timeout=30)  # the bridge is up
        archive.close()
        central.stop()

        for seq in range(1, count + 1):
            kiosk.publish(f"{PREFIX}/event/parcel.deposited", str(seq))
        kiosk.publish(f"{PREFIX}/notify/h-7f3a", "K7QM2P")
        kiosk.close()

        central.start()
        archive = Client(central_port, client_id="archive", clean=False)
        got = archive.until(f"{PREFIX}/notify/h-7f3a", timeout=60)
        archive.close()
    finally:
        pi.stop()
        central.stop()
    seqs = [int(p) for t, p in got if t.endswith("/event/parcel.deposited")]
    assert seqs == list(range(1, count + 1)), pi.log()[-2000:]


def test_discovery_reaches_the_community_broker_and_a_forged_node_does_not(tmp_path):
    """The kiosk's own discovery node crosses the bridge, retained; the kiosk's account
    cannot write another node's config (mosquitto refuses it and disconnects)."""
    from kiosk.config import MqttConfig, config_from_dict
    from kiosk.events import Outbox
    from kiosk.schema import open_kiosk_store
    from mqtt import discovery, topics
    from mqtt.publisher import Publisher

    central_dir = tmp_path / "central"
    central_dir.mkdir()
    central_port = free_port()
    central = Broker(central_dir, f"listener {central_port} 127.0.0.1\nallow_anonymous true\n"
                                  "log_dest stderr\n", central_port)
    pi = appliance_broker(tmp_path / "pi", bridge_to=central_port)
    central.start()
    pi.start()
    config = config_from_dict({"community_id": "maple-court", "kiosk_id": "gate-east",
                               "compartments": [{"board": 0, "locks": "1-4", "size": "S"}]})
    want = dict(discovery.discovery_messages(config))
    store = open_kiosk_store(tmp_path / "kiosk.db")
    kiosk = Publisher(Outbox(store), MqttConfig(host="127.0.0.1", port=pi.port,
                                                username="kiosk-gate-east", password="k-secret"),
                      "maple-court", "gate-east", reconnect_min_s=0.1)
    community = Client(central_port)
    try:
        community.subscribe("homeassistant/#")
        community.subscribe(topics.bridge_topic("maple-court", "gate-east"))
        # The bridge says it is up, on the topic Home Assistant's uplink entity reads.
        assert community.until(topics.bridge_topic("maple-court", "gate-east"), 30)
        for topic, payload in want.items():
            kiosk.set_retained(topic, payload)
        # A part removed since the last start: its config cleared, in the kiosk's own node.
        node = discovery.kiosk_node("maple-court", "gate-east")
        gone = f"homeassistant/binary_sensor/{node}/door_a09/config"
        kiosk.set_retained(gone, "")
        kiosk.start()
        got: dict[str, bytes] = {}
        while not set(got) >= set(want):
            topic, payload = community.messages.get(timeout=30)
            got[topic] = payload
        assert {t: p.decode() for t, p in got.items() if t in want} == want

        forger = Client(pi.port, "kiosk-gate-east")
        forger.attempt("homeassistant/switch/someone_else/unlock/config", '{"forged": 1}')
        forger.close()
        forger = Client(pi.port, "kiosk-gate-east")
        other = f"homeassistant/sensor/{discovery.kiosk_node('maple-court', 'gate-west')}/x/config"
        forger.attempt(other, '{"forged": 2}')
        assert forger.gone.is_set()  # refused: mosquitto 2 disconnects the forger
        forger.close()
        # Control: the same account's own node goes through, after the forgeries.
        marker = f"homeassistant/sensor/{discovery.kiosk_node('maple-court', 'gate-east')}/m/config"
        legit = Client(pi.port, "kiosk-gate-east")
        legit.publish(marker, "{}")
        assert not legit.gone.is_set()
        legit.close()
        seen = {t for t, _ in community.until(marker, 30)}
        assert "homeassistant/switch/someone_else/unlock/config" not in seen
        assert other not in seen

        # A Home Assistant that connects later gets every config from the community's
        # broker, retained.
        late = Client(central_port)
        late.subscribe("homeassistant/#")
        retained = {}
        while set(retained) < set(want):
            topic, payload = late.messages.get(timeout=30)
            retained[topic] = payload
        late.close()
        # The kiosk's own connection was never refused: it has sent its status once.
        assert kiosk.uplink().connected and kiosk.failed_connects == 0
        assert gone not in retained
    finally:
        kiosk.stop()
        community.close()
        store.close()
        pi.stop()
        central.stop()
