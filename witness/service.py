"""``kiosk witness``: the witness (``witness/core.py``) fed from MQTT, its alarms published.

A persistent session (the broker keeps chain entries while the witness is away), each
message acknowledged only once the witness has committed it. Reads every kiosk's
``audit.entry`` and ``parking.draw_entry`` events and its retained public record (key,
heads, allocations); raises each new alarm on
``community/{c}/witness/{name}/alarm/{kiosk}/{chain}/{kind}``, retained (the latest of
each kind, so one alarm never hides another) and QoS 1.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from kiosk.config import MqttConfig
from kiosk.events import iso, utc_now
from kiosk.store import DiskFull, StoreBusy
from mqtt import topics
from mqtt.connection import make_client, set_reconnect_delay
from mqtt.contract import (
    MAX_CHAIN_PAYLOAD,
    Refused,
    check_event_body,
    load_json,
    max_event_payload,
)
from witness.core import CHAIN_EVENTS, KEPT_PUBLICS, LEGACY_CLIENT_ID, Alarm, Witness

log = logging.getLogger(__name__)

# A draw record or roster is larger than an event; still bounded (as chain entries are).
MAX_PUBLIC = MAX_CHAIN_PAYLOAD
# A message witness.db refused is tried again after this long, doubling up to the max.
RETRY_MIN_S, RETRY_MAX_S = 0.1, 5.0
# How often heads shorter than the chain held are looked at again.
SWEEP_S = 0.5


def handle(witness: Witness, topic: str, payload: bytes) -> list[Alarm]:
    """One message of a kiosk's public topics; the alarms it raised (new ones only)."""
    where = topics.parse(topic)
    if where is None:
        return []
    try:
        if where.kind == "event":
            # A draw chain entry carries a whole record: larger than other events.
            if len(payload) > max_event_payload(where.name):
                log.error("an event of %d bytes on %s was not kept", len(payload), topic)
                return []
            body = load_json(payload)
            event = check_event_body(where.community, where.kiosk, where.name, body)
            if isinstance(event, Refused) or event.type not in CHAIN_EVENTS:
                return []
            # The entry as the kiosk hashed it, not as a consumer cleans it for display:
            # the witness checks its shape and hash itself.
            return witness.event(where.community, where.kiosk, event.type, body["data"])
        if where.kind == "public":
            if not payload or len(payload) > MAX_PUBLIC:
                return []
            body = load_json(payload)
            if where.name == topics.PUBLIC_KEY:
                return witness.key(where.community, where.kiosk, body)
            if where.name == topics.PUBLIC_ALLOCATIONS:
                return witness.allocations(where.community, where.kiosk, body)
            chain = topics.chain_of_head(where.name)
            if chain is not None:
                return witness.head(where.community, where.kiosk, chain, body)
            if where.name in KEPT_PUBLICS:
                return witness.public(where.community, where.kiosk, where.name, body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        log.warning("unreadable message on %s", topic)
    return []


def keep(witness: Witness, topic: str, payload: bytes,
         stopping: threading.Event) -> list[Alarm] | None:
    """``handle``, tried again while witness.db refuses the message (locked, full,
    failing): the broker would redeliver it only after a reconnect, so it is acked only
    once kept. None: stopped before it was kept. A message the witness cannot handle is
    named and not taken again and again (a chain entry lost so is a gap at the next)."""
    delay = RETRY_MIN_S
    while True:
        try:
            return handle(witness, topic, payload)
        except (sqlite3.Error, StoreBusy, DiskFull):
            log.exception("could not keep a message of %s; trying again", topic)
            if stopping.wait(delay):
                return None
            delay = min(delay * 2, RETRY_MAX_S)
        except Exception:
            log.exception("a message of %s the witness could not handle", topic)
            return []


def for_witness(topic: str) -> bool:
    """A message a witness reads: a chain entry or a kiosk's public record."""
    where = topics.parse(topic)
    return where is not None and (where.kind == "public" or (
        where.kind == "event" and where.name in _CHAIN_SEGMENTS))


def alarm_message(alarm: Alarm, witness: str) -> tuple[str, str]:
    """(topic, payload) of an alarm as a witness publishes it, retained and QoS 1."""
    payload = json.dumps(alarm.to_json(witness, iso(utc_now())), ensure_ascii=False,
                         sort_keys=True)
    return topics.witness_alarm_topic(alarm.community, witness, alarm.kiosk, alarm.chain,
                                      alarm.kind), payload


_CHAIN_SEGMENTS = frozenset(topics.type_segment(t) for t in CHAIN_EVENTS)


class WitnessService:
    def __init__(self, witness: Witness, config: MqttConfig, name: str,
                 communities: list[str] | None = None, *, reconnect_min_s: float = 1.0):
        self.witness = witness
        self.name = name
        self.communities = list(communities or [topics.ANY])
        # Its own id, not its name: two witnesses of one name must not share a session.
        self.client_id = witness.client_id()
        client = make_client(config, self.client_id, clean_session=False, manual_ack=True)
        set_reconnect_delay(client, reconnect_min_s, config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self.config = config
        self._client = client
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.raised: list[Alarm] = []
        self.handled = 0
        self._stopping = threading.Event()
        self._ending = threading.Event()  # the legacy session being ended (once)
        self._sweeper = threading.Thread()
        self._swept_at = time.monotonic()
        self._ingest_since: float | None = None  # a message being kept, since when

    @property
    def turned_at(self) -> float:
        """When the witness last showed it was moving: the sweeper's last turn, or the
        start of the message being kept if that is older (a stuck ingest counts as not
        turning). ``kiosk witness`` pings the systemd watchdog only while this moves."""
        since = self._ingest_since
        return self._swept_at if since is None else min(since, self._swept_at)

    def subscriptions(self) -> list[str]:
        subs = []
        for c in self.communities:
            subs += [topics.event_of(c, t) for t in CHAIN_EVENTS]
            subs.append(topics.publics_of(c))
        return subs

    def start(self) -> None:
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self._client.loop_start()
        self._sweeper = threading.Thread(target=self._sweep, name="witness-sweep",
                                         daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._sweeper.is_alive():
            self._sweeper.join(5)
        self._client.disconnect()
        self._client.loop_stop()

    def _sweep(self) -> None:
        while not self._stopping.wait(SWEEP_S):
            self._swept_at = time.monotonic()
            try:
                self._publish(self.witness.sweep())
            except Exception:
                log.exception("the witness's sweep failed")

    def _publish(self, alarms: list[Alarm]) -> None:
        for alarm in alarms:
            log.error("ALARM %s", alarm)
            self._client.publish(*alarm_message(alarm, self.name), qos=1, retain=True)
        with self._lock:
            self.raised += alarms

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker refused the witness: %s", reason_code)
            return
        client.subscribe([(t, 1) for t in self.subscriptions()])
        self.connected.set()
        if self.witness.legacy_session_open() and not self._ending.is_set():
            self._ending.set()
            threading.Thread(target=self._end_legacy_session, name="witness-legacy",
                             daemon=True).start()

    def _end_legacy_session(self) -> None:
        """End the session this witness had under its name before it kept its own id: a
        clean connection under that id discards it (MQTT 3.1.1), else the broker would
        keep queuing every chain entry for it. A witness of the same name still running
        an older version is knocked off once, and reconnects."""
        legacy = LEGACY_CLIENT_ID.format(name=self.name)
        client = make_client(self.config, legacy, clean_session=True)
        ended = threading.Event()
        client.on_connect = lambda c, u, f, rc, p: (None if rc.is_failure else ended.set())
        try:
            client.connect(self.config.host, self.config.port, self.config.keepalive)
            client.loop_start()
            if ended.wait(10):
                self.witness.legacy_session_ended()
                log.info("ended the broker session %s of this witness before it kept "
                         "its own client id", legacy)
            else:
                log.warning("could not end the old broker session %s; trying again at "
                            "the next start", legacy)
        except Exception:
            log.exception("could not end the old broker session %s", legacy)
        finally:
            client.disconnect()
            client.loop_stop()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any) -> None:
        if any(getattr(rc, "is_failure", False) for rc in reason_codes):
            log.error("the broker refused the witness's subscriptions (check its ACL)")
            return
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        self._ingest_since = time.monotonic()
        try:
            kept = keep(self.witness, message.topic, bytes(message.payload), self._stopping)
        finally:
            self._ingest_since = None
        if kept is None:
            return  # stopping before witness.db took it: no ack, the broker keeps it
        alarms = kept
        self._publish(alarms)
        with self._lock:
            self.handled += 1
        if message.qos > 0:
            client.ack(message.mid, message.qos)
