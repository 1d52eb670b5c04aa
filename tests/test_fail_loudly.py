"""Fail loudly, restart cleanly (issue 12, item 3): an unhandled error exits non-zero and
is logged; a busy database is waited for, then refused calmly; a full disk stops new
deposits with a fault; a second kiosk on one data directory or one bus refuses to start
and names the first. Real driver on the pty simulator, real ``kiosk`` processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.instance_lock import AlreadyRunning
from kiosk.setups.production import production_kiosk
from kiosk.store import BUSY_TIMEOUT_S, DiskFull, Store, StoreBusy
from tests.mqtt_broker import wait_until

ROOT = Path(__file__).resolve().parent.parent
SHORT_BUSY_S = 0.3


def write_config(dir: Path, port: str, data: Path | None = None) -> Path:
    """A ``kiosk run`` config for a board on ``port``, no uplink, mock pins."""
    dir.mkdir(parents=True, exist_ok=True)
    path = dir / "kiosk.toml"
    path.write_text(
        f'data_dir = "{data or dir / "state"}"\nlanguage = "en"\n'
        f'[board]\nport = "{port}"\ntimeout_s = 0.1\nconfirm_s = 0.5\nheartbeat_s = 0.2\n'
        '[gpio]\npin_factory = "mock"\ntamper = 27\n'
        '[mqtt]\nenabled = false\n'
        '[[compartments]]\nboard = 0\nlocks = "1-8"\nsize = "S"\n', encoding="utf-8")
    return path


def on_terminal(argv: list[str], until: bytes | None, timeout_s: float = 40.0) -> tuple[int, bytes]:
    """Run ``python ARGV`` on an 80×24 pty. With ``until``: once it is drawn, Ctrl+Q.
    Without: wait for the process to end by itself. Returns (exit code, what it drew)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    env.pop("JOURNAL_STREAM", None)  # logs to DIR/kiosk.log, where the test reads them
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdin=slave,
                            stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout_s
    quit_sent = False
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running; drew {seen[-400:]!r}")
            if until is not None and until in seen and not quit_sent:
                os.write(master, b"\x11")  # Ctrl+Q
                quit_sent = True
            if select.select([master], [], [], 0.1)[0]:
                with contextlib.suppress(OSError):  # the other end closed
                    seen += os.read(master, 65536)
        return proc.wait(timeout=5), seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


# A bug put into the real screen or a real thread of ``kiosk run``, once it is up: the
# process is the real command in every other respect.
BUG = {
    "none": "",
    "screen": """
import tui.app
first = tui.app.KioskApp.on_status_updated
def on_status_updated(self, message):
    first(self, message)
    raise RuntimeError("a bug in the screen")
tui.app.KioskApp.on_status_updated = on_status_updated
""",
    "thread": """
import threading, tui.app
first = tui.app.KioskApp.on_status_updated
def on_status_updated(self, message):
    first(self, message)
    def die():
        raise RuntimeError("a bug in a thread")
    threading.Thread(target=die, name="doomed").start()
tui.app.KioskApp.on_status_updated = on_status_updated
""",
}


@pytest.mark.parametrize("bug", ["none", "screen", "thread"])
def test_an_unhandled_error_stops_kiosk_run_non_zero_and_is_logged(tmp_path, sim, bug):
    config = write_config(tmp_path, sim.port)
    code = (BUG[bug] + "\nfrom kiosk.cli.main import main\n"
            f"raise SystemExit(main(['run', '--config', {str(config)!r}]))\n")
    # Without a bug (the control) the screen runs until Ctrl+Q; with one it ends itself.
    status, drawn = on_terminal(["-c", code], b"all doors working" if bug == "none" else None)
    log = (tmp_path / "state" / "kiosk.log").read_text(encoding="utf-8")
    if bug == "none":
        assert status == 0, drawn[-400:]
        assert "unhandled error" not in log
        return
    assert status == 1, drawn[-400:]
    assert f"a bug in a {bug}" in log or f"a bug in the {bug}" in log
    assert "Traceback" in log  # the whole story for the maintainer, in the journal/log
    assert {"screen": "the screen stopped on an unhandled error",
            "thread": "thread doomed stopped on an unhandled error"}[bug] in log
    # Closed cleanly on the way out: the next start takes the data directory and bus.
    kiosk = production_kiosk(load_config(config), pin_factory=_mock_pins())
    kiosk.close()


