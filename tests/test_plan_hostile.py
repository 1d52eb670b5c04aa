"""Hostile input cannot distort the plan: a seq far beyond what the kiosk announced is held
apart (not a gap), malformed snapshots are refused and never replace good ones, control and
bidi characters never reach an output, and the number of kiosks and held events is bounded.
On SQLite and PostgreSQL; the service part through a real Mosquitto and a real kiosk
publisher."""

from __future__ import annotations

import json

import pytest

from kiosk.config import MqttConfig
from mqtt import topics
from mqtt.contract import SEQ_SLACK, Refused, clean_text
from mqtt.publisher import Publisher
from plan import indicators
from plan import report as plan_report
from plan.aggregator import PlanAggregator
from plan.store import PlanStore, check_message
from tests.mqtt_broker import Collector, wait_until
from tests.plan_support import BACKENDS, event, lockers, plan_location, state, uplink
from tests.test_mqtt_plan import add_events, kiosk_outbox, raw_client


@pytest.fixture(params=BACKENDS)
def plan(request, tmp_path):
    with plan_location(request.param, tmp_path) as where:
        store = PlanStore(where)
        yield store
        store.close()


def gap(store: PlanStore, kiosk: str = "k1"):
    found = {g.kiosk: g for g in store.gaps("c1")}
    assert kiosk in found, f"no events of {kiosk} yet"
    return found[kiosk]


def has(store: PlanStore, kiosk: str) -> bool:
    return any(g.kiosk == kiosk for g in store.gaps("c1"))


def test_a_seq_far_beyond_the_announced_head_is_held_not_a_gap(plan):
    plan.ingest([uplink("c1", "k1", 3), *(event("c1", "k1", s) for s in (1, 2, 3))])
    result = plan.ingest([event("c1", "k1", 2**62)])
    assert result.held == 1 and result.stored == 0
    g = gap(plan)
    assert (g.missing, g.max_seq, g.held) == (0, 3, 1)
    assert indicators.compute(plan, "c1")["gaps"]["missing"] == 0
    # Control: a seq within the slack past the head is counted, and its gap shows.
    plan.ingest([event("c1", "k1", 8)])
    g = gap(plan)
    assert (g.missing, g.ranges, g.held) == (4, [(4, 7)], 1)
    # The gap fills as the events come, one range split in two, then gone.
    plan.ingest([event("c1", "k1", 5)])
    assert gap(plan).ranges == [(4, 4), (6, 7)]
    plan.ingest([event("c1", "k1", s) for s in (4, 6, 7)])
    assert (gap(plan).missing, gap(plan).ranges) == (0, [])


def test_held_events_are_taken_in_once_the_kiosk_announces_them(plan):
    far = 3 + SEQ_SLACK + 5
    plan.ingest([uplink("c1", "k1", 3), *(event("c1", "k1", s) for s in (1, 2, 3)),
                 event("c1", "k1", far, "locker.full", {"size": "L"})])
    assert gap(plan).held == 1
    assert indicators.compute(plan, "c1")["unmet_demand"]["total"] == 0
    result = plan.ingest([uplink("c1", "k1", far)])
    assert result.released == 1 and result.stored == 1
    g = gap(plan)
    assert (g.held, g.max_seq, g.missing) == (0, far, far - 4)
    assert indicators.compute(plan, "c1")["unmet_demand"]["total"] == 1


def test_without_any_announcement_only_the_slack_is_believed(plan):
    result = plan.ingest([event("c1", "k1", 1), event("c1", "k1", SEQ_SLACK + 1)])
    assert (result.stored, result.held) == (1, 1)


def test_held_events_and_kiosks_are_bounded(plan, monkeypatch):
    monkeypatch.setattr("plan.store.MAX_HELD_PER_KIOSK", 3)
    monkeypatch.setattr("plan.store.MAX_KIOSKS_PER_COMMUNITY", 2)
    result = plan.ingest([event("c1", "k1", 2**40 + i) for i in range(5)])
    assert result.held == 3 and result.refused == {"held_full": 2}
    result = plan.ingest([event("c1", f"k{i}", 1) for i in range(2, 6)])
    assert result.stored == 1 and result.refused == {"too_many_kiosks": 3}
    assert len(plan.kiosk_counters("c1")) == 2
    # Control: another community has room of its own.
    assert plan.ingest([event("c2", "k9", 1)]).stored == 1


