"""Short reservations: slots, check-in by kiosk or sensor, no-shows, the waitlist in turn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.parking.model import ParkingError
from tests.parking_support import (
    MEMBERS_CSV,
    SPOTS_CSV,
    Clock,
    commit_round,
    events,
    make_register,
)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def reg(tmp_path, clock):
    register = make_register(tmp_path / "kiosk.db", clock, grace_minutes=15, offer_minutes=20,
                             early_checkin_minutes=30)
    register.import_members(MEMBERS_CSV, "m-duty")
    register.import_spots(SPOTS_CSV, "m-duty")
    yield register
    register.store.close()


def slot(clock, start_h: float = 1, hours: float = 2):
    start = clock.now + timedelta(hours=start_h)
    return start, start + timedelta(hours=hours)


def last(reg, kind):
    return [d for t, d in events(reg) if t == kind][-1]


def test_a_free_spot_is_booked_and_published(reg, clock):
    got = reg.reserve("h-1", "loading", *slot(clock), kind="moving")
    assert got.reservation.spot == "L1" and got.reservation.status == "booked"
    assert last(reg, "parking.reserved")["spot"] == "L1"


def test_reservations_prefer_reservation_spots_then_unheld_round_spots(reg, clock):
    spots = [reg.reserve(m, "standard", *slot(clock)).reservation.spot
             for m in ("h-1", "h-3", "w-1")]
    assert spots == ["V1", "V2", "S1"]


def test_a_full_type_puts_people_on_the_waitlist_as_unmet_demand(reg, clock):
    reg.reserve("h-1", "loading", *slot(clock))
    second = reg.reserve("h-2", "loading", *slot(clock))
    third = reg.reserve("h-3", "loading", *slot(clock, start_h=1.5))
    assert (second.reservation, second.position, third.position) == (None, 1, 2)
    refused = [d for t, d in events(reg) if t == "parking.refused"]
    assert [(d["kind"], d["member"], d["type"]) for d in refused] == [
        ("reservation", "h-2", "loading"), ("reservation", "h-3", "loading")]
    assert [w["member"] for w in reg.waitlist("loading")] == ["h-2", "h-3"]


def test_slots_are_checked(reg, clock):
    start, end = slot(clock)
    with pytest.raises(ParkingError, match="ends after it starts"):
        reg.reserve("h-1", "loading", end, start)
    with pytest.raises(ParkingError, match="at most 48 h"):
        reg.reserve("h-1", "loading", start, start + timedelta(hours=49))
    with pytest.raises(ParkingError, match="declared need"):
        reg.reserve("h-1", "accessible", start, end)
    with pytest.raises(ParkingError, match="time zone"):
        reg.reserve("h-1", "loading", start.replace(tzinfo=None), end.replace(tzinfo=None))
    reg.reserve("h-1", "loading", start, end)
    with pytest.raises(ParkingError, match="already has reservation"):
        reg.reserve("h-1", "standard", start, end)


def test_a_no_show_is_released_after_the_grace_period_to_the_next_in_turn(reg, clock):
    first = reg.reserve("h-1", "loading", *slot(clock)).reservation
    reg.reserve("h-2", "loading", *slot(clock))
    reg.reserve("h-3", "loading", *slot(clock))
    clock.advance(hours=1, minutes=15)  # the slot started 15 minutes ago: still in grace
    assert reg.tick()["no_show"] == 0
    clock.advance(minutes=1)
    assert reg.tick()["no_show"] == 1
    assert reg.reservation(first.id).status == "no_show"
    assert last(reg, "parking.no_show") == {"reservation": first.id, "member": "h-1",
                                            "spot": "L1", "type": "loading"}
    # The head of the waitlist gets the offer; the next in line does not, however quick.
    offer = last(reg, "parking.offered")
    assert (offer["member"], offer["spot"]) == ("h-2", "L1")
    h3_place = reg.waitlist("loading")[1]["id"]
    with pytest.raises(ParkingError, match="no offer is waiting"):
        reg.accept_offer(h3_place, "h-3")
    booked = reg.accept_offer(offer["waitlist"], "h-2")
    assert (booked.status, booked.spot) == ("booked", "L1")
    assert last(reg, "parking.reserved")["from_waitlist"] is True


def test_an_unanswered_offer_lapses_to_the_next_in_turn(reg, clock):
    first = reg.reserve("h-1", "loading", *slot(clock, start_h=3)).reservation
    reg.reserve("h-2", "loading", *slot(clock, start_h=3))
    reg.reserve("h-3", "loading", *slot(clock, start_h=3))
    reg.cancel_reservation(first.id, "h-1")
    assert last(reg, "parking.offered")["member"] == "h-2"
    clock.advance(minutes=20)
    assert reg.tick()["lapsed"] == 1
    assert last(reg, "parking.offer_lapsed")["member"] == "h-2"
    assert last(reg, "parking.offered")["member"] == "h-3"
    assert [w["member"] for w in reg.waitlist("loading")] == ["h-3"]


def test_a_declined_offer_goes_to_the_next_in_turn(reg, clock):
    first = reg.reserve("h-1", "loading", *slot(clock, start_h=3)).reservation
    second = reg.reserve("h-2", "loading", *slot(clock, start_h=3))
    reg.reserve("h-3", "loading", *slot(clock, start_h=3))
    reg.cancel_reservation(first.id, "h-1")
    reg.decline_offer(second.waitlist_id, "h-2")
    assert last(reg, "parking.offered")["member"] == "h-3"


def test_an_offer_skips_a_place_whose_slot_does_not_fit(reg, clock):
    reg.reserve("h-1", "loading", *slot(clock, start_h=1, hours=1))
    reg.reserve("w-1", "loading", *slot(clock, start_h=2, hours=1))
    reg.reserve("h-2", "loading", *slot(clock, start_h=1, hours=2))  # needs both hours
    reg.reserve("h-3", "loading", *slot(clock, start_h=1, hours=1))
    first = reg.reservations("h-1")[0]
    reg.cancel_reservation(first.id, "h-1")
    offered = [d["member"] for t, d in events(reg) if t == "parking.offered"]
    assert offered == ["h-3"]


def test_check_in_at_the_kiosk_opens_shortly_before_the_slot(reg, clock):
    r = reg.reserve("h-1", "loading", *slot(clock)).reservation
    with pytest.raises(ParkingError, match="check-in opens"):
        reg.check_in(r.id, "h-1")
    clock.advance(minutes=31)
    assert reg.check_in(r.id, "h-1").status == "checked_in"
    assert last(reg, "parking.checked_in")["via"] == "kiosk"
    clock.advance(hours=2)
    assert reg.tick()["no_show"] == 0


def test_the_spot_sensor_checks_a_reservation_in(reg, clock):
    r = reg.reserve("h-1", "loading", *slot(clock)).reservation
    clock.advance(hours=1, minutes=5)
    assert reg.spot_occupancy_changed("L1", True) == "checked_in"
    assert last(reg, "parking.checked_in") == {"reservation": r.id, "member": "h-1",
                                               "spot": "L1", "via": "sensor"}
    clock.advance(minutes=30)
    assert reg.tick()["no_show"] == 0
    assert reg.spot_occupancy_changed("L1", True) == "expected"
    clock.advance(hours=1, minutes=25)  # the slot ends at 12:00
    assert reg.tick()["ended"] == 1
    assert last(reg, "parking.released")["reason"] == "ended"


def test_a_car_without_reservation_is_published(reg):
    assert reg.spot_occupancy_changed("V2", True) == "unreserved"
    assert last(reg, "parking.unreserved_occupancy") == {"spot": "V2", "type": "standard"}
    assert reg.spot_occupancy_changed("V2", False) == "vacated"
    assert reg.spot("V2").occupied is False
    with pytest.raises(ParkingError, match="no spot"):
        reg.spot_occupancy_changed("Z9", True)


def test_the_holder_of_a_round_spot_is_expected_there(reg):
    reg.request("h-2", "2026-03", "accessible")
    commit_round(reg, "2026-03", "v")
    reg.draw("2026-03")
    before = len(events(reg))
    assert reg.spot_occupancy_changed("A1", True) == "expected"
    assert len(events(reg)) == before


def test_a_released_round_spot_is_offered_to_the_waitlist(reg, clock):
    reg.request("h-1", "2026-03", "standard")
    commit_round(reg, "2026-03", "v")
    reg.draw("2026-03")
    assert reg.allocation("h-1") == "S1"
    for member in ("h-3", "w-1", "h-1"):  # V1, V2, then S2 which nobody holds
        assert reg.reserve(member, "standard", *slot(clock, start_h=5)).reservation
    waiting = reg.reserve("h-2", "standard", *slot(clock, start_h=5))
    assert waiting.position == 1
    reg.release("h-1")
    offer = last(reg, "parking.offered")
    assert (offer["member"], offer["spot"]) == ("h-2", "S1")


def test_taking_a_spot_out_of_service_moves_its_reservations(reg, clock):
    r = reg.reserve("h-1", "standard", *slot(clock)).reservation
    assert r.spot == "V1"
    reg.set_spot_state("m-duty", "V1", "out_of_service", "barrier post broken")
    moved = last(reg, "parking.reservation_moved")
    assert (moved["from"], moved["to"]) == ("V1", "V2")
    assert reg.reservation(r.id).spot == "V2"
    r2 = reg.reserve("h-2", "loading", *slot(clock)).reservation
    reg.set_spot_state("m-duty", "L1", "out_of_service", "resurfacing")
    assert reg.reservation(r2.id).status == "cancelled"
    assert last(reg, "parking.reservation_cancelled")["reason"] == "spot out of service"


def test_a_waitlist_place_nobody_could_serve_expires(reg, clock):
    reg.reserve("h-1", "loading", *slot(clock))
    reg.reserve("h-2", "loading", *slot(clock))
    clock.advance(hours=3)
    assert reg.tick()["expired"] == 1
    assert reg.waitlist("loading") == []
