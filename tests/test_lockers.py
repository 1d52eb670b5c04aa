"""Every locker flow through the real serial driver and the pty board simulator."""

import contextlib

import pytest

from kiosk import backoff
from kiosk.backoff import TooManyAttempts
from kiosk.codes import ALPHABET
from kiosk.events import Outbox
from kiosk.lockers.model import (
    DoorDidNotOpen,
    LockerError,
    LockersOutOfOrder,
    NoFreeCompartment,
    NothingInside,
    UnknownUnit,
    WrongCode,
    WrongPin,
)
from kiosk.lockers.service import LockerService
from kiosk.schema import open_kiosk_store
from tests.lockers_setup import build_lockers, locker_config


@pytest.fixture
def k(tmp_path, sim, bus):
    lockers = build_lockers(tmp_path / "kiosk.db", bus, sim.port)
    lockers.service.add_household("A101", pseudonym="h-a101", pin="24682468")
    lockers.service.add_household("B202", pseudonym="h-b202")
    lockers.service.add_courier("courier-1", "12341234", pseudonym="c-one")
    yield lockers
    lockers.service.store.close()


def deposit(k, sim, unit="A101", size="S"):
    """A courier puts a parcel in and shuts the door, as a hand on the simulator."""
    courier = k.service.courier_login("courier-1", "12341234")
    slot = k.service.deposit(courier, unit, size)
    c = slot.compartment
    assert sim.door_open(c.board, c.lock)
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    k.service.finish(slot)
    return slot


def test_deposit_stores_the_parcel_and_queues_a_private_code(k, sim):
    slot = deposit(k, sim)
    assert slot.compartment.id == "A01"
    assert k.service.parcel(slot.parcel_id)["state"] == "stored"
    [code] = k.codes_for("A101")
    assert len(code) == 6 and set(code) <= set(ALPHABET)
    deposited = next(e for e in k.outbox.events() if e.type == "parcel.deposited")
    assert deposited.data == {"parcel": slot.parcel_id, "compartment": "A01", "size": "S",
                              "compartment_size": "S", "household": "h-a101",
                              "courier": "c-one"}
    # The code is stored only as a keyed hash.
    stored = k.service.store.query("SELECT * FROM codes")
    assert code not in str(stored)


def test_many_deposits_in_a_row_take_best_fit_then_larger(k, sim):
    ids = [deposit(k, sim, size="M").compartment.id for _ in range(3)]
    assert ids == ["A05", "A06", "A07"]
    with pytest.raises(NoFreeCompartment):
        k.service.deposit(k.service.courier_login("courier-1", "12341234"), "A101", "M")
    full = [e for e in k.outbox.events() if e.type == "locker.full"][-1]
    assert full.data["size"] == "M" and full.data["courier"] == "c-one"
    assert full.data["free"] == {"S": 6, "M": 0, "L": 0}


def test_no_door_for_a_fault_is_out_of_order_not_full(k, sim):
    courier = k.service.courier_login("courier-1", "12341234")
    sim.jam(0, 7)  # A07, the only L
    with pytest.raises(DoorDidNotOpen):
        k.service.deposit(courier, "A101", "L")
    with pytest.raises(LockersOutOfOrder) as refused:
        k.service.deposit(courier, "A101", "L")
    assert refused.value.reason == "out_of_order" and refused.value.causes == {"jammed": 1}
    # M is full, and the L it would take is empty but jammed: an outage still.
    deposit(k, sim, size="M")
    deposit(k, sim, size="M")
    with pytest.raises(LockersOutOfOrder) as refused:
        k.service.deposit(courier, "A101", "M")
    assert refused.value.causes == {"jammed": 1}
    assert k.service.unavailable_sizes() == {"M", "L"}
    # Taken out of service by a maintainer (as Maintenance.set_in_service writes it).
    with k.service.store.step() as db:
        db.execute("UPDATE compartments SET fault = NULL, in_service = 0 WHERE id = 'A07'")
    with pytest.raises(LockersOutOfOrder) as refused:
        k.service.deposit(courier, "A101", "M")
    assert refused.value.causes == {"out_of_service": 1}
    events = [e for e in k.outbox.events() if e.type.startswith("locker.")]
    assert [e.type for e in events] == ["locker.unavailable"] * 3
    assert events[-1].data["causes"] == {"out_of_service": 1}
    # Control: back in service and filled, the same request is plain full: demand.
    with k.service.store.step() as db:
        db.execute("UPDATE compartments SET in_service = 1 WHERE id = 'A07'")
    sim.unjam(0, 7)
    deposit(k, sim, size="L")
    with pytest.raises(NoFreeCompartment) as refused:
        k.service.deposit(courier, "A101", "M")
    assert type(refused.value) is NoFreeCompartment
    assert k.outbox.events()[-1].type == "locker.full"
    assert k.service.unavailable_sizes() == set()


