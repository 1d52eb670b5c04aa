import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import backoff
from kiosk import duty as duty_schema
from kiosk.audit import AuditLog
from kiosk.backoff import TooManyAttempts
from kiosk.codes import keyed_hash
from kiosk.duty import DutyError, DutyRoster, DutySettings, NotOnDuty, WrongDutyPin
from kiosk.events import Outbox
from kiosk.schema import open_kiosk_store
from tests.lockers_setup import Clock

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def roster(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    clock = Clock()
    clock.now = MONDAY + timedelta(hours=1)
    outbox = Outbox(store, clock)
    duty = DutyRoster(store, outbox, AuditLog(store, outbox, clock), "secret",
                      DutySettings(), clock)
    for name in ["v-ana", "v-bo", "v-cai", "v-dee"]:
        duty.register("assembly", name, pin_of(name), "volunteered at the assembly")
    yield duty
    store.close()


def test_duty_rotates_so_nobody_carries_more_than_one_shift_extra(roster):
    roster.plan(MONDAY, 10)
    counts = roster.counts()
    assert sum(counts.values()) == 10
    assert max(counts.values()) - min(counts.values()) <= 1
    # In each cycle of four shifts, everyone serves once.
    shifts = [s.maintainers[0] for s in roster.roster()]
    assert len(set(shifts[:4])) == 4 and len(set(shifts[4:8])) == 4


def test_an_away_volunteer_is_skipped_without_losing_or_gaining(roster):
    roster.unavailable("v-ana", MONDAY)
    first = roster.plan(MONDAY, 1)[0]
    assert "v-ana" not in first.maintainers
    roster.plan(MONDAY, 7)
    counts = roster.counts()
    assert max(counts.values()) - min(counts.values()) <= 1


def test_the_roster_is_public_and_recomputable(roster):
    roster.plan(MONDAY, 4)
    events = [e for e in roster.outbox.events() if e.type == "duty.rostered"]
    assert [e.data["maintainers"] for e in events] == [list(s.maintainers)
                                                       for s in roster.roster()]
    assert all(e.data["public_random"] == e.data["start"] for e in events)
    # Same inputs, same roster: recompute in a fresh database.
    again = DutyRoster(roster.store, roster.outbox, roster.audit, "secret", DutySettings())
    assert roster.roster()[0].seed_inputs == again.roster()[0].seed_inputs


def pin_of(name: str) -> str:
    return f"9000000{['v-ana', 'v-bo', 'v-cai', 'v-dee'].index(name)}"


def wrong_pins(roster) -> int:
    return sum(1 for e in roster.outbox.events() if e.type == "security.wrong_pin")


def test_on_duty_pin_works_only_during_the_shift(roster):
    roster.plan(MONDAY, 2)
    on_duty = roster.on_duty().maintainers[0]
    assert roster.login(on_duty, pin_of(on_duty)) == on_duty
    with pytest.raises(WrongDutyPin):
        roster.login(on_duty, "12345612")
    roster.clock.advance(days=7)  # next week, someone else's shift
    # Told before the PIN is looked at, and not counted: the roster says it already.
    before = wrong_pins(roster)
    with pytest.raises(NotOnDuty) as off:
        roster.login(on_duty, "12345612")
    assert off.value.wait_s == 0 and wrong_pins(roster) == before
    with pytest.raises(NotOnDuty):
        roster.login(on_duty, pin_of(on_duty))
    now = roster.on_duty().maintainers[0]
    assert now != on_duty and roster.login(now, pin_of(now)) == now  # control


def test_wrong_pins_for_one_maintainer_never_lock_out_another(tmp_path):
    """Counted per maintainer under a kiosk-wide cap: a flood against one earns them the
    longest wait, which outlives the roster being reopened, and costs the other at most
    the cap's gap."""
    store = open_kiosk_store(tmp_path / "kiosk.db")
    clock = Clock()
    clock.now = MONDAY + timedelta(hours=1)
    outbox = Outbox(store, clock)
    settings = DutySettings(maintainers_per_shift=2)
    duty = DutyRoster(store, outbox, AuditLog(store, outbox, clock), "secret", settings,
                      clock)
    duty.register("assembly", "v-ana", "90000000", "volunteered")
    duty.register("assembly", "v-bo", "90000001", "volunteered")
    duty.plan(MONDAY, 1)
    waits: list[float] = []
    while not waits or waits[-1] < settings.backoff_max_s:
        refused = 0
        for _ in range(50):  # as fast as a script can: only the first try is looked at
            try:
                duty.login("v-ana", "11111111")
            except WrongDutyPin as wrong:
                waits.append(wrong.wait_s)
            except TooManyAttempts:
                refused += 1
        assert refused >= 47  # during a wait nothing is looked at
        clock.advance(seconds=waits[-1] if waits[-1] < settings.backoff_max_s else 0)
    assert waits[:3] == [0, 0, 5.0] and waits[-1] == 600.0
    clock.advance(seconds=1)
    again = DutyRoster(store, outbox, duty.audit, "secret", settings, clock)
    with pytest.raises(TooManyAttempts) as waiting:
        again.login("v-ana", "90000000")  # the right PIN, during the wait
    assert waiting.value.wait_s == 599.0
    assert again.login("v-bo", "90000001") == "v-bo"  # at once
    clock.advance(seconds=599)
    assert again.login("v-ana", "90000000") == "v-ana"  # control: the wait was all
    assert backoff.failures(store.db, "duty:v-ana") == 0
    store.close()


def test_the_duty_cap_bounds_what_a_flood_over_every_name_costs(roster):
    roster.plan(MONDAY, 1)
    on_duty = roster.on_duty().maintainers[0]
    roles = ("chair", "treasurer", "clerk", "auditor")
    for i, role in enumerate(roles):
        roster.add_role("assembly", role, f"7000000{i}", "assembly")
    for _ in range(3):  # the roles' names: three wrong PINs each, at once
        for role in roles:
            with contextlib.suppress(WrongDutyPin, TooManyAttempts):
                roster.authenticate(f"role:{role}", "11111111")
    with pytest.raises(TooManyAttempts) as capped:
        roster.login(on_duty, pin_of(on_duty))
    assert 0 < capped.value.wait_s <= roster.settings.kiosk_gap_s
    roster.clock.advance(seconds=roster.settings.kiosk_gap_s)
    assert roster.login(on_duty, pin_of(on_duty)) == on_duty


def test_handover_is_audited_and_takes_effect(roster):
    roster.plan(MONDAY, 1)
    holder = roster.on_duty().maintainers[0]
    other = next(v for v in roster.volunteers() if v != holder)
    roster.handover(holder, other, "ill this week")
    assert roster.on_duty().maintainers == (other,)
    entry = roster.audit.entries()[-1]
    assert (entry.action, entry.actor, entry.subject) == ("duty.handover", holder, other)
    with pytest.raises(DutyError):
        roster.handover(holder, other, "again")


def test_bad_pins_and_duplicates_are_refused(roster):
    with pytest.raises(DutyError, match="8-12 digits"):
        roster.register("assembly", "v-eve", "12", "new")
    with pytest.raises(DutyError, match="already"):
        roster.register("assembly", "v-ana", "77777777", "again")
    assert len(roster.volunteers()) == 4


def test_a_pin_another_volunteer_holds_is_taken_and_tells_nothing(roster):
    roster.register("assembly", "v-eve", "90000000", "new")  # v-ana's PIN too
    assert len(roster.volunteers()) == 5
    roster.plan(MONDAY, 5)
    logged_in = []
    for _ in range(5):  # everyone's week comes
        name = roster.on_duty().maintainers[0]
        if name in ("v-ana", "v-eve"):
            logged_in.append(roster.login(name, "90000000"))  # each as themselves
        roster.clock.advance(days=7)
    assert sorted(logged_in) == ["v-ana", "v-eve"]
    assert roster.authenticate("v-eve", "90000000", self_service="v-eve") == "v-eve"
    assert roster.authenticate("v-ana", "90000000", self_service="v-ana") == "v-ana"
    with pytest.raises(WrongDutyPin):
        roster.authenticate("v-bo", "90000000", self_service="v-bo")  # control


def test_actors_at_the_command_line_are_named(roster):
    roster.add_role("assembly", "chair", "70000170", "assembly")
    roster.add_role("assembly", "clerk", "70000170", "assembly")  # the same PIN: taken
    assert roster.authenticate("role:chair", "70000170") == "role:chair"
    assert roster.authenticate("clerk", "70000170") == "role:clerk"
    with pytest.raises(DutyError) as unknown:
        roster.authenticate("nobody", "70000170")
    assert unknown.value.reason == "unknown_actor"
    with pytest.raises(DutyError) as exists:
        roster.add_role("assembly", "chair", "70000970", "again")
    assert exists.value.reason == "role_exists"
    # Nobody is on duty (nothing planned): a volunteer acts only for themselves.
    with pytest.raises(NotOnDuty):
        roster.authenticate("v-ana", "90000000")
    assert roster.authenticate("v-ana", "90000000", self_service="v-ana") == "v-ana"


def test_the_duty_migration_keeps_volunteers_and_lets_two_share_a_pin(tmp_path):
    import sqlite3

    from kiosk.schema import KIOSK_MIGRATIONS
    from kiosk.store import Store

    path = tmp_path / "kiosk.db"
    old = dict(KIOSK_MIGRATIONS)
    old["duty"] = duty_schema.MIGRATIONS[:2]
    store = Store(path, old)
    outbox = Outbox(store)
    hashed = {name: keyed_hash("secret", "duty-pin", pin)
              for name, pin in (("v-ana", "90000000"), ("v-bo", "90000001"))}
    with store.step() as db:
        for name, pin_hash in hashed.items():
            db.table("volunteers").insert({"pseudonym": name, "pin_hash": pin_hash})
        db.table("duty_roles").insert({"name": "chair",
                                       "pin_hash": keyed_hash("secret", "role-pin", "70000170")})
        db.execute("UPDATE volunteers SET active = 0 WHERE pseudonym = 'v-bo'")
        with pytest.raises(sqlite3.IntegrityError), store.step() as inner:
            # Control: the old table refuses a PIN someone holds.
            inner.table("volunteers").insert({"pseudonym": "v-cy",
                                              "pin_hash": hashed["v-ana"]})
    store.close()

    store = open_kiosk_store(path)
    assert store.schema_version("duty") == len(duty_schema.MIGRATIONS)
    assert store.query("SELECT pseudonym, pin_hash, active FROM volunteers ORDER BY 1") == [
        {"pseudonym": "v-ana", "pin_hash": hashed["v-ana"], "active": 1},
        {"pseudonym": "v-bo", "pin_hash": hashed["v-bo"], "active": 0}]
    clock = Clock()
    clock.now = MONDAY + timedelta(hours=1)
    outbox = Outbox(store, clock)
    duty = DutyRoster(store, outbox, AuditLog(store, outbox, clock), "secret",
                      DutySettings(maintainers_per_shift=2), clock)
    duty.register("assembly", "v-cy", "90000000", "volunteered")  # v-ana's PIN
    assert duty.authenticate("role:chair", "70000170") == "role:chair"
    duty.plan(MONDAY, 1)
    assert duty.on_duty().maintainers == ("v-ana", "v-cy")
    assert duty.login("v-ana", "90000000") == "v-ana"
    assert duty.login("v-cy", "90000000") == "v-cy"
    store.close()


@settings(max_examples=40, deadline=None)
@given(volunteers=st.integers(2, 7), per_shift=st.integers(1, 2), shifts=st.integers(1, 25),
       away=st.sets(st.tuples(st.integers(0, 2), st.integers(0, 24)), max_size=15))
def test_volunteers_available_alike_serve_within_one_shift(volunteers, per_shift, shifts,
                                                           away):
    """The allocation core's bound, applied to duty: those available for the same shifts
    have carried duty within one shift of each other, whoever else was away."""
    store = open_kiosk_store(":memory:")
    outbox = Outbox(store)
    duty = DutyRoster(store, outbox, AuditLog(store, outbox), "s",
                      DutySettings(maintainers_per_shift=per_shift))
    names = [f"v{i}" for i in range(volunteers)]
    for i, name in enumerate(names):
        duty.register("assembly", name, f"{10000000 + i}", "volunteered")
    for who, week in away:
        if who < volunteers and week < shifts:
            duty.unavailable(names[who], MONDAY + timedelta(weeks=week))
    duty.plan(MONDAY, shifts)
    counts = duty.counts()
    always = [counts[n] for i, n in enumerate(names) if i > 2 or not any(
        w == i and week < shifts for w, week in away)]
    if always:
        assert max(always) - min(always) <= 1
    store.close()


def test_cli_volunteer_plan_and_roster(tmp_path, monkeypatch, capsys):
    import json
    import subprocess
    import sys
    from pathlib import Path

    from kiosk.cli.main import main

    def kiosk(*args, pin=None, actor="role:chair"):
        if pin:
            monkeypatch.setenv("KIOSK_PIN", pin)
            monkeypatch.setenv("KIOSK_ACTOR", actor)
        else:
            monkeypatch.delenv("KIOSK_PIN", raising=False)
            monkeypatch.delenv("KIOSK_ACTOR", raising=False)
        code = main([*args, "--data", str(tmp_path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = kiosk("duty", "role", "chair", "--pin", "70000170", "--reason", "assembly")
    assert code == 0 and "the kiosk's first role" in out, err
    for i, name in enumerate(["v-ana", "v-bo"]):
        code, _, err = kiosk("duty", "volunteer", name, "--pin", f"5555555{i}", "--reason",
                             "volunteered", pin="70000170")
        assert code == 0, err
    code, _, err = kiosk("duty", "volunteer", "v-cy", "--pin", "55555559", "--reason", "x")
    assert code == 2 and "KIOSK_PIN" in err  # who acts must be known
    monkeypatch.setenv("KIOSK_PIN", "70000170")  # a PIN without a name: refused, clearly
    monkeypatch.delenv("KIOSK_ACTOR", raising=False)
    assert main(["duty", "volunteer", "v-cy", "--pin", "55555559", "--reason", "x", "--data",
                 str(tmp_path)]) == 2
    assert "KIOSK_ACTOR" in capsys.readouterr().err
    code, _, err = kiosk("duty", "volunteer", "v-cy", "--pin", "55555559", "--reason", "x",
                         pin="70000170", actor="v-ana")  # v-ana is not on duty
    assert code == 2 and "not on duty" in err
    # A volunteer marks themselves away with their own PIN: audited.
    assert kiosk("duty", "away", "v-bo", "--shift", "2026-12-28T08:00:00Z",
                 pin="55555551", actor="v-bo")[0] == 0
    code, _, err = kiosk("duty", "plan", "--start", "monday", "--public-random", "x",
                         pin="70000170")
    assert code == 2 and "not a date" in err
    code, _, err = kiosk("duty", "plan", "--shifts", "4", "--start", "2026-11-30T08:00:00Z",
                         "--public-random", "04 11 23", pin="70000170")
    assert code == 2 and "announce the source" in err
    assert kiosk("duty", "announce", "--source", "the national lottery of 2026-11-29",
                 pin="70000170")[0] == 0
    code, _, err = kiosk("duty", "away", "v-ana", "--shift", "2026-11-30T08:00:00Z",
                         pin="55555550", actor="v-ana")
    assert code == 2 and "availability is fixed" in err
    assert kiosk("duty", "plan", "--shifts", "4", "--start", "2026-11-30T08:00:00Z",
                 "--public-random", "04 11 23", pin="70000170")[0] == 0
    # The real command, as a maintainer runs it: the roster is public, PINs are not.
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "kiosk", "duty", "roster", "--json", "--data",
                          str(tmp_path)], cwd=root, capture_output=True, text=True,
                         timeout=60).stdout
    data = json.loads(out)
    assert sum(data["served"].values()) == 4 and set(data["served"]) == {"v-ana", "v-bo"}
    assert "5555555" not in out
    _, exported, _ = kiosk("audit", "export")
    actions = [(e["actor"], e["action"]) for e in map(json.loads, exported.splitlines())]
    assert ("v-bo", "duty.away") in actions and ("role:chair", "duty.planned") in actions
    assert ("role:chair", "duty.random_announced") in actions

def test_the_duty_load_flags_a_volunteer_carrying_far_more_than_the_rest():
    from kiosk.public_record import duty_load

    load = duty_load({"v-ana": 9, "v-bo": 3, "v-cy": 3, "v-di": 2})
    assert load["overloaded"] == ["v-ana"] and load["mean"] == 4.25
    # Control: an even load, or one a shift off, flags nobody.
    assert duty_load({"v-ana": 4, "v-bo": 3, "v-cy": 3})["overloaded"] == []
    assert duty_load({})["overloaded"] == []


def test_who_stands_is_fixed_while_an_announced_random_value_waits(roster):
    roster.announce("role:chair", "the national lottery of 2026-11-29", "next roster")
    entries = len(roster.audit.entries())
    # Adding or retiring a volunteer now would change who stands once the value may be
    # known: refused, named, and nothing changed.
    with pytest.raises(DutyError) as refused:
        roster.register("role:chair", "v-eve", "90000009", "volunteered late")
    assert refused.value.reason == "roster_closed"
    with pytest.raises(DutyError) as refused:
        roster.retire("role:chair", "v-bo", "leaves")
    assert refused.value.reason == "roster_closed"
    assert roster.volunteers() == ["v-ana", "v-bo", "v-cai", "v-dee"]
    assert len(roster.audit.entries()) == entries
    # Control: once the value is used the roster is open again, and both are taken.
    roster.plan(MONDAY, 2, public_random="04 11 23 35 41")
    roster.register("role:chair", "v-eve", "90000009", "volunteered")
    roster.retire("role:chair", "v-bo", "leaves")
    assert roster.volunteers() == ["v-ana", "v-cai", "v-dee", "v-eve"]


def _recompute(published: dict) -> list[list[str]]:
    """A resident's replay of the published roster (docs/parking.md, "The duty roster"):
    from an empty memory, shift by shift, checking each list against its hash."""
    import hashlib
    import json

    from kiosk import rotation

    memory = rotation.Memory()
    drawn = []
    for shift in published["shifts"]:
        inputs = shift["seed_inputs"]
        eligible = [{"member": v, "type": published["pool"]} for v in shift["standing"]]
        listed = json.dumps(eligible, sort_keys=True, separators=(",", ":")).encode()
        assert hashlib.sha256(listed).hexdigest() == inputs["eligible_hash"], shift["start"]
        turn = rotation.Turn(memory, rotation.draw_seed(
            inputs["eligible_hash"], inputs["algorithm"], inputs["public_random"]))
        chosen = turn.rank(published["pool"], shift["standing"])[:shift["places"]]
        turn.settle(published["pool"], shift["standing"], shift["places"],
                    dict.fromkeys(chosen, shift["start"]))
        memory = turn.memory
        drawn.append(sorted(chosen))
    return drawn


def _published_roster(roster) -> dict:
    from kiosk.public_record import PublicRecord

    # Only the roster is read: the key and the chains are not needed for it.
    record = PublicRecord(None, "c", "k", roster.audit, duty=roster)  # type: ignore[arg-type]
    return record.roster()


def test_a_resident_recomputes_the_roster_from_what_is_published(tmp_path):
    store = open_kiosk_store(tmp_path / "kiosk.db")
    clock = Clock()
    clock.now = MONDAY
    outbox = Outbox(store, clock)
    duty = DutyRoster(store, outbox, AuditLog(store, outbox, clock), "secret",
                      DutySettings(maintainers_per_shift=2), clock)
    for name in ["v-ana", "v-bo", "v-cai", "v-dee", "v-eve"]:
        duty.register("assembly", name, "90000000", "volunteered")
    duty.unavailable("v-cai", MONDAY + timedelta(days=7))
    duty.plan(MONDAY, 3)
    duty.announce("role:chair", "the national lottery of 2026-12-20", "next roster")
    duty.plan(MONDAY, 3, public_random="04 11 23 35 41")
    published = _published_roster(duty)
    assert [s["standing"] for s in published["shifts"]][1] == ["v-ana", "v-bo", "v-dee",
                                                                "v-eve"]
    assert _recompute(published) == [s["maintainers"] for s in published["shifts"]]
    # Who stood is in the audit chain too, which the witnesses keep.
    planned = [e for e in duty.audit.entries() if e.action == "duty.planned"]
    assert planned[0].data["shifts"][1]["standing"] == ["v-ana", "v-bo", "v-dee", "v-eve"]

    # Controls: a list that is not the one drawn with fails its hash; a roster that is not
    # the one the inputs give differs from the replay.
    forged = json.loads(json.dumps(published))
    forged["shifts"][1]["standing"].remove("v-eve")
    with pytest.raises(AssertionError, match=forged["shifts"][1]["start"]):
        _recompute(forged)
    steered = json.loads(json.dumps(published))
    steered["shifts"][4]["maintainers"] = ["v-ana", "v-cai"] \
        if steered["shifts"][4]["maintainers"] != ["v-ana", "v-cai"] else ["v-bo", "v-dee"]
    assert _recompute(steered) != [s["maintainers"] for s in steered["shifts"]]
    store.close()


def test_shifts_planned_before_the_list_was_kept_get_it_from_their_memory(tmp_path):
    import sqlite3

    path = tmp_path / "kiosk.db"
    store = open_kiosk_store(path)
    clock = Clock()
    clock.now = MONDAY
    outbox = Outbox(store, clock)
    duty = DutyRoster(store, outbox, AuditLog(store, outbox, clock), "secret",
                      DutySettings(), clock)
    for name in ["v-ana", "v-bo", "v-cai"]:
        duty.register("assembly", name, "90000000", "volunteered")
    duty.unavailable("v-bo", MONDAY)
    duty.plan(MONDAY, 3)
    kept = [s.standing for s in duty.roster()]
    assert kept[0] == ("v-ana", "v-cai")
    # As a kiosk from before: the columns dropped (SQLite 3.35+), the version put back.
    with store.step() as db:
        db.execute("ALTER TABLE shifts DROP COLUMN standing")
        db.execute("ALTER TABLE shifts DROP COLUMN places")
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as raw:
        raw.execute("UPDATE schema_versions SET version = 3 WHERE feature = 'duty'")
        raw.commit()
    store = open_kiosk_store(path)
    assert store.schema_version("duty") == len(duty_schema.MIGRATIONS)
    duty = DutyRoster(store, Outbox(store, clock), AuditLog(store, Outbox(store, clock), clock),
                      "secret", DutySettings(), clock)
    assert [s.standing for s in duty.roster()] == kept
    assert [s.places for s in duty.roster()] == [None] * 3
    store.close()
