"""``kiosk run`` draws its home screen first and composes the kiosk behind it
(kiosk/setups/production.py, ``BehindTheScreen``): until the kiosk is composed and has
settled what a crash interrupted, the home screen takes no action; what fails behind the
first frame ends the process non-zero, its message shown once the terminal is back.

The app is the one ``kiosk run`` builds (``run_app``), on the real composition over the
pty board simulator; the failures are the real process on a real terminal (a pty).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import socket
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from textual.widgets import Static

from kiosk.config import load_config
from kiosk.instance_lock import hold
from kiosk.setups.production import production_kiosk, run_app
from tests.terminal import loaded_by, run_until_exit
from tests.tui_setup import shown, until
from tui.screens.home import HomeScreen
from tui.screens.pickup import PickupScreen

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)
# Textual leaves the alternate screen when it restores the terminal.
RESTORED = b"\x1b[?1049l"


def write_config(tmp_path: Path, port: str, extra: str = "") -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "state"}"\nlanguage = "zh"\n'
        f'[board]\nport = "{port}"\ntimeout_s = 0.1\n'
        '[gpio]\npin_factory = "mock"\ntamper = 27\n'
        '[mqtt]\nenabled = false\n'
        '[[compartments]]\nboard = 0\nlocks = "1-8"\nsize = "S"\n' + extra,
        encoding="utf-8")
    return path


def parcel_states(data: Path) -> list[str]:
    db = sqlite3.connect(data / "kiosk.db")
    try:
        return [r[0] for r in db.execute("SELECT state FROM parcels ORDER BY id")]
    finally:
        db.close()


def a_deposit_interrupted(config_path: Path, sim) -> None:
    """A courier's deposit the kiosk stopped in the middle of: the parcel is in, the door
    shut, the database still says "pending" (start-up settles it from the board)."""
    kiosk = production_kiosk(load_config(config_path))
    try:
        lockers = kiosk.lockers
        lockers.add_household("101", pseudonym="h-101", pin="10101010")
        courier = lockers.add_courier("c-1", "12341234", pseudonym="c-one")
        slot = lockers.deposit(courier, "101", "S")
        sim.put_item(slot.compartment.board, slot.compartment.lock)
        sim.shut(slot.compartment.board, slot.compartment.lock)
    finally:
        kiosk.close()  # before ``finish``: as a crash leaves it


async def test_the_home_screen_takes_no_action_until_the_kiosk_is_ready(tmp_path, sim):
    config_path = write_config(tmp_path, sim.port)
    a_deposit_interrupted(config_path, sim)
    data = tmp_path / "state"
    assert parcel_states(data) == ["deposit_pending"]
    config = load_config(config_path)
    composing, go = threading.Event(), threading.Event()

    def held_back(config, **options):
        # The real composition, held until the test has tapped: a slow start-up.
        composing.set()
        assert go.wait(30)
        return production_kiosk(config, **options)

    lock = hold(config.data_dir, "run", port=config.board.port)
    app, behind = run_app(config, lock, idle_s=600.0, compose_kiosk=held_back)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # The worker composing the kiosk starts once the first frame is drawn.
            await until(pilot, composing.is_set, what="the composition begun")
            welcome = app.screen.query_one("#home-welcome", Static)
            await pilot.click("#home-pickup")
            await pilot.press("2")  # deposit, by its key
            assert isinstance(app.screen, HomeScreen) and len(app.screen_stack) == 1
            assert shown(welcome) == app.t("home.starting")
            assert "启动" in shown(welcome)
            # In English too (the language is the screen's own: it works already).
            await pilot.press("6")
            await until(pilot, lambda: app.language == "en", what="English")
            await pilot.press("1")
            welcome = app.screen.query_one("#home-welcome", Static)
            assert shown(welcome) == "Starting up, one moment…"
            assert isinstance(app.screen, HomeScreen) and len(app.screen_stack) == 1
            assert not app.ready and parcel_states(data) == ["deposit_pending"]
            go.set()
            await until(pilot, lambda: app.ready and app.status_updates, what="ready")
            # Ready means reconciled: the interrupted deposit is settled from the board.
            assert parcel_states(data) == ["stored"]
            assert "all doors working" in shown(app.screen.query_one("StatusLine"))
            assert shown(app.screen.query_one("#home-welcome", Static)) == app.t(
                "home.welcome")
            # Control: the same tap once ready opens the pickup screen.
            await pilot.click("#home-pickup")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen),
                        what="the pickup screen")
    finally:
        behind.close()
    # Closed with the kiosk: the next kiosk may take the data directory and the bus.
    hold(config.data_dir, "run", port=config.board.port).release()


def test_a_failure_behind_the_first_frame_exits_non_zero_with_its_message(tmp_path, sim):
    # A port that is there but is no serial device (a wrong path in the config): found
    # when the board is opened, behind the home screen.
    not_a_tty = tmp_path / "not-a-tty"
    not_a_tty.write_text("")
    config = write_config(tmp_path, str(not_a_tty))
    code, seen = run_until_exit(["run", "--config", str(config)])
    assert code == 2, seen[-400:]
    drawn, _, after = seen.rpartition(RESTORED)
    assert "取件".encode() in drawn  # the home screen was up
    # As it was said before the screen: the config, the section, the port, and why.
    message = after.decode(errors="replace")
    assert f"kiosk: {config}: [board]: cannot open port {not_a_tty}" in message
    assert "Traceback" not in message
    # Its lock went with it: another kiosk may start on the data directory.
    hold(tmp_path / "state", "test").release()

    # A setting the features check (not the config's loader) fails the same way.
    config = write_config(tmp_path, sim.port, "[duty]\nshift_hours = 0\n")
    code, seen = run_until_exit(["run", "--config", str(config)])
    assert code == 2, seen[-400:]
    drawn, _, after = seen.rpartition(RESTORED)
    assert "取件".encode() in drawn
    assert f"kiosk: {config}: duty.shift_hours" in after.decode(errors="replace")

    # Control: the same config on a working board and good settings runs until quit.
    config = write_config(tmp_path, sim.port)
    code, seen = run_until_exit(["run", "--config", str(config)],
                                quit_on="柜门正常".encode())
    assert code == 0, seen[-400:]
    assert b"kiosk: " not in seen.rpartition(RESTORED)[2]


def test_another_kiosk_on_the_data_directory_is_said_before_the_screen(tmp_path, sim):
    config = write_config(tmp_path, sim.port)
    with hold(tmp_path / "state", "run"):
        code, seen = run_until_exit(["run", "--config", str(config)])
    assert code == 2
    text = seen.decode(errors="replace")
    assert "another kiosk run is running on" in text and "Traceback" not in text
    # Before the screen: the terminal was never taken.
    assert RESTORED not in seen and "取件" not in text
    # Control: with the lock free, the same command takes the screen and runs.
    code, seen = run_until_exit(["run", "--config", str(config)],
                                quit_on="柜门正常".encode())
    assert code == 0 and RESTORED in seen


def test_kiosk_run_shows_its_first_frame_before_loading_the_core():
    """What ``kiosk run`` imports before its first frame: the command, the config, the
    screen; SQLite, the services, the device libraries and the demo's panels load behind
    it (the first frame's time is measured in bench/bench_tui.py)."""
    first = ["kiosk.cli.main", "kiosk.cli.run", "kiosk.setups.production", "tui.app",
             "kiosk.sdnotify", "kiosk.logging_setup"]
    heavy = ["sqlite_utils", "kiosk.composition", "kiosk.lockers.service", "serial",
             "gpiozero", "paho", "tui.screens.demo_panels"]
    assert loaded_by(first, heavy) == []
    # Control: what the worker imports behind the first frame is caught by the same check.
    assert "sqlite_utils" in loaded_by([*first, "kiosk.composition"], heavy)


def test_systemd_hears_ready_once_the_kiosk_is_composed_and_settled(tmp_path, sim):
    """READY=1 once the home screen is drawn and the kiosk composed, with what a crash
    interrupted already settled; the UI loop's watchdog pings come as before."""
    config_path = write_config(tmp_path, sim.port)
    a_deposit_interrupted(config_path, sim)
    # The control for "settled at READY": it is pending as the kiosk starts.
    assert parcel_states(tmp_path / "state") == ["deposit_pending"]
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "WATCHDOG_USEC": "1000000",
           "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config",
                             str(config_path)], cwd=ROOT, env=env, stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen, said = b"", []
    drawn_at_ready = states_at_ready = None
    deadline = time.monotonic() + 30
    try:
        while sum("WATCHDOG=1" in m for m in said) < 2:
            assert time.monotonic() < deadline, f"systemd heard {said}; {seen[-300:]!r}"
            ready, _, _ = select.select([master, notify], [], [], 0.1)
            if master in ready:
                seen += os.read(master, 65536)
            if notify in ready:
                said.append(notify.recv(4096).decode())
                if "READY=1" in said[-1] and states_at_ready is None:
                    drawn_at_ready = "取件".encode() in seen
                    states_at_ready = parcel_states(tmp_path / "state")
        os.write(master, b"\x11")  # Ctrl+Q
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    os.read(master, 65536)
                except OSError:
                    break
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        notify.close()
    assert drawn_at_ready and states_at_ready == ["stored"]
    assert sum("READY=1" in m for m in said) == 1


def test_quitting_while_the_kiosk_starts_closes_it_whole(tmp_path, sim):
    """Ctrl+Q as soon as the home screen shows, perhaps while the kiosk is composed
    behind it: the start ends, then the kiosk closes, locks and all."""
    config = write_config(tmp_path, sim.port)
    code, seen = run_until_exit(["run", "--config", str(config)], quit_on="取件".encode())
    assert code == 0, seen[-400:]
    assert b"Traceback" not in seen and b"kiosk: " not in seen.rpartition(RESTORED)[2]
    # Nothing left holding the data directory or the bus.
    hold(tmp_path / "state", "test", port=sim.port).release()
