from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import AuditLog
from kiosk.duty import DutyError, DutyRoster, DutySettings
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
    for i, name in enumerate(["v-ana", "v-bo", "v-cai", "v-dee"]):
        duty.register("assembly", name, f"90000{i}", "volunteered at the assembly")
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


def test_on_duty_pin_works_only_during_the_shift(roster):
    roster.plan(MONDAY, 2)
    on_duty = roster.on_duty().maintainers[0]
    pin = f"90000{['v-ana', 'v-bo', 'v-cai', 'v-dee'].index(on_duty)}"
    assert roster.login(pin) == on_duty
    roster.clock.advance(days=7)  # next week, someone else's shift
    with pytest.raises(DutyError, match="not on duty"):
        roster.login(pin)
    with pytest.raises(DutyError, match="wrong PIN"):
        roster.login("123456")


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
    with pytest.raises(DutyError, match="6 digits"):
        roster.register("assembly", "v-eve", "12", "new")
    with pytest.raises(DutyError, match="already"):
        roster.register("assembly", "v-ana", "777777", "again")
    assert len(roster.volunteers()) == 4


def test_a_pin_another_volunteer_holds_is_refused(roster):
    with pytest.raises(DutyError) as refused:
        roster.register("assembly", "v-eve", "900000", "new")  # v-ana's PIN
    assert refused.value.reason == "pin_taken"
    assert len(roster.volunteers()) == 4


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
        duty.register("assembly", name, f"{100000 + i}", "volunteered")
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

    def kiosk(*args, pin=None):
        if pin:
            monkeypatch.setenv("KIOSK_PIN", pin)
        else:
            monkeypatch.delenv("KIOSK_PIN", raising=False)
        code = main([*args, "--data", str(tmp_path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = kiosk("duty", "role", "chair", "--pin", "700001", "--reason", "assembly")
    assert code == 0 and "the kiosk's first role" in out, err
    for i, name in enumerate(["v-ana", "v-bo"]):
        code, _, err = kiosk("duty", "volunteer", name, "--pin", f"55555{i}", "--reason",
                             "volunteered", pin="700001")
        assert code == 0, err
    code, _, err = kiosk("duty", "volunteer", "v-cy", "--pin", "555559", "--reason", "x")
    assert code == 2 and "KIOSK_PIN" in err  # who acts must be known
    # A volunteer marks themselves away with their own PIN: audited.
    assert kiosk("duty", "away", "v-bo", "--shift", "2026-12-28T08:00:00Z",
                 pin="555551")[0] == 0
    code, _, err = kiosk("duty", "plan", "--start", "monday", "--public-random", "x",
                         pin="700001")
    assert code == 2 and "not a date" in err
    code, _, err = kiosk("duty", "plan", "--shifts", "4", "--start", "2026-11-30T08:00:00Z",
                         "--public-random", "04 11 23", pin="700001")
    assert code == 2 and "announce the source" in err
    assert kiosk("duty", "announce", "--source", "the national lottery of 2026-11-29",
                 pin="700001")[0] == 0
    code, _, err = kiosk("duty", "away", "v-ana", "--shift", "2026-11-30T08:00:00Z",
                         pin="555550")
    assert code == 2 and "availability is fixed" in err
    assert kiosk("duty", "plan", "--shifts", "4", "--start", "2026-11-30T08:00:00Z",
                 "--public-random", "04 11 23", pin="700001")[0] == 0
    # The real command, as a maintainer runs it: the roster is public, PINs are not.
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "kiosk", "duty", "roster", "--json", "--data",
                          str(tmp_path)], cwd=root, capture_output=True, text=True,
                         timeout=60).stdout
    data = json.loads(out)
    assert sum(data["served"].values()) == 4 and set(data["served"]) == {"v-ana", "v-bo"}
    assert "55555" not in out
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