@pytest.mark.parametrize("payload,reason", [
    ({"free": {"S": 1}}, "bad_state"),  # capacity missing
    ({"free": {"S": -1}, "capacity": {"S": 2}}, "bad_state"),
    ({"free": {"S": 1}, "capacity": {"S": True}}, "bad_state"),
    ({"free": {}, "capacity": {"S": 10**9}}, "bad_state"),
    ({"free": {}, "capacity": {}, "doors_open": "A1"}, "bad_state"),
    ([1, 2], "not_object"),
])
def test_malformed_lockers_snapshots_are_refused(payload, reason):
    assert check_message(topics.state_topic("c1", "k1", "lockers"),
                         json.dumps(payload).encode()).reason == reason  # type: ignore[union-attr]


def test_a_refused_snapshot_never_replaces_a_good_one(plan):
    plan.ingest([lockers("c1", "k1", {"S": 16}),
                 event("c1", "k1", 1, "parcel.deposited",
                       {"parcel": 1, "compartment": "A1", "compartment_size": "S"})])
    result = plan.ingest([state("c1", "k1", "lockers", {"free": {"S": 0}, "capacity": "lots"}),
                          state("c1", "k1", "uplink", {"connected": "yes", "backlog": 0,
                                                       "last_seq": 2**62}),
                          (topics.state_topic("c1", "k1", "lockers"), b"x" * 20_000)])
    assert result.refused == {"bad_state": 2, "too_large": 1}
    assert plan.states("c1", "lockers")["k1"]["capacity"] == {"S": 16}
    assert gap(plan).announced_last_seq is None
    occ = indicators.compute(plan, "c1")["occupancy"]["compartments"]
    assert [(o["size"], o["compartments"]) for o in occ] == [("S", 16)]


HOSTILE = "S\x00\u202e\u2066evil\x1b[31m"


def test_control_and_bidi_characters_are_cleaned_at_the_contract(plan):
    plan.ingest([event("c1", "k1", 1, "parcel.deposited",
                       {"parcel": "p1", "size": HOSTILE, "compartment": HOSTILE,
                        "compartment_size": HOSTILE, "courier": HOSTILE}),
                 event("c1", "k1", 2, "door.jammed", {"compartment": HOSTILE}),
                 event("c1", "k1", 3, "locker.full", {"size": "\u202eL"}),
                 lockers("c1", "k1", {HOSTILE[:3]: 4})])
    r = indicators.report(plan, "c1")
    outputs = [json.dumps(r.indicators(), ensure_ascii=False),
               plan_report.render_terminal(r), plan_report.render_html({"c1": r}, "now")]
    for text in outputs:
        for bad in ("\x00", "\u202e", "\u2066", "\x1b"):
            assert bad not in text
    assert "\ufffd" in outputs[0]  # the tampering stays visible
    # Control: the cleaning is what removed them.
    assert "\u202e" in HOSTILE and "\u202e" not in clean_text(HOSTILE)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_service_holds_a_forged_seq_and_counts_the_kiosk_honestly(broker, tmp_path,
                                                                      backend):
    """Through a real Mosquitto: a real kiosk publisher announces its head; a forger sends
    seq 2^62 and a broken snapshot; the published gap indicator stays true."""
    with plan_location(backend, tmp_path) as where:
        service_run(broker, tmp_path, PlanStore(where))


def service_run(broker, tmp_path, store: PlanStore) -> None:
    agg = PlanAggregator(store, MqttConfig(host="127.0.0.1", port=broker.port,
                                           reconnect_max_s=1), interval_s=0.2,
                         reconnect_min_s=0.1)
    agg.start()
    outbox = kiosk_outbox(tmp_path / "k1.db")
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), "c1", "k1",
                    reconnect_min_s=0.1, uplink_every_s=0.2)
    forger = raw_client(broker.port)
    seen = Collector(broker.port, ["community/c1/plan/gaps"])
    try:
        # Until the plan has subscribed, events pass it by: probe until one lands.
        assert wait_until(lambda: forger.publish(*event("c1", "probe", 1, id_="p1"), qos=1)
                          and has(store, "probe"), 20, step=0.3)
        add_events(outbox, 10)
        pub.start()
        assert wait_until(lambda: has(store, "k1") and gap(store).received == 10 and
                          gap(store).announced_last_seq == 10, 20)
        forger.publish(*event("c1", "k1", 2**62, "locker.full", {"size": "L"}), qos=1)
        forger.publish(*lockers("c1", "k1", {"S": 4}), qos=1, retain=True)
        forger.publish(*state("c1", "k1", "lockers", {"capacity": "many"}), qos=1)
        assert wait_until(lambda: gap(store).held == 1, 15)
        assert wait_until(lambda: store.rejects().get("bad_state") == 1, 15)

        def published() -> dict:
            msgs = seen.messages("/plan/gaps")
            return msgs[-1].json()["value"] if msgs else {}

        assert wait_until(lambda: published().get("held") == 1, 15)
        assert published()["missing"] == 0
        ind = indicators.compute(store, "c1")
        assert ind["unmet_demand"]["total"] == 0
        sizes = {o["size"]: o["compartments"] for o in ind["occupancy"]["compartments"]}
        assert sizes["S"] == 4  # the good snapshot, not the broken one after it
    finally:
        seen.stop()
        forger.loop_stop()
        forger.disconnect()
        pub.stop()
        agg.stop()
        store.close()


