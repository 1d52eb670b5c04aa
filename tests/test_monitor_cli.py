"""``kiosk monitor``'s command line: bad input is one line on stderr, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.main import main
from tests.mqtt_broker import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("argv", "message"), [
    (["--broker", "broker:port"], "bad broker address 'broker:port'"),
    (["--broker", "broker:70000"], "the port must be a number 1-65535"),
    (["--broker", "::1:1883"], "write an IPv6 address as [ADDRESS]:PORT"),
    (["--broker", "127.0.0.1:1883", "--community", "a/b"], "bad community id 'a/b'"),
    (["--broker", "127.0.0.1:1883", "--ca-file", "ca.pem"], "--ca-file needs --tls"),
    (["--broker", "127.0.0.1:1883", "--tls", "--ca-file", "/nonexistent/ca.pem"],
     "no CA file at /nonexistent/ca.pem"),
    (["--broker", "127.0.0.1:1883", "--password", "x"], "--password needs --username"),
])
def test_bad_arguments(capsys, argv, message):
    assert main(["monitor", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_unreachable_broker(capsys):
    port = free_port()
    assert main(["monitor", "--broker", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kiosk: cannot connect to the broker 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_no_traceback_from_the_real_command():
    out = subprocess.run([sys.executable, "-m", "kiosk", "monitor", "--broker", "nowhere:0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "kiosk: bad broker address 'nowhere:0': the port must be a number 1-65535"]
