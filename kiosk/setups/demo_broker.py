"""The demo's private Mosquitto: ``kiosk demo`` without ``--broker`` still sends every code
the real way (outbox, broker, notifier, Apprise, receipt) when a ``mosquitto`` binary is
on this machine.

The broker listens on 127.0.0.1 only, on a free port, with its config and persistence
under the demo's data directory. It runs under a small guard process that holds a pipe
from the demo: the pipe closes however the demo ends (a crash or SIGKILL included), and
the guard then stops the broker. The broker itself also dies with its guard (Linux's
parent-death signal), so nothing outlives the demo.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

FALLBACK_DIR = "/usr/sbin"  # Debian's mosquitto is not on a normal user's PATH
START_TIMEOUT_S = 10.0


def find_mosquitto(search: str | None = None) -> str | None:
    """The mosquitto binary on ``search`` (os.pathsep-separated; default the PATH and
    /usr/sbin), or None."""
    if search is None:
        search = os.pathsep.join([os.environ.get("PATH", ""), FALLBACK_DIR])
    return shutil.which("mosquitto", path=search)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class PrivateBroker:
    """One private mosquitto for one demo; ``close`` stops it (and waits until it is gone)."""

    host = "127.0.0.1"

    def __init__(self, binary: str, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.port = 0
        self.pid: int | None = None  # the broker's own pid (the guard's child)
        self._guard: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        return (f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                # Started as root, mosquitto would switch to user 'mosquitto' and could not
                # write its persistence here: it stays the demo's user.
                f"user {getpass.getuser()}\n"
                f"persistence true\npersistence_location {self.workdir}/\n"
                "persistence_file mosquitto.db\n"
                f"log_dest file {self.workdir / 'mosquitto.log'}\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
                "max_queued_messages 100000\n")

    def start(self) -> PrivateBroker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.config_text())
        # Its own session: a Ctrl+C in the demo's terminal reaches the demo, which then
        # closes the broker in order, not the broker behind its back.
        self._guard = subprocess.Popen(
            [sys.executable, "-m", "kiosk.setups.demo_broker", self.binary, str(conf)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True)
        assert self._guard.stdout is not None
        line = self._guard.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"the demo's mosquitto did not start ({self.binary})")
        self.pid = int(line)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(self.port):
            if self._guard.poll() is not None or time.monotonic() > deadline:
                log = self.workdir / "mosquitto.log"
                tail = log.read_text(errors="replace")[-1000:] if log.exists() else ""
                self.close()
                raise RuntimeError(f"the demo's mosquitto did not listen on {self.port}: "
                                   f"{tail}")
            time.sleep(0.02)
        return self

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def running(self) -> bool:
        return self._guard is not None and self._guard.poll() is None

    def close(self) -> None:
        guard, self._guard = self._guard, None
        if guard is None:
            return
        if guard.stdin is not None:
            guard.stdin.close()  # the guard stops the broker, saving its persistence
        try:
            guard.wait(timeout=10)
        except subprocess.TimeoutExpired:
            guard.kill()
            guard.wait()
        if guard.stdout is not None:
            guard.stdout.close()


def _die_with_parent() -> None:
    """In the broker, before exec: SIGTERM when the guard goes (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def guard(binary: str, conf: str) -> int:
    """The guard process: the broker lives as long as the pipe from the demo is open."""
    broker = subprocess.Popen([binary, "-c", conf], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=_die_with_parent)
    print(broker.pid, flush=True)

    def watch() -> None:
        sys.stdin.buffer.read()  # EOF: the demo closed it, or ended however it did
        broker.terminate()  # mosquitto saves its persistence on SIGTERM
        try:
            broker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            broker.kill()

    threading.Thread(target=watch, daemon=True).start()
    # Also ends the guard when the broker itself stops.
    return broker.wait()


if __name__ == "__main__":
    sys.exit(guard(sys.argv[1], sys.argv[2]))
