"""The notifier end to end against real servers: the kiosk's outbox and publisher, a real
Mosquitto (restarted with and without its state), the notifier with real Apprise, an
HTTP endpoint receiving json:// pushes and an SMTP server (aiosmtpd) receiving mail.

Each case ends with every code in the right household's inbox, and none in another's.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.notifications import NO_CONTACT, parse_receipt, receipt_payload
from kiosk.schema import open_kiosk_store
from mqtt import topics
from mqtt.publisher import Publisher
from notify.contacts import ContactsDirectory
from notify.service import CHANNEL_FAILING, CHANNEL_RECOVERED, Notifier, NotifierSettings
from notify.store import open_notifier_store
from tests.mqtt_broker import Collector, Mosquitto, mosquitto_binary, publisher, wait_until
from tests.mqtt_broker import close as close_client
from tests.mqtt_broker import publish as publish_to
from tests.notify_support import PushInbox, SmtpInbox

ROOT = Path(__file__).resolve().parent.parent
C, K = "maple-court", "gate-east"
HOUSEHOLDS = [f"{n}0{m}" for n in range(1, 5) for m in range(1, 9)]  # 32 households


@pytest.fixture
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    b = Mosquitto(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def push():
    inbox = PushInbox().start()
    yield inbox
    inbox.stop()


@pytest.fixture
def outbox(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk" / "kiosk.db")
    yield Outbox(store)
    store.close()


def queue_codes(outbox: Outbox, households: list[str], kind: str = "pickup_code") -> dict[str, str]:
    codes = {}
    for i, household in enumerate(households):
        code = f"{700000 + i * 7919 % 99991:06d}"
        with outbox.store.step() as db:
            outbox.notify(db, household, kind, {"code": code, "parcels": 1 + i % 3,
                                                "community": C, "kiosk": K})
        codes[household] = code
    return codes


def kiosk_publisher(outbox: Outbox, port: int, **kw: object) -> Publisher:
    config = MqttConfig(host="127.0.0.1", port=port, reconnect_max_s=1)
    kw.setdefault("receipt_timeout_s", 60.0)
    return Publisher(outbox, config, C, K, reconnect_min_s=0.1, poll_s=0.05, **kw)


def notifier_for(data: Path, port: int, **kw: object) -> Notifier:
    store = open_notifier_store(data)
    settings = NotifierSettings(C, retry_first_s=0.05, retry_max_s=0.5, failing_after=2,
                                **kw)
    return Notifier(store, MqttConfig(host="127.0.0.1", port=port, reconnect_max_s=1),
                    settings)


def contacts(data: Path) -> ContactsDirectory:
    return ContactsDirectory(open_notifier_store(data))


def assert_each_got_its_own(push: PushInbox, codes: dict[str, str]) -> None:
    for household, code in codes.items():
        assert push.codes(household) == {code}, household
    delivered = {p.path for p in push.all()}
    assert delivered == {f"/inbox/{h}" for h in codes}


def test_codes_reach_each_household_and_the_receipt_empties_the_outbox(
        tmp_path, broker, push, outbox, caplog):
    caplog.set_level(logging.DEBUG)
    book = contacts(tmp_path / "notifier")
    for h in HOUSEHOLDS[:4]:
        book.add(h, push.url(h), "en" if h.endswith("1") else "zh")
    book.store.close()
    public = Collector(broker.port, [*topics.public_of(C), topics.notifier_events_of(C)])
    public.wait_subscribed()
    codes = queue_codes(outbox, HOUSEHOLDS[:4])
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    pub = kiosk_publisher(outbox, broker.port)
    try:
        assert notifier.ready.wait(10)
        pub.start()
        assert wait_until(lambda: outbox.undelivered_count() == 0, 20)
    finally:
        pub.stop()
        notifier.stop()
        notifier.store.close()
    assert_each_got_its_own(push, codes)
    first = push.at(HOUSEHOLDS[0])[0]
    assert "Free, no fee" in first.message and "kiosk gate-east" in first.title
    assert "免费" in push.at(HOUSEHOLDS[1])[0].message
    # The code also as a QR image the kiosk's scanner reads.
    assert first.attachments["pickup-code.png"].startswith(b"\x89PNG")
    # Neither codes nor contacts in the log or on a public topic (controls: they are
    # in the inboxes, and the log did record the run).
    secrets = [*codes.values(), f"127.0.0.1:{push.port}/inbox"]
    assert caplog.records
    for secret in secrets:
        assert secret not in caplog.text
        assert not [m for m in public.messages() if secret.encode() in m.payload]
    public.stop()


def test_a_broker_that_loses_its_state_strands_no_code(tmp_path, broker, push, outbox):
    """The measured failure: the notifier away, 32 codes acked by the broker, the broker
    restarted without its state. Every code still arrives, once the kiosk re-sends."""
    book = contacts(tmp_path / "notifier")
    for h in HOUSEHOLDS:
        book.add(h, push.url(h), "zh")
    book.store.close()
    # The notifier's persistent session exists, then it goes away.
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    assert notifier.ready.wait(10)
    notifier.stop()
    notifier.store.close()

    codes = queue_codes(outbox, HOUSEHOLDS)
    seen = Collector(broker.port, [topics.notify_of(C, K)])
    seen.wait_subscribed()
    pub = kiosk_publisher(outbox, broker.port)
    pub.start()
    try:
        # The broker acked all 32 (our collector got them): before receipts, the kiosk
        # deleted them here.
        assert wait_until(lambda: len(seen.messages()) == 32, 15)
        assert wait_until(lambda: not pub._notes_in_flight, 10)
        assert outbox.undelivered_count() == 32
        seen.stop()
        broker.stop(kill=True)  # no persistence file: its queues are gone
        (tmp_path / "broker" / "mosquitto.db").unlink(missing_ok=True)
        broker.start()
        notifier = notifier_for(tmp_path / "notifier", broker.port)
        notifier.start()
        assert wait_until(lambda: outbox.undelivered_count() == 0, 30)
    finally:
        pub.stop()
        notifier.stop()
        notifier.store.close()
    assert_each_got_its_own(push, codes)


def test_a_broker_restarted_with_its_state_delivers_once(tmp_path, broker, push, outbox):
    book = contacts(tmp_path / "notifier")
    for h in HOUSEHOLDS[:8]:
        book.add(h, push.url(h), "en")
    book.store.close()
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    assert notifier.ready.wait(10)
    notifier.stop()
    notifier.store.close()
    codes = queue_codes(outbox, HOUSEHOLDS[:8])
    pub = kiosk_publisher(outbox, broker.port)
    pub.start()
    try:
        assert wait_until(lambda: not pub._notes_in_flight and pub._awaiting, 15)
        broker.restart()  # SIGTERM: mosquitto saves the notifier's queue
        notifier = notifier_for(tmp_path / "notifier", broker.port)
        notifier.start()
        assert wait_until(lambda: outbox.undelivered_count() == 0, 30)
    finally:
        pub.stop()
        notifier.stop()
        notifier.store.close()
    assert_each_got_its_own(push, codes)
    # The kiosk sent them again on its new connection too: each was delivered once.
    assert len(push.all()) == 8


def test_no_receipt_means_the_kiosk_sends_again_with_back_off(tmp_path, broker, outbox):
    queue_codes(outbox, ["101"])
    seen = Collector(broker.port, [topics.notify_of(C, K)])
    seen.wait_subscribed()
    pub = kiosk_publisher(outbox, broker.port, receipt_timeout_s=0.2,
                          receipt_timeout_max_s=0.4)
    pub.start()
    try:
        assert wait_until(lambda: len(seen.messages()) >= 4, 15)
        uids = {m.json()["id"] for m in seen.messages()}
        assert len(uids) == 1  # the same notification each time
        [note] = outbox.pending_notifications()
        assert pub._sent_timeout[note.id] == 0.4  # doubled, then capped
        # A receipt ends it; the notification leaves the kiosk.
        client = publisher(broker)
        publish_to(client, topics.receipt_topic(C, K), receipt_payload(note.uid, "delivered"))
        close_client(client)
        assert wait_until(lambda: outbox.undelivered_count() == 0, 10)
        sent = len(seen.messages())
        # Control for "no more": the kiosk is still connected and publishing.
        with outbox.store.step() as db:
            outbox.append(db, "x", {})
        assert wait_until(lambda: outbox.pending_count() == 0, 10)
        assert len(seen.messages()) == sent
    finally:
        pub.stop()
        seen.stop()


def test_what_is_not_a_receipt_changes_nothing(tmp_path, broker, outbox):
    queue_codes(outbox, ["101", "102"])
    pub = kiosk_publisher(outbox, broker.port)
    pub.start()
    [first, second] = outbox.pending_notifications()
    client = publisher(broker)
    try:
        assert wait_until(lambda: pub.uplink().connected and not pub._notes_in_flight, 10)
        junk = [b"", b"delivered", b"{", json.dumps({"id": first.uid}).encode(),
                json.dumps({"v": 1, "id": first.uid, "outcome": "opened"}).encode(),
                json.dumps({"v": 1, "id": first.uid, "outcome": "delivered",
                            "open": "A01"}).encode(),
                json.dumps({"v": 1, "id": first.uid.upper(), "outcome": "delivered"}).encode(),
                b"A" * 100_000]
        for payload in junk:
            publish_to(client, topics.receipt_topic(C, K), payload)
        # The right receipt on another kiosk's topic is not heard at all.
        publish_to(client, topics.receipt_topic(C, "gate-west"),
                   receipt_payload(first.uid, "delivered"))
        assert wait_until(lambda: pub.bad_receipts == len(junk), 10)
        assert outbox.pending_notifications() == [first, second]
        # Control: the same topic with a real receipt takes exactly that one out.
        publish_to(client, topics.receipt_topic(C, K), receipt_payload(first.uid, "delivered"))
        assert wait_until(lambda: outbox.pending_notifications() == [second], 10)
    finally:
        close_client(client)
        pub.stop()
    assert parse_receipt(receipt_payload(second.uid, NO_CONTACT)) is not None


def test_a_failing_mail_server_is_retried_reported_and_recovers(tmp_path, broker, outbox):
    smtp = SmtpInbox()  # not started yet: the mail server is down
    book = contacts(tmp_path / "notifier")
    book.add("101", smtp.url("res-101@maple-court.example"), "en")
    book.add("102", smtp.url("res-102@maple-court.example"), "zh")
    book.store.close()
    public = Collector(broker.port, [topics.notifier_events_of(C)])
    public.wait_subscribed()
    codes = queue_codes(outbox, ["101", "102"])
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    pub = kiosk_publisher(outbox, broker.port)
    try:
        assert notifier.ready.wait(10)
        pub.start()
        assert wait_until(lambda: public.messages("/event/notify.channel_failing"), 20)
        failing = public.messages("/event/notify.channel_failing")[0].json()
        assert failing["data"]["channel"] == "mailto"
        assert outbox.undelivered_count() == 2
        smtp.start()
        assert wait_until(lambda: outbox.undelivered_count() == 0, 30)
        assert wait_until(lambda: public.messages("/event/notify.channel_recovered"), 10)
    finally:
        pub.stop()
        notifier.stop()
        notifier.store.close()
        smtp.stop()
    assert smtp.codes("res-101@maple-court.example") == {codes["101"]}
    assert smtp.codes("res-102@maple-court.example") == {codes["102"]}
    mail = smtp.to("res-101@maple-court.example")[0]
    assert mail.attachments["pickup-code.png"].startswith(b"\x89PNG")
    # The public events name the kind of channel, nothing else.
    for m in public.messages():
        text = m.payload.decode()
        assert "res-10" not in text and "101" not in text and codes["101"] not in text
    assert {m.json()["type"] for m in public.messages()} == {CHANNEL_FAILING, CHANNEL_RECOVERED}
    public.stop()


def test_a_notifier_killed_mid_delivery_delivers_after_its_restart(tmp_path, broker, push,
                                                                   outbox):
    data = tmp_path / "notifier"
    book = contacts(data)
    for h in HOUSEHOLDS[:6]:
        book.add(h, push.url(h), "en")
    book.store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "kiosk", "notify", "--broker", broker.address,
               "--data", str(data), "--community", C, "--retry-max", "1"]
    push.hold.set()  # the first push hangs: the notifier is killed while it waits
    codes = queue_codes(outbox, HOUSEHOLDS[:6])
    pub = kiosk_publisher(outbox, broker.port, receipt_timeout_s=2.0)
    pub.start()
    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
    try:
        assert push.holding.wait(30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        push.release()
        second = subprocess.Popen(command, env=env, stderr=subprocess.PIPE)
        try:
            assert wait_until(lambda: outbox.undelivered_count() == 0, 40)
        finally:
            second.terminate()
            assert second.wait(10) == 0
    finally:
        if first.poll() is None:
            first.kill()
        pub.stop()
    assert_each_got_its_own(push, codes)


def test_no_contact_means_a_slip_and_a_failing_printer_keeps_the_code(tmp_path, broker,
                                                                      outbox):
    from notify.printer import SimulatedPrinter
    from notify.slips import Slips

    codes = queue_codes(outbox, ["303"])  # household 303 has no contact at all
    printer = SimulatedPrinter()
    printer.broken = True
    slips = Slips(printer, "zh", C, K)
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    pub = kiosk_publisher(outbox, broker.port, receipt_timeout_s=0.2,
                          receipt_timeout_max_s=0.2)
    pub.slip_hook = slips.print_for
    try:
        assert notifier.ready.wait(10)
        pub.start()
        assert wait_until(lambda: slips.failed >= 1, 15)
        assert outbox.undelivered_count() == 1  # not printed: still here
        printer.broken = False
        assert wait_until(lambda: outbox.undelivered_count() == 0, 15)
    finally:
        pub.stop()
        notifier.stop()
        notifier.store.close()
    [slip] = printer.slips
    assert b"303" in slip and codes["303"].encode() in slip
    assert "免费".encode("gb18030") in slip
    assert b"\x1d(k" in slip and slip.endswith(b"\x1dVB\x00")  # the QR code, the cut


def test_the_printer_setting_is_checked_with_the_rest_of_the_config():
    from kiosk.config import ConfigError, config_from_dict

    for good in ("", "simulated", "/dev/usb/lp0", "serial:/dev/ttyUSB1",
                 "serial:/dev/ttyUSB1:19200"):
        config_from_dict({"notify": {"printer": good}}, "t.toml")
    for bad in ("lpt1", "serial:ttyUSB1", "serial:/dev/ttyUSB1:fast", "serial:/dev/x:99"):
        with pytest.raises(ConfigError) as caught:
            config_from_dict({"notify": {"printer": bad}}, "t.toml")
        assert any(p.startswith("t.toml: notify.printer: ") for p in caught.value.problems)


def test_a_worker_that_fails_is_not_silent(tmp_path, broker):
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    try:
        assert notifier.ready.wait(10)
        assert not notifier.failed.is_set()  # control: a healthy worker
        notifier.store.close()  # its database is gone under it
        assert notifier.failed.wait(10)
        assert notifier.failure is not None
    finally:
        notifier.stop()


def test_a_notification_that_names_another_household_than_its_topic_is_refused(
        tmp_path, broker, push):
    from kiosk.notifications import wire_payload

    book = contacts(tmp_path / "notifier")
    for h in ("101", "102"):
        book.add(h, push.url(h), "en")
    book.store.close()
    notifier = notifier_for(tmp_path / "notifier", broker.port)
    notifier.start()
    client = publisher(broker)

    def note(household: str, code: str, **kw: str) -> str:
        return json.dumps(wire_payload(**{
            "uid": os.urandom(16).hex(), "seq": 1, "ts": "2026-12-01T00:00:00Z",
            "kind": "pickup_code", "household": household, "community": C, "kiosk": K,
            "data": {"code": code, "parcels": 1}, **kw}))
    try:
        assert notifier.ready.wait(10)
        # 101's topic, 102's household; a kiosk speaking for another; bad codes.
        publish_to(client, topics.notify_topic(C, K, "101"), note("102", "111111"))
        publish_to(client, topics.notify_topic(C, K, "102"), note("102", "222222",
                                                                   kiosk="gate-west"))
        publish_to(client, topics.notify_topic(C, K, "102"), note("102", "33 33"))
        publish_to(client, topics.notify_topic(C, K, "102"), b"{}")
        assert wait_until(lambda: notifier.refused == 4, 10)
        # Control: the same message on its own topic is delivered.
        publish_to(client, topics.notify_topic(C, K, "102"), note("102", "444444"))
        assert wait_until(lambda: push.codes("102") == {"444444"}, 10)
    finally:
        close_client(client)
        notifier.stop()
        notifier.store.close()
    assert push.codes("101") == set() and push.codes("102") == {"444444"}
