"""``kiosk plan``: the community plan's aggregator, a long-running MQTT consumer.

It subscribes to every kiosk's events (of one community, several, or all) with a
persistent session, so the broker keeps what arrives while the aggregator is away. Each
message is acknowledged only after it is committed to plan.db (paho's manual ack):
a crash between the two means a redelivery, which the (community, kiosk, seq) key
absorbs. The indicators' aggregates are updated in the transaction that stores each
event (``plan/indicators.py``), so publishing them reads only those, however long the
history; they are published retained under ``community/{id}/plan/{indicator}``.

It can hold a witness (``witness/core.py``) of its own: fed every chain entry it receives
and every kiosk's retained public record (key, signed heads, allocations), it raises its
alarms as ``kiosk witness`` does (retained, QoS 1, under its name, "plan") and keeps them
with the other witnesses' for the public page. A message is acked only once both plan.db
and the witness hold it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from kiosk.config import MqttConfig
from mqtt import discovery, topics
from mqtt.connection import make_client, set_reconnect_delay
from plan import indicators
from plan.store import STATE_DEVICES, IngestResult, PlanStore
from witness.core import Alarm, Witness
from witness.service import SWEEP_S, alarm_message, for_witness, keep

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Incoming:
    topic: str
    payload: bytes
    mid: int
    qos: int
    session: int


class PlanAggregator:
    def __init__(self, store: PlanStore, config: MqttConfig, communities: list[str] | None = None,
                 *, interval_s: float = 60.0, client_id: str | None = None,
                 reconnect_min_s: float = 1.0, batch: int = 500,
                 witness: Witness | None = None, witness_name: str = "plan"):
        self.store = store
        self.witness = witness
        self.witness_name = witness_name
        # The alarms its own witness raised (new ones only), this run.
        self.raised: list[Alarm] = []
        self._swept_at = time.monotonic()
        self.config = config
        self.communities = list(communities or [])
        self.interval_s = interval_s
        self.batch = batch
        self.client_id = client_id or store.client_id()
        client = make_client(config, self.client_id, clean_session=False, manual_ack=True)
        set_reconnect_delay(client, reconnect_min_s, config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        # From here the broker keeps what arrives for this aggregator's session.
        self.subscribed = threading.Event()
        self._client = client
        self._inbox: queue.Queue[_Incoming] = queue.Queue()
        self._lock = threading.Lock()
        self._session = 0
        self._connected = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._dirty = True
        # Communities whose Home Assistant discovery went out, once a run: a broker whose
        # ACL predates it refuses it (and drops the connection) once, not at every connect.
        self._announced: set[str] = set()
        self.totals = IngestResult()
        self.published_at = 0.0
        # Monotonic time of the aggregator thread's latest turn: `kiosk plan` pings the
        # systemd watchdog only while it keeps turning (kiosk/cli/plan.py).
        self.turned_at = time.monotonic()
        self.last_error = ""

    def subscriptions(self) -> list[str]:
        subs = []
        for c in self.communities or [topics.ANY]:
            subs.append(topics.events_of(c))
            subs.extend(topics.states_of(c, d) for d in STATE_DEVICES)
            # The witnesses' alarms (witness/service.py), for the public page.
            subs.append(topics.witness_alarms_of(c))
            if self.witness is not None:
                # Its own witness reads the kiosks' keys, signed heads and allocations.
                subs.append(topics.publics_of(c))
        return subs

    def start(self) -> None:
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="plan-aggregator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    # -- paho's thread --------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            return
        with self._lock:
            self._connected = True
            self._session += 1
        self.last_error = ""
        # The broker keeps our subscriptions in the persistent session; subscribing again
        # is harmless and covers a broker that lost its state.
        client.subscribe([(t, 1) for t in self.subscriptions()])
        self._dirty = True

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any) -> None:
        if any(getattr(rc, "is_failure", False) for rc in reason_codes):
            self.last_error = "the broker refused a subscription (check its ACL)"
            log.error("the broker refused the plan's subscriptions (check its ACL)")
            return
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        with self._lock:
            if self._connected:
                self._session += 1
            self._connected = False

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = ""  # counted as a bad topic
        with self._lock:
            session = self._session
        self._inbox.put(_Incoming(topic, bytes(message.payload), message.mid, message.qos,
                                  session))

    # -- the aggregator's thread ----------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.turned_at = time.monotonic()
            batch = self._take()
            if batch:
                self._ingest(batch)
            if self.witness is not None and time.monotonic() - self._swept_at >= SWEEP_S:
                # A head still shorter than the chain held once the grace has passed.
                self._swept_at = time.monotonic()
                try:
                    self._raise(self.witness.sweep())
                except Exception:
                    log.exception("the plan's witness's sweep failed")
            if time.monotonic() - self.published_at >= self.interval_s and self.connected:
                try:
                    self.publish_indicators()
                except Exception:
                    log.exception("could not publish the indicators")
        batch = self._take(wait=False)
        if batch:
            self._ingest(batch)

    def _take(self, wait: bool = True) -> list[_Incoming]:
        items: list[_Incoming] = []
        try:
            items.append(self._inbox.get(timeout=0.2) if wait else self._inbox.get_nowait())
        except queue.Empty:
            return items
        while len(items) < self.batch:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return items

    def _ingest(self, batch: list[_Incoming]) -> None:
        # The kiosks' public record is for the witness only: the plan keeps events,
        # snapshots and alarms.
        for_plan = [m for m in batch if self.witness is None or not _public(m.topic)]
        try:
            result = (self.store.ingest((m.topic, m.payload) for m in for_plan)
                      if for_plan else IngestResult())
        except Exception as exc:
            # The database is unwell (disk full?): ack nothing, the broker will redeliver.
            log.exception("could not store a batch")
            self.last_error = f"plan.db: {exc}"
            time.sleep(1)
            return
        self.totals.stored += result.stored
        self.totals.duplicates += result.duplicates
        for reason, n in result.refused.items():
            self.totals.refused[reason] = self.totals.refused.get(reason, 0) + n
            log.warning("refused %d message(s): %s", n, reason)
        if result.stored or result.held or result.states or result.alarms:
            self._dirty = True
        if self.witness is not None and not self._witness_takes(batch):
            return  # stopping before the witness held it: not acked, the broker keeps it
        with self._lock:
            session = self._session
        for m in batch:
            # Only on the connection it came by; an older one's message is redelivered
            # by the broker, and the dedupe key takes it in again.
            if m.qos > 0 and m.session == session:
                self._client.ack(m.mid, m.qos)

    def _witness_takes(self, batch: list[_Incoming]) -> bool:
        """The witness takes the chain entries and public items of a batch, in order;
        False if stopped before it held them all."""
        assert self.witness is not None
        alarms: list[Alarm] = []
        try:
            for m in batch:
                if not for_witness(m.topic):
                    continue
                kept = keep(self.witness, m.topic, m.payload, self._stopping)
                if kept is None:
                    return False
                alarms += kept
        finally:
            self._raise(alarms)
        return True

    def _raise(self, alarms: list[Alarm]) -> None:
        """Its witness's new alarms: kept in plan.db as any witness's are (the same
        checks; the copy the broker hands back is a duplicate), and published."""
        if not alarms:
            return
        messages = [alarm_message(a, self.witness_name) for a in alarms]
        for alarm in alarms:
            log.error("ALARM %s", alarm)
        try:
            self.store.ingest((topic, payload.encode()) for topic, payload in messages)
        except Exception:
            # Published all the same: the copy the broker hands back is kept then.
            log.exception("could not keep the witness's alarms in the plan")
        for topic, payload in messages:
            self._client.publish(topic, payload, qos=1, retain=True)
        self.raised += alarms
        self._dirty = True

    def publish_indicators(self) -> int:
        """Compute and publish every indicator of every community; returns messages sent."""
        self.published_at = time.monotonic()
        if not self._dirty:
            return 0
        self._dirty = False
        sent = 0
        for community in self.communities or self.store.communities():
            if community not in self._announced:
                # Home Assistant's device for the plan (mqtt/discovery.py, plan_messages).
                for topic, config in discovery.plan_messages(community):
                    self._client.publish(topic, config, qos=1, retain=True)
                self._announced.add(community)
            values = indicators.compute(self.store, community)
            for name, value in values.items():
                payload = json.dumps(indicators.envelope(community, name, value),
                                     ensure_ascii=False, sort_keys=True)
                self._client.publish(topics.plan_topic(community, name), payload, qos=1,
                                     retain=True)
                sent += 1
            gaps = values["gaps"]
            if gaps["missing"] or gaps["behind"]:
                log.warning("community %s: %d event(s) missing, %d not yet received",
                            community, gaps["missing"], gaps["behind"])
        return sent


def _public(topic: str) -> bool:
    where = topics.parse(topic)
    return where is not None and where.kind == "public"
