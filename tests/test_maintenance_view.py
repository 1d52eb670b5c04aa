"""What the maintenance screen reads and does, below the screen: ``gather`` and ``perform``
on the real driver, the pty simulator, gpiozero's mock pins and the real services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devices.gpio import GpioPeripherals
from kiosk.audit import AuditLog
from kiosk.config import GpioConfig
from kiosk.duty import DutyRoster, DutySettings
from kiosk.hardware import BoardError
from kiosk.health import HealthMonitor
from kiosk.lockers.model import Compartment
from kiosk.maintenance import Maintenance
from kiosk.maintenance_view import (
    Action,
    MaintenanceParts,
    bus_counters,
    gather,
    grid_state,
    perform,
)
from kiosk.parking.register import ParkingRegister
from tests.lockers_setup import build_lockers

GPIO = GpioConfig(pin_factory="mock", buzzer=17, led_ok=22, led_fault=23, tamper=24,
                  motion=25, spot_sensors={"P01": 5})


@pytest.fixture
def parts(tmp_path, sim, bus, mock_factory):
    k = build_lockers(tmp_path / "kiosk.db", bus, sim.port)
    store = k.service.store
    audit = AuditLog(store, k.outbox, k.clock)
    gpio = GpioPeripherals(GPIO, pin_factory=mock_factory)
    mock_factory.pin(24).drive_low()  # the cabinet is shut
    duty = DutyRoster(store, k.outbox, audit, "secret", DutySettings(), k.clock)
    duty.register("assembly", "v-ana", "90000190", "volunteered")
    duty.plan(k.clock() - timedelta(hours=1), 2)
    parking = ParkingRegister(store, k.outbox, clock=k.clock, audit=audit)
    parking.add_spot("assembly", "painted", "P01", "standard")
    yield MaintenanceParts(Maintenance(k.service, audit), duty,
                           HealthMonitor(k.service, gpio, clock=k.clock), parking)
    gpio.close()
    store.close()


def compartment(**fields) -> Compartment:
    base = {"id": "A01", "board": 0, "lock": 1, "size": "S", "in_service": True,
            "fault": None, "parcel_state": None}
    return Compartment(**{**base, **fields})


def test_the_most_urgent_state_is_the_one_shown():
    assert grid_state(compartment(), False, True) == "free"
    assert grid_state(compartment(parcel_state="stored"), False, True) == "occupied"
    assert grid_state(compartment(in_service=False, parcel_state="stored"), False,
                      True) == "out_of_service"
    assert grid_state(compartment(in_service=False, parcel_state="in_review"), False,
                      True) == "in_review"
    assert grid_state(compartment(parcel_state="in_review"), True, True) == "open"
    assert grid_state(compartment(fault="jammed"), True, True) == "jammed"
    assert grid_state(compartment(fault="jammed"), None, False) == "offline"
    assert grid_state(compartment(fault="board_offline"), False, True) == "offline"
    # Something left inside is no jam: its own state, the door open again while taken out.
    for fault in ("left_inside", "item_inside"):
        assert grid_state(compartment(fault=fault, parcel_state="stored"), False,
                          True) == "left_in"
        assert grid_state(compartment(fault=fault), True, True) == "open"
        assert grid_state(compartment(fault=fault), None, False) == "offline"


def test_gather_reads_boards_counters_peripherals_and_faults(parts, sim, bus, mock_factory):
    sim.force_open(0, 2)
    parts.health.poll()  # sees the door open without a command: tamper
    sim.set_noise(corrupt_rate=1.0)
    with pytest.raises(BoardError):
        bus.status(1)
    sim.set_noise()
    mock_factory.pin(25).drive_high()  # someone in front of the kiosk
    overview = gather(parts, uplink=False, backlog=150)
    states = {c.id: c.state for c in overview.compartments}
    assert states["A02"] == "open" and states["A01"] == "free"
    assert [b.label for b in overview.boards] == ["A", "B"]
    assert overview.bus_counters is not None and overview.bus_counters["bad_frames"] >= 1
    assert overview.peripherals["tamper"] == "closed"
    assert overview.peripherals["motion"] == "active"
    assert overview.peripherals["spot:P01"] == "free"
    kinds = [f.kind for f in overview.faults]
    assert kinds == ["door.tamper", "uplink.down", "uplink.backlog"]
    assert overview.on_duty == ("v-ana",)


def test_a_full_size_is_a_fault_and_one_out_of_order_is_not_full(parts, sim):
    lockers = parts.lockers
    large = [c for c in lockers.compartments() if c.size == "L"]
    for c in large:
        parts.maintenance.set_in_service("v-ana", c.id, False, "flooded")
    overview = gather(parts, uplink=None, backlog=0)
    assert lockers.free_counts()["L"] == 0
    assert [(f.kind, f.subject) for f in overview.faults] == []  # an outage, not full
    for c in large:
        parts.maintenance.set_in_service("v-ana", c.id, True, "dried")
    courier = lockers.add_courier("c-1", "12341234")
    lockers.add_household("A101")
    for _ in large:  # every L compartment holding a parcel: full
        slot = lockers.deposit(courier, "A101", "L")
        sim.put_item(slot.compartment.board, slot.compartment.lock)
        sim.shut(slot.compartment.board, slot.compartment.lock)
        lockers.finish(slot)
    overview = gather(parts, uplink=None, backlog=0)
    assert [(f.kind, f.subject) for f in overview.faults] == [("locker.full", "L")]


def test_counters_only_from_a_driver_that_keeps_them(bus):
    assert set(bus_counters(bus) or {}) >= {"timeouts", "bad_frames", "retries"}
    assert bus_counters(object()) is None


def test_perform_needs_a_reason_and_someone_on_duty(parts, sim):
    force = Action("force_door", "A03")
    assert perform(parts, "v-ana", force, "  ").error == "a reason is required"
    refused = perform(parts, "v-bo", force, "just looking")
    assert refused.off_duty and not refused.done
    assert sim.unlock_count() == 0
    assert "door.force" not in [e.action for e in parts.maintenance.audit.entries()]
    assert perform(parts, "v-ana", force, "lock test").done
    assert sim.door_open(0, 3)
    spot = perform(parts, "v-ana", Action("spot_out", "P01"), "resurfacing")
    assert spot.done and parts.parking.spot("P01").state == "out_of_service"
    unknown = perform(parts, "v-ana", Action("out_of_service", "Z99"), "?")
    assert not unknown.done and "Z99" in unknown.error


def test_codes_no_receipt_confirmed_for_ten_minutes_are_a_fault(parts, sim):
    lockers = parts.lockers
    lockers.add_household("A101")
    slot = lockers.deposit(lockers.add_courier("c-1", "12341234"), "A101", "S")
    sim.put_item(slot.compartment.board, slot.compartment.lock)
    sim.shut(slot.compartment.board, slot.compartment.lock)
    lockers.finish(slot)
    # Just queued: the notifier has time to deliver it (control for the fault below).
    assert "notify.undelivered" not in [f.kind for f in gather(parts, None, 0).faults]
    lockers.clock.advance(minutes=11)
    [fault] = [f for f in gather(parts, None, 0).faults if f.kind == "notify.undelivered"]
    assert fault.details == {"n": 1}
    # The receipt came: the fault is gone.
    lockers.outbox.delivered([n.uid for n in lockers.outbox.pending_notifications()])
    assert "notify.undelivered" not in [f.kind for f in gather(parts, None, 0).faults]
