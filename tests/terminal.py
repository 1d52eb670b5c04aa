"""``kiosk ARGS`` run as a person runs it: on an 80×24 pseudo-terminal, to its end; and
what a fresh interpreter has loaded once it imported what a command imports first."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_until_exit(args: list[str], timeout_s: float = 30.0,
                   quit_on: bytes | None = None) -> tuple[int, bytes]:
    """Run ``kiosk ARGS`` on an 80×24 pty to its end (Ctrl+Q once ``quit_on`` is drawn):
    its exit code and everything it wrote to the terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", *args], cwd=ROOT, env=env,
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"kiosk {args} did not end; got {seen[-400:]!r}")
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal's other end is closed: it has exited
                    chunk = b""
                if not chunk:
                    break
                seen += chunk
                if quit_on is not None and quit_on in seen:
                    os.write(master, b"\x11")  # Ctrl+Q
                    quit_on = None
        return proc.wait(timeout=10), seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def loaded_by(imports: list[str], among: list[str]) -> list[str]:
    """Which of the modules ``among`` a fresh interpreter holds after importing only
    ``imports`` (what a command loads before its first frame)."""
    code = (f"import sys, {', '.join(imports)}\n"
            f"print(','.join(m for m in {among!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]
