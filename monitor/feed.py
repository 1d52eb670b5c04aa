"""The maintainers' monitor feed: every kiosk's status, state snapshots and events over MQTT.

A paho-mqtt client on its own network thread (``loop_start``) subscribes to the public
topics of one community (or ``+`` for all), checks each payload against the contract in
docs/mqtt.md and hands plain dataclass updates (``monitor/fleet.py``) to a callback. A
payload that breaks the contract becomes a ``Malformed`` update: counted, shown, never a
crash. Topics are taken apart by ``mqtt/topics.py``, events checked by ``mqtt/contract.py``:
the plan aggregator refuses exactly what the monitor refuses.

The private ``notify/…`` topics are never subscribed: pickup codes are none of the
monitor's business (``topics.public_of`` is exact, without ``#`` at the kiosk level).
"""

from __future__ import annotations

import logging
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from monitor.fleet import (
    BoardState,
    ConnectionChange,
    DeviceState,
    EventUpdate,
    LockerState,
    Malformed,
    StateUpdate,
    StatusUpdate,
    Update,
    UplinkState,
)
from mqtt import topics
from mqtt.connection import BrokerAddress, set_reconnect_delay
from mqtt.contract import (
    MAX_PAYLOAD,
    Refused,
    check_event_body,
    check_state,
    clean_text,
    load_json,
    valid_id,
)

log = logging.getLogger(__name__)


class FeedError(Exception):
    """The feed could not start: a one-line reason for the maintainer."""


class PayloadError(ValueError):
    pass


# --- payload checks -----------------------------------------------------------------------
# The shapes are checked once, in mqtt/contract.py (``check_state``), shared with the plan.


def parse_state(device: str, payload: bytes) -> DeviceState:
    state = check_state(device, payload)
    if isinstance(state, Refused):
        raise PayloadError(f"{state.reason}: {state.detail}" if state.detail else state.reason)
    board = topics.board_of(device)
    if board is not None:
        return BoardState(board, state["online"], state["errors"], state["last_error"])
    if device == topics.LOCKERS:
        return LockerState(state["free"], state["capacity"], tuple(state["doors_open"]),
                           tuple(state["out_of_service"]), tuple(state["faults"]),
                           state["last_seq"])
    if device == topics.UPLINK:
        return UplinkState(state["connected"], state["backlog"])
    return state


def parse_event(community: str, kiosk: str, type_: str, payload: bytes,
                retained: bool) -> EventUpdate:
    if len(payload) > MAX_PAYLOAD:
        raise PayloadError("payload too large")
    try:
        body = load_json(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"not JSON: {exc}") from None
    event = check_event_body(community, kiosk, type_, body)
    if isinstance(event, Refused):
        raise PayloadError(event.reason)
    return EventUpdate(community, kiosk, event.seq, event.id, event.ts, event.type,
                       event.data, retained)


def parse_message(topic: str, payload: bytes, retained: bool = False) -> Update:
    """One MQTT message as an update; anything off-contract becomes ``Malformed``. A
    ``Malformed`` names its kiosk only if the ids pass the contract's rules, so made-up
    ids are counted, never tracked."""
    shown = clean_text(topic, 200)
    where = topics.parse(topic)
    if where is None or where.kind == "notify":  # notify: private, never the monitor's
        owner = topics.kiosk_of(topic)
        if owner is None or not (valid_id(owner[0]) and valid_id(owner[1])):
            return Malformed(shown, "not a kiosk topic")
        return Malformed(shown, "not a topic of the contract", *owner)
    community, kiosk, kind, name = where.community, where.kiosk, where.kind, where.name
    if not (valid_id(community) and valid_id(kiosk)):
        return Malformed(shown, "community or kiosk id outside [a-z0-9_-]")
    try:
        if kind == "status":
            if not payload:
                return StatusUpdate(community, kiosk, None, retained)
            if payload not in (b"online", b"offline"):
                raise PayloadError(f"status must be online or offline, got {payload[:40]!r}")
            return StatusUpdate(community, kiosk, payload == b"online", retained)
        if kind == "state":
            state = parse_state(name, payload) if payload else None
            return StateUpdate(community, kiosk, name, state, retained)
        return parse_event(community, kiosk, name, payload, retained)  # kind == "event"
    except PayloadError as exc:
        return Malformed(shown, clean_text(str(exc), 200), community, kiosk)


# --- the client ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedOptions:
    broker: BrokerAddress
    community: str = "+"
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30
    # paho's default back-off grows to 120 s; a monitor should see a broker back sooner.
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 15.0


class MonitorFeed:
    """The subscriber. ``on_update`` runs on paho's network thread: keep it short."""

    def __init__(self, options: FeedOptions, on_update: Callable[[Update], None]):
        self.options = options
        self.on_update = on_update
        self.topics = topics.public_of(options.community)
        self.subscribed: list[str] = []  # filters sent in SUBSCRIBE packets, for the record
        self.received = 0
        self.malformed = 0
        self.connects = 0
        self._connack = threading.Event()
        self._refused: str | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"kiosk-monitor-{uuid.uuid4().hex[:12]}",
                                  clean_session=True)
        set_reconnect_delay(self.client, options.reconnect_min_s, options.reconnect_max_s)
        if options.username is not None:
            self.client.username_pw_set(options.username, options.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect and subscribe; raise ``FeedError`` with a one-line reason if it fails.
        Once started, a lost connection is retried in the background."""
        broker = self.options.broker
        if self.options.tls:
            try:
                self.client.tls_set(ca_certs=self.options.ca_file)
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise FeedError(f"cannot use the CA file {self.options.ca_file}: {exc}") from None
        try:
            self.client.connect(broker.host, broker.port, self.options.keepalive_s)
        except (OSError, ssl.SSLError) as exc:
            raise FeedError(f"cannot connect to the broker {broker}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
        self.client.loop_start()
        if not self._connack.wait(timeout_s):
            self.stop()
            hint = "" if self.options.tls else " (does it want --tls?)"
            raise FeedError(f"the broker {broker} did not answer within {timeout_s:g} s{hint}")
        if self._refused is not None:
            self.stop()
            raise FeedError(f"the broker {broker} refused the connection: {self._refused}")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            self._connack.set()
            self._deliver(ConnectionChange(False, str(reason)))
            return
        self.connects += 1
        # Subscribing here (not once after connect) renews the subscriptions after every
        # reconnect: the session is clean, the broker forgets them.
        client.subscribe([(topic, 1) for topic in self.topics])
        self.subscribed.extend(self.topics)
        self._connack.set()
        self._deliver(ConnectionChange(True, ""))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        self._deliver(ConnectionChange(False, str(reason)))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        try:
            # paho may hand a bytearray; bytes() of bytes is the same object, no copy.
            update = parse_message(message.topic, bytes(message.payload), bool(message.retain))
        except Exception as exc:  # a parser bug must not stop the network thread
            log.exception("cannot parse a message")
            update = Malformed(repr(message._topic)[:200], f"parser failed: {exc}")
        if isinstance(update, Malformed):
            self.malformed += 1
        self._deliver(update)

    def _deliver(self, update: Update) -> None:
        try:
            self.on_update(update)
        except Exception:
            log.exception("the monitor's update callback failed")
