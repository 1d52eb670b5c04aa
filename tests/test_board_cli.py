"""``kiosk board`` as an installer runs it: a subprocess against the simulated boards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def kiosk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", "board", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def test_status_as_text(sim):
    sim.force_open(0, 2)
    sim.put_item(0, 16)
    out = kiosk("status", "--port", sim.port, "--board", "0")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 17
    assert lines[2].split() == ["lock", "2", "UNLOCKED", "empty"]
    assert lines[16].split() == ["lock", "16", "locked", "occupied"]


def test_status_as_json_with_the_other_polarity():
    from devices.board_sim import BoardSimulator

    with BoardSimulator(boards=(7,), lock_bit_locked=0) as sim:
        sim.force_open(7, 1)
        sim.put_item(7, 3)
        out = kiosk("status", "--port", sim.port, "--board", "7", "--json",
                    "--lock-bit-locked", "0")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["board"] == 7
    assert list(data["locks"]) == [str(n) for n in range(1, 17)]
    assert data["locks"]["1"] == {"locked": False, "occupied": False}
    assert data["locks"]["3"] == {"locked": True, "occupied": True}


def test_open_unlocks_and_confirms(sim):
    out = kiosk("open", "--port", sim.port, "--board", "1", "--lock", "16")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "board 1 lock 16: opened"
    assert sim.door_open(1, 16) and sim.unlock_count() == 1


def test_open_a_jammed_lock_says_jammed(sim):
    sim.jam(0, 4)
    out = kiosk("open", "--port", sim.port, "--board", "0", "--lock", "4", "--confirm", "0.05")
    assert out.returncode == 3
    assert "jammed" in out.stdout
    assert sim.unlock_count(0, 4) == 2


@pytest.mark.parametrize("command", [["status"], ["open", "--lock", "1"]])
def test_absent_board_is_one_line_on_stderr(sim, command):
    out = kiosk(*command, "--port", sim.port, "--board", "2", "--timeout", "0.05")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.strip() == (f"kiosk board: board 2 did not answer on {sim.port} "
                                  "(3 tries, 0.05 s each)")
    assert sim.unlock_count() == 0  # never pulse a lock on a board that does not answer


def test_bad_port_is_one_line_on_stderr(tmp_path):
    out = kiosk("status", "--port", str(tmp_path / "ttyUSB9"), "--board", "0")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1
    assert "cannot open port" in out.stderr and "Traceback" not in out.stderr


def test_dead_tcp_converter_is_one_line_on_stderr():
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = kiosk("status", "--port", f"socket://127.0.0.1:{port}", "--board", "0")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--board", "16", "--lock", "1"], "argument --board: must be a bus address 0-15, got 16"),
    (["--board", "0", "--lock", "0"], "argument --lock: must be a lock number as labelled "
                                      "1-16, got 0"),
    (["--board", "x", "--lock", "1"], "argument --board: must be a whole number, got 'x'"),
    (["--board", "0", "--lock", "1", "--lock-bit-locked", "2"], "--lock-bit-locked"),
    (["--board", "0", "--lock", "1", "--protocol", "modbus"], "invalid choice: 'modbus'"),
])
def test_bad_arguments_get_a_clear_message(sim, args, message):
    out = kiosk("open", "--port", sim.port, *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert sim.log() == []


@pytest.mark.parametrize("json_out", [False, True], ids=["text", "json"])
def test_status_names_the_polarity_setting_when_every_lock_reads_unlocked(json_out):
    from devices.board_sim import BoardSimulator

    flags = ["--json"] if json_out else []
    # The board sets the bit for "unlocked"; the default setting reads a set bit as locked.
    with BoardSimulator(boards=(0,), lock_bit_locked=0) as sim:
        wrong = kiosk("status", "--port", sim.port, "--board", "0", *flags)
        right = kiosk("status", "--port", sim.port, "--board", "0", "--lock-bit-locked", "0",
                      *flags)
    assert wrong.returncode == 0 and right.returncode == 0
    assert wrong.stderr.startswith("kiosk board: warning: board 0: every lock reads unlocked")
    assert "[board] lock_bit_locked (now 1, try 0)" in wrong.stderr
    assert "--lock-bit-locked" in wrong.stderr
    # Control: the right setting, the same shut doors, no warning.
    assert right.stderr == ""
    if json_out:
        assert json.loads(wrong.stdout)["polarity_suspect"] is True
        assert json.loads(right.stdout)["polarity_suspect"] is False
    else:
        assert wrong.stdout.count("UNLOCKED") == 16 and "UNLOCKED" not in right.stdout


def test_open_on_a_reversed_board_names_the_setting_beside_the_jam():
    from devices.board_sim import BoardSimulator

    with BoardSimulator(boards=(0,), lock_bit_locked=0) as sim:
        out = kiosk("open", "--port", sim.port, "--board", "0", "--lock", "4",
                    "--confirm", "0.05")
        assert sim.door_open(0, 4)  # it did open: only the reading is reversed
    assert out.returncode == 3 and "jammed" in out.stdout
    assert "[board] lock_bit_locked" in out.stderr


def test_one_open_door_is_no_polarity_warning(sim):
    sim.force_open(0, 2)
    out = kiosk("status", "--port", sim.port, "--board", "0")
    assert out.returncode == 0 and out.stderr == ""
