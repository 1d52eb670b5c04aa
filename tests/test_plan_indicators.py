"""Honest indicators, kept per event: occupancy by compartment (never over 100 %), time to
repair, courier hours against the agreed hours, duty load, parking per round on the basis
of the type asked, week-over-week trends; the same figures after a rebuild from history;
terminal charts whose axis is the bars' scale. On SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from plan import indicators
from plan.indicators import PlanSettings
from plan.model import CommunityReport
from plan.report import Chart, render_terminal, terminal_chart
from plan.store import PlanStore
from tests.plan_support import BACKENDS, event, lockers, plan_location, uplink


@pytest.fixture(params=BACKENDS)
def where(request, tmp_path):
    with plan_location(request.param, tmp_path) as location:
        yield location


@pytest.fixture
def plan(where):
    store = PlanStore(where, PlanSettings(timezone="UTC", agreed_hours=("08:00", "20:00")))
    yield store
    store.close()


class Seq:
    """Events of one kiosk with seqs in order."""

    def __init__(self, kiosk: str = "k1"):
        self.kiosk, self.n = kiosk, 0

    def __call__(self, type_: str, data: dict, ts: str = "2026-11-30T10:00:00Z"):
        self.n += 1
        return event("c1", self.kiosk, self.n, type_, data, ts)


def deposit(k: Seq, compartment: str, size: str, parcel: int, csize: str | None = None,
            **extra):
    data = {"parcel": parcel, "compartment": compartment, "size": size, **extra}
    if csize is not None:
        data["compartment_size"] = csize
    return k("parcel.deposited", data)


def occupancy(store: PlanStore) -> dict[str, tuple]:
    return {o.size: (o.peak, o.compartments, o.peak_ratio, o.now, o.basis, o.over_capacity)
            for o in indicators.report(store, "c1").occupancy}


def test_occupancy_counts_compartments_not_parcels_and_never_passes_100(plan):
    k = Seq()
    # 20 S parcels, 16 S compartments: the last four took M compartments.
    evs = [deposit(k, f"S{i}", "S", i, "S") for i in range(16)]
    evs += [deposit(k, f"M{i}", "S", 16 + i, "M") for i in range(4)]
    # A deposit into a compartment already full (its pickup event lost): still one.
    evs.append(deposit(k, "S0", "S", 99, "S"))
    plan.ingest([lockers("c1", "k1", {"S": 16, "M": 8}), uplink("c1", "k1", 100), *evs])
    assert occupancy(plan) == {"S": (16, 16, 1.0, 16, "compartment", 0),
                               "M": (4, 8, 0.5, 4, "compartment", 0)}
    plan.ingest([k("parcel.collected", {"parcel": 16, "compartment": "M0", "size": "S",
                                        "compartment_size": "M", "waited_s": 60})])
    assert occupancy(plan)["M"][:4] == (4, 8, 0.5, 3)
    # Control: counted by parcel size, as the first build did, S would read 20 of 16.
    text = render_terminal(indicators.report(plan, "c1"))
    assert "peak 16 of 16" in text and "of 16" in text and "20 of 16" not in text


def test_an_old_kiosk_without_compartment_sizes_is_capped_and_says_so(plan):
    k = Seq()
    evs = [deposit(k, f"A{i}", "S", i) for i in range(20)]
    plan.ingest([lockers("c1", "k1", {"S": 16}), *evs])
    peak, cap, ratio, _now, basis, over = occupancy(plan)["S"]
    assert (peak, cap, ratio, basis, over) == (16, 16, 1.0, "parcel", 4)


def test_a_late_deposit_after_its_pickup_leaves_the_compartment_empty(plan):
    plan.ingest([event("c1", "k1", 2, "parcel.collected",
                       {"parcel": 1, "compartment": "S1", "size": "S", "compartment_size": "S"}),
                 event("c1", "k1", 1, "parcel.deposited",
                       {"parcel": 1, "compartment": "S1", "size": "S",
                        "compartment_size": "S"})])
    assert occupancy(plan).get("S", (0, None, None, 0))[3] == 0
    # Control: a deposit after them fills it.
    plan.ingest([event("c1", "k1", 3, "parcel.deposited",
                       {"parcel": 2, "compartment": "S1", "size": "S",
                        "compartment_size": "S"})])
    assert occupancy(plan)["S"][3] == 1


def test_time_to_repair_per_fault_type_and_device(plan):
    k = Seq()
    plan.ingest([
        k("door.jammed", {"compartment": "A3", "board": 0}, "2026-11-30T10:00:00Z"),
        k("audit.entry", {"actor": "m-1", "action": "compartment.fault_cleared",
                          "subject": "A3"}, "2026-11-30T15:00:00Z"),
        k("door.jammed", {"compartment": "A3"}, "2026-11-30T16:00:00Z"),
        k("audit.entry", {"actor": "m-2", "action": "compartment.fault_cleared",
                          "subject": "A3"}, "2026-11-30T17:00:00Z"),
        k("board.offline", {"board": 1}, "2026-11-30T10:00:00Z"),
        k("board.online", {"board": 1}, "2026-11-30T10:30:00Z"),
        k("door.left_open", {"compartment": "B2"}, "2026-11-30T11:00:00Z"),
        k("door.shut", {"compartment": "C9"}, "2026-11-30T12:00:00Z"),  # never raised
    ])
    repairs = {(r.kind, r.device): r for r in indicators.report(plan, "c1").repairs}
    jam = repairs[("door.jammed", "k1 compartment A3")]
    assert (jam.repaired, jam.mean_h, jam.max_h, jam.total_h, jam.open_now) == (
        2, 3.0, 5.0, 6.0, 0)
    board = repairs[("board.offline", "k1 board 1")]
    assert (board.repaired, board.mean_h) == (1, 0.5)
    left = repairs[("door.left_open", "k1 compartment B2")]
    assert (left.repaired, left.open_now, left.open_since) == (
        0, 1, "2026-11-30T11:00:00.000000Z")
    assert ("door.left_open", "k1 compartment C9") not in repairs
    # The jams are still counted as faults, twice.
    assert indicators.report(plan, "c1").fault_totals["door.jammed"] == 2


def test_courier_hours_per_day_with_work_outside_the_agreed_hours_flagged(plan):
    k = Seq()
    plan.ingest([
        deposit(k, "S1", "S", 1, "S", courier="c-1") for _ in range(0)] + [
        k("parcel.deposited", {"parcel": 1, "courier": "c-1"}, "2026-11-30T07:00:00Z"),
        k("parcel.deposited", {"parcel": 2, "courier": "c-1"}, "2026-11-30T12:00:00Z"),
        k("parcel.deposited", {"parcel": 3, "courier": "c-1"}, "2026-11-30T21:30:00Z"),
        k("parcel.deposited", {"parcel": 4, "courier": "c-2"}, "2026-11-30T09:00:00Z"),
        k("parcel.deposited", {"parcel": 5, "courier": "c-2"}, "2026-11-30T10:15:00Z"),
        k("parcel.deposited", {"parcel": 6, "courier": "c-2"}, "2026-11-29T09:00:00Z"),
    ])
    days = [(c.courier, c.day, c.parcels, c.first, c.last, c.hours, c.outside_hours,
             c.flagged) for c in indicators.report(plan, "c1").couriers]
    assert days == [("c-1", "2026-11-30", 3, "07:00", "21:30", 14.5, 2, True),
                    ("c-2", "2026-11-30", 2, "09:00", "10:15", 1.25, 0, False),
                    ("c-2", "2026-11-29", 1, "09:00", "09:00", 0.0, 0, False)]


def test_changing_the_agreed_hours_rebuilds_the_flags(where):
    store = PlanStore(where, PlanSettings(agreed_hours=("08:00", "20:00")))
    store.ingest([event("c1", "k1", 1, "parcel.deposited", {"parcel": 1, "courier": "c-1"},
                        "2026-11-30T07:00:00Z")])
    assert indicators.report(store, "c1").couriers[0].flagged
    store.close()
    store = PlanStore(where, PlanSettings(agreed_hours=("06:00", "20:00")))
    try:
        assert not indicators.report(store, "c1").couriers[0].flagged
    finally:
        store.close()
    # Opened with no settings, a store keeps what it was built with.
    store = PlanStore(where)
    try:
        assert store.settings.agreed_hours == ("06:00", "20:00")
    finally:
        store.close()


def test_duty_load_per_volunteer(plan):
    k = Seq()
    plan.ingest([
        k("duty.rostered", {"start": "2026-11-30T00:00:00Z", "end": "2026-11-30T12:00:00Z",
                            "maintainers": ["m-1", "m-2"]}),
        k("duty.rostered", {"start": "2026-11-30T12:00:00Z", "end": "2026-12-01T00:00:00Z",
                            "maintainers": ["m-1"]}),
        k("audit.entry", {"actor": "m-1", "action": "door.forced_open", "subject": "A1"}),
        k("duty.rostered", {"start": "2026-11-30T12:00:00Z", "end": "2020-01-01T00:00:00Z",
                            "maintainers": ["m-9"]}),  # nonsense: ends before it starts
    ])
    duty = {d.volunteer: (d.shifts, d.hours, d.actions)
            for d in indicators.report(plan, "c1").duty}
    assert duty == {"m-1": (2, 24.0, 1), "m-2": (1, 12.0, 0)}


def test_parking_per_round_and_type_all_on_the_type_asked(plan):
    k = Seq()
    ask = "parking.requested"
    plan.ingest([
        k(ask, {"round": "r1", "member": "m1", "type": "standard"}),
        k(ask, {"round": "r1", "member": "m2", "type": "ev"}),
        k(ask, {"round": "r1", "member": "m3", "type": "ev"}),
        k(ask, {"round": "r1", "member": "m3", "type": "standard"}),  # changed: moves
        k(ask, {"round": "r1", "member": "m4", "type": "ev"}),
        k("parking.request_withdrawn", {"round": "r1", "member": "m4"}),
        k("parking.round_closed", {"round": "r1", "askers": {"standard": 2, "ev": 1},
                                   "spots": {"standard": 1, "ev": 1}}),
        k("parking.allocated", {"round": "r1", "member": "m1", "spot": "P1",
                                "type": "standard", "asked": "standard"}),
        k("parking.allocated", {"round": "r1", "member": "m3", "spot": "P2", "type": "ev",
                                "asked": "standard"}),
        k("parking.refused", {"kind": "round", "round": "r1", "member": "m2", "type": "ev"}),
    ])
    p = indicators.report(plan, "c1").parking
    [r1] = p.rounds
    rows = {t.type: (t.requested, t.allocated, t.refused, t.substituted, t.spots)
            for t in r1.types}
    assert rows == {"standard": (2, 2, 0, 1, 1), "ev": (1, 0, 1, 0, 1)}
    assert (p.requested, p.allocated, p.refused, p.substituted) == (3, 2, 1, 1)
    assert p.basis == "type asked"
    # Every allocated request was asked: never above 100 %.
    assert all((t.served_ratio or 0) <= 1 for t in r1.types)


def test_week_over_week_trends(plan):
    k = Seq()
    evs = []
    for day, n in (("2026-11-16", 2), ("2026-11-23", 4), ("2026-12-01", 1)):
        evs += [k("parcel.deposited", {"parcel": f"{day}-{i}"}, f"{day}T10:00:00Z")
                for i in range(n)]
    plan.ingest(evs)
    [parcels] = [t for t in indicators.report(plan, "c1").trends if t.measure == "parcels"]
    assert parcels.weeks == [("2026-W47", 2), ("2026-W48", 4), ("2026-W49", 1)]
    assert (parcels.this_week, parcels.last_week, parcels.change_ratio) == (1, 4, 1.0)


def figures(r: CommunityReport) -> dict:
    return r.indicators()


def test_kept_per_event_equals_a_rebuild_from_history(plan):
    k = Seq()
    evs = [deposit(k, f"S{i % 5}", "S", i, "S", courier=f"c-{i % 3}") for i in range(30)]
    evs += [k("parcel.collected", {"parcel": i, "compartment": f"S{i % 5}", "size": "S",
                                   "compartment_size": "S", "waited_s": 600 * i})
            for i in range(0, 30, 2)]
    evs += [k("door.jammed", {"compartment": "S1"}, "2026-11-30T08:00:00Z"),
            k("audit.entry", {"actor": "m", "action": "compartment.fault_cleared",
                              "subject": "S1"}, "2026-11-30T09:00:00Z"),
            k("locker.full", {"size": "M"}), k("locker.unavailable", {"size": "S",
                                                                      "causes": {"jammed": 1}})]
    for i in range(0, len(evs), 7):  # in several batches, as the aggregator takes them
        plan.ingest(evs[i:i + 7])
    plan.ingest([lockers("c1", "k1", {"S": 5})])
    kept = figures(indicators.report(plan, "c1"))
    assert plan.rebuild() == len(evs)
    rebuilt = figures(indicators.report(plan, "c1"))
    assert kept == rebuilt
    assert kept["wait_time"]["count"] == 15


# -- terminal charts ------------------------------------------------------------------------

def cells(row: str) -> float:
    return row.count("█") + 0.5 * row.count("▌")


def test_a_terminal_chart_ends_its_axis_at_its_largest_bar():
    text = terminal_chart(Chart("Parcels", [("a", 84), ("b", 42), ("c", 0)]), width=60)
    rows = text.splitlines()
    bars = {r.split()[0]: cells(r) for r in rows[1:4]}
    assert bars["a"] == 2 * bars["b"] and bars["c"] == 0
    assert rows[-1].rstrip().endswith("84")  # the axis ends at the largest bar
    assert rows[1].rstrip().endswith("84") and rows[2].rstrip().endswith("42")


def test_a_percentage_chart_scales_to_100():
    text = terminal_chart(Chart("Occupancy", [("S", 50.0), ("M", 100.0)], percent=True),
                          width=60)
    rows = text.splitlines()
    half, full = cells(rows[1]), cells(rows[2])
    assert full == 2 * half and rows[-1].rstrip().endswith("100%")
    # Control: counted as plain numbers the same bars scale to the largest.
    plain = terminal_chart(Chart("x", [("S", 50.0), ("M", 60.0)]), width=60).splitlines()
    assert cells(plain[2]) > full * 0.9 and re.search(r"60$", plain[-1].rstrip())
