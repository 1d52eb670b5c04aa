"""Members, spots and allocation rounds in the register, with their events."""

from __future__ import annotations

import ast
import inspect
import json
import re

import pytest

from kiosk.audit import AuditLog
from kiosk.backoff import TooManyAttempts
from kiosk.parking.csvimport import CsvImportError
from kiosk.parking.model import ParkingError
from kiosk.parking.policies import LeastServedFirst, replay
from kiosk.parking.record import verify, verify_chain
from tests.parking_support import (
    MEMBERS_CSV,
    SPOTS_CSV,
    Clock,
    close_round,
    commit_round,
    events,
    make_register,
)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def register(tmp_path, clock):
    reg = make_register(tmp_path / "kiosk.db", clock)
    yield reg
    reg.store.close()


@pytest.fixture
def loaded(register):
    register.import_members(MEMBERS_CSV, "m-duty")
    register.import_spots(SPOTS_CSV, "m-duty")
    return register


def audit_actions(register):
    return [(e.actor, e.action, e.subject) for e in AuditLog(register.store,
                                                               register.outbox).entries()]


# --- members and spots -----------------------------------------------------------------------

def test_import_adds_everyone_audited_and_pins_work(loaded):
    assert [m.member for m in loaded.members()] == ["h-1", "h-2", "h-3", "w-1"]
    assert loaded.member("h-2").need and loaded.member("w-1").kind == "worker"
    assert ("m-duty", "parking.member_added", "h-1") in audit_actions(loaded)
    assert ("m-duty", "parking.spot_added", "L1") in audit_actions(loaded)
    assert loaded.authenticate("a-101", "11111111").member == "h-1"
    assert loaded.spot("L1").pool == "short" and loaded.spot("S1").pool == "rounds"


def test_bad_rows_are_named_by_line_and_nothing_is_imported(register):
    text = ("member,unit,kind,accessible_need,pin\n"
            "h-1,A-101,household,no,11111111\n"
            "h-2,A-102,tenant,no,22222222\n"
            "h-3,A-103,household,maybe,33\n"
            "h-1,A-104,household,no,\n")
    with pytest.raises(CsvImportError) as caught:
        register.import_members(text, "m-duty")
    assert caught.value.problems == [
        "line 3: kind 'tenant': must be one of household, worker",
        "line 4: pin: a PIN is 8-12 digits",
        "line 4: accessible_need 'maybe': must be yes or no",
        "line 5: member h-1 is already on line 2",
    ]
    assert register.members() == []
    assert register.outbox.last_seq() == 0


def test_a_row_clashing_with_the_register_stops_the_whole_file(loaded):
    before = loaded.outbox.last_seq()
    text = "member,unit,kind\nh-7,B-1,household\nh-8,A-101,household\n"
    with pytest.raises(CsvImportError) as caught:
        loaded.import_members(text, "m-duty")
    assert caught.value.problems == ["line 3: unit A-101 is the household h-1: its member is "
                                     "that pseudonym (write it, or leave member empty)"]
    assert "h-7" not in [m.member for m in loaded.members()]
    assert loaded.outbox.last_seq() == before


def test_header_problems_and_short_rows_are_reported(register):
    with pytest.raises(CsvImportError, match="column 'name' is not known"):
        register.import_members("member,unit,kind,name\nh-1,A-1,household,Li\n", "m")
    with pytest.raises(CsvImportError, match="column 'kind' is missing"):
        register.import_members("member,unit\nh-1,A-1\n", "m")
    with pytest.raises(CsvImportError) as caught:
        register.import_spots("spot,type\nS1,standard\nS2\nS3,boat\n", "m")
    assert caught.value.problems == ["line 3: 1 cells, the header has 2",
                                     "line 4: type 'boat': must be one of standard, "
                                     "accessible, ev, motorcycle, loading"]
    assert register.spots() == []


def test_reimport_changes_only_what_changed_and_keeps_pins(loaded):
    text = MEMBERS_CSV.replace("w-1,,worker,no,44444444", "w-1,,worker,yes,")
    report = loaded.import_members(text, "m-duty")
    assert (report.added, report.changed, report.unchanged) == (0, 1, 3)
    assert loaded.member("w-1").need
    assert loaded.authenticate("w-1", "44444444").member == "w-1"
    entry = AuditLog(loaded.store, loaded.outbox).entries()[-1]
    assert (entry.action, entry.subject, entry.data["changed"]) == (
        "parking.member_changed", "w-1", ["accessible_need"])


