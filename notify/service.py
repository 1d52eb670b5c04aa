"""``kiosk notify``: the community notifier, a long-running service.

Two threads, as in the kiosk's publisher. paho's network thread reads the notify topics
of every kiosk of the community with a persistent session (``clean_session=False``, a
fixed client id), checks each message, writes it to notify.db and only then returns, so
paho acknowledges a notification once it is on disk. The worker thread delivers what is
on disk to every contact of the household, in the contact's language, the code also as
a QR image, and then publishes the receipt the kiosk waits for.

At least once, never to another household:
- a delivery is keyed by the notification's random id: a notification that comes again
  (the kiosk re-sends after its timeout, or after a broker lost its state) is delivered
  once, and only its receipt is sent again;
- each contact that has it is recorded (``sent``): a notifier killed mid-delivery sends,
  after its restart, to the contacts not recorded yet (maybe one again: the same
  household, never another);
- the household comes from the message itself, checked against its topic; contacts are
  looked up by that household only.

A channel that fails is retried with back-off (``retry_first_s`` doubling to
``retry_max_s``); after ``failing_after`` failures in a row its kind (``mailto``,
``ntfy`` …) is reported failing in a public event and the retained state, with no
household and no contact in either.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt

from kiosk.config import MqttConfig
from kiosk.events import iso, utc_now
from kiosk.notifications import (
    DELIVERED,
    NO_CONTACT,
    BadNotification,
    Note,
    parse_notification,
    receipt_payload,
)
from kiosk.store import Store
from mqtt import topics
from mqtt.connection import make_client, set_reconnect_delay
from notify import channels
from notify.contacts import Contact, ContactsDirectory
from notify.messages import Message, render
from notify.qr import qr_png

log = logging.getLogger(__name__)

CHANNEL_FAILING = "notify.channel_failing"
CHANNEL_RECOVERED = "notify.channel_recovered"

Sender = Callable[[str, Message, bytes | None], bool]


@dataclass(frozen=True)
class NotifierSettings:
    community: str
    name: str = "notifier"
    retry_first_s: float = 5.0
    retry_max_s: float = 600.0
    failing_after: int = 3
    keep_days: int = 30
    batch: int = 50


def _dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class Notifier:
    def __init__(self, store: Store, mqtt_config: MqttConfig, settings: NotifierSettings, *,
                 send: Sender = channels.send, client_id: str | None = None):
        self.store = store
        self.settings = settings
        self.directory = ContactsDirectory(store)
        self._send = send
        self._config = mqtt_config
        self.filter = topics.notify_all(settings.community)
        self.ready = threading.Event()  # subscribed (after every connect)
        client = make_client(mqtt_config, client_id
                             or f"notifier-{settings.community}-{settings.name}",
                             clean_session=False)
        set_reconnect_delay(client, 0.25, float(mqtt_config.reconnect_max_s))
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        self._lock = threading.Lock()
        self._receipts: list[tuple[str, str, str, str]] = []  # uid, outcome, community, kiosk
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures: dict[int, int] = {}  # contact id -> failures in a row
        self._failing: Counter[str] = Counter()  # channel kind -> contacts failing
        self.failed = threading.Event()  # the worker died: the service must stop
        self.failure: BaseException | None = None
        self.refused = 0  # notify messages that were not one (counted, never logged)
        self.delivered = 0
        # When the worker last turned (its loop, or one send): `kiosk notify` pings the
        # systemd watchdog only while this keeps moving (notify/run.py).
        self.turned_at = time.monotonic()

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._client.connect_async(self._config.host, self._config.port, self._config.keepalive)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho's thread --------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("the broker refused the notifier: %s", reason_code)
            return
        # Every time: a broker that lost its state lost our subscription with it.
        client.subscribe(self.filter, qos=1)
        self._publish_state()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any) -> None:
        if any(getattr(rc, "is_failure", False) for rc in reason_codes):
            log.error("the broker refused the notifier's subscription (check its ACL)")
            return
        self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        try:
            self._take(message)
        except Exception:
            # Acked but not kept (a full or locked disk): the kiosk still has it and sends
            # it again after its receipt timeout. paho's thread must not die of it.
            log.exception("a notification could not be stored; the kiosk will send it again")

    def _take(self, message: mqtt.MQTTMessage) -> None:
        # paho sends the PUBACK after this returns: the notification is on disk first.
        try:
            payload = bytes(message.payload)
            note = self._check(message.topic, payload)
        except BadNotification as exc:
            self.refused += 1
            log.warning("a message on a notify topic was refused: %s", exc)
            return
        with self.store.step() as db:
            row = db.execute("SELECT done_ts, outcome, community, kiosk FROM deliveries "
                             "WHERE uid = ?", (note.id,)).fetchone()
            if row is None:
                db.execute("INSERT INTO deliveries (uid, payload, received_ts, community, kiosk)"
                           " VALUES (?, ?, ?, ?, ?)",
                           (note.id, payload.decode(), iso(utc_now()), note.community,
                            note.kiosk))
        if row is not None and row[0] is not None and (row[2], row[3]) == (note.community,
                                                                           note.kiosk):
            # Delivered before: the kiosk missed our receipt. Say it again, send nothing.
            with self._lock:
                self._receipts.append((note.id, row[1], note.community, note.kiosk))
        self._wake.set()

    def _check(self, topic: str, payload: bytes) -> Note:
        where = topics.parse(topic)
        if where is None or where.kind != "notify":
            raise BadNotification("not a notify topic")
        note = parse_notification(payload)
        if (note.community, note.kiosk) != (where.community, where.kiosk) \
                or note.community != self.settings.community:
            raise BadNotification("the message names another kiosk than its topic")
        if topics.household_segment(note.household) != where.name:
            raise BadNotification("the message names another household than its topic")
        return note

    # -- the worker -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._work()
        except BaseException as exc:
            # Fail loudly: ``kiosk notify`` exits non-zero and systemd starts it again.
            log.critical("the notifier's worker stopped", exc_info=exc)
            self.failure = exc
            self.failed.set()

    def _work(self) -> None:
        pruned = 0.0
        while not self._stopping.is_set():
            self.turned_at = time.monotonic()
            if time.monotonic() - pruned > 3600:
                pruned = time.monotonic()
                self._prune()
            with self._lock:
                receipts, self._receipts = self._receipts, []
            for receipt in receipts:
                self._send_receipt(*receipt)
            rows = self.store.query(
                "SELECT uid, payload, attempts FROM deliveries WHERE done_ts IS NULL "
                "AND next_try <= ? ORDER BY rowid LIMIT ?", (time.time(), self.settings.batch))
            for row in rows:
                if self._stopping.is_set():
                    break
                self._deliver(row["uid"], row["payload"], row["attempts"])
            if len(rows) < self.settings.batch:
                self._wake.wait(self._idle_s())
                self._wake.clear()

    def _idle_s(self) -> float:
        due = self.store.scalar("SELECT MIN(next_try) FROM deliveries WHERE done_ts IS NULL")
        if due is None:
            return 1.0
        return max(0.01, min(1.0, due - time.time()))

    def _deliver(self, uid: str, payload: str, attempts: int) -> None:
        try:
            note = parse_notification(payload.encode())
        except BadNotification:  # it was checked on the way in; a damaged row
            self._finish(uid, NO_CONTACT, "", "")
            return
        contacts = self.directory.of(note.household)
        if not contacts:
            self._finish(uid, NO_CONTACT, note.community, note.kiosk)
            return
        have = {r["contact"] for r in self.store.query(
            "SELECT contact FROM sent WHERE uid = ?", (uid,))}
        picture = qr_png(note.code) if note.code else None
        missing = 0
        for contact in contacts:
            if contact.id in have:
                continue
            self.turned_at = time.monotonic()
            if self._send(contact.url, render(note, contact.language), picture):
                with self.store.step() as db:
                    db.execute("INSERT OR IGNORE INTO sent (uid, contact, ts) VALUES (?, ?, ?)",
                               (uid, contact.id, iso(utc_now())))
                self._channel_ok(contact)
            else:
                missing += 1
                self._channel_failed(contact)
        if missing:
            wait = min(self.settings.retry_max_s, self.settings.retry_first_s * 2 ** attempts)
            with self.store.step() as db:
                db.execute("UPDATE deliveries SET attempts = attempts + 1, next_try = ? "
                           "WHERE uid = ?", (time.time() + wait, uid))
            return
        self._finish(uid, DELIVERED, note.community, note.kiosk)

    def _finish(self, uid: str, outcome: str, community: str, kiosk: str) -> None:
        with self.store.step() as db:
            # The code leaves the notifier's disk; the id stays to recognise a re-send.
            db.execute("UPDATE deliveries SET done_ts = ?, outcome = ?, payload = NULL "
                       "WHERE uid = ?", (iso(utc_now()), outcome, uid))
        if outcome == DELIVERED:
            self.delivered += 1
        if community and kiosk:
            self._send_receipt(uid, outcome, community, kiosk)

    def _send_receipt(self, uid: str, outcome: str, community: str, kiosk: str) -> None:
        # Lost (not connected, or a crash): the kiosk sends the notification again after
        # its timeout, and this comes back here as "delivered before".
        self._client.publish(topics.receipt_topic(community, kiosk),
                             receipt_payload(uid, outcome), qos=1)

    def _prune(self) -> None:
        cutoff = iso(utc_now() - timedelta(days=self.settings.keep_days))
        with self.store.step() as db:
            db.execute("DELETE FROM sent WHERE uid IN (SELECT uid FROM deliveries "
                       "WHERE done_ts IS NOT NULL AND done_ts < ?)", (cutoff,))
            db.execute("DELETE FROM deliveries WHERE done_ts IS NOT NULL AND done_ts < ?",
                       (cutoff,))

    # -- failing channels: public, without a household or a contact -------------------------

    def _channel_failed(self, contact: Contact) -> None:
        n = self._failures[contact.id] = self._failures.get(contact.id, 0) + 1
        log.warning("a %s:// contact failed (%d in a row)", contact.channel, n)
        if n == self.settings.failing_after:
            self._failing[contact.channel] += 1
            self._public_event(CHANNEL_FAILING, {
                "channel": contact.channel, "failures": n,
                "contacts_failing": self._failing[contact.channel]})
            self._publish_state()

    def _channel_ok(self, contact: Contact) -> None:
        n = self._failures.pop(contact.id, 0)
        if n >= self.settings.failing_after:
            self._failing[contact.channel] -= 1
            if self._failing[contact.channel] <= 0:
                del self._failing[contact.channel]
            self._public_event(CHANNEL_RECOVERED, {
                "channel": contact.channel,
                "contacts_failing": self._failing.get(contact.channel, 0)})
            self._publish_state()

    def failing(self) -> dict[str, int]:
        return dict(self._failing)

    def _public_event(self, type_: str, data: dict[str, Any]) -> None:
        s = self.settings
        self._client.publish(topics.notifier_event_topic(s.community, s.name, type_), _dumps(
            {"type": type_, "ts": iso(utc_now()), "community": s.community, "notifier": s.name,
             "data": data}), qos=1)

    def _publish_state(self) -> None:
        s = self.settings
        self._client.publish(topics.notifier_state_topic(s.community, s.name), _dumps(
            {"ts": iso(utc_now()), "failing": dict(self._failing)}), qos=1, retain=True)


def test_send(directory: ContactsDirectory, household: str,
              send: Sender = channels.send) -> list[tuple[Contact, bool]]:
    """Send a test message to every contact of a household; (contact, accepted) each."""
    from notify.messages import test_message

    return [(c, send(c.url, test_message(household, c.language), None))
            for c in directory.of(household)]
