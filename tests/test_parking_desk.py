"""The kiosk's side of the parking register (``ParkingDesk``) and its wiring: round names,
refusals the screen can word, the gate rule, the public board, the periodic tick and the
state snapshot for the plan. Real register, real SQLite; the screen is tested in
tests/test_tui_parking.py."""

from __future__ import annotations

import ast
import inspect
import re
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.parking import desk as desk_module
from kiosk.parking import register as register_module
from kiosk.parking.desk import ParkingDesk, Refused, next_round_id
from kiosk.refusals import Refusal
from tests.parking_support import (
    MEMBERS_CSV,
    SPOTS_CSV,
    Clock,
    close_round,
    commit_round,
    make_register,
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk(tmp_path, clock) -> ParkingDesk:
    register = make_register(tmp_path / "kiosk.db", clock)
    register.import_members(MEMBERS_CSV, "m-duty")
    register.import_spots(SPOTS_CSV, "m-duty")
    return ParkingDesk(register)


def test_rounds_are_named_by_the_next_unused_month():
    now = datetime(2026, 12, 20, tzinfo=UTC)
    assert next_round_id(now, set()) == "2027-01"
    assert next_round_id(now, {"2027-01", "2027-02"}) == "2027-03"


def test_requests_go_to_the_open_round_and_wait_while_one_is_drawn(desk):
    assert desk.member_view("h-1").open_round == "2026-04"
    assert desk.request("h-1", "standard") == "2026-04"
    assert desk.request("h-3", "standard") == "2026-04"
    close_round(desk.register, "2026-04")
    with pytest.raises(Refused) as refused:
        desk.request("h-1", "standard")
    assert (refused.value.reason, refused.value.round_id) == ("round_busy", "2026-04")
    view = desk.member_view("h-1")
    assert (view.open_round, view.busy_round, view.asked) == (None, "2026-04", "standard")
    commit_round(desk.register, "2026-04", "public value")
    desk.register.draw("2026-04")
    assert desk.member_view("h-1").open_round == "2026-05"


def test_refusals_name_their_reason(desk, clock):
    with pytest.raises(Refused) as refused:
        desk.request("h-1", "accessible")
    assert refused.value.reason == "need"
    with pytest.raises(Refused) as refused:
        desk.withdraw("h-1")
    assert refused.value.reason == "no_request"
    with pytest.raises(Refused) as refused:
        desk.release("h-1")
    assert refused.value.reason == "not_held"
    with pytest.raises(Refused) as refused:
        desk.reserve("h-1", "standard", "visitor", clock.now - timedelta(hours=3), 2)
    assert refused.value.reason == "slot_over"
    booked = desk.reserve("h-1", "standard", "visitor", clock.now + timedelta(hours=2), 2)
    with pytest.raises(Refused) as refused:
        desk.reserve("h-1", "loading", "moving", clock.now + timedelta(hours=3), 2)
    assert refused.value.reason == "overlap"
    with pytest.raises(Refused) as refused:
        desk.check_in("h-1", booked.reservation.id)
    assert refused.value.reason == "check_in_later"
    assert refused.value.at == clock.now + timedelta(hours=1, minutes=30)


def test_a_wrong_login_says_how_long_to_wait(desk):
    waits = []
    for _ in range(4):
        with pytest.raises(Refused) as refused:
            desk.login("A-101", "99999999")
        waits.append((refused.value.reason, refused.value.wait_s))
    assert waits[:2] == [("wrong_login", 0.0), ("wrong_login", 0.0)]
    assert waits[2] == ("wrong_login", 5.0)
    assert waits[3][0] == "blocked" and waits[3][1] > 0


def test_the_gate_opens_for_a_holder_or_a_checked_in_booking_only(desk, clock):
    register = desk.register
    for member in ("h-1", "h-3"):
        register.request(member, "2026-04", "standard")
    commit_round(register, "2026-04", "value")
    register.draw("2026-04")
    assert desk.may_open_gate("h-1") and desk.may_open_gate("h-3")
    assert not desk.may_open_gate("w-1")
    booked = desk.reserve("w-1", "standard", "visitor", clock.now + timedelta(minutes=10), 2)
    assert not desk.may_open_gate("w-1")  # booked is not there yet
    desk.check_in("w-1", booked.reservation.id)
    assert desk.may_open_gate("w-1")
    assert desk.member_view("w-1").may_open_gate


def test_the_public_board_counts_and_names_by_pseudonym(desk, clock):
    register = desk.register
    register.request("h-1", "2026-04", "standard")
    register.request("h-2", "2026-04", "accessible")
    commit_round(register, "2026-04", "value")
    register.draw("2026-04")
    register.set_spot_state("m-duty", "S2", "out_of_service", "broken barrier")
    desk.reserve("w-1", "standard", "visitor", clock.now, 1)
    board = desk.public_board()
    counts = {c.type: c for c in board.types}
    assert (counts["standard"].spots, counts["standard"].held,
            counts["standard"].out_of_service, counts["standard"].reserved_now,
            counts["standard"].free_now) == (4, 1, 1, 1, 1)
    assert board.allocations == [("h-1", "S1", "standard"), ("h-2", "A1", "accessible")]
    assert board.last_draw.results_hash == register.record("2026-04")["results_hash"]
    assert board.next_draw is None and board.next_round == "2026-05"


# --- one place for each rule: the register -----------------------------------------------


def refusal(call, *args) -> Refused:
    """The desk's refusal of a call, checked to be the register's own, carried over: raised
    inside kiosk/parking/register.py (or the back-off it asks), with the same reason and
    details. A rule the desk checked itself would have no such cause."""
    with pytest.raises(Refused) as refused:
        call(*args)
    cause = refused.value.__cause__
    assert isinstance(cause, Refusal), f"{refused.value.reason}: the desk's own refusal"
    frames = [Path(f.filename) for f in traceback.extract_tb(cause.__traceback__)]
    assert Path(register_module.__file__) in frames
    assert frames[-1].name in ("register.py", "backoff.py")
    if refused.value.reason != "blocked":
        assert (refused.value.reason, refused.value.details, refused.value.message) == (
            cause.reason, cause.details, cause.message)
    return refused.value


def test_every_refusal_the_desk_gives_is_the_registers(desk, clock):
    reasons = [refusal(desk.request, "h-1", "accessible").reason,
               refusal(desk.withdraw, "h-1").reason,
               refusal(desk.release, "h-1").reason,
               refusal(desk.reserve, "h-1", "standard", "visitor",
                       clock.now - timedelta(hours=3), 2).reason,
               refusal(desk.reserve, "h-1", "standard", "visitor", clock.now, 49).reason,
               refusal(desk.reserve, "h-1", "standard", "boat", clock.now, 2).reason]
    booked = desk.reserve("h-1", "standard", "visitor", clock.now + timedelta(hours=2), 2)
    reasons += [refusal(desk.reserve, "h-1", "loading", "moving",
                        clock.now + timedelta(hours=3), 2).reason,
                refusal(desk.check_in, "h-1", booked.reservation.id).reason,
                refusal(desk.check_in, "h-2", booked.reservation.id).reason,
                refusal(desk.accept, "h-1", 99).reason,
                refusal(desk.decline, "h-1", 99).reason,
                refusal(desk.check_gate, "h-1").reason]
    desk.request("h-1", "standard")
    close_round(desk.register, "2026-04")
    busy = refusal(desk.request, "h-3", "standard")
    assert (busy.reason, busy.round_id) == ("round_busy", "2026-04")
    for _ in range(3):
        reasons.append(refusal(desk.login, "A-101", "99999999").reason)
    reasons.append(refusal(desk.login, "A-101", "99999999").reason)
    assert reasons == ["need", "no_request", "not_held", "slot_over", "too_long", "bad_kind",
                       "overlap", "check_in_later", "not_yours", "no_offer", "no_offer",
                       "gate", "wrong_login", "wrong_login", "wrong_login", "blocked"]


def test_the_desk_follows_the_registers_settings(tmp_path, clock):
    register = make_register(tmp_path / "kiosk.db", clock, max_reservation_hours=4,
                             early_checkin_minutes=90)
    register.import_members(MEMBERS_CSV, "m-duty")
    register.import_spots(SPOTS_CSV, "m-duty")
    desk = ParkingDesk(register)
    too_long = refusal(desk.reserve, "h-1", "standard", "visitor", clock.now, 5)
    assert (too_long.reason, too_long.details["max_hours"]) == ("too_long", 4)
    booked = desk.reserve("h-1", "standard", "visitor", clock.now + timedelta(hours=1), 4)
    assert desk.check_in("h-1", booked.reservation.id).status == "checked_in"  # an hour early
    booked = desk.reserve("h-3", "standard", "visitor", clock.now + timedelta(hours=3), 1)
    later = refusal(desk.check_in, "h-3", booked.reservation.id)
    assert later.at == clock.now + timedelta(hours=1, minutes=30)


def _sql(module) -> set[str]:
    """Every SQL statement a module writes, whitespace-normalised (f-string holes as {})."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(str(v.value) if isinstance(v, ast.Constant) else "{}"
                           for v in node.values)
        else:
            continue
        if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE)\b", text):
            found.add(" ".join(text.split()))
    return found


def test_the_desk_writes_nothing_and_repeats_no_query_of_the_register():
    desk_sql, register_sql = _sql(desk_module), _sql(register_module)
    assert desk_sql and register_sql
    assert not [q for q in desk_sql if not q.startswith("SELECT")]
    assert desk_sql.isdisjoint(register_sql), desk_sql & register_sql