def test_a_maintainers_edit_is_audited_with_reason(loaded):
    loaded.update_member("m-duty", "new need", "h-3", need=True, pin="99999999")
    entry = AuditLog(loaded.store, loaded.outbox).entries()[-1]
    assert (entry.actor, entry.reason, entry.data["changed"]) == ("m-duty", "new need",
                                                                  ["accessible_need", "pin"])
    assert loaded.authenticate("A-103", "99999999").member == "h-3"
    with pytest.raises(ParkingError, match="is the household h-1"):
        loaded.update_member("m-duty", "typo", "h-3", unit="A-101")
    with pytest.raises(ValueError, match="reason"):
        loaded.update_member("m-duty", " ", "h-3", need=False)
    assert loaded.member("h-3").need
    # A household's pseudonym is its identity: it does not become a worker's login.
    with pytest.raises(ParkingError, match="a household's unit or pseudonym"):
        loaded.update_member("m-duty", "typo", "h-3", kind="worker")
    assert loaded.member("h-3").kind == "household"


def test_wrong_pins_are_published_and_slow_down(loaded, clock):
    for _ in range(2):
        with pytest.raises(ParkingError, match=r"wrong unit or PIN$"):
            loaded.authenticate("A-101", "00000000")
    with pytest.raises(ParkingError, match="wrong unit or PIN; wait 5 s"):
        loaded.authenticate("A-101", "00000000")
    with pytest.raises(TooManyAttempts):
        loaded.authenticate("A-101", "11111111")
    assert [t for t, _ in events(loaded, "security.")] == ["security.wrong_pin"] * 3
    clock.advance(seconds=5)
    assert loaded.authenticate("A-101", "11111111").member == "h-1"


def test_no_unit_or_pin_in_any_event(loaded):
    loaded.request("h-1", "2026-03", "standard")
    loaded.update_member("m-duty", "new PIN", "h-1", pin="55555555")
    text = json.dumps([e.data for e in loaded.outbox.events(limit=10_000)])
    for private in ("A-101", "STAFF-1", "11111111", "55555555", "pin_hash"):
        assert private not in text


# --- rounds ----------------------------------------------------------------------------------

def ask_all(register, round_id):
    for member, spot_type in (("h-1", "standard"), ("h-2", "accessible"),
                              ("h-3", "standard"), ("w-1", "standard")):
        register.request(member, round_id, spot_type)


def test_requests_are_checked_and_published(loaded):
    with pytest.raises(ParkingError, match="declared need"):
        loaded.request("h-1", "2026-03", "accessible")
    with pytest.raises(ParkingError, match="not a member"):
        loaded.request("x-9", "2026-03", "standard")
    loaded.request("h-1", "2026-03", "standard")
    loaded.request("h-1", "2026-03", "ev")  # changing one's mind replaces the request
    assert [(a.member, a.type) for a in loaded.requests("2026-03")] == [("h-1", "ev")]
    assert events(loaded)[-1] == ("parking.requested",
                                  {"round": "2026-03", "member": "h-1", "type": "ev"})


def test_commit_then_draw_publishes_inputs_then_results(loaded, clock):
    ask_all(loaded, "2026-03")
    commitment = commit_round(loaded, "2026-03", "lottery 2026-02-28: 4 8 15")
    with pytest.raises(ParkingError, match="closed"):
        loaded.request("h-1", "2026-03", "standard")
    committed = events(loaded)[-1]
    assert committed[0] == "parking.draw_committed"
    assert committed[1]["inputs_hash"] == commitment["inputs_hash"]
    assert committed[1]["askers"] == {"accessible": 1, "standard": 3}
    # Only round spots are drawn; reservation spots stay out.
    assert {s["spot"] for s in commitment["inputs"]["spots"]} == {"S1", "S2", "A1"}

    clock.advance(hours=1)
    record = loaded.draw("2026-03")
    assert verify(record, commitment=commitment) == []
    results = record["results"]
    assert len(results["assignments"]) == 3 and len(results["refused"]) == 1
    kinds = [t for t, _ in events(loaded)]
    assert kinds.count("parking.allocated") == 3
    assert kinds.count("parking.refused") == 1
    assert kinds[-1] == "parking.draw_published"
    refused = next(d for t, d in events(loaded) if t == "parking.refused")
    assert refused == {"kind": "round", "round": "2026-03", **results["refused"][0]}
    held = {r["member"]: r["spot"] for r in results["assignments"]}
    assert {m: loaded.allocation(m) for m in held} == held
    assert loaded.memory().hash() == results["posterior_state_hash"]
    assert loaded.allocation("h-2") == "A1"


