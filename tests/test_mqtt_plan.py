"""The plan aggregator: checking untrusted messages, dedupe, gaps, indicators, and the
``kiosk plan`` service against a real broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.config import MqttConfig
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from mqtt import topics
from mqtt.publisher import Publisher
from plan import indicators
from plan.indicators import PlanSettings
from plan.store import CleanEvent, PlanStore, Refused, check_message
from tests.mqtt_broker import Collector, wait_until
from tests.plan_support import BACKENDS, plan_location

ROOT = Path(__file__).resolve().parent.parent


def event(community: str, kiosk: str, seq: int, type_: str = "parcel.deposited",
          data: dict | None = None, ts: str = "2026-11-29T09:15:00.000000Z",
          id_: str | None = None) -> tuple[str, bytes]:
    body = {"seq": seq, "id": id_ or str(uuid.uuid4()), "ts": ts, "type": type_,
            "community": community, "kiosk": kiosk, "data": data or {}}
    return topics.event_topic(community, kiosk, type_), json.dumps(body).encode()


def body_with(**changes) -> bytes:
    body = {"seq": 1, "id": "e-1", "ts": "2026-11-29T09:15:00Z", "type": "parcel.deposited",
            "community": "c1", "kiosk": "k1", "data": {}}
    body.update(changes)
    return json.dumps(body).encode()


TOPIC = "community/c1/kiosk/k1/event/parcel.deposited"


MALFORMED = [
    (TOPIC, b"{not json", "bad_json"),
    (TOPIC, b"\xff\xfe\x00", "bad_json"),
    (TOPIC, b"[1, 2]", "not_object"),
    (TOPIC, b"x" * 70_000, "too_large"),
    (TOPIC, b"[" * 30_000 + b"]" * 30_000, "bad_json"),
    (TOPIC, body_with(seq="1"), "bad_seq"),
    (TOPIC, body_with(seq=True), "bad_seq"),
    (TOPIC, body_with(seq=0), "bad_seq"),
    (TOPIC, body_with(seq=1.0), "bad_seq"),
    (TOPIC, body_with(seq=2**70), "bad_seq"),
    (TOPIC, b'{"seq": NaN}', "bad_json"),
    (TOPIC, body_with(type=["x"]), "bad_type"),
    (TOPIC, body_with(type="<script>"), "bad_type"),
    (TOPIC, body_with(id=7), "bad_id"),
    (TOPIC, body_with(ts="yesterday"), "bad_ts"),
    (TOPIC, body_with(ts="2026-11-29T09:15:00"), "bad_ts"),
    (TOPIC, body_with(data=[1]), "bad_data"),
    (TOPIC, body_with(kiosk="k2"), "topic_mismatch"),
    (TOPIC, body_with(community="c2"), "topic_mismatch"),
    (TOPIC, body_with(type="parcel.collected"), "topic_mismatch"),
    ("community/c1/kiosk/K1/event/parcel.deposited", body_with(kiosk="K1"), "bad_topic"),
    ("community/c1/kiosk/k1/event/a/b", body_with(), "bad_topic"),
    ("community/c1/kiosk/k1/notify/h-1", body_with(), "bad_topic"),
]


@pytest.mark.parametrize("topic,payload,reason", MALFORMED,
                         ids=[f"{i}-{m[2]}" for i, m in enumerate(MALFORMED)])
def test_malformed_and_hostile_messages_are_refused_with_a_reason(topic, payload, reason):
    assert check_message(topic, payload) == Refused(reason)


def test_a_good_event_is_taken_apart():
    checked = check_message(TOPIC, body_with(data={"size": "M"}))
    assert isinstance(checked, CleanEvent)
    assert (checked.kiosk, checked.seq, checked.data) == ("k1", 1, {"size": "M"})


@pytest.fixture(params=BACKENDS)
def plan_where(request, tmp_path):
    """Where a plan store lives: SQLite, and PostgreSQL (a schema of its own)."""
    with plan_location(request.param, tmp_path) as where:
        yield where


@pytest.fixture
def plan(plan_where):
    store = PlanStore(plan_where)
    yield store
    store.close()


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    store = PlanStore(tmp_path_factory.mktemp("fuzz") / "plan.db")
    yield store
    store.close()


@settings(max_examples=200, deadline=None)
@given(topic=st.sampled_from([TOPIC, "community/c1/kiosk/k1/state/lockers",
                              "community/c1/kiosk/k1/state/uplink", "x/y"]),
       payload=st.one_of(st.binary(max_size=300),
                         st.recursive(st.none() | st.booleans() | st.integers()
                                      | st.floats(allow_nan=False) | st.text(max_size=10),
                                      lambda kids: st.lists(kids, max_size=4)
                                      | st.dictionaries(st.text(max_size=6), kids, max_size=4),
                                      max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_nothing_anyone_sends_makes_ingest_raise(fuzz_store, topic, payload):
    result = fuzz_store.ingest([(topic, payload)])
    assert result.stored + result.duplicates + sum(result.refused.values()) <= 1
    indicators.report(fuzz_store, "c1")


def test_dedupe_by_kiosk_and_seq_and_conflicts_are_refused(plan):
    first = event("c1", "k1", 1, id_="e-1")
    result = plan.ingest([first, first, event("c1", "k2", 1), event("c2", "k1", 1)])
    assert (result.stored, result.duplicates) == (3, 1)
    forged = event("c1", "k1", 1, "parcel.collected", id_="e-forged")
    assert plan.ingest([forged]).refused == {"conflict": 1}
    assert plan.event_count() == 3
    assert plan.kiosk_counters("c1")[0]["conflicts"] == 1
    assert plan.rejects() == {"conflict": 1}


def test_gap_report_shows_missing_seqs_and_a_lost_tail(plan):
    plan.ingest([event("c1", "k1", s) for s in (1, 2, 3, 5, 6, 9)] +
                [event("c1", "k2", s) for s in (1, 2)])
    uplink = json.dumps({"connected": True, "backlog": 0, "last_seq": 12}).encode()
    plan.ingest([(topics.state_topic("c1", "k1", "uplink"), uplink)])
    gaps = {g.kiosk: g for g in plan.gaps("c1")}
    assert gaps["k1"].missing == 3 and gaps["k1"].ranges == [(4, 4), (7, 8)]
    assert gaps["k1"].behind == 3
    assert gaps["k2"].missing == 0 and gaps["k2"].ranges == [] and gaps["k2"].behind == 0


def test_an_outage_is_counted_as_an_outage_and_never_as_unmet_demand(plan):
    plan.ingest([
        event("c1", "k1", 1, "locker.full", {"size": "M", "free": {"S": 2, "M": 0, "L": 0}},
              "2026-11-29T10:00:00Z"),
        event("c1", "k1", 2, "locker.unavailable",
              {"size": "S", "causes": {"board_offline": 8, "jammed": 1}},
              "2026-11-29T11:00:00Z"),
        event("c1", "k1", 3, "locker.unavailable", {"size": "S", "causes": "odd"},
              "2026-11-30T11:00:00Z"),
    ])
    ind = indicators.compute(plan, "c1")
    assert ind["unmet_demand"] == {"total": 1, "by_size": {"M": 1},
                                   "by_day": {"2026-11-29": 1}}
    assert ind["outages"] == {"total": 2, "by_size": {"S": 2},
                              "by_cause": {"board_offline": 1, "jammed": 1},
                              "by_day": {"2026-11-29": 1, "2026-11-30": 1}}
    assert "locker.unavailable" not in ind["intake"]["unknown_types"]
    # Control: the same refusal sent as locker.full is demand; the count can move.
    plan.ingest([event("c1", "k1", 4, "locker.full", {"size": "S"})])
    assert indicators.compute(plan, "c1")["unmet_demand"]["total"] == 2


def test_indicators_from_a_small_history(plan_where):
    plan = PlanStore(plan_where, PlanSettings(timezone="Asia/Shanghai",
                                              agreed_hours=("08:00", "18:00")))
    lockers = json.dumps({"capacity": {"S": 2, "M": 4}, "free": {"S": 0, "M": 4}}).encode()
    evs = [
        # 23:30 UTC is 07:30 the next day in Shanghai.
        event("c1", "k1", 1, "parcel.deposited", {"parcel": "p1", "size": "S",
                                                  "compartment": "A1", "compartment_size": "S",
                                                  "courier": "c-1"}, "2026-11-29T23:30:00Z"),
        event("c1", "k1", 2, "parcel.deposited", {"parcel": "p2", "size": "S",
                                                  "compartment": "A2", "compartment_size": "S",
                                                  "courier": "c-2"}, "2026-11-29T23:40:00Z"),
        event("c1", "k1", 3, "locker.full", {"size": "S"}, "2026-11-29T23:50:00Z"),
        event("c1", "k1", 4, "parcel.collected", {"parcel": "p1", "waited_s": 7200,
                                                  "compartment": "A1", "compartment_size": "S"},
              "2026-11-30T01:30:00Z"),
        event("c1", "k1", 5, "parcel.collected", {"parcel": "p2", "waited_s": "soon",
                                                  "compartment": "A2", "compartment_size": "S"},
              "2026-11-30T02:00:00Z"),
        event("c1", "k1", 6, "door.jammed", {"compartment": 3, "board": 0}),
        event("c1", "k1", 7, "door.jammed", {"compartment": 3, "board": 0}),
        event("c1", "k1", 8, "board.offline", {"board": 1}),
        event("c1", "k1", 9, "parking.requested", {"round": "r1", "member": "m-1",
                                                   "type": "ev"}),
        event("c1", "k1", 10, "parking.refused", {"kind": "round", "round": "r1",
                                                  "member": "m-1", "type": "ev"}),
        event("c1", "k1", 11, "solar.panel_dusty", {}),
    ]
    plan.ingest([*evs, (topics.state_topic("c1", "k1", "lockers"), lockers)])
    ind = indicators.compute(plan, "c1")
    plan.close()
    assert set(ind) == set(indicators.INDICATORS)
    assert ind["parcels_per_day"]["days"] == {"2026-11-30": 2}
    assert ind["parcels_per_hour"]["hours"][7] == 2
    assert ind["wait_time"]["count"] == 1 and ind["wait_time"]["median_h"] == 2.0
    assert ind["occupancy"]["compartments"][0] == {
        "kiosk": "k1", "size": "S", "peak": 2, "compartments": 2, "peak_ratio": 1.0, "now": 0,
        "basis": "compartment", "over_capacity": 0}
    assert ind["unmet_demand"]["by_size"] == {"S": 1}
    # 07:30 and 07:40 local, before the agreed 08:00: both flagged.
    assert [(d["courier"], d["day"], d["first"], d["outside_hours"], d["flagged"])
            for d in ind["courier_hours"]["days"]] == [
        ("c-1", "2026-11-30", "07:30", 1, True), ("c-2", "2026-11-30", "07:40", 1, True)]
    assert ind["faults"]["devices"][0] == {"device": "k1 compartment 3",
                                           "counts": {"door.jammed": 2}, "total": 2}
    assert ind["faults"]["totals"] == {"board.offline": 1, "door.jammed": 2}
    assert ind["parking"]["requested"] == 1 and ind["parking"]["refused"] == 1
    assert ind["parking"]["rounds"][0]["types"][0]["type"] == "ev"
    assert ind["intake"]["unknown_types"] == {"solar.panel_dusty": 1}
    assert ind["gaps"]["missing"] == 0


# -- the service against a real broker -------------------------------------------------------

def start_plan(broker_port: int, data: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "--log-level", "INFO", "plan", "--broker",
         f"127.0.0.1:{broker_port}", "--data", str(data), "--interval", "0.2",
         "--reconnect-max", "1", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_plan(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return proc.returncode, err


def stored_seqs(data: Path, kiosk: str) -> list[int]:
    store = PlanStore(data / "plan.db")
    try:
        return [r["seq"] for r in store.store.query(
            "SELECT seq FROM events WHERE kiosk = ? ORDER BY seq", (kiosk,))]
    finally:
        store.close()


def kiosk_outbox(path: Path) -> Outbox:
    return Outbox(open_kiosk_store(path))


def add_events(outbox: Outbox, n: int) -> None:
    for i in range(n):
        with outbox.store.step() as db:
            outbox.append(db, "parcel.deposited", {"parcel": f"p{i}", "size": "M",
                                                   "household": f"h-{i % 5}", "courier": "c-1"})


def raw_client(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{uuid.uuid4().hex[:6]}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def wait_for_subscription(client: mqtt.Client, data: Path) -> None:
    """Until the plan has subscribed, events pass it by: probe until one lands."""
    probe = event("c1", "probe", 1)
    assert wait_until(lambda: client.publish(*probe, qos=1) and stored_seqs(data, "probe"),
                      20, step=0.3)


def test_plan_service_dedupes_skips_hostile_input_and_publishes_indicators(broker, tmp_path):
    data = tmp_path / "plan"
    proc = start_plan(broker.port, data)
    outbox = kiosk_outbox(tmp_path / "k1.db")
    add_events(outbox, 40)
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port), "c1", "k1",
                    reconnect_min_s=0.1)
    hostile = raw_client(broker.port)
    try:
        wait_for_subscription(hostile, data)
        for topic, payload in [(TOPIC, b"{oops"), (TOPIC, b"z" * 100_000),
                               (TOPIC, body_with(seq="7")), (TOPIC, body_with(kiosk="k9")),
                               ("community/c1/kiosk/k1/event/x/y", b"{}")]:
            hostile.publish(topic, payload, qos=1)
        pub.start()
        assert wait_until(lambda: outbox.pending_count() == 0, 15)
        # The same events once more, as after a kiosk reconnect: stored once.
        for e in outbox.events():
            hostile.publish(topics.event_topic("c1", "k1", e.type), e.to_json("c1", "k1"), qos=1)
        assert wait_until(lambda: stored_seqs(data, "k1") == list(range(1, 41)), 15)
        plan_topics = Collector(broker.port, ["community/c1/plan/#"])
        assert wait_until(lambda: {m.topic.rsplit("/", 1)[1] for m in plan_topics.messages()}
                          >= set(indicators.INDICATORS), 15)

        def intake() -> dict:
            return [m.json() for m in plan_topics.messages("/plan/intake")][-1]["value"]

        assert wait_until(lambda: intake()["events"] == 41, 15)
        assert proc.poll() is None
        plan_topics.stop()
    finally:
        pub.stop()
        hostile.loop_stop()
        hostile.disconnect()
        code, err = stop_plan(proc)
    assert code == 0, err
    assert "Traceback" not in err
    assert intake()["refused_all_communities"] == {"bad_json": 1, "bad_seq": 1, "bad_topic": 1,
                                                 "too_large": 1, "topic_mismatch": 1}
    store = PlanStore(data / "plan.db")
    counters = {c["kiosk"]: c for c in store.kiosk_counters("c1")}
    assert counters["k1"]["duplicates"] == 40 and counters["k1"]["conflicts"] == 0
    store.close()


def test_plan_rides_out_broker_restarts_and_its_own_absence(broker, tmp_path):
    data = tmp_path / "plan"
    outbox = kiosk_outbox(tmp_path / "k1.db")
    pub = Publisher(outbox, MqttConfig(host="127.0.0.1", port=broker.port, reconnect_max_s=1),
                    "c1", "k1", reconnect_min_s=0.1)
    pub.start()
    proc = start_plan(broker.port, data)
    prober = raw_client(broker.port)
    try:
        wait_for_subscription(prober, data)
        add_events(outbox, 1)
        pub.kick()
        assert wait_until(lambda: stored_seqs(data, "k1") == [1], 20)
        for round_ in range(3):
            broker.restart()
            add_events(outbox, 20)
            pub.kick()
            expected = list(range(1, 2 + 20 * (round_ + 1)))
            assert wait_until(lambda e=expected: stored_seqs(data, "k1") == e, 20)
        # The plan is away while events pass: its persistent session keeps them for it.
        code, err = stop_plan(proc)
        assert code == 0, err
        add_events(outbox, 50)
        pub.kick()
        assert wait_until(lambda: outbox.pending_count() == 0, 15)
        proc = start_plan(broker.port, data)
        assert wait_until(lambda: stored_seqs(data, "k1") == list(range(1, 112)), 20)
    finally:
        pub.stop()
        prober.loop_stop()
        prober.disconnect()
        code, err = stop_plan(proc)
    assert code == 0, err


def test_report_prints_charts_and_writes_one_self_contained_page(plan, plan_where, tmp_path):
    lockers = json.dumps({"capacity": {"M": 4}}).encode()
    plan.ingest([event("c1", "k1", s, "parcel.deposited",
                       {"parcel": f"p{s}", "size": "M", "courier": "c-1"},
                       f"2026-11-{20 + s % 5}T0{s % 9}:00:00Z") for s in range(1, 30)]
                + [event("c1", "k1", 31, "locker.full", {"size": "M"}),
                   event("c1", "k1", 32, "door.jammed", {"compartment": 2}),
                   (topics.state_topic("c1", "k1", "lockers"), lockers)])
    plan.close()
    page = tmp_path / "board" / "plan.html"
    page.parent.mkdir()
    where = (["--database", plan_where] if isinstance(plan_where, str)
             else ["--data", str(tmp_path)])
    out = subprocess.run([sys.executable, "-m", "kiosk", "plan", "report", *where,
                          "--html", str(page)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Parcels per day" in out.stdout and "█" in out.stdout
    assert "GAP k1: 1 missing of 1..32 (30)" in out.stdout
    text = page.read_text()
    assert text.count("<svg") >= 6 and "Full-bank refusals" in text
    assert "<script" not in text and "src=" not in text and "href=" not in text
    assert "k1 compartment 2" in text


def test_report_reads_the_plan_as_kept_and_refuses_other_settings(plan_where, tmp_path,
                                                                   capsys):
    from kiosk.cli.main import main
    store = PlanStore(plan_where, PlanSettings(timezone="Asia/Shanghai"))
    store.ingest([event("c1", "k1", 1, "parcel.deposited", {"parcel": 1},
                        "2026-11-29T23:30:00Z")])
    store.close()
    where = (["--database", plan_where] if isinstance(plan_where, str)
             else ["--data", str(tmp_path)])
    assert main(["plan", "report", *where]) == 0
    out = capsys.readouterr().out
    assert "(Asia/Shanghai)" in out and "11-30" in out  # the local day
    assert main(["plan", "report", *where, "--timezone", "UTC"]) == 2
    assert "kept in Asia/Shanghai" in capsys.readouterr().err


def test_report_without_data_says_so(tmp_path):
    out = subprocess.run([sys.executable, "-m", "kiosk", "plan", "report", "--data",
                          str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no plan data" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("args,message", [
    (["plan", "--data", "x"], "needs --broker"),
    (["plan", "--broker", "127.0.0.1:99999", "--data", "x"], "1-65535"),
    (["plan", "--broker", "127.0.0.1:1883", "--data", "x", "--timezone", "Mars/Base"],
     "unknown time zone"),
    (["plan", "--broker", "127.0.0.1:1883", "--data", "x", "--community", "A/B"],
     "--community"),
    (["plan", "--broker", "127.0.0.1:1883", "--data", "x", "--ca-file", "ca.pem"],
     "--ca-file needs --tls"),
    (["plan", "--broker", "127.0.0.1:1883", "--data", "x", "--agreed-hours", "25:00-08:00"],
     "--agreed-hours"),
    (["plan", "--broker", "127.0.0.1:1883", "--data", "x", "--agreed-hours", "8-18"],
     "--agreed-hours"),
    (["plan", "--broker", "127.0.0.1:1883", "--database", "mysql://db/plan"], "--database"),
    (["plan", "report", "--data", "x", "--width", "5"], "--width"),
    (["plan", "report", "--database", "postgresql://nobody@127.0.0.1:1/none"],
     "postgresql://nobody@127.0.0.1:1/none"),
])
def test_plan_refuses_bad_arguments_with_a_message(tmp_path, capsys, monkeypatch, args, message):
    from kiosk.cli.main import main
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
