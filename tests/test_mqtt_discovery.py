"""Home Assistant discovery configs: valid, complete, and their templates fit our snapshots."""

from __future__ import annotations

import json
import re

import jinja2
import pytest

from kiosk.config import config_from_dict
from kiosk.events import Outbox
from kiosk.hardware import BoardStatus
from kiosk.schema import open_kiosk_store
from mqtt import discovery, snapshots, topics
from mqtt.publisher import Publisher
from tests.mqtt_broker import Collector, wait_until

CONFIG = config_from_dict({
    "community_id": "riverside", "kiosk_id": "gate-2",
    "compartments": [{"board": 0, "locks": "1-8", "size": "S"},
                     {"board": 0, "locks": "9-16", "size": "M"},
                     {"board": 1, "locks": "1-4", "size": "L"}],
})


def configs() -> dict[str, dict]:
    return {topic: json.loads(payload) for topic, payload in discovery.discovery_messages(
        CONFIG, "0.1.0")}


def render(template: str, snapshot: dict) -> str:
    return jinja2.Template(template).render(value_json=snapshot).strip()


def test_every_config_has_the_keys_home_assistant_needs():
    found = configs()
    pattern = re.compile(
        r"^homeassistant/(sensor|binary_sensor)/riverside_gate-2/[a-z0-9_]+/config$")
    assert all(pattern.match(t) for t in found), list(found)
    ids = [c["unique_id"] for c in found.values()]
    assert len(ids) == len(set(ids))
    for cfg in found.values():
        for key in ("name", "unique_id", "state_topic", "value_template", "availability_topic",
                    "payload_available", "payload_not_available", "device"):
            assert key in cfg
        assert cfg["availability_topic"] == topics.status_topic("riverside", "gate-2")
        assert cfg["device"]["identifiers"] == ["kiosk-riverside_gate-2"]
        assert topics.parse(cfg["state_topic"]).kind == "state"
    names = {c["unique_id"].removeprefix("riverside_gate-2_") for c in found.values()}
    assert names == {"board_0_online", "board_0_doors_open", "board_1_online",
                     "board_1_doors_open", "free_s", "free_m", "free_l", "faults", "problem",
                     "uplink_backlog"}


def test_templates_read_the_snapshots_we_publish():
    locked = tuple(n not in (3, 9) for n in range(1, 17))
    status = BoardStatus(0, locked=locked, occupied=(False,) * 16)
    states = {
        "board-0": snapshots.board_snapshot(0, online=True, status=status, locks=range(1, 17)),
        "board-1": snapshots.board_snapshot(1, online=False, status=None, locks=range(1, 5)),
        "lockers": snapshots.lockers_snapshot({"S": 8, "M": 8, "L": 4},
                                              {"S": 5, "M": 0, "L": 4}, jammed=1),
        "uplink": {"connected": True, "backlog": 17, "last_seq": 40},
    }
    got = {}
    for cfg in configs().values():
        device = topics.parse(cfg["state_topic"]).name
        got[cfg["unique_id"].removeprefix("riverside_gate-2_")] = render(
            cfg["value_template"], states[device])
    assert got == {"board_0_online": "ON", "board_0_doors_open": "2", "board_1_online": "OFF",
                   "board_1_doors_open": "0", "free_s": "5", "free_m": "0", "free_l": "4",
                   "faults": "1", "problem": "ON", "uplink_backlog": "17"}


@pytest.fixture
def outbox(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    yield Outbox(store)
    store.close()


def test_discovery_configs_are_retained_on_the_broker(broker, outbox):
    from kiosk.config import MqttConfig
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), "riverside",
                    "gate-2", reconnect_min_s=0.1)
    discovery.announce(pub, CONFIG, "0.1.0")
    pub.start()
    try:
        assert wait_until(lambda: pub.uplink().connected, 10)
        late = Collector(broker.port, ["homeassistant/#"])
        assert wait_until(lambda: len(late.messages()) == len(configs()), 10)
        assert all(m.retain for m in late.messages())
        assert {m.topic: m.json() for m in late.messages()} == configs()
        late.stop()
    finally:
        pub.stop()