def test_draw_needs_a_commitment_and_one_round_at_a_time(loaded):
    ask_all(loaded, "2026-03")
    with pytest.raises(ParkingError, match="not committed"):
        loaded.draw("2026-03")
    commit_round(loaded, "2026-03", "v1")
    with pytest.raises(ParkingError, match="2026-03 is committed but not drawn"):
        commit_round(loaded, "2026-04", "v2")
    with pytest.raises(ParkingError, match="already committed"):
        commit_round(loaded, "2026-03", "v3")
    with pytest.raises(ParkingError, match="one line"):
        loaded.commit("2026-05", " ")
    loaded.draw("2026-03")
    with pytest.raises(ParkingError, match="it is drawn"):
        loaded.draw("2026-03")


def test_rounds_chain_and_replaying_the_history_gives_the_same_draws(loaded, clock):
    records = []
    for month in ("2026-03", "2026-04", "2026-05", "2026-06"):
        ask_all(loaded, month)
        commit_round(loaded, month, f"public value of {month}")
        clock.advance(days=1)
        records.append(loaded.draw(month))
    assert verify_chain(records) == []
    # Two standard spots, three standard askers, four rounds: 8 allocations, 2 or 3 each.
    got = {}
    for record in records:
        for row in record["results"]["assignments"]:
            got[row["member"]] = got.get(row["member"], 0) + 1
    assert sorted(got[m] for m in ("h-1", "h-3", "w-1")) == [2, 3, 3]
    assert got["h-2"] == 4
    replayed = replay(loaded.history(), LeastServedFirst())
    for record, outcome in zip(records, replayed, strict=True):
        assert {r["member"]: r["spot"] for r in record["results"]["assignments"]} == {
            m: s.id for m, s in outcome.assignments.items()}


def test_a_member_who_leaves_loses_open_requests(loaded):
    loaded.request("h-3", "2026-03", "standard")
    loaded.update_member("m-duty", "moved out", "h-3", active=False)
    assert loaded.requests("2026-03") == []
    with pytest.raises(ParkingError, match="not a member"):
        loaded.request("h-3", "2026-03", "standard")
    with pytest.raises(ParkingError, match="wrong unit or PIN"):
        loaded.authenticate("A-103", "33333333")


def test_a_member_without_need_any_more_is_not_eligible_for_accessible(loaded):
    loaded.request("h-2", "2026-03", "accessible")
    loaded.update_member("m-duty", "need withdrawn by member", "h-2", need=False)
    commitment = commit_round(loaded, "2026-03", "v")
    assert commitment["inputs"]["eligible"] == []


def test_release_gives_the_spot_back_and_says_so(loaded):
    ask_all(loaded, "2026-03")
    commit_round(loaded, "2026-03", "v")
    loaded.draw("2026-03")
    spot = loaded.allocation("h-2")
    loaded.release("h-2")
    assert loaded.allocation("h-2") is None
    assert events(loaded)[-1] == ("parking.released", {
        "kind": "allocation", "member": "h-2", "spot": spot, "round": "2026-03",
        "reason": "released"})
    with pytest.raises(ParkingError, match="holds no spot"):
        loaded.release("h-2")


def test_a_refused_request_changes_nothing(loaded):
    before = (loaded.outbox.last_seq(), loaded.store.scalar(
        "SELECT COUNT(*) FROM parking_requests"))
    with pytest.raises(ParkingError):
        loaded.request("h-1", "bad round id!", "standard")
    with pytest.raises(ParkingError):
        loaded.request("h-1", "2026-03", "boat")
    assert (loaded.outbox.last_seq(), loaded.store.scalar(
        "SELECT COUNT(*) FROM parking_requests")) == before


