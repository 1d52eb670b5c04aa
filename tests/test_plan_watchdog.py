"""`kiosk plan` under systemd (Type=notify, WatchdogSec=): READY once started, then
watchdog pings while its aggregator keeps turning, STOPPING on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.mqtt_broker import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_kiosk_plan_tells_systemd_it_is_ready_and_alive(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    # No broker needed: the aggregator keeps turning while it retries the connection.
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-c", "from kiosk.cli.main import main; main()",
                             "plan", "--broker", f"127.0.0.1:{free_port()}", "--data",
                             str(tmp_path / "plan")], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    got: list[str] = []
    try:
        while sum("WATCHDOG=1" in m for m in got) < 2:
            got.append(sock.recv(4096).decode())
        proc.send_signal(signal.SIGTERM)
        while not any("STOPPING=1" in m for m in got):
            got.append(sock.recv(4096).decode())
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
    assert got[0].startswith("READY=1")
