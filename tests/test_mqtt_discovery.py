"""Home Assistant discovery configs: valid, complete, and their templates fit our snapshots."""

from __future__ import annotations

import json
import re

import jinja2
import pytest

from kiosk.config import config_from_dict
from kiosk.events import Outbox
from kiosk.health import HealthMonitor
from kiosk.schema import open_kiosk_store
from mqtt import discovery, topics
from mqtt.publisher import Publisher
from tests.lockers_setup import build_lockers, locker_config
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
    assert names == {"board_0_online", "board_0_errors", "board_1_online", "board_1_errors",
                     "free_s", "free_m", "free_l", "doors_open", "out_of_service", "faults",
                     "problem", "uplink_backlog"}


def test_templates_read_the_snapshots_the_kiosk_publishes(tmp_path, sim, bus):
    """The real health monitor on the simulated boards makes the snapshots."""
    lockers = build_lockers(tmp_path / "kiosk.db", bus, sim.port)
    health = HealthMonitor(lockers.service, clock=lockers.clock, offline_after=1)
    sim.force_open(0, 3)  # a door opens by itself
    sim.set_silent(1, True)  # board 1 stops answering
    health.poll()
    states = {**health.snapshot(), "uplink": {"connected": True, "backlog": 17}}
    config = locker_config(sim.port)
    got = {}
    for payload in dict(discovery.discovery_messages(config)).values():
        cfg = json.loads(payload)
        device = topics.parse(cfg["state_topic"]).name
        name = cfg["unique_id"].removeprefix("maple_k1_")
        got[name] = render(cfg["value_template"], states[device])
    lockers_state, board_1 = states["lockers"], states["board-1"]
    assert got == {"board_0_online": "ON", "board_0_errors": "0", "board_1_online": "OFF",
                   "board_1_errors": str(board_1["errors"]),
                   "free_s": str(lockers_state["free"]["S"]), "free_m": "2", "free_l": "1",
                   "doors_open": "1", "out_of_service": "0",
                   "faults": str(len(lockers_state["faults"])), "problem": "ON",
                   "uplink_backlog": "17"}
    assert board_1["errors"] >= 1 and "board.offline" in lockers_state["faults"]


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
        first = Collector(broker.port, ["homeassistant/#"])
        assert wait_until(lambda: len(first.messages()) >= len(configs()), 10)
        first.stop()
        # A Home Assistant that starts later gets them all from the broker, retained.
        late = Collector(broker.port, ["homeassistant/#"])
        assert wait_until(lambda: len(late.messages()) == len(configs()), 10)
        assert all(m.retain for m in late.messages())
        assert {m.topic: m.json() for m in late.messages()} == configs()
        late.stop()
    finally:
        pub.stop()
