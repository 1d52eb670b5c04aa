"""Data is public, people are not: names, phones and codes never reach a public topic; the
notify topic is closed by the broker's ACL; credentials and TLS come from the config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from mqtt import snapshots, topics
from mqtt.publisher import Publisher
from tests.mqtt_broker import Collector, Mosquitto, free_port, mosquitto_binary, wait_until

ROOT = Path(__file__).resolve().parent.parent
C, K = "demo-community", "kiosk-1"  # the ids used in deploy/mosquitto/acl.example

# Who the households are is known to the community's register, never to the events.
RESIDENTS = {
    "h-3f9a": ("Wang Fang", "+86 138 0013 8000", "K7PX9M"),
    "h-81c2": ("Li Wei", "+86 139 1234 5678", "R4TW2H"),
    "h-c05e": ("Maria Rossi", "+39 347 555 0199", "N8QJ3D"),
}


@pytest.fixture
def outbox(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    yield Outbox(store)
    store.close()


def fill_a_day(outbox: Outbox) -> None:
    """A day's worth of what the locker core writes: public events with pseudonyms, and
    the private pickup codes as notifications."""
    for n, (household, (_name, _phone, code)) in enumerate(RESIDENTS.items(), start=1):
        with outbox.store.step() as db:
            outbox.append(db, "parcel.deposited", {"parcel": f"p-{n}", "compartment": n,
                                                   "size": "M", "household": household,
                                                   "courier": "c-77"})
            outbox.notify(db, household, "pickup_code", {"code": code, "parcels": 1})
        with outbox.store.step() as db:
            outbox.append(db, "security.wrong_code", {"compartment": None, "attempt": 1})
        with outbox.store.step() as db:
            outbox.append(db, "parcel.collected", {"parcel": f"p-{n}", "household": household,
                                                   "waited_s": 3600 * n})
            outbox.notify(db, household, "reminder", {"parcels": 0, "code": code})


def test_public_topics_carry_no_names_phones_or_codes(broker, outbox):
    everything = Collector(broker.port, ["#"])
    everything.wait_subscribed()
    fill_a_day(outbox)
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), C, K,
                    reconnect_min_s=0.1, uplink_every_s=0.01)
    pub.publish_state("lockers", snapshots.lockers_snapshot({"M": 4}, {"M": 1}))
    pub.start()
    try:
        assert wait_until(lambda: outbox.pending_count() == 0
                          and not outbox.pending_notifications(), 10)
        assert wait_until(lambda: len(everything.messages("/notify/")) == 6, 10)
        assert wait_until(lambda: everything.messages("/state/uplink"), 10)
    finally:
        pub.stop()
        everything.stop()
    private = [m for m in everything.messages() if "/notify/" in m.topic]
    public = [m for m in everything.messages() if "/notify/" not in m.topic]
    assert len(public) >= 9 + 3  # events, status, state
    for m in public:
        text = m.topic + m.payload.decode()
        for name, phone, code in RESIDENTS.values():
            assert name not in text and code not in text
            assert phone not in text and phone.replace(" ", "") not in text
    # The codes do travel, each only to its own household's topic.
    for household, (_name, _phone, code) in RESIDENTS.items():
        mine = [m for m in private if m.topic == topics.notify_topic(C, K, household)]
        assert len(mine) == 2 and all(m.json()["data"]["code"] == code for m in mine)


def make_tls_files(where: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1."""
    where.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=kiosk test CA")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    return {n: where / f"{n}" for n in ("ca.crt", "server.crt", "server.key")}


@pytest.fixture
def secured_broker(tmp_path):
    """TLS, passwords and the shipped example ACL, as on a community broker."""
    if mosquitto_binary() is None or shutil.which("openssl") is None:
        pytest.skip("needs mosquitto and openssl")
    files = make_tls_files(tmp_path / "tls")
    passwd = tmp_path / "passwd"
    for i, (user, password) in enumerate([(f"kiosk-{C}-{K}", "kiosk-secret"),
                                          ("notifier", "notifier-secret")]):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(passwd),
                        user, password], check=True, capture_output=True)
    port = free_port()
    listener = (f"listener {port} 127.0.0.1\n"
                f"cafile {files['ca.crt']}\ncertfile {files['server.crt']}\n"
                f"keyfile {files['server.key']}\n"
                f"allow_anonymous true\npassword_file {passwd}\n"
                f"acl_file {ROOT / 'deploy/mosquitto/acl.example'}\n")
    b = Mosquitto(tmp_path / "secured", port=port, listener=listener).start()
    b.ca_file = str(files["ca.crt"])  # type: ignore[attr-defined]
    yield b
    b.stop()


def tls_collector(broker: Mosquitto, subscriptions: list[str], **kw) -> Collector:
    sub = Collector(broker.port, subscriptions, connect=False, **kw)
    sub.client.tls_set(ca_certs=broker.ca_file)  # type: ignore[attr-defined]
    sub.connect()
    return sub


def test_credentials_tls_and_acl_keep_codes_to_the_notifier(secured_broker, outbox):
    public = tls_collector(secured_broker, ["#"])
    notifier = tls_collector(secured_broker, [f"{topics.kiosk_prefix(C, K)}/notify/+"],
                             username="notifier", password="notifier-secret")
    public.wait_subscribed()
    notifier.wait_subscribed()
    fill_a_day(outbox)
    config = MqttConfig(host="127.0.0.1", port=secured_broker.port, username=f"kiosk-{C}-{K}",
                        password="kiosk-secret", tls=True, ca_file=secured_broker.ca_file)
    pub = Publisher(outbox, config, C, K, reconnect_min_s=0.1)
    pub.start()
    try:
        assert wait_until(lambda: outbox.pending_count() == 0
                          and not outbox.pending_notifications(), 15)
        assert wait_until(lambda: len(notifier.messages()) == 6, 10)
        assert wait_until(lambda: len(public.messages("/event/")) == 9, 10)
    finally:
        pub.stop()
    assert public.messages("/notify/") == []
    public.stop()
    notifier.stop()


def test_wrong_password_is_reported_and_nothing_leaves_the_outbox(secured_broker, outbox):
    fill_a_day(outbox)
    config = MqttConfig(host="127.0.0.1", port=secured_broker.port, username=f"kiosk-{C}-{K}",
                        password="wrong", tls=True, ca_file=secured_broker.ca_file)
    pub = Publisher(outbox, config, C, K, reconnect_min_s=0.1)
    pub.start()
    try:
        assert wait_until(lambda: "refused" in pub.uplink().last_error, 10)
        assert not pub.uplink().connected
        assert outbox.pending_count() == 9 and len(outbox.pending_notifications()) == 6
    finally:
        pub.stop()