def test_closing_fixes_who_asked_and_which_spots_before_the_random_value(loaded, clock):
    ask_all(loaded, "2026-03")
    closed = close_round(loaded, "2026-03")
    assert events(loaded)[-1][0] == "parking.round_closed"
    with pytest.raises(ParkingError, match="closed for requests"):
        loaded.request("h-1", "2026-03", "ev")
    with pytest.raises(ParkingError, match="2026-03 is closed but not drawn"):
        close_round(loaded, "2026-04")
    loaded.set_spot_state("m-duty", "S2", "out_of_service", "repainting")
    clock.advance(days=2)
    commitment = commit_round(loaded, "2026-03", "announced two days later")
    inputs = commitment["inputs"]
    assert inputs["closed_at"] == closed["closed_at"] < inputs["committed_at"]
    assert {s["spot"] for s in inputs["spots"]} == {"S1", "S2", "A1"}
    assert verify(loaded.draw("2026-03")) == []


def test_parking_settings_are_checked_strictly():
    from kiosk.config import ConfigError, config_from_dict
    from kiosk.parking.settings import ParkingSettings

    config = config_from_dict({"parking": {"grace_minutes": 10, "lend_accessible": False}},
                              "kiosk.toml")
    settings = ParkingSettings.from_config(config)
    assert (settings.grace_minutes, settings.lend_accessible) == (10, False)
    with pytest.raises(ConfigError) as caught:
        ParkingSettings.from_dict({"grace": 5, "offer_minutes": 0, "lend_accessible": "yes"},
                                  "kiosk.toml")
    assert caught.value.problems == [
        "kiosk.toml: parking.grace: unknown key (known: early_checkin_minutes, "
        "grace_minutes, lend_accessible, max_reservation_hours, offer_minutes)",
        "kiosk.toml: parking.offer_minutes: expected a whole number of at least 1, got 0",
        "kiosk.toml: parking.lend_accessible: expected true or false, got 'yes'",
    ]


def test_every_refusal_names_a_reason_the_register_lists():
    """Each ``ParkingError`` the register raises gives a reason code, and its docstring
    lists every code (the one place they are documented)."""
    from kiosk.parking import register as module

    reasons = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ParkingError":
            given = [k.value for k in node.keywords if k.arg == "reason"]
            assert given and isinstance(given[0], ast.Constant), ast.unparse(node)
            reasons.append(given[0].value)
    assert len(reasons) > 30
    listed = set(re.findall(r"``([a-z_]+)``", module.__doc__ or ""))
    assert set(reasons) <= listed, set(reasons) - listed


def test_an_open_round_is_never_committed_and_closes_only_once_announced(loaded):
    ask_all(loaded, "2026-03")
    with pytest.raises(ParkingError, match="still open") as refused:
        loaded.commit("2026-03", "a value known while the list is open")
    assert refused.value.reason == "round_state"
    with pytest.raises(ParkingError, match="announce where") as refused:
        loaded.close("2026-03")
    assert refused.value.reason == "not_announced"
    assert loaded.round_status("2026-03") == "open"  # control: nothing changed
    announced = loaded.announce("2026-03", "national lottery, 2026-03-31", "v-ana")
    with pytest.raises(ParkingError, match="announced already"):
        loaded.announce("2026-03", "another lottery", "v-ana")
    loaded.close("2026-03", "v-ana")
    inputs = loaded.commit("2026-03", "04 11 23", "v-ana")["inputs"]
    assert (inputs["random_source"], inputs["announced_at"]) == (
        "national lottery, 2026-03-31", announced["announced_at"])
    actions = [e.action for e in loaded.audit.entries()]
    assert actions[-3:] == ["parking.random_announced", "parking.round_closed",
                            "parking.round_committed"]
    assert [e.action for e in loaded.chain.entries()] == [
        "parking.announced", "parking.closed", "parking.committed"]


