"""The soak (bench/bench_soak.py) runs: a few simulated hours with one fault of each kind.

The week's own machinery is the one the bench uses: the kiosk composed as ``kiosk
simulate`` composes it, the real serial driver on the pty simulator behind a udev-style
link, a real mosquitto, the simulation's couriers, residents and notifier. Nothing here is
timed: the soak waits on conditions (outbox drained, collector complete, health polls run)
and the recovery times it measures are reported, not asserted.
"""

from __future__ import annotations

import logging

import pytest

from bench.bench_soak import (
    HOUR_S,
    Item,
    Week,
    WeekOptions,
    audit_parcels,
    lost_seqs,
    one_of_each,
)
from tests.mqtt_broker import mosquitto_binary

SPAN_S = 6 * HOUR_S
HEARTBEAT_S = 0.5
# Longer than three heartbeats: the board is marked offline (offline_after = 3), so its
# coming back is a real recovery, not one the kiosk never noticed.
DOWN_S = 2.5
# A quarter of the span (4 s) apart, the faults leave each part three heartbeats to come
# back before the next fault begins.
WALL_S = 16.0


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    serial_log = logging.getLogger("devices.serial_board")
    serial_log.addHandler(handler)
    try:
        options = WeekOptions(span_s=SPAN_S, wall_s=WALL_S, parcels=16, seed=3,
                              heartbeat_s=HEARTBEAT_S)
        result = Week(options, one_of_each(SPAN_S, DOWN_S), tmp_path_factory.mktemp("soak")).run()
    finally:
        serial_log.removeHandler(handler)
    return result, [r.getMessage() for r in records]


def test_the_soak_loses_nothing_and_ends_with_every_compartment_in_service(week):
    result, _ = week
    assert result.events_lost == []
    assert result.audit.wrong == []
    assert result.out_of_service == []


def test_every_fault_took_effect_and_each_part_came_back(week):
    """Controls for the test above: the faults happened and people went through."""
    result, serial_warnings = week
    assert result.faults == {"board": 1, "replug": 1, "broker": 1, "restart": 1}
    assert result.board_offline_events >= 1  # the silent board was taken out of service
    assert any("failed" in m for m in serial_warnings)  # the adapter was pulled ...
    assert any("answers again" in m for m in serial_warnings)  # ... and reopened
    assert result.deposited == 16 and result.collected > 0
    assert result.events > 0
    # One recovery measured for each part (finite: none gave up waiting).
    assert {k: len(v) for k, v in result.recovery.items()} == {
        "board": 1, "replug": 1, "broker": 1, "restart": 1}
    assert all(v < float("inf") for values in result.recovery.values() for v in values)


def test_the_audit_finds_a_parcel_gone_to_another_household_lost_or_stuck():
    """Controls for the audit itself: each kind of wrong is reported."""
    rows = [{"id": 1, "household": "U001", "state": "collected", "board": 0, "lock": 1},
            {"id": 2, "household": "U002", "state": "stored", "board": 0, "lock": 2},
            {"id": 3, "household": "U003", "state": "pickup_pending", "board": 0, "lock": 3}]
    inside = {(0, 2): Item(2, "U002"), (0, 3): Item(3, "U003")}
    right = [Item(1, "U001", taken_by="U001")]
    assert audit_parcels(rows, inside, right, [], {1: 1}).wrong == [
        "parcel 3 pickup_pending"]

    wrong = audit_parcels(rows, inside, [Item(1, "U001", taken_by="U007")], [], {1: 1})
    assert wrong.wrong_household == ["parcel 1 for U001 taken by U007"]
    gone = audit_parcels(rows, {(0, 3): inside[(0, 3)]}, right, [], {1: 1})
    assert len(gone.lost) == 1 and "parcel 2" in gone.lost[0]
    twice = audit_parcels(rows, inside, right, [], {1: 2})
    assert twice.duplicated == ["parcel 1 handed over 2 times (events)"]


def test_a_missing_seq_is_an_event_lost_and_a_duplicate_is_not():
    assert lost_seqs(4, [1, 2, 2, 3, 4]) == []
    assert lost_seqs(4, [1, 2, 4, 4]) == [3]
