"""One kiosk per data directory and per bus of lock boards.

Two kiosks on one database would hand out one compartment twice; two on one RS485 bus
would talk over each other. Each running kiosk holds an exclusive ``flock`` on two lock
files, with its pid, command and start time written in, so a second one can name it:

- ``DIR/kiosk.lock`` in its data directory;
- ``/run/lock/kiosk-bus_dev_ttyUSB0.lock`` for its board's serial device, the path
  resolved, so ``/dev/serial/by-id/…`` and ``/dev/ttyUSB0`` are one bus and two configs
  with different data directories still meet there. (``/run/lock`` is the system's place
  for device locks, writable by every user; the unit lets the sandboxed kiosk write it.)
  Not a lock on the device itself: an open descriptor of a USB adapter that was pulled
  out keeps its ``ttyUSB0`` taken, and the adapter plugged back in would come back under
  another name.

The kernel drops a ``flock`` when its holder's process ends, however it ends: a crashed
or killed kiosk never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

LOCK_NAME = "kiosk.lock"
BUS_LOCK_DIR = Path("/run/lock")


class AlreadyRunning(Exception):
    """Another kiosk holds the data directory or the bus; the message names it."""


class InstanceLock:
    """The locks one kiosk holds; ``release`` drops them all (closing releases a flock)."""

    def __init__(self) -> None:
        self._held: list[IO[str]] = []

    def release(self) -> None:
        while self._held:
            self._held.pop().close()

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(data_dir: str | Path, command: str, port: str | None = None) -> InstanceLock:
    """Take this kiosk's locks: the data directory, and the bus on ``port`` when the
    device exists (a missing port is the board's own error to report, later). Raises
    ``AlreadyRunning`` naming the kiosk that holds either."""
    data = Path(data_dir)
    lock = InstanceLock()
    try:
        data.mkdir(parents=True, exist_ok=True)
        lock._held.append(_hold_file(data / LOCK_NAME, command, f"is running on {data}"))
        if port is not None and os.path.exists(port):
            device = os.path.realpath(port)
            if os.access(BUS_LOCK_DIR, os.W_OK):
                path = BUS_LOCK_DIR / ("kiosk-bus" + device.replace("/", "_") + ".lock")
                lock._held.append(_hold_file(path, command,
                                             f"is using the board port {device}"))
            else:
                log.warning("cannot lock the bus %s: %s is not writable; a second kiosk "
                            "on another data directory would not be stopped",
                            device, BUS_LOCK_DIR)
    except BaseException:
        lock.release()
        raise
    return lock


def _hold_file(path: Path, command: str, doing: str) -> IO[str]:
    # Opened without truncating: the holder's details stay readable until we hold it.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    f = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(f)
        f.close()
        who = " ".join(filter(None, ["another kiosk", holder.get("command")]))
        raise AlreadyRunning(f"{who} {doing} ({_describe(holder)})") from None
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