def test_one_code_opens_all_of_a_households_parcels_once(k, sim):
    first, second = deposit(k, sim), deposit(k, sim, size="M")
    deposit(k, sim, unit="B202")
    codes = k.codes_for("A101")
    assert len(codes) == 2
    result = k.service.pickup(codes[0].lower(), "a101")
    assert [c.id for c in result.opened] == [first.compartment.id, second.compartment.id]
    assert sim.door_open(0, 1) and sim.door_open(0, 5)
    assert not sim.door_open(1, 1) and not sim.door_open(0, 2)  # B202's stays shut
    # Taken only once the doors are shut on empty compartments.
    assert k.service.parcel(first.parcel_id)["state"] == "pickup_pending"
    for c in result.opened:
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
    assert k.service.open_doors(result.opened) == []
    assert k.service.settle_shut(result) == []
    assert k.service.parcel(first.parcel_id)["state"] == "collected"
    # Single use: neither code of that household works again.
    for code in codes:
        with pytest.raises(WrongCode):
            k.service.pickup(code, "A101")


def test_wrong_codes_back_off_with_growing_waits_and_each_is_an_event(k, sim):
    deposit(k, sim)
    waits = []
    for _ in range(3):
        with pytest.raises(WrongCode) as wrong:
            k.service.pickup("ZZZZZZ", "A101")
        waits.append(wrong.value.wait_s)
        k.clock.advance(seconds=wrong.value.wait_s)
    assert waits == [0, 5, 10]
    with pytest.raises(WrongCode) as wrong:
        k.service.pickup("ZZZZZZ", "A101")
    assert wrong.value.wait_s == 20
    # While a wait runs, even the right code is not looked at.
    with pytest.raises(TooManyAttempts) as early:
        k.service.pickup(k.codes_for("A101")[0], "A101")
    assert early.value.wait_s == 20
    k.clock.advance(seconds=20)
    assert len(k.service.pickup(k.codes_for("A101")[0], "A101").opened) == 1
    wrong_events = [e for e in k.outbox.events() if e.type == "security.wrong_code"]
    assert [e.data["failures"] for e in wrong_events] == [1, 2, 3, 4]
    assert all("code" not in e.data for e in wrong_events)


def test_too_many_attempts_blocks_the_right_code_too(k, sim):
    deposit(k, sim)
    for _ in range(2):
        with pytest.raises(WrongCode):
            k.service.pickup("ZZZZZZ", "A101")
    with pytest.raises(TooManyAttempts):
        k.service.pickup(k.codes_for("A101")[0], "A101")
    assert k.service.parcel(1)["state"] == "stored"


def test_a_jammed_door_keeps_the_parcel_and_the_code(k, sim):
    slot = deposit(k, sim)
    sim.jam(0, 1)
    code = k.codes_for("A101")[0]
    result = k.service.pickup(code, "A101")
    assert result.opened == [] and [c.id for c in result.failed] == ["A01"]
    assert sim.unlock_count(0, 1) == 3  # one at deposit, two tries now
    assert k.service.parcel(slot.parcel_id)["state"] == "stored"
    assert "door.jammed" in k.event_types()
    sim.unjam(0, 1)
    assert [c.id for c in k.service.pickup(code, "A101").opened] == ["A01"]


def test_a_jammed_door_at_deposit_is_not_offered_again(k, sim):
    sim.jam(0, 1)
    courier = k.service.courier_login("courier-1", "12341234")
    with pytest.raises(DoorDidNotOpen) as jam:
        k.service.deposit(courier, "A101", "S")
    assert jam.value.compartment.id == "A01"
    assert k.service.deposit(courier, "A101", "S").compartment.id == "A02"
    assert k.service.free_counts()["S"] == 4  # A01 faulty, A02 taken


def test_shut_door_with_nothing_inside_cancels_the_deposit(k, sim):
    slot = k.service.deposit(k.service.courier_login("courier-1", "12341234"), "A101", "S")
    sim.shut(0, 1)
    with pytest.raises(NothingInside):
        k.service.finish(slot)
    assert k.service.parcel(slot.parcel_id)["state"] == "cancelled"
    assert k.codes_for("A101") == []
    assert k.service.free_counts()["S"] == 6


