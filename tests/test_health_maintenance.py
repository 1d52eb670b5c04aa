"""Health monitoring and maintainer actions on the real driver and the pty simulator."""

import pytest

from devices.gpio import GpioPeripherals
from kiosk.audit import AuditLog, verify
from kiosk.config import GpioConfig
from kiosk.health import HealthMonitor
from kiosk.lockers.model import LockerError
from kiosk.maintenance import Maintenance
from tests.lockers_setup import build_lockers


@pytest.fixture
def k(tmp_path, sim, bus):
    lockers = build_lockers(tmp_path / "kiosk.db", bus, sim.port,
                            door_open_beep_s=30, door_open_alert_s=120)
    lockers.service.add_household("A101", pseudonym="h-a101")
    lockers.service.add_courier("courier-1", "12341234")
    yield lockers
    lockers.service.store.close()


@pytest.fixture
def gpio(mock_factory):
    peripherals = GpioPeripherals(GpioConfig(pin_factory="mock", buzzer=17, tamper=27),
                                  pin_factory=mock_factory)
    yield peripherals
    peripherals.close()


def new_events(k, since):
    return [(e.type, e.data) for e in k.outbox.events(after_seq=since)]


def test_a_silent_board_goes_offline_and_comes_back_by_itself(k, sim):
    health = HealthMonitor(k.service, clock=k.clock, offline_after=2)
    sim.set_silent(1, True)
    health.poll()
    assert k.service.free_counts()["S"] == 6
    health.poll()
    assert k.service.free_counts()["S"] == 4  # B01, B02 out until the board answers
    assert ("board.offline", {"board": 1, "error": health.boards[1].last_error}) in \
        new_events(k, 0)
    assert ("board.offline", {"board": 1}) in health.faults()
    sim.set_silent(1, False)
    health.poll()
    assert k.service.free_counts()["S"] == 6
    assert new_events(k, 0)[-1] == ("board.online", {"board": 1})
    assert health.snapshot()["board-1"]["online"] is True


def test_a_door_left_open_beeps_then_alerts_once(k, sim, gpio, mock_factory):
    health = HealthMonitor(k.service, gpio, clock=k.clock)
    slot = k.service.deposit(k.service.courier_login("courier-1", "12341234"), "A101", "S")
    buzzer = mock_factory.pin(17)
    health.poll()
    assert not buzzer.state
    k.clock.advance(seconds=31)
    health.poll()
    assert buzzer.state or any(s for _, s in buzzer.states)
    k.clock.advance(seconds=90)
    health.poll()
    health.poll()
    left = [e for e in new_events(k, 0) if e[0] == "door.left_open"]
    assert left == [("door.left_open", {"compartment": "A01", "open_s": 121})]
    sim.put_item(0, 1)
    sim.shut(0, 1)
    health.poll()
    assert new_events(k, 0)[-1] == ("door.shut", {"compartment": "A01"})
    k.service.finish(slot)
    assert health.faults() == []


def test_a_door_opened_without_a_command_is_a_tamper_alarm(k, sim):
    health = HealthMonitor(k.service, clock=k.clock)
    sim.force_open(0, 3)
    health.poll()
    health.poll()
    assert [e for e in new_events(k, 0) if e[0] == "door.tamper"] == [
        ("door.tamper", {"compartment": "A03"})]
    sim.shut(0, 3)
    health.poll()
    assert new_events(k, 0)[-1] == ("door.tamper_cleared", {"compartment": "A03"})


def test_cabinet_tamper_switch_is_an_event(k, gpio, mock_factory):
    health = HealthMonitor(k.service, gpio, clock=k.clock)
    pin = mock_factory.pin(27)
    pin.drive_low()  # the shut cabinet holds the switch closed
    pin.drive_high()  # switch released: the cabinet was opened
    pin.drive_low()
    types = [e[0:2] for e in new_events(k, 0)]
    assert ("cabinet.tamper", {"opened": True}) in types
    assert types[-1] == ("cabinet.tamper", {"opened": False})
    assert health.cabinet_open is False


def test_sensor_mismatch_is_raised_and_cleared(k, sim):
    health = HealthMonitor(k.service, clock=k.clock)
    sim.put_item(0, 4)
    health.poll()
    assert ("sensor.mismatch", {"compartment": "A04", "problem": "item in a free compartment"}
            ) in new_events(k, 0)
    sim.take_item(0, 4)
    health.poll()
    assert new_events(k, 0)[-1] == ("sensor.mismatch_cleared", {"compartment": "A04"})


