"""The composition root holds the house: what each command starts, and the few rules
that keep one owner for each kind of state (kiosk/composition.py, kiosk/doors.py)."""

from __future__ import annotations

import ast
import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.composition import FEATURES, Devices, compose
from kiosk.config import config_from_dict
from kiosk.events import utc_now
from kiosk.feature import Periodic
from kiosk.scheduler import Scheduler
from kiosk.schema import open_kiosk_store
from kiosk.setups.demo import TAMPER_PIN, DemoKiosk
from kiosk.setups.production import production_kiosk
from kiosk.setups.simulation import Simulation, SimulationOptions
from tests.mqtt_broker import Collector, wait_until

ROOT = Path(__file__).resolve().parent.parent
FEATURE_DIR = ROOT / "kiosk" / "features"
EVERY_FEATURE = {f.name for f in FEATURES}
# What each command starts, with an uplink configured.
RUN = EVERY_FEATURE
# The demo has no config file to record; speech is off unless a config switches it on.
DEMO = EVERY_FEATURE - {"config_record", "speech"}
SIMULATE = EVERY_FEATURE - {"config_record", "speech"}


def feature_modules() -> set[str]:
    return {p.stem for p in FEATURE_DIR.glob("*.py") if p.name != "__init__.py"}


def run_config(tmp_path: Path, port: str, broker_port: int, **lockers: object) -> Path:
    """A production config file, as an installer writes it, for a board on ``port``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "kiosk.toml"
    lockers_toml = "".join(f"{k} = {v}\n" for k, v in lockers.items())
    path.write_text(f"""
