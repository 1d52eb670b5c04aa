"""The maintainers' monitor feed: every kiosk's status, state snapshots and events over MQTT.

A paho-mqtt client on its own network thread (``loop_start``) subscribes to the public
topics of one community (or ``+`` for all), checks each payload against the contract in
docs/mqtt.md and hands plain dataclass updates (``kiosk.fleet``) to a callback. A payload
that breaks the contract becomes a ``Malformed`` update: counted, shown, never a crash.

The private ``notify/…`` topics are never subscribed: pickup codes are none of the
monitor's business (the filters below are exact, without ``#`` at the kiosk level).
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.fleet import (
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
from mqtt.contract import MAX_PAYLOAD, Refused, check_event_body, load_json

log = logging.getLogger(__name__)

ROOT = "community"
_BAD_LEVEL = re.compile(r"[/+#\x00]")
_BOARD_DEVICE = re.compile(r"board-(\d{1,4})")


class FeedError(Exception):
    """The feed could not start: a one-line reason for the maintainer."""


class PayloadError(ValueError):
    pass


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_broker(text: str) -> BrokerAddress:
    """``HOST:PORT``, ``[v6addr]:PORT`` or ``HOST`` (port 1883)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad broker address {text!r}: expected [ADDRESS]:PORT")
        port_text = rest[1:] if rest else "1883"
    elif text.count(":") > 1:
        raise ValueError(f"bad broker address {text!r}: write an IPv6 address as [ADDRESS]:PORT")
    else:
        host, _, port_text = text.partition(":")
        port_text = port_text if ":" in text else "1883"
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"bad broker address {text!r}: expected HOST:PORT")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"bad broker address {text!r}: the port must be a number 1-65535")
    return BrokerAddress(host, int(port_text))


def check_community(community: str) -> str:
    if community != "+" and (not community or _BAD_LEVEL.search(community)):
        raise ValueError(f"bad community id {community!r}: give one topic level, or + for all")
    return community


def subscriptions_for(community: str) -> list[str]:
    base = f"{ROOT}/{check_community(community)}/kiosk/+"
    return [f"{base}/status", f"{base}/state/#", f"{base}/event/#"]


# --- payload checks -----------------------------------------------------------------------


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        value = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PayloadError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PayloadError("not a JSON object")
    return value


def _int(obj: dict[str, Any], key: str, minimum: int = 0) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise PayloadError(f"{key}: expected a whole number >= {minimum}, got {value!r}")
    return value


def _bool(obj: dict[str, Any], key: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise PayloadError(f"{key}: expected true or false, got {value!r}")
    return value


def _str(obj: dict[str, Any], key: str, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not value and not optional):
        raise PayloadError(f"{key}: expected text, got {value!r}")
    return value


def _str_list(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise PayloadError(f"{key}: expected a list of names, got {value!r}")
    return tuple(str(v) for v in value)


def _counts(obj: dict[str, Any], key: str) -> dict[str, int]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{key}: expected an object of counts, got {value!r}")
    for size, n in value.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise PayloadError(f"{key}.{size}: expected a count, got {n!r}")
    return dict(value)


def parse_state(device: str, payload: bytes) -> DeviceState:
    obj = _json_object(payload)
    board = _BOARD_DEVICE.fullmatch(device)
    if board:
        return BoardState(int(board.group(1)), _bool(obj, "online"), _int(obj, "errors"),
                          _str(obj, "last_error", optional=True))
    if device == "lockers":
        return LockerState(_counts(obj, "free"), _counts(obj, "capacity"),
                           _str_list(obj, "doors_open"), _str_list(obj, "out_of_service"),
                           _str_list(obj, "faults"))
    if device == "uplink":
        return UplinkState(_bool(obj, "connected"), _int(obj, "backlog"))
    return obj


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
    """One MQTT message as an update; anything off-contract becomes ``Malformed``."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != ROOT or parts[2] != "kiosk" or not parts[1] \
            or not parts[3]:
        return Malformed(topic, "not a kiosk topic")
    community, kiosk, kind, rest = parts[1], parts[3], parts[4], parts[5:]
    try:
        if kind == "status" and not rest:
            if not payload:
                return StatusUpdate(community, kiosk, None, retained)
            if payload not in (b"online", b"offline"):
                raise PayloadError(f"status must be online or offline, got {payload[:40]!r}")
            return StatusUpdate(community, kiosk, payload == b"online", retained)
        if kind == "state" and len(rest) == 1 and rest[0]:
            state = parse_state(rest[0], payload) if payload else None
            return StateUpdate(community, kiosk, rest[0], state, retained)
        if kind == "event" and len(rest) == 1 and rest[0]:
            return parse_event(community, kiosk, rest[0], payload, retained)
    except PayloadError as exc:
        return Malformed(topic, str(exc)[:200], community, kiosk)
    return Malformed(topic, "not a topic of the contract", community, kiosk)


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
        self.topics = subscriptions_for(options.community)
        self.subscribed: list[str] = []  # filters sent in SUBSCRIBE packets, for the record
        self.received = 0
        self.malformed = 0
        self.connects = 0
        self._connack = threading.Event()
        self._refused: str | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"kiosk-monitor-{uuid.uuid4().hex[:12]}",
                                  clean_session=True)
        self.client.reconnect_delay_set(options.reconnect_min_s, options.reconnect_max_s)
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
            update = parse_message(message.topic, message.payload, bool(message.retain))
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
