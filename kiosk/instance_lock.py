"""One kiosk per data directory and per bus of lock boards.

Two kiosks on one database would hand out one compartment twice; two on one RS485 bus
would talk over each other. Each running kiosk holds an exclusive ``flock``:

- on ``DIR/kiosk.lock`` in its data directory, with its pid, command and start time
  written in, so the second one can name the first;
- on the board's serial device itself (the path resolved, so ``/dev/serial/by-id/…`` and
  ``/dev/ttyUSB0`` are one bus). Two configs with different data directories still meet
  there, and no lock file is needed in a shared place (the systemd unit makes ``/run/lock``
  read-only to the kiosk). The holder is found in ``/proc/locks``.

The kernel drops a ``flock`` when its holder's process ends, however it ends: a crashed
or killed kiosk never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOCK_NAME = "kiosk.lock"


class AlreadyRunning(Exception):
    """Another kiosk holds the data directory or the bus; the message names it."""


class InstanceLock:
    """The locks one kiosk holds; ``release`` drops them all (closing releases a flock)."""

    def __init__(self) -> None:
        self._held: list[IO[str] | int] = []

    def release(self) -> None:
        while self._held:
            held = self._held.pop()
            if isinstance(held, int):
                os.close(held)
            else:
                held.close()

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(data_dir: str | Path, command: str, port: str | None = None) -> InstanceLock:
    """Take this kiosk's locks: the data directory, and ``port``'s device when it exists
    (a missing port is the board's own error to report, later). Raises ``AlreadyRunning``
    naming the kiosk that holds either."""
    lock = InstanceLock()
    try:
        lock._held.append(_hold_data_dir(Path(data_dir), command))
        if port is not None and os.path.exists(port):
            lock._held.append(_hold_device(os.path.realpath(port)))
    except BaseException:
        lock.release()
        raise
    return lock


def _hold_data_dir(data: Path, command: str) -> IO[str]:
    data.mkdir(parents=True, exist_ok=True)
    path = data / LOCK_NAME
    # Opened without truncating: the holder's details stay readable until we hold it.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    f = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(f)
        f.close()
        who = " ".join(filter(None, ["another kiosk", holder.get("command")]))
        raise AlreadyRunning(f"{who} is running on {data} ({_describe(holder)})") from None
    f.seek(0)
    f.truncate()
    json.dump({"pid": os.getpid(), "command": command,
               "started": datetime.now(UTC).isoformat(timespec="seconds")}, f)
    f.write("\n")
    f.flush()
    return f


def _read_holder(f: IO[str]) -> dict:
    try:
        f.seek(0)
        holder = json.loads(f.read() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder: dict) -> str:
    if "pid" not in holder:
        return "its pid is not recorded"
    return f"pid {holder['pid']}, started {holder.get('started', 'at an unknown time')}"


def _hold_device(device: str) -> int:
    # O_NONBLOCK: a serial port without carrier must not make open() wait; O_NOCTTY: the
    # kiosk must never get the bus as its controlling terminal.
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        pid = device_holder(device)
        who = f"pid {pid}, started {process_started(pid)}" if pid else "pid unknown"
        raise AlreadyRunning(f"another kiosk ({who}) is using the board port {device}") \
            from None
    return fd


def device_holder(device: str) -> int | None:
    """The pid holding a ``flock`` on ``device``, from ``/proc/locks`` (Linux)."""
    st = os.stat(device)
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 1234 00:05:567 0 EOF"
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted:
            return int(fields[4])
    return None


def process_started(pid: int) -> str:
    """When process ``pid`` started (UTC, ISO 8601), from ``/proc``; "?" if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text()
                    .splitlines() if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return "?"
    started = boot + ticks / os.sysconf("SC_CLK_TCK")
    return datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")
