"""Home Assistant MQTT discovery: a maintainer's Home Assistant shows the kiosk's health
(boards, doors and occupancy per compartment, free compartments per size, parking per
spot type, tamper, the uplink, faults as events) without hand-written YAML, and the
community plan's indicators as a device of their own.

Entities read the retained snapshots on ``…/state/{device}`` (shapes in docs/mqtt.md:
the core's ``HealthMonitor.snapshot()``, the parking register's spot summary and the
publisher's uplink), the kiosk's events, or the bridge's ``…/bridge`` notification, and
use ``…/status`` for availability, so the kiosk's last will greys them out.

Ids. Home Assistant allows ``[a-zA-Z0-9_-]`` in a node id; ours are lowercase
(``kiosk/config.py``), so a capital letter can separate them without ambiguity:
``{community}_K_{kiosk}`` for a kiosk, ``{community}_P`` for a community's plan. Unique
ids add ``_O_{object}``. Device identifiers use ``:``, which no id contains.

One config a topic (``homeassistant/{component}/{node}/{object}/config``), the form every
Home Assistant since 2023.8 reads; the configs are checked in tests/ha_schema.py against
the rules of Home Assistant's own discovery schemas.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kiosk import __version__
from kiosk.config import Config
from kiosk.lockers.model import compartment_label
from mqtt import topics
from mqtt.publisher import OFFLINE, ONLINE

ORIGIN = "community-kiosk"
MANUFACTURER = "community kiosk"
MODEL = "parcel locker kiosk"
BOARD_MODEL = "lock-control board"
PLAN_MODEL = "community plan aggregator"

# The kiosk's events that are faults and their ends: Home Assistant's "Faults" event
# entity fires on these (it ignores the kiosk's other events).
FAULT_EVENTS = (
    "board.offline", "board.online", "board.polarity_suspect", "board.polarity_cleared",
    "door.jammed", "door.not_opened", "door.left_open", "door.shut", "door.tamper",
    "door.tamper_cleared", "sensor.mismatch", "sensor.mismatch_cleared", "cabinet.tamper",
    "kiosk.disk_full", "kiosk.disk_ok", "kiosk.worker_failed", "kiosk.worker_recovered",
)

# The status is the JSON ``{"state": "online", "version": …}`` while connected and the
# plain ``offline`` of the last will (mqtt/publisher.py, ``online_status``).
STATUS_TEMPLATE = "{{ value_json.state if value_json is defined else value }}"

_PLAIN_TYPE = re.compile(r"^[a-z0-9]{1,40}$")


def kiosk_node(community: str, kiosk: str) -> str:
    return f"{community}_K_{kiosk}"


def plan_node(community: str) -> str:
    return f"{community}_P"


def legacy_node(community: str, kiosk: str) -> str:
    """The node id of kiosks before 0.1: ambiguous, as both ids may hold ``_``."""
    return f"{community}_{kiosk}"


def kiosk_identifier(community: str, kiosk: str) -> str:
    return f"{ORIGIN}:{community}:{kiosk}"


def board_identifier(community: str, kiosk: str, board: int) -> str:
    return f"{ORIGIN}:{community}:{kiosk}:board-{board}"


def plan_identifier(community: str) -> str:
    return f"{ORIGIN}:{community}:plan"


def parking_object(spot_type: str) -> str:
    """An object id for a parking spot type (any text, as imported): plain lowercase
    names as they are, anything else hex-encoded behind ``x_`` (plain names have no
    ``_``, so the two never meet; a hex string has no ``h``)."""
    if _PLAIN_TYPE.match(spot_type):
        return f"parking_{spot_type}"
    encoded = spot_type.encode("utf-8").hex()
    if len(encoded) > 160:  # a topic level stays short; a digest is as unambiguous
        encoded = "h" + hashlib.sha256(spot_type.encode("utf-8")).hexdigest()[:40]
    return f"parking_x_{encoded}"


def origin(sw_version: str, support_url: str = "") -> dict[str, str]:
    out = {"name": ORIGIN, "sw_version": sw_version}
    if support_url:
        out["support_url"] = support_url
    return out


def _jinja_literal(value: str) -> str:
    # A JSON string is a valid Jinja string literal (Jinja reads \\uXXXX escapes too).
    return json.dumps(value)


@dataclass
class _Builder:
    node: str
    origin: dict[str, str]
    out: list[tuple[str, str]]

    def add(self, component: str, object_id: str, device: dict[str, Any],
            entity: dict[str, Any], *, available: list[dict[str, str]] | None) -> None:
        payload = {**entity, "device": device, "origin": self.origin,
                   "unique_id": f"{self.node}_O_{object_id}"}
        if available:
            payload["availability"] = available
        self.out.append((topics.discovery_topic(component, self.node, object_id),
                         json.dumps(payload, sort_keys=True, ensure_ascii=False)))


def discovery_messages(config: Config, sw_version: str = __version__,
                       parking_types: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(topic, JSON payload) of every discovery config of this kiosk, to be published
    retained. ``parking_types``: the spot types the parking register has (imported at
    run time, so not in the config)."""
    c, k = config.community_id, config.kiosk_id
    node = kiosk_node(c, k)
    kiosk_id = kiosk_identifier(c, k)
    support = config.mqtt.support_url
    kiosk_device: dict[str, Any] = {
        "identifiers": [kiosk_id], "name": f"Kiosk {k} ({c})",
        "manufacturer": MANUFACTURER, "model": MODEL, "sw_version": sw_version}
    if support:
        kiosk_device["configuration_url"] = support
    available = [{"topic": topics.status_topic(c, k), "value_template": STATUS_TEMPLATE,
                  "payload_available": ONLINE, "payload_not_available": OFFLINE}]
    b = _Builder(node, origin(sw_version, support), [])
    lockers = topics.state_topic(c, k, topics.LOCKERS)

    def kiosk_entity(component: str, object_id: str, entity: dict[str, Any],
                     state: str = lockers) -> None:
        b.add(component, object_id, kiosk_device, {**entity, "state_topic": state},
              available=available)

    by_board: dict[int, list[str]] = {}
    for board, lock, _size in config.compartment_list():
        by_board.setdefault(board, []).append(compartment_label(board, lock))
    for board in config.board_addresses():
        letter = compartment_label(board, 1)[0]
        device = {"identifiers": [board_identifier(c, k, board)],
                  "name": f"Kiosk {k} board {letter} (address {board})",
                  "manufacturer": MANUFACTURER, "model": BOARD_MODEL,
                  "via_device": kiosk_id}
        state = topics.state_topic(c, k, topics.board_device(board))
        b.add("binary_sensor", f"board_{board}_online", device, {
            "name": "Online", "device_class": "connectivity", "entity_category": "diagnostic",
            "state_topic": state,
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}"},
            available=available)
        b.add("sensor", f"board_{board}_errors", device, {
            "name": "Bus errors", "icon": "mdi:lan-disconnect",
            "entity_category": "diagnostic", "state_class": "total_increasing",
            "state_topic": state, "value_template": "{{ value_json.errors }}"},
            available=available)
        for label in by_board.get(board, []):
            lit = _jinja_literal(label)
            b.add("binary_sensor", f"door_{label.lower()}", device, {
                "name": f"Door {label}", "device_class": "door", "state_topic": lockers,
                "value_template": f"{{{{ 'ON' if {lit} in value_json.doors_open else 'OFF' }}}}"},
                available=available)
            b.add("binary_sensor", f"occupied_{label.lower()}", device, {
                "name": f"Parcel in {label}", "device_class": "occupancy",
                "state_topic": lockers,
                "value_template": f"{{{{ 'ON' if {lit} in value_json.occupied else 'OFF' }}}}"},
                available=available)

    for size in sorted({size for _, _, size in config.compartment_list()}):
        kiosk_entity("sensor", f"free_{size.lower()}", {
            "name": f"Free compartments {size}", "icon": "mdi:locker-multiple",
            "state_class": "measurement", "unit_of_measurement": "compartments",
            "value_template": f"{{{{ value_json.free.{size} }}}}"})
    kiosk_entity("sensor", "doors_open", {
        "name": "Doors open", "icon": "mdi:door-open", "state_class": "measurement",
        "value_template": "{{ value_json.doors_open | length }}"})
    kiosk_entity("sensor", "out_of_service", {
        "name": "Compartments out of service", "icon": "mdi:wrench",
        "state_class": "measurement",
        "value_template": "{{ value_json.out_of_service | length }}"})
    # The snapshot's lists (which faults, which doors) become the entity's attributes.
    kiosk_entity("sensor", "faults", {
        "name": "Open faults", "icon": "mdi:alert", "state_class": "measurement",
        "value_template": "{{ value_json.faults | length }}",
        "json_attributes_topic": lockers})
    kiosk_entity("binary_sensor", "problem", {
        "name": "Needs a maintainer", "device_class": "problem",
        "value_template": "{{ 'ON' if value_json.faults | length > 0 else 'OFF' }}"})
    kiosk_entity("binary_sensor", "tamper", {
        "name": "Cabinet tamper switch", "device_class": "tamper",
        "value_template": "{{ 'ON' if value_json.tamper else 'OFF' }}"})
    kiosk_entity("sensor", "last_event", {
        "name": "Last event", "device_class": "timestamp",
        "value_template": "{{ value_json.last_event }}"})
    kiosk_entity("sensor", "uplink_backlog", {
        "name": "Uplink backlog", "icon": "mdi:tray-full", "state_class": "measurement",
        "unit_of_measurement": "events", "entity_category": "diagnostic",
        "value_template": "{{ value_json.backlog }}"}, topics.state_topic(c, k, topics.UPLINK))
    fault_list = json.dumps(list(FAULT_EVENTS))
    kiosk_entity("event", "fault", {
        "name": "Faults", "icon": "mdi:alert-circle", "event_types": list(FAULT_EVENTS),
        "value_template": (
            f"{{% if value_json.type in {fault_list} %}}"
            "{{ dict(value_json.data, event_type=value_json.type) | tojson }}{% endif %}")},
        topics.events_of_kiosk(c, k))
    # The bridge's own word, not the kiosk's status: while the Pi is cut off, the
    # community's broker still holds the kiosk's last "online", and this says 0.
    b.add("binary_sensor", "uplink", kiosk_device, {
        "name": "Uplink to the community", "device_class": "connectivity",
        "entity_category": "diagnostic", "state_topic": topics.bridge_topic(c, k),
        "payload_on": "1", "payload_off": "0"}, available=None)

    parking = topics.state_topic(c, k, topics.PARKING)
    for spot_type in sorted(set(parking_types)):
        obj, lit = parking_object(spot_type), _jinja_literal(spot_type)
        for key, label in (("occupied", "occupied"), ("in_service", "in service")):
            kiosk_entity("sensor", f"{obj}_{key}", {
                "name": f"Parking {spot_type}: {label}", "icon": "mdi:parking",
                "state_class": "measurement", "unit_of_measurement": "spots",
                "value_template": f"{{{{ value_json.get({lit}, {{}}).get('{key}', 0) }}}}"},
                parking)
    return b.out