def test_wrong_pin_unknown_unit_and_bad_size_change_nothing(k, sim):
    with pytest.raises(WrongPin):
        k.service.courier_login("courier-1", "99999999")
    courier = k.service.courier_login("courier-1", "12341234")
    with pytest.raises(UnknownUnit):
        k.service.deposit(courier, "Z999", "S")
    with pytest.raises(LockerError):
        k.service.deposit(courier, "A101", "XL")
    assert sim.unlock_count() == 0
    assert k.service.store.scalar("SELECT COUNT(*) FROM parcels") == 0


def test_send_then_a_courier_collects_outgoing_and_long_waiting_parcels(k, sim):
    resident = k.service.resident_login("a101", "24682468")
    slot = k.service.send(resident, "L")
    sim.put_item(0, 7)
    sim.shut(0, 7)
    k.service.finish(slot)
    assert k.service.parcel(slot.parcel_id)["state"] == "outgoing"
    assert "parcel.sent" in k.event_types()
    assert k.codes_for("A101") == []  # nothing to pick up for the sender
    old = deposit(k, sim, unit="B202")
    for _ in range(3):  # its reminders: a parcel goes back only after the last one
        k.clock.advance(days=3, minutes=1)
        k.service.remind_overdue()
    k.clock.advance(days=6)
    result = k.service.collect(k.service.courier_login("courier-1", "12341234"))
    assert {c.id for c in result.opened} == {"A07", old.compartment.id}
    for c in result.opened:
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
    assert k.service.settle_shut(result) == []
    assert k.service.parcel(slot.parcel_id)["state"] == "collected"
    assert k.service.parcel(old.parcel_id)["state"] == "returned"
    types = k.event_types()
    assert "parcel.outgoing_collected" in types and "parcel.returned" in types


def test_overdue_parcels_are_reminded_once_a_day_free_of_charge(k, sim):
    deposit(k, sim)
    deposit(k, sim)
    k.clock.advance(days=2)
    assert k.service.remind_overdue() == 0
    k.clock.advance(days=1, minutes=1)
    assert k.service.remind_overdue() == 1  # one household, one message
    assert k.service.remind_overdue() == 0
    k.clock.advance(hours=24, minutes=1)
    assert k.service.remind_overdue() == 1
    overdue = [e for e in k.outbox.events() if e.type == "parcel.overdue"]
    assert [e.data["reminder"] for e in overdue] == [1, 1, 2, 2]
    assert not any("fee" in str(e.data) for e in k.outbox.events())
    reminder = [n for n in k.outbox.pending_notifications() if n.kind == "reminder"][-1]
    assert reminder.data["parcels"] == 2
    # The reminder's fresh code opens both parcels.
    assert len(k.service.pickup(reminder.data["code"], "A101").opened) == 2


def test_waited_time_is_measured_from_storage(k, sim):
    deposit(k, sim)
    k.clock.advance(hours=5)
    result = k.service.pickup(k.codes_for("A101")[0], "A101")
    sim.take_item(0, 1)
    sim.shut(0, 1)
    k.service.settle_shut(result)
    collected = next(e for e in k.outbox.events() if e.type == "parcel.collected")
    assert collected.data["waited_s"] == 5 * 3600


def test_a_silent_board_fails_the_open_without_blaming_the_lock(k, sim):
    sim.set_silent(0, True)
    courier = k.service.courier_login("courier-1", "12341234")
    with pytest.raises(DoorDidNotOpen):
        k.service.deposit(courier, "A101", "S")
    assert "door.not_opened" in k.event_types()
    assert "door.jammed" not in k.event_types()
    assert k.service.free_counts()["S"] == 6


def test_wrong_code_counters_never_overflow_and_waits_stay_capped(k, sim):
    from kiosk import backoff

    policy = k.service.backoff
    assert policy.wait_after(1_027) == policy.wait_after(10**9) == policy.max_s
    deposit(k, sim)
    # 1,100 wrong codes in a row for one unit, each as soon as allowed: no crash, and
    # every wait after the first few is the policy's longest (control: it grew to it).
    waits = []
    for _ in range(1_100):
        k.clock.advance(seconds=k.service.rules.kiosk_gap_s)
        try:
            k.service.pickup("ZZZZZZ", "A101")
        except WrongCode as wrong:
            waits.append(wrong.wait_s)
            k.clock.advance(seconds=wrong.wait_s)
    assert waits[:4] == [0, 5, 10, 20] and set(waits[-1000:]) == {policy.max_s}
    # The stored count stops at its cap too.
    with k.service.store.step() as db:
        db.execute("UPDATE attempts SET failures = ? WHERE scope = 'pickup:A101'",
                   (backoff.MAX_FAILURES,))
        assert backoff.record_failure(db, "pickup:A101", policy, k.clock())[0] \
            == backoff.MAX_FAILURES


