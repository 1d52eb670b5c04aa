"""The rules Home Assistant applies to an MQTT discovery config, for the components the
kiosk uses: binary_sensor, sensor, event.

Home Assistant itself (Python ≥ 3.13, hundreds of packages) does not install beside the
kiosk, so these checks are written from its source: homeassistant/components/mqtt/
the topic matcher in ``discovery.py``, ``schemas.py`` (device, origin, availability, the
common entity options), the read-only entities' schema, ``binary_sensor.py``,
``sensor.py`` (with its state class / device class rules) and ``event.py``, as in Home
Assistant 2024.3 to 2025.x. Where Home Assistant silently drops an unknown key, this
refuses it: a misspelt option would otherwise do nothing without a word.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jinja2

TOPIC = re.compile(r"homeassistant/(?P<component>\w+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?"
                   r"(?P<object>[a-zA-Z0-9_-]+)/config")

BINARY_SENSOR_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
    "occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety",
    "smoke", "sound", "tamper", "update", "vibration", "window"}
SENSOR_NON_NUMERIC = {"date", "enum", "timestamp"}
SENSOR_CLASSES = SENSOR_NON_NUMERIC | {
    "apparent_power", "aqi", "atmospheric_pressure", "battery", "carbon_dioxide",
    "carbon_monoxide", "current", "data_rate", "data_size", "distance", "duration",
    "energy", "energy_storage", "frequency", "gas", "humidity", "illuminance", "irradiance",
    "moisture", "monetary", "nitrogen_dioxide", "nitrogen_monoxide", "nitrous_oxide",
    "ozone", "ph", "pm1", "pm10", "pm25", "power", "power_factor", "precipitation",
    "precipitation_intensity", "pressure", "reactive_power", "signal_strength",
    "sound_pressure", "speed", "sulphur_dioxide", "temperature",
    "volatile_organic_compounds", "volatile_organic_compounds_parts", "voltage", "volume",
    "volume_flow_rate", "volume_storage", "water", "weight", "wind_direction", "wind_speed"}
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
EVENT_CLASSES = {"button", "doorbell", "motion"}

DEVICE_KEYS = {"identifiers", "connections", "manufacturer", "model", "model_id", "name",
               "hw_version", "serial_number", "sw_version", "via_device", "suggested_area",
               "configuration_url"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
AVAILABILITY_ITEM_KEYS = {"topic", "payload_available", "payload_not_available",
                          "value_template"}
COMMON_KEYS = {"availability", "availability_mode", "availability_template",
               "availability_topic", "payload_available", "payload_not_available",
               "device", "origin", "enabled_by_default", "entity_category", "icon",
               "json_attributes_topic", "json_attributes_template", "object_id",
               "default_entity_id", "unique_id", "name", "entity_picture"}
READ_ONLY_KEYS = {"state_topic", "value_template", "qos", "encoding"}
COMPONENT_KEYS = {
    "binary_sensor": {"device_class", "expire_after", "force_update", "off_delay",
                      "payload_on", "payload_off"},
    "sensor": {"device_class", "expire_after", "force_update", "last_reset_value_template",
               "options", "suggested_display_precision", "state_class",
               "unit_of_measurement"},
    "event": {"device_class", "event_types"},
}

_ENV = jinja2.Environment()


class Invalid(Exception):
    pass


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise Invalid(message)


def _string(value: Any, key: str) -> None:
    _need(isinstance(value, str), f"{key}: expected a string, got {value!r}")


def _template(value: Any, key: str) -> None:
    _string(value, key)
    try:
        _ENV.parse(value)
        _ENV.from_string(value)  # unknown filters and tests fail here
    except jinja2.TemplateError as exc:
        raise Invalid(f"{key}: not a template: {exc}") from None


def _url(value: Any, key: str) -> None:
    _string(value, key)
    _need(re.match(r"^(https?://[^\s/]+\S*|homeassistant://\S+)$", value) is not None,
          f"{key}: invalid url {value!r}")


def subscribe_topic(value: Any, key: str) -> None:
    _string(value, key)
    _need(0 < len(value.encode("utf-8")) <= 65535 and "\0" not in value,
          f"{key}: invalid topic {value!r}")
    levels = value.split("/")
    for i, level in enumerate(levels):
        _need("#" not in level or (level == "#" and i == len(levels) - 1),
              f"{key}: '#' only as the last level: {value!r}")
        _need("+" not in level or level == "+", f"{key}: '+' must fill a level: {value!r}")


def _positive_int(value: Any, key: str) -> None:
    _need(type(value) is int and value >= 0, f"{key}: expected a positive integer")


def _device(device: Any) -> None:
    _need(isinstance(device, dict), "device: expected an object")
    _need(set(device) <= DEVICE_KEYS, f"device: unknown keys {set(device) - DEVICE_KEYS}")
    ids = device.get("identifiers", [])
    ids = ids if isinstance(ids, list) else [ids]
    for ident in ids:
        _string(ident, "device.identifiers")
    _need(bool(ids) or bool(device.get("connections")),
          "Device must have at least one identifying value in 'identifiers' and/or "
          "'connections'")
    for key in DEVICE_KEYS - {"identifiers", "connections", "configuration_url"}:
        if key in device:
            _string(device[key], f"device.{key}")
    if "configuration_url" in device:
        _url(device["configuration_url"], "device.configuration_url")


def _origin(origin: Any) -> None:
    _need(isinstance(origin, dict), "origin: expected an object")
    _need(set(origin) <= ORIGIN_KEYS, f"origin: unknown keys {set(origin) - ORIGIN_KEYS}")
    _need("name" in origin, "origin: name is required")
    _string(origin["name"], "origin.name")
    if "sw_version" in origin:
        _string(origin["sw_version"], "origin.sw_version")
    if "support_url" in origin:
        _url(origin["support_url"], "origin.support_url")


def _availability(cfg: dict[str, Any]) -> None:
    _need(not ("availability" in cfg and "availability_topic" in cfg),
          "availability and availability_topic are exclusive")
    if "availability_topic" in cfg:
        subscribe_topic(cfg["availability_topic"], "availability_topic")
    if "availability_template" in cfg:
        _template(cfg["availability_template"], "availability_template")
    if "availability_mode" in cfg:
        _need(cfg["availability_mode"] in ("all", "any", "latest"), "availability_mode")
    items = cfg.get("availability", [])
    items = items if isinstance(items, list) else [items]
    for item in items:
        _need(isinstance(item, dict) and set(item) <= AVAILABILITY_ITEM_KEYS,
              f"availability: bad item {item!r}")
        _need("topic" in item, "availability: topic is required")
        subscribe_topic(item["topic"], "availability.topic")
        for key in ("payload_available", "payload_not_available"):
            if key in item:
                _string(item[key], f"availability.{key}")
        if "value_template" in item:
            _template(item["value_template"], "availability.value_template")


def validate(topic: str, payload: str) -> dict[str, Any]:
    """Raise ``Invalid`` naming the first rule a config breaks; the parsed config else."""
    match = TOPIC.fullmatch(topic)
    _need(match is not None, f"not a discovery topic Home Assistant reads: {topic}")
    assert match is not None
    component = match["component"]
    _need(component in COMPONENT_KEYS, f"component {component} not checked here")
    cfg = json.loads(payload)
    _need(isinstance(cfg, dict), "payload: expected a JSON object")
    allowed = COMMON_KEYS | READ_ONLY_KEYS | COMPONENT_KEYS[component]
    _need(set(cfg) <= allowed, f"{component}: unknown keys {sorted(set(cfg) - allowed)}")

    _availability(cfg)
    if "device" in cfg:
        _device(cfg["device"])
    if "origin" in cfg:
        _origin(cfg["origin"])
    for key in ("name", "unique_id", "object_id", "payload_available",
                "payload_not_available", "encoding", "payload_on", "payload_off",
                "unit_of_measurement"):
        if key in cfg and not (key == "name" and cfg[key] is None):
            _string(cfg[key], key)
    if "icon" in cfg:
        _need(isinstance(cfg["icon"], str) and ":" in cfg["icon"], "icon: prefix:name")
    if "entity_category" in cfg:
        # Read-only entities cannot be "config" (Home Assistant's read-only schema).
        _need(cfg["entity_category"] == "diagnostic",
              f"entity_category {cfg['entity_category']!r} is invalid for {component}")
    if "enabled_by_default" in cfg:
        _need(isinstance(cfg["enabled_by_default"], bool), "enabled_by_default: bool")
    if "json_attributes_topic" in cfg:
        subscribe_topic(cfg["json_attributes_topic"], "json_attributes_topic")
    for key in ("value_template", "json_attributes_template", "last_reset_value_template"):
        if key in cfg:
            _template(cfg[key], key)
    _need("state_topic" in cfg, f"{component}: state_topic is required")
    subscribe_topic(cfg["state_topic"], "state_topic")
    if "qos" in cfg:
        _need(cfg["qos"] in (0, 1, 2), "qos: 0, 1 or 2")
    for key in ("expire_after", "off_delay"):
        if key in cfg:
            _positive_int(cfg[key], key)
    if "force_update" in cfg:
        _need(isinstance(cfg["force_update"], bool), "force_update: bool")

    device_class = cfg.get("device_class")
    if component == "binary_sensor" and device_class is not None:
        _need(device_class in BINARY_SENSOR_CLASSES, f"binary_sensor: bad class {device_class}")
    if component == "sensor":
        _sensor(cfg, device_class)
    if component == "event":
        types = cfg.get("event_types")
        _need(isinstance(types, list) and bool(types)
              and all(isinstance(t, str) for t in types), "event: event_types is required")
        _need(device_class is None or device_class in EVENT_CLASSES,
              f"event: bad class {device_class}")
    return cfg


def _sensor(cfg: dict[str, Any], device_class: Any) -> None:
    _need(device_class is None or device_class in SENSOR_CLASSES,
          f"sensor: bad device class {device_class}")
    state_class = cfg.get("state_class")
    _need(state_class is None or state_class in STATE_CLASSES,
          f"sensor: bad state class {state_class}")
    if state_class is not None and device_class in SENSOR_NON_NUMERIC:
        raise Invalid(f"Specifying state_class conflicts with device_class {device_class}")
    if device_class in SENSOR_NON_NUMERIC:
        _need("unit_of_measurement" not in cfg,
              f"a unit of measurement is invalid for device class {device_class}")
    if "options" in cfg:
        _need(device_class in (None, "enum") and state_class is None
              and "unit_of_measurement" not in cfg,
              "options are only for enum sensors without a state class or unit")
    if "suggested_display_precision" in cfg:
        _positive_int(cfg["suggested_display_precision"], "suggested_display_precision")
    if "last_reset_value_template" in cfg:
        _need(state_class == "total", "last_reset_value_template needs state_class total")
