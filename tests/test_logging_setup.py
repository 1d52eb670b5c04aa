"""Logs carry their level into journald, and never land on the kiosk's screen."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kiosk.logging_setup import (
    LevelSpecError,
    journal_datagram,
    parse_level_spec,
    setup_logging,
    stream_is_journal,
    syslog_priority,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {n: logging.getLogger(n).level for n in ("devices", "paho")}
    yield
    for h in root.handlers[:]:
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    root.setLevel(level)
    for n, lvl in named.items():
        logging.getLogger(n).setLevel(lvl)


def journal_env(path: Path) -> dict[str, str]:
    st = os.stat(path)
    return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def test_levels_map_to_syslog_priorities():
    assert [syslog_priority(x) for x in (5, 10, 20, 30, 40, 50)] == [7, 7, 6, 4, 3, 2]


def test_level_spec_root_and_per_logger():
    assert parse_level_spec("info") == (logging.INFO, {})
    assert parse_level_spec("INFO, devices=DEBUG,paho=error") == (
        logging.INFO, {"devices": logging.DEBUG, "paho": logging.ERROR})
    for bad in ("LOUD", "devices=LOUD", "=DEBUG"):
        with pytest.raises(LevelSpecError):
            parse_level_spec(bad)


def test_under_journald_every_line_has_a_priority_and_no_timestamp(tmp_path):
    out = tmp_path / "journal-stream"
    with out.open("w") as stream:
        where = setup_logging("INFO,devices=DEBUG", env=journal_env(out), stream=stream)
        assert where == "journal-stream"
        logging.getLogger("devices.kerong").debug("frame %s", "02 00 30 03 35")
        logging.getLogger("kiosk.lockers").info("door 0/3 opened")
        logging.getLogger("kiosk.x").debug("hidden: root level is INFO")
        try:
            raise ValueError("bad frame")
        except ValueError:
            logging.getLogger("devices.kerong").exception("board 1 failed")
    lines = out.read_text().splitlines()
    assert lines[:3] == ["<7>devices.kerong: frame 02 00 30 03 35",
                         "<6>kiosk.lockers: door 0/3 opened",
                         "<3>devices.kerong: board 1 failed"]
    assert all(line.startswith("<3>") for line in lines[2:])  # the traceback keeps its level
    assert lines[-1] == "<3>ValueError: bad frame"


def test_journal_stream_of_another_file_is_not_ours(tmp_path):
    other = tmp_path / "other"
    other.write_text("")
    with (tmp_path / "mine").open("w") as stream:
        assert not stream_is_journal(stream, journal_env(other))
        assert not stream_is_journal(stream, {})
        assert stream_is_journal(stream, journal_env(tmp_path / "mine"))


def test_outside_journald_lines_have_timestamps(tmp_path):
    out = tmp_path / "terminal"
    with out.open("w") as stream:
        assert setup_logging("WARNING", env={}, stream=stream) == "stderr"
        logging.getLogger("kiosk.x").warning("hello")
        logging.getLogger("kiosk.x").info("not shown")
    (line,) = out.read_text().splitlines()
    assert line.endswith(" WARNING kiosk.x: hello") and line[:4].isdigit()


def test_the_tui_logs_to_the_journal_socket_not_to_its_screen(tmp_path):
    folder = tempfile.mkdtemp(prefix="kj")
    path = os.path.join(folder, "socket")
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(path)
    journal.settimeout(5)
    screen = tmp_path / "screen"
    try:
        with screen.open("w") as stream:
            # JOURNAL_STREAM is inherited from the unit, but stderr is foot's terminal.
            where = setup_logging("INFO", terminal_owned=True, env={"JOURNAL_STREAM": "1:2"},
                                  stream=stream, journal_socket=path, identifier="kiosk-ui")
            assert where == "journal-socket"
            logging.getLogger("tui.app").error("screen %s\nfroze", "main")
        fields = parse_journal_datagram(journal.recv(65536))
    finally:
        journal.close()
        shutil.rmtree(folder)
    assert screen.read_text() == ""
    assert fields["MESSAGE"] == "screen main\nfroze"
    assert fields["PRIORITY"] == "3"
    assert fields["SYSLOG_IDENTIFIER"] == "kiosk-ui"
    assert fields["KIOSK_LOGGER"] == "tui.app"
    assert fields["CODE_FILE"].endswith("test_logging_setup.py")


def parse_journal_datagram(data: bytes) -> dict[str, str]:
    fields, i = {}, 0
    while i < len(data):
        end = data.index(b"\n", i)
        line = data[i:end]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            i = end + 1
        else:
            key = line
            (size,) = struct.unpack("<Q", data[end + 1:end + 9])
            value = data[end + 9:end + 9 + size]
            assert data[end + 9 + size:end + 10 + size] == b"\n"
            i = end + 10 + size
        fields[key.decode()] = value.decode()
    return fields


def test_journal_encoding_round_trips():
    fields = {"MESSAGE": "a=b\nc", "PRIORITY": "6", "X": "中文"}
    assert parse_journal_datagram(journal_datagram(fields)) == fields


def test_tui_without_journal_logs_to_a_file_or_nowhere(tmp_path):
    log_file = tmp_path / "kiosk.log"
    assert setup_logging("INFO", terminal_owned=True, env={}, log_file=log_file) == "file"
    logging.getLogger("tui").info("started")
    assert log_file.read_text().rstrip().endswith("INFO tui: started")
    assert setup_logging("INFO", terminal_owned=True, env={}) == "nowhere"
    # The second call replaced the first call's handler instead of adding to it.
    assert sum(getattr(h, "_kiosk_handler", False) for h in logging.getLogger().handlers) == 1


def test_level_from_environment_when_no_option(tmp_path):
    out = tmp_path / "log"
    with out.open("w") as stream:
        setup_logging(None, env={"KIOSK_LOG_LEVEL": "ERROR"}, stream=stream)
        logging.getLogger("x").warning("quiet")
        logging.getLogger("x").error("loud")
    assert "loud" in out.read_text() and "quiet" not in out.read_text()


def test_cli_refuses_a_bad_level_with_a_message():
    result = subprocess.run([sys.executable, "-m", "kiosk", "--log-level", "LOUD", "config",
                             "check", "x.toml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2
    assert "log level 'LOUD' is not one of" in result.stderr
    assert "Traceback" not in result.stderr