def test_a_round_whose_record_might_not_be_published_whole_stays_open(register, clock,
                                                                     tmp_path):
    """Witnesses take a chain entry of at most 4 MiB. A round stays open while its draw
    record might be larger (once closed it must be drawn, and a draw the chain refused
    would leave it closed for good); just under the bound it closes, commits with the
    widest public random value allowed, draws, and its draw entries reach a witness whole.
    The record grows with the requests, the spots and the memory of every member who
    stood before: here 21,000 members, the second round."""
    import math

    from kiosk.audit import MAX_ENTRY_BYTES
    from kiosk.parking.register import DRAW_ENTRY_ROOM
    from mqtt import topics
    from mqtt.contract import MAX_CHAIN_PAYLOAD
    from witness.core import Witness
    from witness.service import handle

    members = [f"{'m' * 31}-{i:08d}" for i in range(21_000)]  # 40 characters, the most
    register.import_members("member,unit,kind\n" + "".join(
        f"{m},U{i},household\n" for i, m in enumerate(members)), "m-duty")
    register.import_spots("spot,type,pool\n" + "".join(
        f"{'s' * 36}{i:04d},standard,rounds\n" for i in range(100)), "m-duty")

    def everyone_asks(round_id: str) -> None:
        register.announce(round_id, f"the national lottery after {round_id}", "v-ana")
        with register.store.step() as db:  # one step: quicker than 21,000
            for m in members:
                register._request(db, m, round_id, "standard")

    everyone_asks("2026-04")  # the first round fits, and leaves every member in the memory
    register.close("2026-04", "v-ana")
    register.commit("2026-04", "04 11 23 35 41", "v-ana")
    register.draw("2026-04", "v-ana")
    everyone_asks("2026-05")
    head = register.chain.head()

    def refusal() -> ParkingError:
        with pytest.raises(ParkingError) as refused:
            register.close("2026-05", "v-ana")
        assert refused.value.reason == "round_too_large"
        assert register.round_status("2026-05") == "open" and register.chain.head() == head
        return refused.value

    over = refusal()
    assert over.details["limit"] == MAX_ENTRY_BYTES - DRAW_ENTRY_ROOM
    register.withdraw(members.pop(), "2026-05")
    still = refusal()
    each = over.details["bytes"] - still.details["bytes"]  # what one request adds
    assert 150 < each < 300
    excess = still.details["bytes"] - over.details["limit"]
    for _ in range(math.ceil(excess / each)):
        register.withdraw(members.pop(), "2026-05")

    # Control: with just the requests past the bound taken back (one more would not fit:
    # every request adds ``each``), the round closes, commits and draws.
    closed = register.close("2026-05", "v-ana")
    assert len(closed["eligible"]) == len(members)
    clock.advance(hours=1)
    register.commit("2026-05", "\x01" * 256, "v-ana")
    clock.advance(hours=1)
    record = register.draw("2026-05", "v-ana")
    assert len(record["results"]["assignments"]) == 100
    community, kiosk = "c" * 63, "k" * 63
    entries = [p.encode() for _, t, p in register.outbox.pending_payloads(
        community, kiosk, limit=200_000) if t == "parking.draw_entry"]
    # The bound is near the real size, not far above it.
    assert MAX_CHAIN_PAYLOAD - 2 * DRAW_ENTRY_ROOM < len(entries[-1]) <= MAX_CHAIN_PAYLOAD
    witness = Witness(tmp_path / "witness.db")
    try:
        topic = topics.event_topic(community, kiosk, "parking.draw_entry")
        assert [a for e in entries for a in handle(witness, topic, e)] == []
        held = witness.held(community, kiosk, "draws")
        assert [e["action"] for e in held] == 2 * ["parking.announced", "parking.closed",
                                                   "parking.committed", "parking.drawn"]
        assert held[-1]["data"] == record
    finally:
        witness.close()


