"""Faults that end are seen to end (issue 12): on the kiosk ``kiosk run`` runs
(``production_kiosk``), the real serial driver on the pty simulator, a real broker.

- a board known offline is probed with one request, and again between two polls, so a
  silent board never delays the others' return;
- a board whose lock bit reads reversed takes its compartments out of service (no door
  pulsed for a parcel, nothing reported jammed) until its readings look right;
- a jam ends when the lock is seen to open;
- the maintenance screen shows an outage as the outage, not as "full";
- the monitor shows the newer faults and clears them when they end;
- ``kiosk demo --reset`` never deletes the data of a demo that is running.

Every check waits on a condition (poll counts, events), never on the clock.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from devices.board_sim import BoardSimulator
from kiosk.composition import Kiosk
from kiosk.config import load_config
from kiosk.lockers.model import LockersOutOfOrder
from kiosk.maintenance_view import MaintenanceParts, gather
from kiosk.setups.demo import TAMPER_PIN
from kiosk.setups.production import production_kiosk
from mqtt import topics
from tests.mqtt_broker import Collector, wait_until
from tests.test_composition import run_config

LOCKS = 8  # run_config: board 0, locks 1-8, size S
WAIT = 20.0


def start(config, pins) -> Kiosk:
    kiosk = production_kiosk(config, pins)
    pins.pin(TAMPER_PIN).drive_low()  # the cabinet door shut
    assert wait_until(lambda: not kiosk.health.cabinet_open, timeout=WAIT)
    return kiosk


def runs_later(kiosk: Kiosk, n: int = 2, task: str = "health") -> None:
    start_runs = kiosk.scheduler.runs(task)
    assert wait_until(lambda: kiosk.scheduler.runs(task) >= start_runs + n, timeout=WAIT)


def events(kiosk: Kiosk, kind: str) -> list[dict]:
    return [e.data for e in kiosk.outbox.events() if e.type == kind]


def faults_of(kiosk: Kiosk, board: int | None = None) -> set[str | None]:
    return {c.fault for c in kiosk.lockers.compartments() if board in (None, c.board)}


def screen(kiosk: Kiosk):
    return gather(MaintenanceParts(kiosk.maintenance, kiosk.duty, kiosk.health), None, 0)


def with_board_setting(path: Path, setting: str) -> Path:
    path.write_text(path.read_text().replace("[board]\n", f"[board]\n{setting}\n"))
    return path


def deposit(kiosk: Kiosk, sim: BoardSimulator, courier, unit: str = "A101") -> str:
    """A parcel put in for ``unit``; the compartment it went to."""
    slot = kiosk.lockers.deposit(courier, unit, "S")
    c = slot.compartment
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    kiosk.lockers.finish(slot)
    return c.id


def phones(broker) -> Collector:
    """The households' phones: the private notifications, as the notifier receives them
    (the kiosk deletes a code from its outbox once the broker has it)."""
    phone = Collector(broker.port, [topics.notify_of("maple-court", "gate-east")])
    phone.wait_subscribed()
    return phone


def code_for(phone: Collector, unit: str) -> str:
    def codes() -> list[str]:
        return [m.json()["data"]["code"] for m in phone.messages()
                if m.json()["household"] == unit]
    assert wait_until(lambda: codes(), timeout=WAIT)
    return codes()[-1]


# --- an offline board costs one request a probe ---------------------------------------------

def test_an_offline_board_is_probed_with_one_request_and_again_between_two_polls(
        tmp_path, sim, broker, mock_factory):
    config = load_config(run_config(tmp_path, sim.port, broker.port))
    kiosk = start(config, mock_factory)
    try:
        assert "board_probe" in kiosk.scheduler.names()
        runs_later(kiosk)
        sim.set_silent(0, True)
        assert wait_until(lambda: faults_of(kiosk) == {"board_offline"}, timeout=WAIT)
        declared = kiosk.board.counters  # type: ignore[attr-defined]
        # Control: while it was online, each failed poll used the driver's retries.
        assert declared.retries >= 2 * kiosk.health.offline_after
        runs_later(kiosk, 3)
        probed = kiosk.board.counters  # type: ignore[attr-defined]
        assert probed.timeouts >= declared.timeouts + 3  # probed every poll…
        assert probed.retries == declared.retries  # …with one request each

        # No more polls (the next one an hour away): the probes alone bring it back.
        # The poll already due (within a heartbeat) still runs: past it once the probe
        # task (every eighth of a heartbeat, on the same thread, after the poll in a
        # round) has run ten times.
        kiosk.scheduler.every("health", 3600)
        runs_later(kiosk, 10, "board_probe")
        polls = kiosk.scheduler.runs("health")
        runs_later(kiosk, 2, "board_probe")
        assert faults_of(kiosk) == {"board_offline"}  # control: silent, so still out
        sim.set_silent(0, False)
        assert wait_until(lambda: faults_of(kiosk) == {None}, timeout=WAIT)
        assert kiosk.scheduler.runs("health") == polls
        assert kiosk.lockers.free_counts()["S"] == LOCKS
        assert len(events(kiosk, "board.online")) == 1
    finally:
        kiosk.close()


# --- a reversed lock bit: out of service until the readings look right -------------------

def test_a_reversed_lock_bit_takes_the_board_out_of_service_until_the_setting_is_fixed(
        tmp_path, sim, broker, mock_factory):
    path = run_config(tmp_path, sim.port, broker.port)
    right = load_config(path)
    phone = phones(broker)
    kiosk = start(right, mock_factory)
    try:
        courier = kiosk.lockers.add_courier("c-1", "12341234")
        for unit in ("A101", "A102"):
            kiosk.lockers.add_household(unit)
        door = deposit(kiosk, sim, courier)
        code = code_for(phone, "A101")
        runs_later(kiosk)
        assert faults_of(kiosk) == {None}  # control: the right setting suspects nothing
    finally:
        kiosk.close()

    # The setting reversed (the board still speaks lock_bit_locked = 1).
    wrong = load_config(with_board_setting(path, "lock_bit_locked = 0"))
    kiosk = start(wrong, mock_factory)
    try:
        runs_later(kiosk)
        assert faults_of(kiosk, 0) == {"polarity_suspect"}
        assert [k for k, _ in kiosk.health.faults()] == ["board.polarity_suspect"]
        assert len(events(kiosk, "board.polarity_suspect")) == 1
        # Not offered to couriers: out of order, not full, and no door pulsed.
        unlocks = sim.unlock_count()
        courier = kiosk.lockers.courier_login("c-1", "12341234")
        with pytest.raises(LockersOutOfOrder):
            kiosk.lockers.deposit(courier, "A102", "S")
        assert events(kiosk, "locker.unavailable")[-1]["causes"] == {
            "polarity_suspect": LOCKS - 1}
        assert events(kiosk, "locker.full") == []
        # The parcel inside waits: no door pulsed for it, nothing reported jammed.
        result = kiosk.lockers.pickup(code, "A101")
        assert result.opened == [] and [c.id for c in result.failed] == [door]
        assert sim.unlock_count() == unlocks
        assert events(kiosk, "door.jammed") == []
        assert kiosk.lockers.parcel(1)["state"] == "stored"
        view = screen(kiosk)
        assert {c.state for c in view.compartments} == {"out_of_service"}
        assert "board.polarity_suspect" in [f.kind for f in view.faults]
        assert "locker.full" not in [f.kind for f in view.faults]
        # A maintainer clearing one by hand does not put it back while the cause stands.
        kiosk.maintenance.clear_fault("m-ana", "A02", "looks fine to me")
        runs_later(kiosk)
        assert faults_of(kiosk, 0) == {"polarity_suspect"}
    finally:
        kiosk.close()

    # Restarted with the setting still wrong: still suspected, no second event.
    kiosk = start(wrong, mock_factory)
    try:
        runs_later(kiosk)
        assert faults_of(kiosk, 0) == {"polarity_suspect"}
        assert len(events(kiosk, "board.polarity_suspect")) == 1
    finally:
        kiosk.close()

    # The setting fixed: the first poll finds sane readings and puts them back.
    kiosk = start(right, mock_factory)
    try:
        runs_later(kiosk)
        assert faults_of(kiosk) == {None}
        assert kiosk.health.faults() == []
        assert len(events(kiosk, "board.polarity_cleared")) == 1
        assert [c.id for c in kiosk.lockers.pickup(code, "A101").opened] == [door]
    finally:
        kiosk.close()
        phone.stop()


# --- a jam ends when the lock is seen to open ---------------------------------------------

def test_a_jammed_lock_seen_open_is_back_in_service(tmp_path, sim, broker, mock_factory):
    phone = phones(broker)
    kiosk = start(load_config(run_config(tmp_path, sim.port, broker.port)), mock_factory)
    try:
        courier = kiosk.lockers.add_courier("c-1", "12341234")
        kiosk.lockers.add_household("A101")
        door = deposit(kiosk, sim, courier)
        code = code_for(phone, "A101")
        sim.jam(0, 1)
        assert kiosk.lockers.pickup(code, "A101").opened == []
        assert faults_of(kiosk) == {"jammed", None}
        assert [k for k, _ in kiosk.health.faults()] == ["door.jammed"]
        sim.unjam(0, 1)
        # The resident comes back: the door opens, so the lock is not jammed any more.
        assert [c.id for c in kiosk.lockers.pickup(code, "A101").opened] == [door]
        assert faults_of(kiosk) == {None}
        assert [k for k, _ in kiosk.health.faults()] == []
        assert events(kiosk, "door.jam_cleared") == [
            {"compartment": door, "board": 0, "lock": 1}]
    finally:
        kiosk.close()
        phone.stop()


# --- the maintenance screen: an outage is not "full" -------------------------------------

def test_the_maintenance_screen_shows_an_outage_as_the_outage_not_as_full(
        tmp_path, sim, broker, mock_factory):
    kiosk = start(load_config(run_config(tmp_path, sim.port, broker.port)), mock_factory)
    try:
        courier = kiosk.lockers.add_courier("c-1", "12341234")
        kiosk.lockers.add_household("A101")
        runs_later(kiosk)
        assert "locker.full" not in [f.kind for f in screen(kiosk).faults]
        sim.set_silent(0, True)
        assert wait_until(lambda: faults_of(kiosk) == {"board_offline"}, timeout=WAIT)
        assert kiosk.lockers.free_counts()["S"] == 0
        kinds = [f.kind for f in screen(kiosk).faults]
        assert "board.offline" in kinds and "locker.full" not in kinds
        sim.set_silent(0, False)
        assert wait_until(lambda: faults_of(kiosk) == {None}, timeout=WAIT)
        # Control: every compartment holding a parcel is full, and listed so.
        for _ in range(LOCKS):
            deposit(kiosk, sim, courier)
        assert [f.details for f in screen(kiosk).faults if f.kind == "locker.full"] == [
            {"size": "S"}]
    finally:
        kiosk.close()


# --- the monitor: the newer faults, raised and cleared ------------------------------------

def test_the_monitor_shows_the_newer_faults_and_clears_them_when_they_end(
        tmp_path, broker, mock_factory):
    from monitor.feed import FeedOptions, MonitorFeed
    from monitor.fleet import Fleet
    from mqtt.connection import BrokerAddress

    updates: list = []
    lock = threading.Lock()

    def got(update) -> None:
        with lock:
            updates.append(update)

    fleet = Fleet()

    def alerts() -> set[tuple[str, str | None]]:
        with lock:
            batch = list(updates)
            updates.clear()
        fleet.apply_all(batch)
        view = fleet.kiosks.get(("maple-court", "gate-east"))
        return set(view.alerts) if view is not None else set()

    feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), "maple-court",
                                   reconnect_min_s=0.2, reconnect_max_s=1.0), got)
    feed.start(timeout_s=10)
    # The board speaks the other polarity than the config's default.
    with BoardSimulator(boards=(0,), lock_bit_locked=0) as cabinet:
        kiosk = start(load_config(run_config(tmp_path, cabinet.port, broker.port)),
                      mock_factory)
        try:
            courier = kiosk.lockers.add_courier("c-1", "12341234")
            kiosk.lockers.add_household("A101")
            kiosk.health.worker_failed("DepositScreen.settle", "ValueError")
            assert wait_until(lambda: ("board.polarity_suspect", "0") in alerts(),
                              timeout=WAIT)
            with pytest.raises(LockersOutOfOrder):
                kiosk.lockers.deposit(courier, "A101", "S")
            # The store tells its space watcher the disk is full (a real full database is
            # tests/test_fail_loudly.py's; here it must stay full until the test says).
            kiosk.health.disk_full("database or disk is full")
            raised = {("board.polarity_suspect", "0"), ("locker.unavailable", "S"),
                      ("kiosk.worker_failed", "DepositScreen.settle"),
                      ("kiosk.disk_full", None)}
            assert wait_until(lambda: raised <= alerts(), timeout=WAIT), alerts()

            # Each ends: room on the disk again, the worker quiet, the readings right
            # (every door open reads "locked" on this board: it is the bit that is wrong).
            kiosk.health.disk_ok()
            kiosk.health.software_fault_s = 0.0
            for n in range(1, LOCKS + 1):
                cabinet.force_open(0, n)
            assert wait_until(lambda: not alerts() & raised, timeout=WAIT), alerts()
            assert kiosk.lockers.free_counts()["S"] == LOCKS
        finally:
            kiosk.close()
            feed.stop()


# --- ``kiosk demo --reset`` while a demo runs ---------------------------------------------

def test_demo_reset_refuses_while_a_demo_runs_on_its_data_and_names_it(tmp_path, capsys):
    from kiosk.cli.demo import reset_data
    from kiosk.cli.main import main
    from kiosk.setups.demo import DemoKiosk

    data = tmp_path / "demo"
    with DemoKiosk(data, parking_sample=False):
        assert main(["demo", "--reset", "--data", str(data)]) != 0
        said = capsys.readouterr().err
        assert "another kiosk demo is running" in said and f"pid {os.getpid()}" in said
        assert "not resetting" in said
        assert (data / "kiosk.db").exists() and (data / "kiosk.lock").exists()
    reset_data(data)  # control: once that demo is gone, the reset goes ahead
    assert not data.exists()


# --- a deposit finished while the database is busy ---------------------------------------

async def test_a_deposit_shut_while_the_database_is_busy_is_recorded_once_when_it_answers(
        tmp_path):
    from textual.widgets import Static

    from tests.test_fail_loudly import SHORT_BUSY_S, WriteLockHolder
    from tests.test_tui_flows import courier_logs_in
    from tests.tui_setup import demo_kiosk, shown, type_text, until

    with demo_kiosk(tmp_path / "demo", language="en") as demo:
        app = demo.app
        store = demo.kiosk.store
        reported: list[tuple[str, str]] = []
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: app.ready, what="connected")
            app.parts.worker_failed = lambda where, error: reported.append((where, error))
            await courier_logs_in(pilot)
            await type_text(pilot, "302")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.pane == "size-pane", what="size pane")
            await pilot.press("s")
            await until(pilot, lambda: app.screen.pane == "door-pane", what="door open")
            screen = app.screen
            slot = screen.slot
            c = slot.compartment
            codes = len([n for n in demo.kiosk.outbox.pending_notifications(limit=1000)
                         if n.household == "302"])

            def state() -> str:
                return str(store.scalar("SELECT state FROM parcels WHERE id = ?",
                                        (slot.parcel_id,)))

            store.busy_timeout_s = SHORT_BUSY_S
            holder = WriteLockHolder(Path(store.path))
            try:
                demo.sim.put_item(c.board, c.lock)
                demo.sim.shut(c.board, c.lock)
                message = screen.query_one("#door-message", Static)
                await until(pilot, lambda: app.t("slot.store_busy") in shown(message),
                            what="the calm busy words")
                # Holding, not lost: the door screen stays, the parcel is not yet stored.
                assert state() == "deposit_pending" and screen.pane == "door-pane"
                assert screen.slot is slot
            finally:
                holder.release()
            await until(pilot, lambda: screen.pane == "unit-pane", what="the next parcel")
            assert state() == "stored"

            def deposited() -> list:
                return [e for e in demo.kiosk.outbox.events()
                        if e.type == "parcel.deposited" and e.data["parcel"] == slot.parcel_id]

            # The code is held for a correction of the unit until the courier moves on.
            await type_text(pilot, "303")
            await pilot.press("enter")
            await until(pilot, lambda: deposited() != [], what="the code released")
            assert len(deposited()) == 1
            assert len([n for n in demo.kiosk.outbox.pending_notifications(limit=1000)
                        if n.household == "302"]) == codes + 1
            assert reported == []  # busy is not a software fault
            assert app.t("error.calm") not in [shown(t) for t in app.screen.query("Toast")]


# --- an end refused by a busy database is written later, never dropped ---------------------

def test_a_fault_ending_while_the_database_is_busy_ends_once_it_answers(
        tmp_path, sim, broker, mock_factory):
    from tests.test_fail_loudly import SHORT_BUSY_S, WriteLockHolder

    path = run_config(tmp_path, sim.port, broker.port)
    path.write_text(path.read_text() + '\n[[compartments]]\nboard = 1\nlocks = "1-2"\n'
                    'size = "L"\n')
    kiosk = start(load_config(path), mock_factory)
    try:
        runs_later(kiosk)
        sim.force_open(0, 3)
        sim.set_silent(1, True)
        assert wait_until(lambda: faults_of(kiosk, 1) == {"board_offline"}
                          and "door.tamper" in [k for k, _ in kiosk.health.faults()],
                          timeout=WAIT)
        kiosk.store.busy_timeout_s = SHORT_BUSY_S
        holder = WriteLockHolder(Path(kiosk.store.path))
        try:
            # Both faults end while no step can be written.
            sim.shut(0, 3)
            sim.set_silent(1, False)
            runs_later(kiosk, 2)
            # Still standing, everywhere alike: not dropped with its event unwritten.
            assert faults_of(kiosk, 1) == {"board_offline"}
            kinds = [k for k, _ in kiosk.health.faults()]
            assert "door.tamper" in kinds and "board.offline" in kinds
            assert events(kiosk, "door.tamper_cleared") == []
        finally:
            holder.release()
        assert wait_until(lambda: faults_of(kiosk) == {None}
                          and kiosk.health.faults() == [], timeout=WAIT)
        assert len(events(kiosk, "door.tamper_cleared")) == 1
        assert len(events(kiosk, "board.online")) == 1
    finally:
        kiosk.close()