# -- the community plan ---------------------------------------------------------------------

# (object, name, template on the indicator's envelope, unit, diagnostic)
_PLAN_ENTITIES = (
    ("parcels_total", "Parcels delivered", "parcels_per_day",
     "{{ value_json.value.total }}", "parcels", False),
    ("wait_median", "Median wait for pickup", "wait_time",
     "{{ value_json.value.median_h | default('None') }}", "h", False),
    ("unmet_demand", "Refused for want of a compartment", "unmet_demand",
     "{{ value_json.value.total }}", "parcels", False),
    ("outages", "Compartments lost to outages", "outages",
     "{{ value_json.value.total }}", "outages", False),
    ("wrong_codes", "Wrong pickup codes", "security",
     "{{ value_json.value.wrong_codes }}", "attempts", False),
    ("tampers", "Tamper alarms", "security", "{{ value_json.value.tampers }}", "alarms",
     False),
    ("parking_refused", "Parking requests refused", "parking",
     "{{ value_json.value.refused }}", "requests", False),
    ("events_missing", "Events missing", "gaps", "{{ value_json.value.missing }}", "events",
     True),
    ("events_received", "Events received", "intake", "{{ value_json.value.events }}",
     "events", True),
)


def plan_messages(community: str, sw_version: str = __version__,
                  support_url: str = "") -> list[tuple[str, str]]:
    """Discovery configs of one community's plan: a device of its own, its sensors read
    the retained indicators ``community/{id}/plan/{indicator}`` that ``kiosk plan``
    publishes (published by it, tests/test_mqtt_plan.py)."""
    device = {"identifiers": [plan_identifier(community)],
              "name": f"Community plan ({community})", "manufacturer": MANUFACTURER,
              "model": PLAN_MODEL, "sw_version": sw_version}
    b = _Builder(plan_node(community), origin(sw_version, support_url), [])
    for obj, name, indicator, template, unit, diagnostic in _PLAN_ENTITIES:
        entity: dict[str, Any] = {
            "name": name, "state_topic": topics.plan_topic(community, indicator),
            "value_template": template, "unit_of_measurement": unit,
            "state_class": "measurement", "icon": "mdi:chart-box-outline",
            "json_attributes_topic": topics.plan_topic(community, indicator),
            "json_attributes_template": "{{ value_json.value | tojson }}"}
        if diagnostic:
            entity["entity_category"] = "diagnostic"
        b.add("sensor", obj, device, entity, available=None)
    return b.out