def test_maintainer_actions_are_audited_before_the_lock_moves(k, sim):
    m = Maintenance(k.service, AuditLog(k.service.store, k.outbox, k.clock))
    with pytest.raises(ValueError):
        m.force_door("m-ana", "A02", "")
    assert sim.unlock_count() == 0
    assert m.force_door("m-ana", "a02", "resident's keys locked in")
    assert sim.door_open(0, 2)
    m.set_in_service("m-ana", "A03", False, "hinge broken")
    assert k.service.free_counts()["S"] == 5
    m.set_in_service("m-bo", "A03", True, "hinge replaced")
    assert k.service.free_counts()["S"] == 6
    entries = m.audit.entries()
    assert [e.action for e in entries] == [
        "door.force", "compartment.out_of_service", "compartment.in_service"]
    assert verify(entries) == []
    published = [e.data["action"] for e in k.outbox.events() if e.type == "audit.entry"]
    assert published == [e.action for e in entries]


def test_clear_fault_and_resolve_review(k, sim):
    m = Maintenance(k.service, AuditLog(k.service.store, k.outbox, k.clock))
    sim.jam(0, 1)
    with pytest.raises(LockerError):
        k.service.deposit(k.service.courier_login("courier-1", "12341234"), "A101", "S")
    with pytest.raises(LockerError, match="no fault"):
        m.clear_fault("m-ana", "A02", "checked")
    m.clear_fault("m-ana", "A01", "lock replaced")
    assert k.service.free_counts()["S"] == 6
    with k.service.store.step() as db:
        db.execute("INSERT INTO parcels (household, compartment, size, state, created_ts) "
                   "VALUES ('A101', 'A05', 'M', 'in_review', '2026-11-29T20:00:00Z')")
    [review] = m.in_review()
    with pytest.raises(LockerError):
        m.resolve_review("m-ana", review["id"], "vanished", "?")
    m.resolve_review("m-ana", review["id"], "stored", "parcel is there, door shut")
    assert k.service.parcel(review["id"])["state"] == "stored"


def test_reconcile_all_compares_database_and_sensors(k, sim):
    m = Maintenance(k.service, AuditLog(k.service.store, k.outbox, k.clock))
    slot = k.service.deposit(k.service.courier_login("courier-1", "12341234"), "A101", "S")
    sim.put_item(0, 1)
    sim.shut(0, 1)
    k.service.finish(slot)
    sim.take_item(0, 1)
    sim.put_item(0, 6)
    found = {(x.compartment, x.problem) for x in m.reconcile_all("m-ana", "weekly check")}
    assert found == {("A01", "parcel missing"), ("A06", "item in a free compartment")}
    assert m.audit.entries()[-1].data["mismatches"]


def test_a_failed_screen_worker_is_a_maintainers_fault_raised_once_and_cleared(k):
    from kiosk.status import Fault, KioskStatus, StatusProbe

    health = HealthMonitor(k.service, clock=k.clock)
    probe = StatusProbe(health, lambda: (None, 0))
    since = k.outbox.last_seq()
    health.worker_failed("pickup", "OperationalError")
    health.worker_failed("pickup", "OperationalError")  # the same spell: told once
    assert new_events(k, since) == [("kiosk.worker_failed",
                                     {"where": "pickup", "error": "OperationalError"})]
    assert ("kiosk.worker_failed", {"where": "pickup", "error": "OperationalError"}) \
        in health.faults()
    # The maintainers' status line lists it, the public one does not; nor the cabinet's
    # tamper switch; a door that will not open it does (control).
    assert [f.kind for f in probe().faults] == ["kiosk.worker_failed"]
    assert probe().residents_faults == ()
    health.cabinet_tamper(True)
    assert [f.kind for f in probe().faults] == ["kiosk.worker_failed", "cabinet.tamper"]
    assert probe().residents_faults == ()
    health.cabinet_tamper(False)
    jam = KioskStatus(faults=(Fault("door.jammed", "A01"), Fault("kiosk.worker_failed")))
    assert jam.residents_faults == (Fault("door.jammed", "A01"),)
    since = k.outbox.last_seq()
    k.clock.advance(seconds=599)
    health.poll()
    assert [kind for kind, _ in health.faults()] == ["kiosk.worker_failed"]
    k.clock.advance(seconds=2)
    health.poll()
    assert health.faults() == []
    assert new_events(k, since) == [("kiosk.worker_recovered", {"where": "pickup"})]