def test_commit_and_draw_take_only_what_the_draw_chain_published(loaded, clock):
    """The round's table row is editable (root, sqlite3): commit takes the eligible list,
    spots and random source as the chain's close and announcement published them, and the
    memory the chain's last draw left; draw takes the chain's commitment. Each edit is
    refused with nothing changed; put back, the same step goes through (the control)."""
    db = loaded.store.db

    def edit(column: str, round_id: str, change) -> str:
        text = db.execute(f"SELECT {column} FROM parking_rounds WHERE round = ?",
                          (round_id,)).fetchone()[0]
        value = json.loads(text)
        change(value)
        db.execute(f"UPDATE parking_rounds SET {column} = ? WHERE round = ?",
                   (json.dumps(value), round_id))
        return text

    ask_all(loaded, "2026-03")
    close_round(loaded, "2026-03")
    seq = loaded.chain.head()[0]
    original = edit("closed", "2026-03", lambda c: c["eligible"].pop())
    with pytest.raises(ParkingError) as refused:
        loaded.commit("2026-03", "v1")
    assert refused.value.reason == "inputs_changed"
    assert "(member w-1 missing)" in str(refused.value)
    assert loaded.round_status("2026-03") == "closed" and loaded.chain.head()[0] == seq
    db.execute("UPDATE parking_rounds SET closed = ? WHERE round = '2026-03'", (original,))
    original = edit("announced", "2026-03", lambda a: a.update(random_source="a die"))
    with pytest.raises(ParkingError, match="random_source: the register's copy differs"):
        loaded.commit("2026-03", "v1")
    db.execute("UPDATE parking_rounds SET announced = ? WHERE round = '2026-03'",
               (original,))
    commitment = loaded.commit("2026-03", "v1")
    assert [e["member"] for e in commitment["inputs"]["eligible"]] == [
        "h-1", "h-2", "h-3", "w-1"]

    original = edit("commitment", "2026-03",
                    lambda c: c["inputs"].update(public_random="v2"))
    with pytest.raises(ParkingError, match="cannot be drawn: commitment: the register's"
                                           " copy differs") as refused:
        loaded.draw("2026-03")
    assert refused.value.reason == "inputs_changed"
    db.execute("UPDATE parking_rounds SET commitment = ? WHERE round = '2026-03'",
               (original,))
    record = loaded.draw("2026-03")

    ask_all(loaded, "2026-04")
    close_round(loaded, "2026-04")
    state = db.execute("SELECT state FROM parking_state").fetchone()[0]
    edited = json.loads(state)
    edited["types"]["standard"]["h-1"][0] += 1
    db.execute("UPDATE parking_state SET state = ?", (json.dumps(edited),))
    with pytest.raises(ParkingError, match="memory is not the one round 2026-03's draw left"
                       ) as refused:
        loaded.commit("2026-04", "v3")
    assert refused.value.reason == "memory_changed"
    db.execute("UPDATE parking_state SET state = ?", (state,))
    loaded.commit("2026-04", "v3")
    assert verify(loaded.draw("2026-04"), previous=record) == []
    assert loaded.verify_draw_chain() == []


def test_a_witness_recomputes_what_each_draw_step_carries(loaded, tmp_path):
    """Witness.entry without a broker: fed a draw chain whose commitment root appended by
    hand (through the chain itself, so hashes and links are right) from a changed list,
    it names the commitment (``inputs_changed``) and verify_draw_chain does too; fed the
    honest chain (the control) it names nothing."""
    from kiosk.parking.model import ACCESSIBLE, Ask, Spot
    from kiosk.parking.record import make_commitment, make_inputs
    from witness.core import Witness

    ask_all(loaded, "2026-03")
    closed = close_round(loaded, "2026-03")
    announced = loaded.chain.entries()[-2].data
    dropped = [Ask(e["member"], e["type"], e["type"] == ACCESSIBLE)
               for e in closed["eligible"] if e["member"] != "h-3"]
    inputs = make_inputs("2026-03", dropped, [Spot(s["spot"], s["type"])
                                              for s in closed["spots"]],
                         loaded.memory(), "v1", closed["closed_at"],
                         closed_at=closed["closed_at"],
                         random_source=announced["random_source"],
                         announced_at=announced["announced_at"])
    with loaded.store.step() as db:
        loaded.chain.append(db, "m-duty", "parking.committed", "2026-03", "by hand",
                            make_commitment(inputs))
    honest = Witness(tmp_path / "honest.db")
    tampered = Witness(tmp_path / "tampered.db")
    try:
        entries = [e.to_dict() for e in loaded.chain.entries()]
        assert [a for e in entries[:-1] for a in honest.entry("c", "k", "draws", e)] == []
        raised = [a for e in entries for a in tampered.entry("c", "k", "draws", e)]
        assert [(a.kind, a.detail) for a in raised] == [(
            "inputs_changed", f"entry {len(entries)} (parking.committed 2026-03): "
            "inputs.eligible: differs from the round's parking.closed entry (member h-3 "
            "missing)")]
    finally:
        honest.close()
        tampered.close()
    assert loaded.verify_draw_chain() == [
        f"round 2026-03: commitment (entry {len(entries)}): inputs.eligible: differs from "
        "the round's parking.closed entry (member h-3 missing)"]
