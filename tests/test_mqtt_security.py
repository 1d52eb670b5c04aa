"""Data is public, people are not: names, phones and codes never reach a public topic; the
notify topic is closed by the broker's ACL; credentials and TLS come from the config."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.config import MqttConfig, config_from_dict
from kiosk.events import Outbox
from kiosk.lockers.model import WrongCode
from kiosk.lockers.service import LockerService
from kiosk.schema import open_kiosk_store
from mqtt import topics
from mqtt.publisher import Publisher
from tests.lockers_setup import COMPARTMENTS, Clock
from tests.mqtt_broker import Collector, Mosquitto, free_port, mosquitto_binary, wait_until

ROOT = Path(__file__).resolve().parent.parent
ACL = ROOT / "systemd" / "mosquitto" / "acl.example"
C, K = "maple-court", "gate-east"  # the ids used in the shipped ACL example
KIOSK_USER = "kiosk-gate-east"
# Two residents' witnesses, each with its own broker account (the shipped ACL).
WITNESSES = {"ana": "ana-secret", "bo": "bo-secret"}

# Who lives where is known to the community's own register; the kiosk knows units,
# pseudonyms and PINs, and the events only pseudonyms.
RESIDENTS = {
    "A101": ("Wang Fang", "+86 138 0013 8000"),
    "B202": ("Li Wei", "+86 139 1234 5678"),
    "C303": ("Maria Rossi", "+39 347 555 0199"),
}


@pytest.fixture
def day(tmp_path, sim, bus):
    """A day at the lockers on the real service, driver and board simulator: deposits,
    a wrong code, pickups. Its outbox holds the events and the private codes."""
    config = config_from_dict({
        "community_id": C, "kiosk_id": K,
        "board": {"port": sim.port, "timeout_s": 0.1, "confirm_s": 0.3},
        "compartments": COMPARTMENTS})
    clock = Clock()
    store = open_kiosk_store(tmp_path / "kiosk.db")
    outbox = Outbox(store, clock)
    service = LockerService(store, outbox, bus, config, clock=clock)
    courier = service.add_courier("courier-1", "12341234")
    for unit in RESIDENTS:
        service.add_household(unit)
    for unit in RESIDENTS:
        slot = service.deposit(courier, unit, "S")
        sim.put_item(slot.compartment.board, slot.compartment.lock)
        sim.shut(slot.compartment.board, slot.compartment.lock)
        service.finish(slot)
    codes = {n.household: n.data["code"] for n in outbox.pending_notifications()}
    with pytest.raises(WrongCode):
        service.pickup("XXXXXX", "A101")
    clock.advance(hours=3)
    for unit in ("A101", "B202"):
        result = service.pickup(codes[unit], unit)
        for c in result.opened:
            sim.take_item(c.board, c.lock)
            sim.shut(c.board, c.lock)
        service.settle_shut(result)
    yield outbox, codes
    store.close()


def test_public_topics_carry_no_names_phones_or_codes(broker, day):
    outbox, codes = day
    everything = Collector(broker.port, ["#"])
    everything.wait_subscribed()
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), C, K,
                    reconnect_min_s=0.1, uplink_every_s=0.01)
    pub.publish_state("lockers", {"free": {"S": 4}, "capacity": {"S": 6}, "doors_open": [],
                                  "out_of_service": [], "faults": []})
    pub.start()
    try:
        assert wait_until(lambda: outbox.pending_count() == 0, 10)
        assert wait_until(lambda: len(everything.messages("/notify/")) == 3, 10)
        assert wait_until(lambda: everything.messages("/state/uplink"), 10)
    finally:
        pub.stop()
        everything.stop()
    private = [m for m in everything.messages() if "/notify/" in m.topic]
    public = [m for m in everything.messages() if "/notify/" not in m.topic]
    types = {m.json()["type"] for m in public if "/event/" in m.topic}
    assert {"parcel.deposited", "parcel.collected", "security.wrong_code"} <= types
    for m in public:
        text = m.topic + m.payload.decode()
        for name, phone in RESIDENTS.values():
            assert name not in text
            assert phone not in text and phone.replace(" ", "") not in text
        for code in codes.values():
            assert code not in text
    # The codes do travel, each only to its own household's topic, and leave the kiosk.
    for unit, code in codes.items():
        [mine] = [m for m in private if m.topic == topics.notify_topic(C, K, unit)]
        assert mine.json()["data"]["code"] == code
    # They stay on the kiosk until the notifier's receipt (tests/test_notify.py).
    assert len(outbox.pending_notifications()) == 3


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
    for i, (user, password) in enumerate([(KIOSK_USER, "kiosk-secret"),
                                          ("notifier", "notifier-secret"),
                                          *WITNESSES.items()]):
        subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(passwd),
                        user, password], check=True, capture_output=True)
    port = free_port()
    listener = (f"listener {port} 127.0.0.1\n"
                f"cafile {files['ca.crt']}\ncertfile {files['server.crt']}\n"
                f"keyfile {files['server.key']}\n"
                f"allow_anonymous true\npassword_file {passwd}\n"
                f"acl_file {ACL}\n")
    b = Mosquitto(tmp_path / "secured", port=port, listener=listener).start()
    b.ca_file = str(files["ca.crt"])  # type: ignore[attr-defined]
    yield b
    b.stop()


def tls_collector(broker: Mosquitto, subscriptions: list[str], **kw) -> Collector:
    sub = Collector(broker.port, subscriptions, connect=False, **kw)
    sub.client.tls_set(ca_certs=broker.ca_file)  # type: ignore[attr-defined]
    sub.connect()
    return sub


def test_credentials_tls_and_acl_keep_codes_to_the_notifier(secured_broker, day):
    outbox, _codes = day
    public = tls_collector(secured_broker, ["#"])
    notifier = tls_collector(secured_broker, [f"{topics.kiosk_prefix(C, K)}/notify/+"],
                             username="notifier", password="notifier-secret")
    public.wait_subscribed()
    notifier.wait_subscribed()
    events = outbox.pending_count()
    config = MqttConfig(host="127.0.0.1", port=secured_broker.port, username=KIOSK_USER,
                        password="kiosk-secret", tls=True, ca_file=secured_broker.ca_file)
    pub = Publisher(outbox, config, C, K, reconnect_min_s=0.1)
    pub.start()
    try:
        assert wait_until(lambda: outbox.pending_count() == 0, 15)
        assert wait_until(lambda: len(notifier.messages()) == 3, 10)
        assert wait_until(lambda: len(public.messages("/event/")) == events, 10)
    finally:
        pub.stop()
    assert public.messages("/notify/") == []
    public.stop()
    notifier.stop()


def test_wrong_password_is_reported_and_nothing_leaves_the_outbox(secured_broker, day):
    outbox, _codes = day
    events = outbox.pending_count()
    config = MqttConfig(host="127.0.0.1", port=secured_broker.port, username=KIOSK_USER,
                        password="wrong", tls=True, ca_file=secured_broker.ca_file)
    pub = Publisher(outbox, config, C, K, reconnect_min_s=0.1)
    pub.start()
    try:
        assert wait_until(lambda: "refused" in pub.uplink().last_error, 10)
        assert not pub.uplink().connected
        assert outbox.pending_count() == events and len(outbox.pending_notifications()) == 3
    finally:
        pub.stop()


def test_the_notifier_account_delivers_and_only_it_can_send_receipts(secured_broker, day,
                                                                     tmp_path):
    """The shipped ACL end to end: the notifier reads the codes and writes the receipts;
    an anonymous client's forged receipt is dropped by the broker."""
    from kiosk.notifications import receipt_payload
    from notify.contacts import ContactsDirectory
    from notify.service import Notifier, NotifierSettings
    from notify.store import open_notifier_store
    from tests.notify_support import PushInbox

    outbox, codes = day
    push = PushInbox().start()
    store = open_notifier_store(tmp_path / "notifier")
    for unit in codes:
        ContactsDirectory(store).add(unit, push.url(unit), "zh")
    tls = {"host": "127.0.0.1", "port": secured_broker.port, "tls": True,
           "ca_file": secured_broker.ca_file}
    notifier_login = MqttConfig(username="notifier", password="notifier-secret", **tls)

    def notifier() -> Notifier:
        return Notifier(store, notifier_login, NotifierSettings(C, retry_first_s=0.1))

    first = notifier()  # its persistent session: the broker keeps the codes for it
    first.start()
    assert first.ready.wait(10)
    first.stop()
    by_unit = {n.household: n for n in outbox.pending_notifications()}
    pub = Publisher(outbox, MqttConfig(username=KIOSK_USER, password="kiosk-secret", **tls),
                    C, K, reconnect_min_s=0.1)
    pub.start()
    forger = tls_collector(secured_broker, ["test/nothing"])
    as_notifier = tls_collector(secured_broker, ["test/nothing"], username="notifier",
                                password="notifier-secret")
    second = notifier()
    try:
        assert wait_until(lambda: len(pub._awaiting) == 3, 10)
        assert wait_until(forger.client.is_connected, 10)
        assert wait_until(as_notifier.client.is_connected, 10)
        forger.client.publish(topics.receipt_topic(C, K),
                              receipt_payload(by_unit["A101"].uid, "delivered"),
                              qos=1).wait_for_publish(5)
        # Control, after it in the kiosk's queue: the notifier's account can.
        as_notifier.client.publish(topics.receipt_topic(C, K),
                                   receipt_payload(by_unit["B202"].uid, "delivered"),
                                   qos=1).wait_for_publish(5)
        assert wait_until(lambda: "B202" not in {
            n.household for n in outbox.pending_notifications()}, 10)
        assert {n.household for n in outbox.pending_notifications()} == {"A101", "C303"}
        second.start()
        assert wait_until(lambda: outbox.undelivered_count() == 0, 20)
        assert wait_until(lambda: all(push.codes(u) for u in codes), 10)
    finally:
        second.stop()
        pub.stop()
        forger.stop()
        as_notifier.stop()
        store.close()
        push.stop()
    for unit, code in codes.items():
        assert push.codes(unit) == {code}


