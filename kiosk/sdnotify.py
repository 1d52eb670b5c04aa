"""Tell systemd how the kiosk is doing: READY, WATCHDOG, STATUS and STOPPING.

systemd passes a datagram socket in ``NOTIFY_SOCKET`` (a path, or ``@name`` for the
abstract namespace). Without it — a developer's terminal, the tests, ``kiosk demo`` —
every call here does nothing, so callers never need to ask whether systemd is there.

The watchdog must prove that the *UI loop* is alive, not merely that the process is:
the Textual app calls ``Watchdog.tick()`` from ``set_interval`` on its own loop, so a
loop that blocks stops the pings and systemd restarts the kiosk. Never ping from a
thread of its own; that thread would keep pinging while the screen is frozen.

    watchdog = Watchdog(Notifier.from_env())
    app.set_interval(watchdog.poll_every, watchdog.tick)   # inside the running app

In the unit, the kiosk runs under cage and foot, so the main PID systemd knows is
cage's: the unit needs ``NotifyAccess=all`` and must drop ``WATCHDOG_PID`` for the kiosk
(see systemd/kiosk.service), otherwise ``watchdog_interval`` rightly says "not for us".
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

# Longest STATUS text we send; systemd shows one line in `systemctl status`.
_STATUS_MAX = 200


class Notifier:
    """Sends state lines to systemd's notify socket; a no-op when there is none."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """Send ``KEY=value`` lines in one datagram. Returns whether it was sent.

        Failures are logged once and swallowed: a kiosk must not stop serving
        residents because the service manager's socket misbehaves.
        """
        if self.address is None:
            return False
        target = self.address
        if target.startswith("@"):
            target = "\0" + target[1:]
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode("utf-8"), target)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *_status_line(status))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.send(*_status_line(text))

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *_status_line(status))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _status_line(text: str | None) -> list[str]:
    if text is None:
        return []
    # One datagram carries several lines, so a newline would start a bogus assignment.
    flat = " ".join(text.split())[:_STATUS_MAX]
    return [f"STATUS={flat}"]


def watchdog_interval(env: Mapping[str, str] | None = None,
                      pid: int | None = None) -> float | None:
    """Seconds between pings (half of ``WatchdogSec=``), or None when no watchdog is ours.

    Mirrors sd_watchdog_enabled(): ``WATCHDOG_USEC`` must be a positive number, and
    when ``WATCHDOG_PID`` is set it must be this process.
    """
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return usec / 2 / 1_000_000


class Watchdog:
    """Pings systemd's watchdog at most once per ``interval``; call ``tick`` often.

    Rate limiting lets the UI call ``tick`` from any convenient timer (``poll_every``
    suggests one) without flooding the socket.
    """

    def __init__(self, notifier: Notifier, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.notifier = notifier
        self.interval = watchdog_interval() if interval is None else interval
        self._clock = clock
        self._last: float | None = None
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return self.notifier.enabled and self.interval is not None and self.interval > 0

    @property
    def poll_every(self) -> float:
        """How often to call ``tick``: often enough that a ping is never much late."""
        if not self.enabled:
            return 1.0
        assert self.interval is not None
        return min(1.0, self.interval / 4)

    def tick(self) -> bool:
        """Send a ping if one is due. Returns whether one was sent."""
        if not self.enabled:
            return False
        assert self.interval is not None
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            return False
        if self.notifier.watchdog():
            self._last = now
            self.sent += 1
            return True
        return False


def tick_on_loop(loop: asyncio.AbstractEventLoop, watchdog: Watchdog,
                 every: float | None = None) -> Callable[[], None]:
    """Tick ``watchdog`` from ``loop`` itself (for asyncio programs without Textual).

    Returns a function that stops the ticking. Like ``set_interval`` in the app, the
    callback runs on the loop, so a blocked loop sends nothing.
    """
    period = watchdog.poll_every if every is None else every
    handle: asyncio.Handle | None = None

    def run() -> None:
        nonlocal handle
        watchdog.tick()
        handle = loop.call_later(period, run)

    handle = loop.call_soon(run)

    def stop() -> None:
        if handle is not None:
            handle.cancel()

    return stop
