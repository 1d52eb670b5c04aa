"""Home Assistant discovery: configs valid by Home Assistant's own rules (tests/ha_schema.py),
templates that read the snapshots the kiosk publishes, unambiguous ids, and the journey on
the composition: ``kiosk run`` and ``kiosk demo --broker`` publish on every connect, and a
restart with a part removed clears that part's configs."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk import __version__
from kiosk.config import config_from_dict, load_config
from kiosk.health import HealthMonitor
from kiosk.setups.production import production_kiosk
from mqtt import discovery, topics
from mqtt.publisher import OFFLINE, online_status
from tests import ha_schema
from tests.lockers_setup import build_lockers, locker_config
from tests.mqtt_broker import Collector, close, publish, publisher, wait_until
from tests.test_composition import run_config

CONFIG = config_from_dict({
    "community_id": "riverside", "kiosk_id": "gate-2",
    "mqtt": {"support_url": "https://maintainers.riverside.example/kiosk"},
    "compartments": [{"board": 0, "locks": "1-8", "size": "S"},
                     {"board": 0, "locks": "9-16", "size": "M"},
                     {"board": 1, "locks": "1-4", "size": "L"}],
})
NODE = "riverside_K_gate-2"


def configs(config=CONFIG, parking=("standard", "电动车")) -> dict[str, dict]:
    return {topic: json.loads(payload) for topic, payload in discovery.discovery_messages(
        config, "0.1.0", parking)}


def render(template: str, payload: str | dict) -> str:
    variables: dict = {"value": payload if isinstance(payload, str) else json.dumps(payload)}
    with contextlib.suppress(ValueError):  # as in Home Assistant: only for a JSON payload
        variables["value_json"] = (json.loads(payload) if isinstance(payload, str)
                                   else payload)
    return jinja2.Template(template).render(**variables).strip()


def obj(cfg: dict) -> str:
    return cfg["unique_id"].split("_O_", 1)[1]


def test_every_config_passes_home_assistants_schema():
    found = discovery.discovery_messages(CONFIG, "0.1.0", ("standard", "电动车"))
    found += discovery.plan_messages("riverside", "0.1.0", "https://x.example/help")
    for topic, payload in found:
        ha_schema.validate(topic, payload)
    ids = [json.loads(p)["unique_id"] for _, p in found]
    assert len(ids) == len(set(ids)) and len({t for t, _ in found}) == len(found)


@pytest.mark.parametrize(("spoil", "complaint"), [
    (lambda t, c: (t.replace(NODE, "riverside.gate-2"), c), "not a discovery topic"),
    (lambda t, c: (t, {**c, "stat_topic": "x"}), "unknown keys"),
    (lambda t, c: (t, {**c, "device": {**c["device"], "identifiers": []}}), "identifying"),
    (lambda t, c: (t, {**c, "origin": {"sw_version": "1"}}), "name is required"),
    (lambda t, c: (t, {**c, "state_topic": "a/#/b"}), "'#' only"),
    (lambda t, c: (t, {**c, "value_template": "{{ value_json.x | nonsense }}"}), "template"),
    (lambda t, c: (t, {**c, "entity_category": "config"}), "invalid for"),
])
def test_the_schema_check_refuses_what_home_assistant_refuses(spoil, complaint):
    """Control for the test above: each rule can fail."""
    topic = f"homeassistant/sensor/{NODE}/free_s/config"
    topic, cfg = spoil(topic, configs()[topic])
    with pytest.raises(ha_schema.Invalid, match=complaint):
        ha_schema.validate(topic, json.dumps(cfg))


@pytest.mark.parametrize(("component", "change", "complaint"), [
    ("sensor", {"device_class": "timestamp", "state_class": "measurement"}, "conflicts"),
    ("sensor", {"device_class": "timestamp", "unit_of_measurement": "s"}, "unit"),
    ("event", {"event_types": []}, "event_types"),
    ("binary_sensor", {"device_class": "doors"}, "bad class"),
])
def test_component_rules(component, change, complaint):
    topic = next(t for t in configs() if t.startswith(f"homeassistant/{component}/")
                 and not t.endswith("errors/config"))
    if component == "sensor":
        topic = f"homeassistant/sensor/{NODE}/last_event/config"
    cfg = {**configs()[topic], **change}
    with pytest.raises(ha_schema.Invalid, match=complaint):
        ha_schema.validate(topic, json.dumps(cfg))


def test_devices_origin_and_version():
    found = configs()
    kiosk_id = "community-kiosk:riverside:gate-2"
    devices = {json.dumps(c["device"], sort_keys=True) for c in found.values()}
    by_id = {json.loads(d)["identifiers"][0]: json.loads(d) for d in devices}
    assert set(by_id) == {kiosk_id, f"{kiosk_id}:board-0", f"{kiosk_id}:board-1"}
    assert by_id[kiosk_id]["sw_version"] == "0.1.0"
    assert by_id[f"{kiosk_id}:board-1"]["via_device"] == kiosk_id
    for cfg in found.values():
        assert cfg["origin"] == {"name": "community-kiosk", "sw_version": "0.1.0",
                                 "support_url": "https://maintainers.riverside.example/kiosk"}
    board_0 = {obj(c) for c in found.values()
               if c["device"]["identifiers"] == [f"{kiosk_id}:board-0"]}
    assert {"door_a01", "occupied_a01", "door_a16", "occupied_a16", "board_0_online"} <= board_0
    kiosk = {obj(c): c for c in found.values() if c["device"]["identifiers"] == [kiosk_id]}
    assert {"free_s", "free_m", "free_l", "tamper", "uplink", "last_event", "fault",
            "parking_standard_occupied", "parking_standard_in_service"} <= set(kiosk)
    assert kiosk["last_event"]["device_class"] == "timestamp"
    assert kiosk["uplink"]["state_topic"] == topics.bridge_topic("riverside", "gate-2")
    assert f"homeassistant/event/{NODE}/fault/config" in found
    plan = [json.loads(p) for _, p in discovery.plan_messages("riverside")]
    assert {c["device"]["identifiers"][0] for c in plan} == {"community-kiosk:riverside:plan"}
    assert all(c["device"]["sw_version"] == __version__ for c in plan)


ID = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)


@given(ID, ID, ID, ID)
def test_node_ids_never_collide(c1, k1, c2, k2):
    if (c1, k1) != (c2, k2):
        assert discovery.kiosk_node(c1, k1) != discovery.kiosk_node(c2, k2)
        assert discovery.kiosk_node(c1, k1) != discovery.plan_node(c2)


def test_the_old_node_ids_did_collide():
    # Control for the property above: the join of before 0.1 made one node of two kiosks.
    assert discovery.legacy_node("a_b", "c") == discovery.legacy_node("a", "b_c")
    assert discovery.kiosk_node("a_b", "c") != discovery.kiosk_node("a", "b_c")


def test_parking_types_get_distinct_plain_object_ids():
    names = ["standard", "ev", "电动车", "x_65", "EV", "a" * 300, "a" * 301]
    ids = [discovery.parking_object(n) for n in names]
    assert len(set(ids)) == len(ids)
    assert all(topics.segment(i) and ha_schema.TOPIC.fullmatch(
        f"homeassistant/sensor/n/{i}/config") for i in ids)


def test_templates_read_the_snapshots_the_kiosk_publishes(tmp_path, sim, bus):
    """The real health monitor on the simulated boards makes the snapshots."""
    lockers = build_lockers(tmp_path / "kiosk.db", bus, sim.port)
    health = HealthMonitor(lockers.service, clock=lockers.clock, offline_after=1)
    courier = lockers.service.add_courier("c-1", "12341234")
    lockers.service.add_household("A101", pseudonym="h-a101")
    slot = lockers.service.deposit(courier, "A101", "S")
    where = slot.compartment
    sim.put_item(where.board, where.lock)
    sim.shut(where.board, where.lock)
    lockers.service.finish(slot)
    sim.force_open(0, 3)  # a door opens by itself
    sim.set_silent(1, True)  # board 1 stops answering
    health.poll()
    health.cabinet_tamper(True)
    states = {**health.snapshot(), "uplink": {"connected": True, "backlog": 17},
              "parking": {"standard": {"spots": 6, "in_service": 5, "occupied": 2}}}
    config = locker_config(sim.port)
    got = {}
    for topic, payload in discovery.discovery_messages(config, parking_types=["standard"]):
        cfg = json.loads(payload)
        if topic.startswith("homeassistant/event/") or "value_template" not in cfg:
            continue
        device = topics.parse(cfg["state_topic"]).name
        got[obj(cfg)] = render(cfg["value_template"], states[device])
    lockers_state, board_1 = states["lockers"], states["board-1"]
    assert where.id != "A03"
    assert got[f"occupied_{where.id.lower()}"] == "ON" and got["occupied_a03"] == "OFF"
    assert got["door_a03"] == "ON" and got[f"door_{where.id.lower()}"] == "OFF"
    assert got["tamper"] == "ON"
    assert got["last_event"] == lockers_state["last_event"] and got["last_event"].endswith("Z")
    assert got["parking_standard_occupied"] == "2" and got["parking_standard_in_service"] == "5"
    assert {k: got[k] for k in ("board_0_online", "board_0_errors", "board_1_online",
                                "board_1_errors", "free_m", "free_l", "doors_open",
                                "out_of_service", "problem", "uplink_backlog")} == {
        "board_0_online": "ON", "board_0_errors": "0", "board_1_online": "OFF",
        "board_1_errors": str(board_1["errors"]), "free_m": "2", "free_l": "1",
        "doors_open": "1", "out_of_service": "0", "problem": "ON", "uplink_backlog": "17"}
    assert got["free_s"] == str(lockers_state["free"]["S"])
    # A type the register no longer has reads 0, not an error.
    occupied = configs(config)["homeassistant/sensor/maple_K_k1/parking_standard_occupied/config"]
    assert render(occupied["value_template"], {}) == "0"


def test_the_fault_event_and_the_status_templates():
    found = configs()
    event = found[f"homeassistant/event/{NODE}/fault/config"]
    jammed = {"seq": 9, "type": "door.jammed", "data": {"compartment": "A03", "board": 0}}
    fired = json.loads(render(event["value_template"], jammed))
    assert fired == {"event_type": "door.jammed", "compartment": "A03", "board": 0}
    assert fired["event_type"] in event["event_types"]
    # Not a fault: nothing rendered, so Home Assistant fires nothing.
    assert render(event["value_template"], {"type": "parcel.deposited", "data": {}}) == ""
    available = found[f"homeassistant/sensor/{NODE}/free_s/config"]["availability"][0]
    assert render(available["value_template"], online_status()) == "online"
    assert render(available["value_template"], OFFLINE) == "offline"
    assert render(available["value_template"], "online") == "online"  # an older kiosk


# --- on the composition, against a real broker ----------------------------------------------

def live(messages) -> dict[str, dict]:
    """Retained configs as a late subscriber gets them (empty ones are not delivered)."""
    return {m.topic: m.json() for m in messages if m.payload}


def test_kiosk_run_publishes_on_connect_and_clears_what_was_removed(tmp_path, sim, broker,
                                                                   mock_factory):
    path = run_config(tmp_path, sim.port, broker.port)
    config = load_config(path)
    seen = Collector(broker.port, ["homeassistant/#"])
    seen.wait_subscribed()
    kiosk = production_kiosk(config, mock_factory)
    want = dict(discovery.discovery_messages(config))
    try:
        assert wait_until(lambda: set(live(seen.messages())) >= set(want), timeout=15)
        for m in seen.messages():
            if m.payload:
                ha_schema.validate(m.topic, m.payload.decode())
        # Nothing is cleared on a first start: the kiosk published nothing before.
        assert all(m.payload for m in seen.messages())
    finally:
        kiosk.close()
        seen.stop()

    # Restarted with compartments A05-A08 taken out of the config.
    path.write_text(path.read_text().replace('locks = "1-8"', 'locks = "1-4"'))
    config = load_config(path)
    kiosk = production_kiosk(config, mock_factory)
    now = dict(discovery.discovery_messages(config))
    gone = set(want) - set(now)
    assert "homeassistant/binary_sensor/maple-court_K_gate-east/door_a05/config" in gone
    try:
        assert wait_until(lambda: kiosk.publisher is not None and kiosk.publisher.uplink()
                          .connected and kiosk.scheduler.runs("discovery") >= 1, timeout=15)

        def only_the_live_ones() -> bool:
            late = Collector(broker.port, ["homeassistant/#"])
            try:
                late.wait_subscribed()
                # Retained messages come before any later publish: a marker closes them.
                marker = publisher(broker)
                publish(marker, "homeassistant/zz/marker/config", "{}")
                close(marker)
                wait_until(lambda: late.messages("zz/marker"), timeout=5)
                got = set(live(late.messages("homeassistant/")))
                return got - {"homeassistant/zz/marker/config"} == set(now)
            finally:
                late.stop()

        assert wait_until(only_the_live_ones, timeout=15)
    finally:
        kiosk.close()


def test_kiosk_demo_with_a_broker_publishes_discovery(tmp_path, broker):
    from kiosk.setups.demo import DemoKiosk

    seen = Collector(broker.port, ["homeassistant/#"])
    seen.wait_subscribed()
    with DemoKiosk(tmp_path / "demo", broker=("127.0.0.1", broker.port)) as demo:
        node = discovery.kiosk_node(demo.config.community_id, demo.config.kiosk_id)
        # The demo seeds its car park: its spot type appears within a discovery round.
        demo.kiosk.scheduler.trigger("discovery")
        assert wait_until(lambda: seen.messages(f"/{node}/parking_standard_occupied/"),
                          timeout=15)
        assert seen.messages(f"homeassistant/event/{node}/fault/config")
        for m in seen.messages():
            ha_schema.validate(m.topic, m.payload.decode())
    seen.stop()


def test_the_shipped_example_config_has_the_support_url_key():
    text = (Path(__file__).resolve().parent.parent / "systemd" / "kiosk.toml.example").read_text()
    assert "support_url" in text


def test_the_plan_announces_its_device_and_its_templates_read_its_indicators(tmp_path, broker):
    from kiosk.config import MqttConfig
    from kiosk.events import Outbox
    from kiosk.schema import open_kiosk_store
    from mqtt.publisher import Publisher
    from plan.aggregator import PlanAggregator
    from plan.store import PlanStore

    seen = Collector(broker.port, ["homeassistant/#", "community/+/plan/#"])
    seen.wait_subscribed()
    store = PlanStore(tmp_path / "plan" / "plan.db")
    plan = PlanAggregator(store, MqttConfig(host="127.0.0.1", port=broker.port),
                          interval_s=0.2, reconnect_min_s=0.1)
    kiosk_store = open_kiosk_store(tmp_path / "kiosk.db")
    outbox = Outbox(kiosk_store)
    with kiosk_store.step() as db:
        outbox.append(db, "parcel.deposited", {"parcel": "p1", "size": "M", "household": "h-1"})
    kiosk = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), "c1", "k1",
                      reconnect_min_s=0.1)
    plan.start()
    kiosk.start()
    node = discovery.plan_node("c1")
    want = dict(discovery.plan_messages("c1"))
    try:
        assert wait_until(lambda: {m.topic for m in seen.messages(f"/{node}/")} >= set(want)
                          and seen.messages("/plan/parcels_per_day"), 20)
    finally:
        kiosk.stop()
        plan.stop()
        store.close()
        kiosk_store.close()
        seen.stop()
    indicator = {m.topic: m.payload.decode() for m in seen.messages("/plan/")}
    for m in seen.messages(f"/{node}/"):
        cfg = ha_schema.validate(m.topic, m.payload.decode())
        if cfg["state_topic"] in indicator:
            rendered = render(cfg["value_template"], indicator[cfg["state_topic"]])
            assert rendered == "None" or float(rendered) >= 0, (m.topic, rendered)
    total = json.loads(want[f"homeassistant/sensor/{node}/parcels_total/config"])
    assert render(total["value_template"],
                  indicator[topics.plan_topic("c1", "parcels_per_day")]) == "1"