def test_each_witness_account_writes_its_own_alarms_and_wipes_nobody_elses(secured_broker):
    """The shipped ACL: a witness's alarms go under its account's user name; another
    account's empty retained message on them (a wipe) is dropped by the broker."""
    from witness.core import Alarm
    from witness.service import alarm_message

    def witness_client(user: str) -> Collector:
        # A witness reads the kiosks' public record; it needs nobody's alarms.
        return tls_collector(secured_broker, [topics.publics_of(C)], username=user,
                             password=WITNESSES[user])

    ana, bo = witness_client("ana"), witness_client("bo")
    try:
        ana.wait_subscribed()
        bo.wait_subscribed()
        alarm = Alarm(C, K, "audit", "edited", "entry 3 differs")
        for who, client in (("ana", ana), ("bo", bo)):
            topic, payload = alarm_message(alarm, who)
            client.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
        bo_topic = alarm_message(alarm, "bo")[0]
        # ana wipes bo's alarm, and writes one in bo's name: both dropped.
        ana.client.publish(bo_topic, b"", qos=1, retain=True).wait_for_publish(5)
        forged = alarm_message(Alarm(C, K, "audit", "edited", "forged by ana"), "bo")
        ana.client.publish(*forged, qos=1, retain=True).wait_for_publish(5)
        # Control: bo's own later alarm of another kind lands beside it.
        own = alarm_message(Alarm(C, K, "draws", "gap", "entry 5 after entry 3"), "bo")
        bo.client.publish(*own, qos=1, retain=True).wait_for_publish(5)
    finally:
        ana.stop()
        bo.stop()
    public = tls_collector(secured_broker, [topics.witness_alarms_of(C)])
    try:
        public.wait_subscribed()
        # Every publish above was acknowledged by the broker: what it kept is settled.
        assert wait_until(lambda: len(public.messages()) >= 3, 10)
        held = {m.topic: m.json()["detail"] for m in public.messages()}
    finally:
        public.stop()
    assert held == {alarm_message(alarm, "ana")[0]: "entry 3 differs",
                    bo_topic: "entry 3 differs", own[0]: "entry 5 after entry 3"}