def test_an_unhandled_error_in_the_screen_stops_kiosk_demo_non_zero_and_is_logged(tmp_path):
    data = tmp_path / "demo"
    code = (BUG["screen"] + "\nfrom kiosk.cli.main import main\n"
            f"raise SystemExit(main(['demo', '--data', {str(data)!r}]))\n")
    status, drawn = on_terminal(["-c", code], None)
    assert status == 1, drawn[-400:]
    log = (data / "kiosk.log").read_text(encoding="utf-8")
    assert "the screen stopped on an unhandled error" in log and "a bug in the screen" in log
    # The control, without the bug, is tests/test_tui_cli.py: a demo quit with Ctrl+Q is 0.


def _mock_pins():
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


def test_an_error_escaping_a_command_is_one_line_exit_1_and_logged(tmp_path, sim):
    """A real one: the database file is not a database. ``kiosk run`` stops behind its
    first frame (the database opens behind it), with one line on stderr once the terminal
    is restored (no traceback) and exit 1, so systemd restarts it."""
    config = write_config(tmp_path, sim.port)
    state = tmp_path / "state"
    state.mkdir()
    (state / "kiosk.db").write_bytes(b"this is not an SQLite database\n" * 200)
    out = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(config)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"})
    assert out.returncode == 1
    # Without a terminal Textual draws on stderr: the line is what follows the screen.
    said = re.sub(r"\x1b\[[0-9;?<>$]*[A-Za-z]", "",
                  out.stderr.rpartition("\x1b[?1049l")[2])
    assert "Traceback" not in out.stderr and len(said.strip().splitlines()) == 1
    assert "unhandled error" in said and "DatabaseError" in said
    log = (state / "kiosk.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "not a database" in log
    # Control: the same config with a sound database gets past start-up (and to the
    # screen); a command error is still exit 2, as before.
    (state / "kiosk.db").unlink()
    kiosk = production_kiosk(load_config(config), pin_factory=_mock_pins())
    kiosk.close()
    bad = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config",
                          str(tmp_path / "missing.toml")], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2


# --- a busy database ------------------------------------------------------------------------

class WriteLockHolder:
    """Another process holding the database's write lock (``BEGIN IMMEDIATE``), as a long
    CSV import would, until ``release``."""

    def __init__(self, path: Path):
        code = ("import sqlite3, sys\n"
                f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE')\n"
                "print('held', flush=True)\n"
                "sys.stdin.readline()\n"
                "c.execute('ROLLBACK')\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "held\n"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)


def test_the_store_waits_its_busy_timeout_then_refuses(tmp_path):
    path = tmp_path / "busy.db"
    store = Store(path, {}, busy_timeout_s=SHORT_BUSY_S)
    assert Store(tmp_path / "other.db", {}).db.execute(
        "PRAGMA busy_timeout").fetchone()[0] == int(BUSY_TIMEOUT_S * 1000)  # the default
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == int(SHORT_BUSY_S * 1000)
    holder = WriteLockHolder(path)
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusy) as refused, store.step() as db:
            db.execute("CREATE TABLE t (x)")
        # It waited for the other writer (BEGIN IMMEDIATE honours the busy timeout).
        assert time.monotonic() - started >= SHORT_BUSY_S
        assert refused.value.reason == "store_busy"
    finally:
        holder.release()
    with store.step() as db:  # control: the same step, once the other writer is done
        db.execute("CREATE TABLE t (x)")
    assert store.scalar("SELECT COUNT(*) FROM t") == 0


@pytest.fixture
def kiosk(tmp_path, sim, mock_factory):
    k = production_kiosk(load_config(write_config(tmp_path, sim.port)), mock_factory)
    yield k
    k.close()


def deposited(kiosk, sim, unit: str, courier) -> str:
    """A parcel put in for ``unit``; returns the pickup code sent to the household."""
    slot = kiosk.lockers.deposit(courier, unit, "S")
    c = slot.compartment
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    kiosk.lockers.finish(slot)
    return [n.data["code"] for n in kiosk.outbox.pending_notifications()
            if n.household == unit][-1]


def parcel_states(kiosk) -> list[str]:
    return [r["state"] for r in kiosk.store.query("SELECT state FROM parcels ORDER BY id")]


