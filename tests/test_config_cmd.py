"""`kiosk config check FILE`: the shipped example passes; every broken file is explained."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.config_cmd import known_protocols

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "systemd" / "kiosk.toml.example"


def check(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kiosk", "config", "check", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_shipped_example_config_is_valid():
    result = check(EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"ok: {EXAMPLE}: community maple-court, kiosk gate-east, "
                                     "28 compartments (8 S, 18 M, 2 L) on boards 0, 1")
    assert result.stderr == ""


def broken(text_from_example: str, old: str, new: str) -> str:
    assert old in text_from_example, old
    return text_from_example.replace(old, new, 1)


EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
BROKEN = {
    "bad TOML": (broken(EXAMPLE_TEXT, 'language = "zh"', 'language = zh'),
                 "not valid TOML"),
    "unknown key": (broken(EXAMPLE_TEXT, "retries = 2", "retrys = 2"),
                    "board.retrys: unknown key"),
    "wrong type": (broken(EXAMPLE_TEXT, "baudrate = 19200", 'baudrate = "fast"'),
                   "board.baudrate: expected a whole number, got 'fast'"),
    "bad value": (broken(EXAMPLE_TEXT, "port = 1883", "port = 70000"),
                  "mqtt.port: must be 1-65535"),
    "duplicate lock": (broken(EXAMPLE_TEXT, 'locks = "9-14"', 'locks = "8-14"'),
                       "compartments[1].locks: board 0 lock 8 is listed twice"),
    "unknown protocol": (broken(EXAMPLE_TEXT, 'protocol = "kerong"', 'protocol = "kerrong"'),
                         "board.protocol: unknown protocol 'kerrong' (known: "),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_each_kind_of_broken_config_names_file_and_key(tmp_path, kind):
    text, expected = BROKEN[kind]
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    result = check(path)
    assert result.returncode == 1
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}: ") and expected in first, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"{path}: 1 problem; the kiosk will not start with this file")
    assert "Traceback" not in result.stderr


def test_every_problem_is_named_at_once_including_the_protocol(tmp_path):
    path = tmp_path / "kiosk.toml"
    text = broken(EXAMPLE_TEXT, "retries = 2", "retries = -1")
    text = broken(text, 'protocol = "kerong"', 'protocol = "nope"')
    text = broken(text, 'size = "L"', 'size = "XL"')
    text = broken(text, "led_ok = 27", "led_ok = 17")
    path.write_text(text, encoding="utf-8")
    result = check(path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert sorted(line.split(": ")[1] for line in lines[:-1]) == [
        "board.protocol", "board.retries", "compartments[2].size", "gpio.led_ok"]
    assert lines[-1].endswith(": 4 problems; the kiosk will not start with this file")


def test_a_missing_file_is_a_problem_not_a_traceback(tmp_path):
    result = check(tmp_path / "absent.toml")
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'absent.toml'}: file not found")
    assert "Traceback" not in result.stderr


def test_kerong_is_always_a_known_protocol():
    assert "kerong" in known_protocols()
