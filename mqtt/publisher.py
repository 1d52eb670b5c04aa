"""The outbox publisher: events leave the kiosk's SQLite outbox only after the broker's PUBACK.

Two threads touch a paho client here. paho's own network thread (``loop_start``) runs the
callbacks, under paho's lock, so they only note what happened (connected, lost, acked
mid) and wake the publisher's thread. The publisher's thread does everything else:
reading the outbox, publishing, and marking acknowledged events in the database.

Rules that keep "nothing lost" true (see the known traps in docs/mqtt.md):
- Nothing is handed to paho while disconnected: paho would queue it in memory, where a
  crash loses it and 65,535 message ids are the ceiling. Events wait in the outbox.
- At most ``window`` events are on the wire and four times that handed to paho; the next
  ones are read from disk as acks arrive, so memory stays flat however long the backlog.
- Acks are matched by message id, one by one (they may come out of order), and the
  database is written from this thread, never from paho's callback.
- After any disconnect the in-flight bookkeeping is dropped and publishing restarts from
  the oldest unacknowledged event. Some events may then arrive twice; consumers dedupe
  by (kiosk, seq). paho's ``is_published``/``wait_for_publish`` are never relied on.

Private notifications (pickup codes) are different: the broker's PUBACK is not enough, a
broker that restarts without its persistence acks and forgets. A notification stays in
the outbox until the notifier's receipt names it (docs/notify.md), and is sent again
after ``receipt_timeout_s``, doubling up to ``receipt_timeout_max_s``, and at once on
every new connection. The client's one subscription is the kiosk's receipt topic; its
message handler only parses a receipt and queues the id for the publisher's thread,
which can do exactly one thing with it: take that notification out of the outbox
(tests/test_no_remote_unlock.py).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from kiosk.config import MqttConfig
from kiosk.events import Notification, Outbox, iso, utc_now
from kiosk.notifications import DELIVERED, NO_CONTACT, parse_receipt, wire_payload
from mqtt import topics
from mqtt.connection import make_client, set_reconnect_delay

log = logging.getLogger(__name__)

ONLINE = "online"
OFFLINE = "offline"

# Reconnecting (docs/mqtt.md, "The publisher"). paho waits the first delay after a lost
# connection, doubles it after every failed attempt up to the cap, and starts again from
# the first once connected. Its own default (1 s doubling to 120 s) left events waiting
# 2.5 s (median) after a broker restart.
RECONNECT_FIRST_S = 0.1
# The kiosk's broker runs on its own Pi: a restart there is over in about a second, and a
# refused connect on loopback costs next to nothing. Trying every half second at most
# keeps events flowing within half a second of it listening again, however long it was
# down, without spinning.
LOCAL_RECONNECT_CAP_S = 0.5
# A broker elsewhere (a community's, shared by many kiosks) is tried from a quarter of a
# second, then less and less often up to ``[mqtt] reconnect_max_s``: a short blip costs
# well under a second, a broker that stays down is not hammered by every kiosk at once.
REMOTE_RECONNECT_FIRST_S = 0.25

# A notification without a receipt is sent again after this, then after twice as long,
# up to the cap: a notifier down for a day gets a few dozen copies of each, not thousands.
RECEIPT_TIMEOUT_S = 60.0
RECEIPT_TIMEOUT_MAX_S = 1800.0

#: Prints a slip for notifications whose household has no contact; returns those printed.
SlipHook = Callable[[list[Notification]], list[Notification]]


def is_local(host: str) -> bool:
    """The broker runs on this machine (loopback): ``localhost``, ``127.x.y.z``, ``::1``."""
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def reconnect_delays(config: MqttConfig) -> tuple[float, float]:
    """(first, cap) of the publisher's reconnect back-off, seconds, for this broker."""
    cap = float(config.reconnect_max_s)
    if is_local(config.host):
        return RECONNECT_FIRST_S, min(LOCAL_RECONNECT_CAP_S, cap)
    return min(REMOTE_RECONNECT_FIRST_S, cap), cap