def test_a_busy_database_refuses_pickup_and_deposit_calmly_then_they_succeed(kiosk, sim):
    lockers = kiosk.lockers
    courier = lockers.add_courier("c-1", "12341234")
    lockers.add_household("A101")
    code = deposited(kiosk, sim, "A101", courier)
    kiosk.store.busy_timeout_s = SHORT_BUSY_S
    unlocks = sim.unlock_count()
    runs = kiosk.scheduler.runs("health")
    holder = WriteLockHolder(Path(kiosk.store.path))
    try:
        with pytest.raises(StoreBusy):
            lockers.pickup(code, "A101")
        with pytest.raises(StoreBusy):
            lockers.deposit(courier, "A101", "S")
        # Nothing changed, no door opened.
        assert parcel_states(kiosk) == ["stored"] and sim.unlock_count() == unlocks
        # A door forced open now: the health poll cannot write its alarm, and goes on.
        sim.force_open(0, 8)
        assert wait_until(lambda: kiosk.scheduler.runs("health") >= runs + 3, timeout=15)
        assert "door.tamper" not in [e.type for e in kiosk.outbox.events()]
    finally:
        holder.release()
    # The same steps, once the other writer is done; the alarm was not lost.
    assert [c.id for c in lockers.pickup(code, "A101").opened]
    slot = lockers.deposit(courier, "A101", "S")
    assert slot.compartment.id
    assert wait_until(lambda: "door.tamper" in [e.type for e in kiosk.outbox.events()],
                      timeout=15)


async def test_the_screen_words_a_busy_database_calmly_and_the_same_code_works_after(
        tmp_path):
    from tests.tui_setup import demo_kiosk, latest_code, type_text, type_unit, until
    from tui.screens.pickup import PickupScreen

    with demo_kiosk(tmp_path / "demo", language="en") as demo:
        app = demo.app
        reported: list[tuple[str, str]] = []
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: app.ready and app.status_updates, what="connected")
            app.parts.worker_failed = lambda where, error: reported.append((where, error))
            code = latest_code(demo, "101")
            demo.kiosk.store.busy_timeout_s = SHORT_BUSY_S
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen), what="pickup")
            await type_unit(pilot, "101")
            screen = app.screen
            holder = WriteLockHolder(Path(demo.kiosk.store.path))
            try:
                await type_text(pilot, code)
                await pilot.press("enter")
                busy = app.t("error.store_busy")
                await until(pilot, lambda: any(busy in str(t.render())
                                               for t in app.screen.query("Toast")),
                            what="the busy words")
                await until(pilot, lambda: not screen._busy, what="ready again")
            finally:
                holder.release()
            assert app.t("error.calm") not in [str(t.render()) for t in app.screen.query("Toast")]
            assert reported == []  # busy is not a software fault
            # The same code, again: the doors open.
            if not screen.buffer.value:
                await type_text(pilot, code)
            await pilot.press("enter")
            await until(pilot, lambda: screen.result is not None, what="the doors")
            assert screen.result is not None and screen.result.opened


# --- a full disk ----------------------------------------------------------------------------

def test_a_full_disk_stops_deposits_with_a_fault_and_room_again_clears_it(kiosk, sim):
    """SQLite's ``max_page_count`` makes it answer SQLITE_FULL ("database or disk is
    full") exactly as when the file system has no room left: the same error code, at the
    same point (the database file cannot grow). A real full file system would need a
    small mount (root, or a loop device) that a test machine may not give."""
    lockers, store = kiosk.lockers, kiosk.store
    courier = lockers.add_courier("c-1", "12341234")
    for unit in ("A101", "A102"):
        lockers.add_household(unit)
    code = deposited(kiosk, sim, "A101", courier)
    assert store.full is None and "kiosk.disk_full" not in dict(kiosk.health.faults())
    with store.step() as db:
        db.execute("CREATE TABLE ballast (b BLOB)")
    pages = store.scalar("PRAGMA page_count")
    store.db.execute(f"PRAGMA max_page_count = {pages + 40}")
    # Fill to the limit, as a disk fills up.
    with pytest.raises(DiskFull):
        for _ in range(1000):
            with store.step() as db:
                db.execute("INSERT INTO ballast VALUES (zeroblob(2000))")
    assert "kiosk.disk_full" in dict(kiosk.health.faults())
    unlocks = sim.unlock_count()
    before = parcel_states(kiosk)
    # A new deposit is refused with the words for it; nothing changed, no door opened.
    with pytest.raises(DiskFull) as refused:
        lockers.deposit(courier, "A102", "S")
    assert refused.value.reason == "disk_full"
    assert parcel_states(kiosk) == before and sim.unlock_count() == unlocks
    # The pickup of the parcel already inside goes on: the store gave back its reserve
    # of pages for such small writes, and the new deposit above did not take them.
    assert lockers.pickup(code, "A101").opened
    assert store.full is not None and "kiosk.disk_full" in dict(kiosk.health.faults())
    with pytest.raises(DiskFull):  # still no deposits
        lockers.deposit(courier, "A102", "S")
    # Room again (space freed, here the limit raised): the next commit finds it, the
    # fault clears, and a deposit works (the control: with room, deposits do).
    store.db.execute(f"PRAGMA max_page_count = {pages + 10_000}")
    with store.step() as db:
        db.execute("DELETE FROM ballast")
    assert store.full is None and "kiosk.disk_full" not in dict(kiosk.health.faults())
    assert lockers.deposit(courier, "A102", "S").compartment.id
    kinds = [e.type for e in kiosk.outbox.events()]
    assert "kiosk.disk_full" in kinds and "kiosk.disk_ok" in kinds
    # The reserve is kept again, for the next time.
    assert store.scalar("SELECT COUNT(*) FROM store_reserve") > 0


