"""Home Assistant MQTT discovery: a maintainer's Home Assistant shows the kiosk's health
(boards online, doors open, free compartments per size, uplink backlog, faults) without
hand-written YAML.

Every entity reads a retained snapshot on ``…/state/{device}`` (shapes in docs/mqtt.md:
the core's ``HealthMonitor.snapshot()`` and the publisher's uplink) and uses ``…/status``
for availability, so the kiosk's last will greys them out.
"""

from __future__ import annotations

import json
from typing import Any

from kiosk.config import Config
from mqtt import topics
from mqtt.publisher import OFFLINE, ONLINE, Publisher

MANUFACTURER = "community kiosk"
MODEL = "parcel locker kiosk"


def node_id(community: str, kiosk: str) -> str:
    # Discovery ids allow [a-zA-Z0-9_-]; our ids are lowercase letters, digits, '-', '_'.
    return f"{community}_{kiosk}"


def discovery_messages(config: Config, sw_version: str = "") -> list[tuple[str, str]]:
    """(topic, JSON payload) of every discovery config, to be published retained."""
    c, k = config.community_id, config.kiosk_id
    node = node_id(c, k)
    device: dict[str, Any] = {
        "identifiers": [f"kiosk-{node}"],
        "name": f"Kiosk {k} ({c})",
        "manufacturer": MANUFACTURER,
        "model": MODEL,
    }
    if sw_version:
        device["sw_version"] = sw_version
    common = {
        "availability_topic": topics.status_topic(c, k),
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "device": device,
        "origin": {"name": "community-kiosk", **({"sw": sw_version} if sw_version else {})},
    }
    out: list[tuple[str, str]] = []

    def add(component: str, object_id: str, device_name: str, entity: dict[str, Any]) -> None:
        payload = {**entity, **common, "unique_id": f"{node}_{object_id}",
                   "state_topic": topics.state_topic(c, k, device_name)}
        out.append((topics.discovery_topic(component, node, object_id),
                    json.dumps(payload, sort_keys=True)))

    for board in config.board_addresses():
        dev = topics.board_device(board)
        add("binary_sensor", f"board_{board}_online", dev, {
            "name": f"Board {board} online", "device_class": "connectivity",
            "entity_category": "diagnostic",
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}"})
        add("sensor", f"board_{board}_errors", dev, {
            "name": f"Board {board} bus errors", "icon": "mdi:lan-disconnect",
            "entity_category": "diagnostic", "state_class": "total_increasing",
            "value_template": "{{ value_json.errors }}"})
    sizes = sorted({size for _, _, size in config.compartment_list()})
    for size in sizes:
        add("sensor", f"free_{size.lower()}", topics.LOCKERS, {
            "name": f"Free compartments {size}", "icon": "mdi:locker-multiple",
            "state_class": "measurement", "unit_of_measurement": "compartments",
            "value_template": f"{{{{ value_json.free.{size} }}}}"})
    add("sensor", "doors_open", topics.LOCKERS, {
        "name": "Doors open", "icon": "mdi:door-open", "state_class": "measurement",
        "value_template": "{{ value_json.doors_open | length }}"})
    add("sensor", "out_of_service", topics.LOCKERS, {
        "name": "Compartments out of service", "icon": "mdi:wrench",
        "state_class": "measurement",
        "value_template": "{{ value_json.out_of_service | length }}"})
    # The snapshot's lists (which faults, which doors) become the entity's attributes.
    add("sensor", "faults", topics.LOCKERS, {
        "name": "Open faults", "icon": "mdi:alert", "state_class": "measurement",
        "value_template": "{{ value_json.faults | length }}",
        "json_attributes_topic": topics.state_topic(c, k, topics.LOCKERS)})
    add("binary_sensor", "problem", topics.LOCKERS, {
        "name": "Needs a maintainer", "device_class": "problem",
        "value_template": "{{ 'ON' if value_json.faults | length > 0 else 'OFF' }}"})
    add("sensor", "uplink_backlog", topics.UPLINK, {
        "name": "Uplink backlog", "icon": "mdi:tray-full", "state_class": "measurement",
        "unit_of_measurement": "events", "entity_category": "diagnostic",
        "value_template": "{{ value_json.backlog }}"})
    return out


def announce(publisher: Publisher, config: Config, sw_version: str = "") -> None:
    """Hand every discovery config to the publisher, which keeps them retained on the broker
    and re-sends them after every connect."""
    for topic, payload in discovery_messages(config, sw_version):
        publisher.set_retained(topic, payload)