def test_wrong_codes_for_one_unit_cost_another_at_most_the_kiosk_cap(k, sim):
    deposit(k, sim)
    others = [f"C{i}" for i in range(20)]
    for unit in others:
        k.service.add_household(unit)
    for i in range(60):  # spread over twenty households, as a guesser would
        with contextlib.suppress(WrongCode, TooManyAttempts):
            k.service.pickup("ZZZZZZ", ("B202", *others)[i % 21])
    with pytest.raises(TooManyAttempts) as capped:
        k.service.pickup(k.codes_for("A101")[0], "A101")
    assert 0 < capped.value.wait_s <= k.service.rules.kiosk_gap_s <= 10
    k.clock.advance(seconds=capped.value.wait_s)
    assert len(k.service.pickup(k.codes_for("A101")[0], "A101").opened) == 1
    # Control: the guessed households' own counters grew; A101's never did.
    scopes = {r["scope"]: r["failures"] for r in
              k.service.store.query("SELECT scope, failures FROM attempts")}
    assert scopes["pickup:B202"] >= 1 and "pickup:A101" not in scopes


def test_a_flood_of_wrong_pins_for_one_courier_id_keeps_only_that_id_waiting(
        k, sim, bus, tmp_path):
    k.service.add_courier("courier-2", "56785678")
    for _ in range(120):  # a prankster, one wrong PIN each time the kiosk-wide cap allows
        with contextlib.suppress(WrongPin, TooManyAttempts):
            k.service.courier_login("courier-1", "00000000")
        k.clock.advance(seconds=k.service.rules.kiosk_gap_s)
    # A restart in the middle forgives nothing.
    k.service.store.close()
    store = open_kiosk_store(tmp_path / "kiosk.db")
    k.service = LockerService(store, Outbox(store, k.clock), bus,
                              locker_config(sim.port), clock=k.clock)
    failures = backoff.failures(store.db, "courier:courier-1")
    assert failures >= 10
    # The targeted id is held out, even with its right PIN ...
    with pytest.raises(TooManyAttempts) as held:
        k.service.courier_login("COURIER-1", "12341234")
    assert held.value.wait_s > k.service.rules.kiosk_gap_s
    # ... which is the wait the old kiosk-wide count would have put on every courier
    # (control), while another courier is in after at most the kiosk-wide cap.
    assert k.service.backoff.wait_after(failures) > k.service.rules.kiosk_gap_s
    try:
        courier = k.service.courier_login("courier-2", "56785678")
    except TooManyAttempts as capped:
        assert 0 < capped.wait_s <= k.service.rules.kiosk_gap_s <= 10
        k.clock.advance(seconds=capped.wait_s)
        courier = k.service.courier_login("courier-2", "56785678")
    assert courier.id == "courier-2"


def test_an_unknown_courier_id_reads_like_a_wrong_pin(k, sim):
    k.clock.advance(seconds=60)
    answers = []
    for courier_id, pin in [("nobody", "12341234"), ("courier-1", "00000000")]:
        with pytest.raises(WrongPin) as wrong:
            k.service.courier_login(courier_id, pin)
        answers.append((type(wrong.value), wrong.value.wait_s, str(wrong.value)))
    assert answers[0] == answers[1]
    scopes = {r["scope"] for r in k.service.store.query("SELECT scope FROM attempts")}
    assert scopes == {"courier:nobody", "courier:courier-1"}
    with pytest.raises(LockerError):  # bad input: refused before anything is counted
        k.service.courier_login("x" * 40, "12341234")
    assert k.service.courier_login("courier-1", "12341234").id == "courier-1"


@pytest.mark.parametrize("rule", ["keep", "return", "desk"])
def test_reminders_stop_after_the_last_and_the_community_rule_decides(tmp_path, sim, bus,
                                                                      rule):
    k = build_lockers(tmp_path / "kiosk.db", bus, sim.port, max_reminders=2,
                      after_last_reminder=rule)
    k.service.add_household("A101", pseudonym="h-a101")
    k.service.add_courier("courier-1", "12341234")
    slot = deposit(k, sim)
    for _ in range(5):
        k.clock.advance(days=1, minutes=1)
        k.service.remind_overdue()
    overdue = [e for e in k.outbox.events() if e.type == "parcel.overdue"]
    assert [e.data["reminder"] for e in overdue] == [1, 2]  # then no more
    assert not any("fee" in str(e.data) for e in k.outbox.events())
    k.clock.advance(days=14)
    waiting = k.service.collectable()
    if rule == "keep":
        assert waiting == []  # it waits for its household, for as long as it takes
        return
    assert [(p["id"], p["why"]) for p in waiting] == [(slot.parcel_id, rule)]
    result = k.service.collect(k.service.courier_login("courier-1", "12341234"))
    sim.take_item(0, 1)
    sim.shut(0, 1)
    k.service.settle_shut(result)
    assert k.service.parcel(slot.parcel_id)["state"] == \
        ("returned" if rule == "return" else "at_desk")
    told = [n.kind for n in k.outbox.pending_notifications() if n.household == "A101"]
    assert told[-1] == ("returned" if rule == "return" else "at_desk")