async def test_the_screen_words_a_full_disk(tmp_path):
    from tests.tui_setup import demo_kiosk, until

    with demo_kiosk(tmp_path / "demo", language="en") as demo:
        app = demo.app
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await until(pilot, lambda: app.ready and app.status_updates, what="connected")
            full = app.t("error.disk_full")
            assert full != "error.disk_full" and "full" in full

            def refuse() -> None:
                raise DiskFull("no space left for the database")

            app.run_worker(refuse, thread=True, exit_on_error=False)
            await until(pilot, lambda: any(full in str(t.render())
                                           for t in app.screen.query("Toast")),
                        what="the full-disk words")


# --- a second kiosk -------------------------------------------------------------------------

def test_a_second_kiosk_on_one_data_directory_or_one_bus_refuses_and_names_the_first(
        tmp_path, sim, mock_factory):
    config = load_config(write_config(tmp_path / "one", sim.port))
    first = production_kiosk(config, mock_factory)
    try:
        with pytest.raises(AlreadyRunning) as refused:
            production_kiosk(config, mock_factory)
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and config.data_dir in message
        assert "another kiosk run is running" in message and "started 20" in message
        # Another config, its own data directory, the same bus under another name (as
        # /dev/serial/by-id/… names /dev/ttyUSB0).
        alias = tmp_path / "by-id-usb-rs485"
        alias.symlink_to(sim.port)
        other = load_config(write_config(tmp_path / "two", str(alias)))
        with pytest.raises(AlreadyRunning) as refused:
            production_kiosk(other, mock_factory)
        assert f"pid {os.getpid()}" in str(refused.value) and "board port" in str(refused.value)
        assert not (Path(other.data_dir) / "kiosk.db").exists()  # nothing was opened
        # The real command says so in one line, exit 2.
        out = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config",
                              str(tmp_path / "one" / "kiosk.toml")], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and f"pid {os.getpid()}" in out.stderr
        assert "Traceback" not in out.stderr
        # The first kept its bus: it still polls the board.
        runs = first.scheduler.runs("health")
        assert wait_until(lambda: first.scheduler.runs("health") > runs, timeout=15)
        assert all(h.online for h in first.health.boards.values())
    finally:
        first.close()
    # Control: once the first has closed, a new one starts, on either config.
    again = production_kiosk(other, mock_factory)
    again.close()
    again = production_kiosk(config, mock_factory)
    again.close()


def test_a_killed_kiosk_leaves_no_stale_lock(tmp_path, sim, mock_factory):
    config_path = write_config(tmp_path, sim.port)
    code = ("import sys\nfrom gpiozero.pins.mock import MockFactory\n"
            "from kiosk.config import load_config\n"
            "from kiosk.setups.production import production_kiosk\n"
            f"k = production_kiosk(load_config({str(config_path)!r}), MockFactory())\n"
            "print('up', flush=True)\nsys.stdin.readline()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "up\n"
        with pytest.raises(AlreadyRunning, match=f"pid {proc.pid}"):
            production_kiosk(load_config(config_path), mock_factory)
    finally:
        proc.kill()
        proc.wait()
    production_kiosk(load_config(config_path), mock_factory).close()


def test_a_second_demo_on_one_data_directory_refuses(tmp_path):
    from kiosk.setups.demo import DemoKiosk

    with DemoKiosk(tmp_path / "demo", parking_sample=False), \
            pytest.raises(AlreadyRunning, match="another kiosk demo is running"):
        DemoKiosk(tmp_path / "demo", parking_sample=False)
    with DemoKiosk(tmp_path / "demo", parking_sample=False):  # control: after the first
        pass
