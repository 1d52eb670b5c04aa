"""``kiosk demo`` and ``kiosk run`` as commands: a real process on a real terminal (a pty)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils

from tests.terminal import run_until_exit

ROOT = Path(__file__).resolve().parent.parent


def run_on_terminal(args: list[str], until: bytes, timeout_s: float = 30.0) -> int:
    """Run ``kiosk ARGS`` on an 80×24 pty until ``until`` is drawn, then press Ctrl+Q."""
    code, seen = run_until_exit(args, timeout_s, quit_on=until)
    assert until in seen, f"{until!r} never drawn; got {seen[-400:]!r}"
    return code


def households(data: Path) -> list[str]:
    db = sqlite_utils.Database(data / "kiosk.db")
    try:
        return [r["unit"] for r in db.query("SELECT unit FROM households ORDER BY unit")]
    finally:
        db.close()


def test_demo_seeds_once_keeps_its_state_and_resets(tmp_path):
    data = tmp_path / "demo"
    # The status line speaks once the demo's parts are open and have been probed.
    ready = "柜门正常".encode()
    assert run_on_terminal(["demo", "--data", str(data)], ready) == 0
    units = households(data)
    assert len(units) == 12
    db = sqlite_utils.Database(data / "kiosk.db")
    db.execute("INSERT INTO households (unit, pseudonym) VALUES ('999', 'h-999')")
    db.conn.commit()
    db.close()

    assert run_on_terminal(["demo", "--data", str(data), "--language", "en"],
                           b"all doors working") == 0
    assert "999" in households(data)

    assert run_on_terminal(["demo", "--data", str(data), "--reset"], ready) == 0
    assert households(data) == units


def test_reset_refuses_a_directory_that_is_not_demo_data(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    out = subprocess.run([sys.executable, "-m", "kiosk", "demo", "--data", str(tmp_path),
                          "--reset"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "not deleting" in out.stderr and "Traceback" not in out.stderr
    assert (tmp_path / "precious.txt").exists()


def test_run_explains_a_bad_config_or_port_without_a_traceback(tmp_path):
    missing = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config",
                              str(tmp_path / "none.toml")], cwd=ROOT, capture_output=True,
                             text=True, timeout=30)
    assert missing.returncode == 2 and "file not found" in missing.stderr
    config = tmp_path / "kiosk.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[board]\nport = "{tmp_path}/no-such-tty"\n'
                      '[[compartments]]\nboard = 0\nlocks = "1-4"\nsize = "S"\n')
    bad_port = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(config)],
                              cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert bad_port.returncode == 2
    assert "[board]" in bad_port.stderr and "Traceback" not in bad_port.stderr


def test_run_opens_the_screen_on_the_configured_board(tmp_path, sim):
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\nlanguage = "en"\n'
        f'[board]\nport = "{sim.port}"\ntimeout_s = 0.1\n'
        '[gpio]\npin_factory = "mock"\ntamper = 27\n'
        '[mqtt]\nenabled = false\n'
        '[[compartments]]\nboard = 0\nlocks = "1-8"\nsize = "S"\n')
    # The status line speaks once the first health round (a board poll) is done.
    assert run_on_terminal(["run", "--config", str(config)], b"all doors working") == 0
    db = sqlite_utils.Database(tmp_path / "kiosk.db")
    assert db.execute("SELECT COUNT(*) FROM compartments").fetchone()[0] == 8
    # The configuration it started with is in the public audit chain.
    assert db.execute("SELECT action, subject FROM audit").fetchall() == [
        ("config.changed", "kiosk.toml")]
    db.close()
    # It polled the board for its health while it ran.
    assert any(frame.cmd == 0x30 for frame in sim.log())


def test_quitting_while_the_demo_starts_leaves_it_whole(tmp_path):
    data = tmp_path / "demo"
    # Ctrl+Q as soon as the home screen shows, perhaps before the parts are open: the
    # start either never began or finished; the next run finds a whole community.
    for marker in ("取件".encode(), "柜门正常".encode()):
        assert run_on_terminal(["demo", "--data", str(data)], marker) == 0
        if (data / "kiosk.db").exists():
            assert len(households(data)) == 12
            db = sqlite_utils.Database(data / "kiosk.db")
            stored = db.execute("SELECT COUNT(*) FROM parcels WHERE state = 'stored'")
            assert stored.fetchone()[0] == 5
            db.close()
    assert (data / "kiosk.db").exists()


def test_the_command_line_starts_without_the_database_or_device_libraries():
    """Building the parser stays cheap: the screen's first frame does not wait for them."""
    code = ("import sys, kiosk.cli.main as m; m.build_parser(); import tui.app, "
            "tui.screens.home\n"
            "print(','.join(sorted({n.split('.')[0] for n in sys.modules} & "
            "{'sqlite_utils', 'serial', 'gpiozero', 'paho'})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == ""


def test_each_listed_command_is_the_one_its_module_adds(capsys):
    """`kiosk demo` registers only its own module; the list it reads must stay true."""
    import argparse

    import kiosk.cli.main as m

    full = m.build_parser()
    (sub,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    for command, module in m.COMMANDS.items():
        assert module in m.COMMAND_MODULES
        only = m.build_parser(command)
        (one,) = [a for a in only._actions if isinstance(a, argparse._SubParsersAction)]
        assert list(one.choices) == [command] and command in sub.choices
    assert m.command_in(["--log-level", "INFO", "demo", "--reset"]) == "demo"
    assert m.command_in(["--log-level=INFO", "run"]) == "run"
    assert m.command_in(["--help"]) is None
    # A word that is no command gets the whole parser, and argparse's message naming all.
    with pytest.raises(SystemExit) as ended:
        m.main(["frobnicate"])
    assert ended.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err
    assert set(m.COMMANDS) <= set(sub.choices)
