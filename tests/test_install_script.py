"""The Pi installer is well-formed; it is never run here (it installs system-wide)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-pi.sh"


def test_script_parses_and_is_executable():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    assert SCRIPT.stat().st_mode & 0o111


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_script_is_shellcheck_clean():
    scripts = [str(SCRIPT)] + [str(ROOT / "scripts" / n) for n in ("wheelhouse", "setup", "demo")]
    result = subprocess.run(["shellcheck", *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_help_and_unknown_options_change_nothing():
    shown = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "--no-apt" in shown.stdout
    refused = subprocess.run(["bash", str(SCRIPT), "--frobnicate"], capture_output=True,
                             text=True)
    assert refused.returncode == 2 and "unknown option: --frobnicate" in refused.stderr


def test_everything_the_script_installs_is_shipped():
    text = SCRIPT.read_text(encoding="utf-8")
    for path in ("systemd/kiosk.service", "systemd/kiosk-plan.service", "systemd/foot.ini",
                 "systemd/kiosk.toml.example", "systemd/pam.d/kiosk",
                 "systemd/mosquitto/kiosk.conf", "systemd/mosquitto/acl.example",
                 "systemd/mosquitto/bridge.conf.example"):
        assert f"$SRC/{path}" in text
        assert (ROOT / path).is_file()


def test_a_wheelhouse_that_is_not_there_changes_nothing(tmp_path):
    # (--help stops the script before it installs anything: tests may run as root.)
    refused = subprocess.run(["bash", str(SCRIPT), "--wheelhouse", str(tmp_path / "none"),
                              "--help"], capture_output=True, text=True)
    assert refused.returncode == 2 and "no such wheelhouse" in refused.stderr
    # Control: an existing one passes the argument check.
    found = subprocess.run(["bash", str(SCRIPT), "--wheelhouse", str(tmp_path), "--help"],
                           capture_output=True, text=True)
    assert found.returncode == 0 and "--wheelhouse DIR" in found.stdout


def test_the_wheelhouse_script_parses_and_asks_for_a_directory():
    script = ROOT / "scripts" / "wheelhouse"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert script.stat().st_mode & 0o111
    refused = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    assert refused.returncode == 2 and "usage" in refused.stderr