# --- the witnesses' alarms (community/{c}/witness/{name}/alarm/{kiosk}/{chain}/{kind}) -----

def alarm(kiosk: str = "k1", witness: str = "w1", detail: str = "seq 3 edited",
          ts: str = "2026-11-30T08:00:00Z",
          changes: dict[str, object] | None = None) -> tuple[str, bytes]:
    from witness.core import Alarm

    body = Alarm("c1", kiosk, "audit", "edited", detail).to_json(witness, ts)
    body.update(changes or {})
    return (topics.witness_alarm_topic("c1", witness, kiosk, "audit", "edited"),
            json.dumps(body).encode())


@pytest.mark.parametrize("changes,reason", [
    ({"witness": "w2"}, "topic_mismatch"),  # speaks for another witness
    ({"kiosk": "k2"}, "topic_mismatch"),
    ({"kind": "gap"}, "topic_mismatch"),  # another kind than its topic's
    ({"chain": "draws"}, "topic_mismatch"),
    ({"format": "kiosk-witness-alarm/9"}, "bad_alarm"),
    ({"kind": "edited\u202e"}, "bad_alarm"),
    ({"chain": ""}, "bad_alarm"),
    ({"detail": "x" * 2000}, "bad_alarm"),
    ({"detail": ["x"]}, "bad_alarm"),
    ({"ts": "yesterday"}, "bad_ts"),
    ({"ts": "2026-11-30T08:00:00"}, "bad_ts"),  # no time zone
    ({"pad": "x" * 5000}, "too_large"),
])
def test_malformed_witness_alarms_are_refused(changes, reason):
    topic, payload = alarm(changes=changes)
    assert check_message(topic, payload) == Refused(reason)
    # Control: the same alarm untouched is taken.
    assert not isinstance(check_message(*alarm()), Refused)


def test_an_alarm_on_the_one_topic_per_kiosk_of_a_witness_from_before_is_read():
    topic, payload = alarm()
    legacy = topic.rsplit("/", 2)[0]  # …/alarm/{kiosk}
    taken = check_message(legacy, payload)
    assert not isinstance(taken, Refused) and (taken.chain, taken.kind) == ("audit", "edited")
    # Control: a topic with a chain but no kind is no alarm topic.
    assert check_message(topic.rsplit("/", 1)[0], payload) == Refused("bad_topic")


def test_witness_alarms_are_stored_once_cleaned_and_bounded(plan, monkeypatch):
    monkeypatch.setattr("plan.store.MAX_ALARMS_PER_WITNESS_KIOSK", 3)
    monkeypatch.setattr("plan.store.MAX_WITNESSES_PER_COMMUNITY", 2)
    result = plan.ingest([alarm(detail="held 9\u202e"), alarm(detail="held 9\u202e")])
    assert (result.alarms, result.duplicates) == (1, 1)  # the retained one handed again
    assert [a["detail"] for a in plan.witness_alarms("c1")] == ["held 9\ufffd"]
    plan.ingest([alarm(detail=f"seq {i}", ts=f"2026-11-30T09:0{i}:00Z") for i in range(5)])
    assert [a["detail"] for a in plan.witness_alarms("c1")] == ["seq 4", "seq 3", "seq 2"]
    result = plan.ingest([alarm(witness="w2"), alarm(witness="w3")])
    assert result.alarms == 1 and result.refused == {"too_many_witnesses": 1}
    # Control: another kiosk of a known witness has room of its own.
    assert plan.ingest([alarm(kiosk="k2", witness="w3")]).refused == {"too_many_witnesses": 1}
    assert plan.ingest([alarm(kiosk="k2", witness="w2")]).alarms == 1
    assert {(a["witness"], a["kiosk"]) for a in plan.witness_alarms("c1")} == {
        ("w1", "k1"), ("w2", "k1"), ("w2", "k2")}