community_id = "maple-court"
kiosk_id = "gate-east"
data_dir = "{tmp_path / 'state'}"
[board]
port = "{port}"
timeout_s = 0.1
confirm_s = 0.5
heartbeat_s = 0.2
[[compartments]]
board = 0
locks = "1-8"
size = "S"
[gpio]
pin_factory = "mock"
led_ok = 5
led_fault = 6
tamper = 27
[mqtt]
host = "127.0.0.1"
port = {broker_port}
[speech]
enabled = true
save_dir = "{tmp_path / 'spoken'}"
[lockers]
{lockers_toml}""", encoding="utf-8")
    return path


# --- the feature list against what each command starts ------------------------------------

def test_every_feature_module_is_in_the_list_once():
    listed = [f.name for f in FEATURES]
    assert len(listed) == len(set(listed))
    assert feature_modules() == set(listed)


def test_each_command_starts_its_features_and_none_sits_unused(tmp_path, sim, broker,
                                                               mock_factory):
    from kiosk.config import load_config

    config = load_config(run_config(tmp_path / "run", sim.port, broker.port))
    kiosk = production_kiosk(config, mock_factory)
    try:
        started = {"run": set(kiosk.feature_names)}
    finally:
        kiosk.close()
    with DemoKiosk(tmp_path / "demo", broker=("127.0.0.1", broker.port),
                   parking_sample=False) as demo:
        started["demo"] = set(demo.kiosk.feature_names)
    simulation = Simulation(SimulationOptions("127.0.0.1", broker.port, str(tmp_path / "sim"),
                                              parcels=0))
    from devices.board_sim import BoardSimulator

    cabinet = BoardSimulator(boards=(0, 1)).start()
    store = open_kiosk_store(tmp_path / "sim.db")
    kiosk = simulation.compose(simulation.kiosk_config(cabinet.port), cabinet, store,
                               threading.Event())
    try:
        started["simulate"] = set(kiosk.feature_names)
    finally:
        kiosk.close()
    assert started == {"run": RUN, "demo": DEMO, "simulate": SIMULATE}
    unused = feature_modules() - set().union(*started.values())
    assert unused == set(), f"feature modules no command starts: {unused}"


def test_the_unused_check_can_fail(tmp_path):
    # Control: a kiosk composed without the reminders feature leaves its module unused.
    started = EVERY_FEATURE - {"reminders"}
    assert feature_modules() - started == {"reminders"}


# --- kiosk run, against a board it has never seen ----------------------------------------



def test_kiosk_run_announces_discovery_and_sends_overdue_reminders_across_a_restart(
        tmp_path, sim, broker, mock_factory):
    from devices.serial_board import open_board
    from kiosk.config import load_config

    config = load_config(run_config(tmp_path, sim.port, broker.port, overdue_days=3))
    # Five days ago a courier deposited a parcel for A101 (the sensor sees it inside).
    then = utc_now() - timedelta(days=5)
    Path(config.data_dir).mkdir(parents=True)
    bus = open_board(config.board.port, timeout_s=0.1, retries=2)
    past = compose(config, Devices(bus, closers=[bus.close]), clock=lambda: then)
    past.lockers.add_household("A101", pseudonym="h-a101")
    slot = past.lockers.deposit(past.lockers.add_courier("c-1", "12341234"), "A101", "S")
    sim.put_item(slot.compartment.board, slot.compartment.lock)
    sim.shut(slot.compartment.board, slot.compartment.lock)
    past.lockers.finish(slot)
    past.close()

    seen = Collector(broker.port, ["homeassistant/#", "community/#"])
    seen.wait_subscribed()
    kiosk = production_kiosk(config, mock_factory)
    try:
        assert wait_until(lambda: seen.messages("/event/parcel.overdue"), timeout=15)
        assert wait_until(lambda: seen.messages("homeassistant/"), timeout=15)
        overdue = seen.messages("/event/parcel.overdue")[0].json()
        assert overdue["data"]["reminder"] == 1 and overdue["data"]["household"] == "h-a101"
        # The reminder went to the household's private topic with a fresh code (the
        # deposit's own pickup code goes there too, queued while nothing was connected, and
        # may arrive before or after it).
        def reminders() -> list[dict]:
            notes = (m.json() for m in seen.messages("/notify/A101"))
            return [n for n in notes if n["kind"] == "reminder"]
        assert wait_until(reminders, timeout=15)
        assert reminders()[0]["data"]["code"]
        assert any(json.loads(m.payload).get("device") for m in seen.messages("homeassistant/"))
    finally:
        kiosk.close()

    # The configs stay on the broker while the kiosk is down (retained) …
    late = Collector(broker.port, ["homeassistant/#"])
    assert wait_until(lambda: late.messages("homeassistant/"), timeout=15)
    assert all(m.retain for m in late.messages("homeassistant/"))
    late.stop()
    # … and restarted, the kiosk sends them again on connect; no second reminder before
    # its time.
    again = Collector(broker.port, ["homeassistant/#"])
    again.wait_subscribed()
    kiosk = production_kiosk(config, mock_factory)
    try:
        assert wait_until(lambda: kiosk.scheduler.runs("reminders") >= 1, timeout=15)
        assert wait_until(lambda: any(not m.retain for m in again.messages("homeassistant/")),
                          timeout=15)
        assert kiosk.store.scalar("SELECT reminders FROM parcels") == 1
        # Control: the same check sees a reminder once it is due again.
        kiosk.store.db.execute("UPDATE parcels SET last_reminder_ts = ?",
                               ((utc_now() - timedelta(days=2)).isoformat(),))
        runs = kiosk.scheduler.runs("reminders")
        kiosk.scheduler.trigger("reminders")
        assert wait_until(lambda: kiosk.scheduler.runs("reminders") > runs, timeout=15)
        assert kiosk.store.scalar("SELECT reminders FROM parcels") == 2
    finally:
        kiosk.close()
        seen.stop()
        again.stop()


# --- status LEDs and the buzzer -----------------------------------------------------------

def test_the_status_leds_follow_the_faults_and_the_tamper_switch_beeps(tmp_path):
    with DemoKiosk(tmp_path / "demo", parking_sample=False) as demo:
        pins, kiosk = demo.pin_factory, demo.kiosk
        ok, fault, buzzer = pins.pin(5), pins.pin(6), pins.pin(17)
        polls = kiosk.scheduler.runs("health")
        kiosk.scheduler.trigger("health")
        assert wait_until(lambda: kiosk.scheduler.runs("health") > polls)
        assert ok.state and not fault.state
        beeps_before = sum(1 for s in buzzer.states if s.state)
        pins.pin(TAMPER_PIN).drive_high()  # the cabinet opened
        assert wait_until(lambda: sum(1 for s in buzzer.states if s.state)
                          >= beeps_before + 3)
        kiosk.scheduler.trigger("health")
        assert wait_until(lambda: fault.state and not ok.state)
        pins.pin(TAMPER_PIN).drive_low()
        kiosk.scheduler.trigger("health")
        assert wait_until(lambda: ok.state and not fault.state)


# --- the parking tick and the state snapshots, on the scheduler ----------------------------

def test_the_parking_tick_tells_the_screen_only_when_something_changed(tmp_path):
    from datetime import UTC, datetime

    now = [datetime(2026, 11, 29, 2, 0, tzinfo=UTC)]
    with DemoKiosk(tmp_path / "demo", core_clock=lambda: now[0]) as demo:
        kiosk = demo.kiosk
        told: list[str] = []
        kiosk.signals.connect("parking.changed", lambda: told.append("changed"))
        runs = kiosk.scheduler.runs("housekeeping")
        kiosk.scheduler.trigger("housekeeping")
        assert wait_until(lambda: kiosk.scheduler.runs("housekeeping") > runs)
        assert told == []  # the visitor's booking has not started yet
        now[0] += timedelta(hours=2)  # 20 minutes past its start, nobody came
        kiosk.scheduler.trigger("housekeeping")
        assert wait_until(lambda: told == ["changed"])


def test_each_health_round_publishes_the_car_park_for_the_plan(tmp_path, broker):
    seen = Collector(broker.port, ["community/#"])
    seen.wait_subscribed()
    with DemoKiosk(tmp_path / "demo", broker=("127.0.0.1", broker.port)) as demo:
        # (The first round may precede the demo's seeding of its car park.)
        assert wait_until(lambda: any("standard" in m.json()
                                      for m in seen.messages("/state/parking")), timeout=15)
        parking = seen.messages("/state/parking")[-1].json()
        assert parking["standard"]["in_service"] == 6
        assert seen.messages("/state/lockers")
        assert demo.kiosk.publisher is not None
    seen.stop()


# --- the scheduler -------------------------------------------------------------------------

def test_a_failing_periodic_task_is_logged_and_the_others_keep_running(caplog):
    scheduler = Scheduler()
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    scheduler.add(Periodic("broken", 0.01, broken))
    scheduler.add(Periodic("fine", 0.01, lambda: ran.append("fine")))
    scheduler.start()
    try:
        assert wait_until(lambda: scheduler.runs("broken") >= 3 and len(ran) >= 3)
    finally:
        scheduler.stop()
    assert "periodic task broken failed" in caplog.text
    with pytest.raises(ValueError):
        scheduler.add(Periodic("fine", 1, lambda: None))


# --- the outbox kicks the publisher on commit ---------------------------------------------

def test_a_commit_with_an_event_kicks_the_uplink_once_and_a_rollback_never(tmp_path):
    from kiosk.events import Outbox

    store = open_kiosk_store(tmp_path / "k.db")
    outbox = Outbox(store)
    kicks: list[int] = []
    outbox.on_commit(lambda: kicks.append(1))
    with store.step() as db:
        outbox.append(db, "test.one", {"n": 1})
        outbox.append(db, "test.two", {"n": 2})
    assert kicks == [1]
    with pytest.raises(RuntimeError), store.step() as db:
        outbox.append(db, "test.three", {"n": 3})
        raise RuntimeError("rolled back")
    with store.step() as db:
        db.execute("UPDATE meta SET value = value WHERE key = 'secret'")  # no event
    assert kicks == [1]
    with store.step() as db:  # control: a second event step kicks again
        outbox.notify(db, "A101", "pickup_code", {"code": "X"})
    assert kicks == [1, 1]
    store.close()


# --- one owner for doors and compartment faults -------------------------------------------

SOURCES = [p for top in ("kiosk", "devices", "mqtt", "tui") for p in (ROOT / top).rglob("*.py")]
FAULT_WRITE = re.compile(r"UPDATE\s+compartments\s+SET[^\"']*\bfault\b", re.I)


def writers_of_fault(paths) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in paths
            if FAULT_WRITE.search(p.read_text(encoding="utf-8"))}


def test_only_the_door_controller_writes_compartment_faults():
    assert writers_of_fault(SOURCES) == {"kiosk/doors.py"}


def test_the_fault_writer_check_can_fail(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text('db.execute("UPDATE compartments SET fault = NULL WHERE id = ?")\n')
    assert FAULT_WRITE.search(stray.read_text())


def unlock_callers(paths) -> set[str]:
    """Modules that pulse a lock: call ``.unlock(`` or ``open_door(``."""
    found = set()
    for p in paths:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in ("unlock", "open_door"):
                    found.add(p.relative_to(ROOT).as_posix())
    return found


def test_only_the_door_controller_opens_doors():
    # devices/ implements unlock; ``kiosk board open`` is the installer's tool, run with
    # the kiosk stopped; practice pulses only its own simulated cabinet (kiosk/practice.py;
    # tests/test_practice.py shows the kiosk's board receives no unlock meanwhile).
    callers = unlock_callers(SOURCES)
    assert callers - {p for p in callers if p.startswith("devices/")} == {
        "kiosk/doors.py", "kiosk/cli/board.py", "kiosk/practice.py"}
    # Control: this test file calls neither, the door controller does.
    assert unlock_callers([Path(__file__)]) == set()
    assert unlock_callers([ROOT / "kiosk" / "doors.py"]) == {"kiosk/doors.py"}


def test_a_config_for_a_kiosk_without_uplink_builds_no_publisher(tmp_path, sim):
    from devices.serial_board import open_board

    config = config_from_dict({"community_id": "c", "kiosk_id": "k",
                               "data_dir": str(tmp_path), "board": {"port": sim.port},
                               "compartments": [{"board": 0, "locks": "1-2", "size": "S"}],
                               "mqtt": {"enabled": False}}, "<test>")
    bus = open_board(sim.port, timeout_s=0.1, retries=1)
    kiosk = compose(config, Devices(bus, closers=[bus.close]))
    try:
        assert "uplink" not in kiosk.feature_names and kiosk.publisher is None
        assert kiosk.status().uplink is None
    finally:
        kiosk.close()


def test_the_demo_shows_its_first_frame_before_loading_the_core():
    """``kiosk demo`` draws its home screen first; SQLite, the services and the simulator
    load behind it (the first frame's time is measured in bench/bench_tui.py)."""
    from tests.terminal import loaded_by

    first = ["kiosk.cli.main", "kiosk.setups.demo_launch", "tui.app"]
    heavy = ["sqlite_utils", "kiosk.composition", "kiosk.lockers.service",
             "devices.board_sim", "paho"]
    assert loaded_by(first, heavy) == []
    # Control: what the worker imports after the first frame is caught by the same check.
    assert "sqlite_utils" in loaded_by([*first, "kiosk.setups.demo"], heavy)


def test_kiosk_run_loads_neither_cryptography_nor_the_notifier_or_plan(tmp_path, sim):
    """What ``kiosk run`` composes stays out of ``cryptography`` (9.6 MB resident; the key
    signs through libcrypto, kiosk/signing.py) and the notifier's and plan's libraries:
    the footprint in bench/bench_tui.py. The kiosk is composed, started and signs."""
    import subprocess
    import sys

    heavy = ["cryptography", "apprise", "segno", "plotext", "notify.service", "plan",
             "witness"]
    code = (
        "import sys\n"
        "from kiosk.config import config_from_dict\n"
        "from kiosk.setups.production import production_kiosk\n"
        f"c = config_from_dict({{'community_id': 'c', 'kiosk_id': 'k', 'data_dir': "
        f"{str(tmp_path)!r}, 'board': {{'port': {sim.port!r}, 'timeout_s': 0.1}}, "
        "'gpio': {'pin_factory': 'mock', 'tamper': 27}, 'mqtt': {'enabled': False}, "
        "'compartments': [{'board': 0, 'locks': '1-2', 'size': 'S'}]}, '<test>')\n"
        "k = production_kiosk(c)\n"
        "from kiosk.signing import KioskKey\n"
        f"KioskKey.load_or_create({str(tmp_path)!r}).head('c', 'k', 'audit', 1, '0' * 64)\n"
        "EXTRA\n"
        "k.close()\n"
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code.replace("EXTRA", "pass")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
    # Control: the same check sees cryptography once something does load it.
    extra = "from kiosk.signing import CryptographyEd25519; CryptographyEd25519().public(b'1' * 32)"
    run = subprocess.run([sys.executable, "-c", code.replace("EXTRA", extra)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "cryptography"