@dataclass(frozen=True)
class Uplink:
    """What the status line shows about the link to the broker."""

    connected: bool
    backlog: int
    last_error: str
    last_ack: str  # ISO time of the latest PUBACK for an event, "" before the first
    undelivered: int = 0  # notifications no receipt has named yet

    def snapshot(self) -> dict[str, Any]:
        return {"connected": self.connected, "backlog": self.backlog,
                "last_error": self.last_error, "last_ack": self.last_ack,
                "undelivered": self.undelivered}


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class Publisher:
    """Publishes the outbox, private notifications and retained snapshots of one kiosk."""

    COMMIT_EVERY_S = 0.05

    def __init__(self, outbox: Outbox, config: MqttConfig, community: str, kiosk: str, *,
                 window: int = 100, poll_s: float = 0.5,
                 reconnect_min_s: float | None = None, reconnect_max_s: float | None = None,
                 uplink_every_s: float = 5.0, client_id: str | None = None,
                 receipt_timeout_s: float = RECEIPT_TIMEOUT_S,
                 receipt_timeout_max_s: float = RECEIPT_TIMEOUT_MAX_S):
        self.outbox = outbox
        self.config = config
        self.community = community
        self.kiosk = kiosk
        self.window = window
        self.poll_s = poll_s
        self.uplink_every_s = uplink_every_s
        self.status_topic = topics.status_topic(community, kiosk)
        self.receipt_topic = topics.receipt_topic(community, kiosk)
        self.receipt_timeout = (receipt_timeout_s, max(receipt_timeout_s, receipt_timeout_max_s))
        #: Set by the slips feature: prints what no contact can receive.
        self.slip_hook: SlipHook | None = None

        client = make_client(config, client_id or f"kiosk-{community}-{kiosk}")
        # At most ``window`` QoS 1 messages on the wire at once.
        client.max_inflight_messages_set(window)
        # We hand paho up to this many unacked events: its in-flight window plus a short
        # queue it sends from by itself as acks come in, without waiting for our thread.
        self.handoff = 4 * window
        # paho's default back-off (1 s doubling to 120 s) is far too slow for a kiosk's
        # uplink; ours depends on where the broker is (``reconnect_delays``).
        first, cap = reconnect_delays(config)
        first = first if reconnect_min_s is None else reconnect_min_s
        cap = max(first, cap if reconnect_max_s is None else reconnect_max_s)
        #: (first, cap) of the reconnect back-off handed to paho, seconds.
        self.reconnect_delay = (first, cap)
        set_reconnect_delay(client, first, cap)
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_receipt
        self._client = client

        # Shared with paho's thread; guarded by _lock.
        self._lock = threading.Lock()
        self._connected = False
        self._session = 0  # changes on every connect and every disconnect
        self._acked: list[int] = []
        self._outstanding = 0  # events and notifications handed to paho, not yet acked
        self._wake_every = max(1, window // 2)
        self._last_error = ""
        self._last_ack = ""
        self._failed_connects = 0
        self._retained: dict[str, str] = {}  # republished after every connect
        self._dirty: set[str] = set()
        self._receipts: list[tuple[str, str]] = []  # (notification uid, outcome)
        self._bad_receipts = 0

        # Owned by the publisher's thread.
        self._events_in_flight: dict[int, int] = {}  # mid -> seq
        self._notes_in_flight: dict[int, int] = {}  # mid -> notification id
        # Acked by the broker, waiting for the notifier's receipt: id -> (due, timeout).
        self._awaiting: dict[int, tuple[float, float]] = {}
        self._sent_timeout: dict[int, float] = {}  # notification id -> its current timeout
        # Events read ahead from disk, oldest first, not yet handed to paho: one query per
        # few hundred events instead of one per ack.
        self._ahead: deque[tuple[int, str, str]] = deque()  # (seq, type, payload)
        self._topics: dict[str, str] = {}  # event type -> topic
        self._after_read = 0
        self._to_mark: list[int] = []
        self._first_unmarked = 0.0
        self._to_forget: list[str] = []  # uids named by receipts, to take out
        self._to_print: list[str] = []  # uids of households without a contact
        self._bad_notes: set[int] = set()
        self._kicked = False
        self._notes_checked = 0.0
        self._uplink_sent: tuple[tuple[int, int], float] = ((-1, -1), 0.0)

        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._drain_s = 0.0

    # -- the kiosk's side ---------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; a broker that is down is retried with back-off."""
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="mqtt-publisher", daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def kick(self) -> None:
        """New events or notifications are in the outbox: publish now, not at the next poll."""
        self._kicked = True
        self._wake.set()

    def publish_state(self, device: str, snapshot: dict[str, Any]) -> None:
        """Retained snapshot of a device on ``…/state/{device}``; the latest one wins."""
        self.set_retained(topics.state_topic(self.community, self.kiosk, device), dumps(snapshot))

    def set_retained(self, topic: str, payload: str) -> None:
        """A retained message kept up to date on the broker, re-sent after every connect."""
        with self._lock:
            if self._retained.get(topic) == payload:
                return
            self._retained[topic] = payload
            self._dirty.add(topic)
        self._wake.set()

    def uplink(self) -> Uplink:
        with self._lock:
            connected, error, last_ack = self._connected, self._last_error, self._last_ack
        return Uplink(connected, self.outbox.pending_count(), error, last_ack,
                      self.outbox.undelivered_count())

    @property
    def bad_receipts(self) -> int:
        """Messages on the receipt topic that were not a receipt (and changed nothing)."""
        with self._lock:
            return self._bad_receipts

    @property
    def failed_connects(self) -> int:
        """Connection attempts that found no broker, since start (paho's reconnects)."""
        with self._lock:
            return self._failed_connects

    def stop(self, drain_s: float = 2.0) -> None:
        """Stop cleanly: wait up to ``drain_s`` for acks of what is in flight, say
        ``offline`` (a clean disconnect does not fire the last will), disconnect."""
        self._drain_s = drain_s
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            connected = self._connected
        if connected:
            info = self._client.publish(self.status_topic, OFFLINE, qos=1, retain=True)
            self._wait_for_ack(info.mid, timeout=drain_s)
        self._client.disconnect()
        self._client.loop_stop()

    # -- paho's thread: note and wake, nothing more ---------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason_code: Any, properties: Any) -> None:
        with self._lock:
            if reason_code.is_failure:
                self._last_error = f"broker refused the connection: {reason_code}"
                return
            self._connected = True
            self._session += 1
            self._last_error = ""
        # The one subscription: receipts for this kiosk, exactly this topic.
        client.subscribe(self.receipt_topic, qos=1)
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        with self._lock:
            self._last_error = "broker unreachable"
            self._failed_connects += 1

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: Any, properties: Any) -> None:
        with self._lock:
            if self._connected:
                self._session += 1
                # (After a refused connect, keep the refusal as the error to show.)
                if reason_code.is_failure and not self._stopping.is_set():
                    self._last_error = f"connection lost: {reason_code}"
            self._connected = False
        self._wake.set()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason_code: Any, properties: Any) -> None:
        with self._lock:
            self._acked.append(mid)
            # Wake the publisher per batch of acks, or when everything handed over is acked.
            wake = len(self._acked) >= self._wake_every or len(self._acked) >= self._outstanding
        if wake:
            self._wake.set()

    def _on_receipt(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        # Only the id and the outcome leave this function, and only to the publisher's
        # thread, which takes that notification out of the outbox: nothing else.
        receipt = (parse_receipt(bytes(message.payload))
                   if message.topic == self.receipt_topic else None)
        with self._lock:
            if receipt is None:
                self._bad_receipts += 1
                return
            self._receipts.append((receipt.id, receipt.outcome))
        self._wake.set()

    # -- the publisher's thread -----------------------------------------------------------

    def _run(self) -> None:
        seen_session = 0
        deadline: float | None = None
        while True:
            self._wake.wait(self.COMMIT_EVERY_S if self._to_mark else self.poll_s)
            self._wake.clear()
            with self._lock:
                acked, self._acked = self._acked, []
                receipts, self._receipts = self._receipts, []
                connected, session = self._connected, self._session
                dirty, self._dirty = self._dirty, set()
                retained = dict(self._retained) if dirty or session != seen_session else {}
            self._settle(acked)
            self._take_receipts(receipts)
            if session != seen_session:
                # A new connection, or a lost one: restart from the oldest unacked event.
                self._events_in_flight.clear()
                self._notes_in_flight.clear()
                # The broker may have lost what it acked: every notification still without
                # a receipt goes again on the new connection (the notifier dedupes by id).
                self._awaiting.clear()
                self._ahead.clear()
                self._after_read = 0
                self._notes_checked = 0.0
                seen_session = session
                if connected:
                    self._client.publish(self.status_topic, ONLINE, qos=1, retain=True)
                    dirty = set(retained)
                    self._uplink_sent = ((-1, -1), 0.0)
            if connected:
                for topic in sorted(dirty):
                    self._client.publish(topic, retained[topic], qos=1, retain=True)
            if self._stopping.is_set():
                deadline = deadline or time.monotonic() + self._drain_s
                busy = self._events_in_flight or self._notes_in_flight
                if not connected or not busy or time.monotonic() >= deadline:
                    break
            elif connected:
                self._fill_events()
                self._fill_notifications()
            with self._lock:
                self._outstanding = len(self._events_in_flight) + len(self._notes_in_flight)
            self._commit(force=self._stopping.is_set())
            if connected and not self._stopping.is_set():
                self._publish_uplink()
        self._commit()

    def _settle(self, acked: Iterable[int]) -> None:
        for mid in acked:
            seq = self._events_in_flight.pop(mid, None)
            if seq is not None:
                if not self._to_mark:
                    self._first_unmarked = time.monotonic()
                self._to_mark.append(seq)
                continue
            note = self._notes_in_flight.pop(mid, None)
            if note is not None:
                # The broker has it; the notifier's receipt is due within the timeout.
                timeout = self._sent_timeout.get(note, self.receipt_timeout[0])
                self._awaiting[note] = (time.monotonic() + timeout, timeout)
                self._kicked = True  # room for the next notifications
            # Anything else: a retained snapshot, or an ack from an earlier connection whose
            # bookkeeping was dropped (that event is re-sent, and deduped downstream).
        if self._to_mark:
            with self._lock:
                self._last_ack = iso(utc_now())

    def _fill_events(self) -> None:
        room = self.handoff - len(self._events_in_flight)
        while room > 0:
            if not self._ahead:
                batch = self.outbox.pending_payloads(self.community, self.kiosk,
                                                     limit=max(4 * self.window, 400),
                                                     after_seq=self._after_read)
                if not batch:
                    return
                self._ahead.extend(batch)
                self._after_read = batch[-1][0]
            seq, type_, payload = self._ahead[0]
            topic = self._topics.get(type_) or self._event_topic(type_)
            info = self._client.publish(topic, payload, qos=1)
            if not self._accepted(info):
                return
            self._ahead.popleft()
            self._events_in_flight[info.mid] = seq
            room -= 1

    def _event_topic(self, event_type: str) -> str:
        topic = self._topics[event_type] = topics.event_topic(self.community, self.kiosk,
                                                              event_type)
        return topic

    def _fill_notifications(self) -> None:
        # Not at every ack of an event: when kicked, after a session change, now and then.
        now = time.monotonic()
        if not (self._kicked or now - self._notes_checked >= self.poll_s):
            return
        self._kicked = False
        self._notes_checked = now
        room = self.window - len(self._notes_in_flight)
        if room <= 0:
            return
        busy = set(self._notes_in_flight.values()) | self._bad_notes
        taking = set(self._to_forget) | set(self._to_print)
        first, cap = self.receipt_timeout
        after = 0
        while room > 0:
            page = self.outbox.pending_notifications(limit=200, after_id=after)
            if not page:
                return
            after = page[-1].id
            for note in page:
                if note.id in busy or note.uid in taking:
                    continue
                waiting = self._awaiting.get(note.id)
                if waiting is not None:
                    if waiting[0] > now:
                        continue
                    # No receipt in time: send it again, and wait twice as long for this one.
                    self._sent_timeout[note.id] = min(waiting[1] * 2, cap)
                    log.info("notification %s: no receipt after %.0f s, sent again",
                             note.id, waiting[1])
                try:
                    topic = topics.notify_topic(self.community, self.kiosk, note.household)
                except ValueError as exc:
                    # A bug upstream; keep the code on disk for a maintainer rather than lose
                    # it.
                    log.error("notification %s not sendable: %s", note.id, exc)
                    self._bad_notes.add(note.id)
                    continue
                info = self._client.publish(topic, dumps(self._note_payload(note)), qos=1)
                if not self._accepted(info):
                    return
                self._awaiting.pop(note.id, None)
                self._sent_timeout.setdefault(note.id, first)
                self._notes_in_flight[info.mid] = note.id
                room -= 1
                if room == 0:
                    return

    def _note_payload(self, note: Notification) -> dict[str, Any]:
        return wire_payload(uid=note.uid, seq=note.id, ts=note.ts, kind=note.kind,
                            household=note.household, community=self.community,
                            kiosk=self.kiosk, data=note.data)

    def _take_receipts(self, receipts: list[tuple[str, str]]) -> None:
        for uid, outcome in receipts:
            if outcome == DELIVERED:
                self._to_forget.append(uid)
            elif outcome == NO_CONTACT:
                if self.slip_hook is None:
                    # Nobody to tell and nothing to print on: the notifier did what it could.
                    log.warning("a notification's household has no contact and this kiosk "
                                "has no slip printer")
                    self._to_forget.append(uid)
                else:
                    self._to_print.append(uid)

    def _accepted(self, info: mqtt.MQTTMessageInfo) -> bool:
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return True
        # NO_CONN: the link dropped a moment ago; the next session re-sends from the outbox.
        if info.rc != MQTTErrorCode.MQTT_ERR_NO_CONN:
            with self._lock:
                self._last_error = f"publish failed: {mqtt.error_string(info.rc)}"
        return False

    def _commit(self, force: bool = True) -> None:
        # Marking acks is batched (one fsync per batch, not per ack). Losing an unmarked ack
        # in a crash only means sending that event again.
        due = (force or len(self._to_mark) >= self.handoff or not self._events_in_flight
               or time.monotonic() - self._first_unmarked >= self.COMMIT_EVERY_S)
        try:
            if self._to_mark and due:
                self.outbox.mark_published(self._to_mark)
                self._to_mark = []
            if self._to_print and self.slip_hook is not None:
                uids, self._to_print = self._to_print, []
                # Printed, then taken out: a printer that fails keeps the code here, and
                # the next receipt (after the re-send) tries the printer again.
                for note in self.slip_hook(self.outbox.notifications_by_uid(uids)):
                    self._to_forget.append(note.uid)
            if self._to_forget:
                for note in self.outbox.delivered(self._to_forget):
                    self._awaiting.pop(note.id, None)
                    self._sent_timeout.pop(note.id, None)
                self._to_forget = []
        except Exception as exc:  # keep the acks and try again at the next turn
            log.exception("could not record acks")
            with self._lock:
                self._last_error = f"outbox: {exc}"

    def _publish_uplink(self) -> None:
        sent_counts, sent_at = self._uplink_sent
        now = time.monotonic()
        if now - sent_at < self.uplink_every_s:
            return
        backlog = self.outbox.pending_count()
        # Codes without the notifier's receipt: a count, public like the backlog.
        undelivered = self.outbox.undelivered_count()
        if (backlog, undelivered) == sent_counts and now - sent_at < 60 * self.uplink_every_s:
            return
        self._uplink_sent = ((backlog, undelivered), now)
        snapshot = {"connected": True, "backlog": backlog, "undelivered": undelivered,
                    "last_seq": self.outbox.last_seq(), "ts": iso(utc_now())}
        topic = topics.state_topic(self.community, self.kiosk, topics.UPLINK)
        with self._lock:
            self._retained[topic] = dumps(snapshot)
        self._client.publish(topic, dumps(snapshot), qos=1, retain=True)

    def _wait_for_ack(self, mid: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if mid in self._acked:
                    return True
            time.sleep(0.01)
        return False