@pytest.mark.parametrize("rule", ["return", "desk"])
def test_a_parcel_is_handed_back_only_once_its_last_reminder_went_out(tmp_path, sim, bus,
                                                                     rule):
    k = build_lockers(tmp_path / "kiosk.db", bus, sim.port, max_reminders=3,
                      return_after_days=5, after_last_reminder=rule)
    k.service.add_household("A101", pseudonym="h-a101")
    k.service.add_courier("courier-1", "12341234")
    slot = deposit(k, sim)
    # Weeks past ``return_after_days`` with no reminder sent (the kiosk was off when they
    # were due): not handed back, its household was never reminded.
    k.clock.advance(days=20)
    assert k.service.collectable() == []
    listed = []
    for _ in range(4):
        k.clock.advance(days=3, minutes=1)
        k.service.remind_overdue()
        listed.append((k.service.parcel(slot.parcel_id)["reminders"],
                       [p["why"] for p in k.service.collectable()]))
    assert listed == [(1, []), (2, []), (3, [rule]), (3, [rule])]


def test_config_refuses_a_hand_back_before_the_last_reminder():
    from kiosk.config import ConfigError, config_from_dict

    def problems(**lockers: object) -> str:
        raw = {"community_id": "c", "kiosk_id": "k", "lockers": lockers}
        try:
            config_from_dict(raw)
        except ConfigError as refused:
            return str(refused)
        return ""

    # Defaults: the last of 3 reminders from day 3, one a day, goes out on day 5.
    assert "return_after_days: must be at least 5 days with after_last_reminder = 'return'" \
        in problems(return_after_days=4)
    assert problems(return_after_days=5) == ""  # control: on the day of the last one
    assert "must be at least 13 days" in problems(after_last_reminder="desk",
                                                  overdue_days=3, max_reminders=6,
                                                  reminder_every_hours=48,
                                                  return_after_days=7)
    assert problems(after_last_reminder="keep", return_after_days=1) == ""  # nothing back
    # Values out of range are told by their own bound, and only by it.
    out = problems(max_reminders=10**9, return_after_days=4)
    assert "lockers.max_reminders: must be 1-50" in out and "return_after_days" not in out


def test_a_round_counts_what_was_stored_since_it_began_and_ends_with_finish(k, sim):
    from kiosk.lockers.service import ROUND_RESUME_S

    courier = k.service.courier_login("courier-1", "12341234")
    deposit(k, sim)  # before the round: not in it
    k.clock.advance(seconds=1)
    assert k.service.begin_round(courier).parcels == 0
    deposit(k, sim, unit="B202", size="M")
    slot = k.service.deposit(courier, "A101", "S")  # shut on nothing: not counted
    sim.shut(slot.compartment.board, slot.compartment.lock)
    with pytest.raises(NothingInside):
        k.service.finish(slot)
    held = k.service.deposit(courier, "A101", "S", hold_code=True)
    sim.put_item(held.compartment.board, held.compartment.lock)
    sim.shut(held.compartment.board, held.compartment.lock)
    k.service.finish(held)
    k.service.correct_unit(held.parcel_id, "B202")  # counted for the corrected unit
    k.clock.advance(seconds=ROUND_RESUME_S - 1)
    again = k.service.begin_round(courier)  # a new login: the round goes on
    assert (again.resumed, again.parcels, again.by_size, again.units) == \
        (True, 2, {"S": 1, "M": 1, "L": 0}, ["B202"])
    assert k.service.end_round(courier).parcels == 2
    assert k.service.round_of(courier).parcels == 0  # finished: none open
    # A round left without "finish" longer than ROUND_RESUME_S is over at the next login.
    k.service.begin_round(courier)
    deposit(k, sim)
    k.clock.advance(seconds=ROUND_RESUME_S + 1)
    fresh = k.service.begin_round(courier)
    assert (fresh.resumed, fresh.parcels) == (False, 0)
