"""The composition's scheduler: one thread running the kiosk's periodic domain work.

Health polls, overdue reminders, parking ticks and the status LEDs run here, not on a
UI timer, so a kiosk without a screen (``kiosk simulate``) does the same work and a busy
screen cannot delay it. (The systemd watchdog is the exception on purpose: it pings from
the UI loop, so a hung screen is caught.) A task that raises is logged and tried again at
its next time; it never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kiosk.feature import Periodic

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._tasks: dict[str, Periodic] = {}
        self._due: dict[str, float] = {}
        self._runs: dict[str, int] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, task: Periodic) -> None:
        if not task.every_s > 0:
            raise ValueError(f"{task.name}: every_s must be positive")
        with self._lock:
            if task.name in self._tasks:
                raise ValueError(f"a periodic task {task.name!r} exists already")
            self._tasks[task.name] = task
            self._due[task.name] = self._monotonic()
            self._runs[task.name] = 0
        self._wake.set()

    def names(self) -> list[str]:
        with self._lock:
            return list(self._tasks)

    def runs(self, name: str) -> int:
        """How often ``name`` has run to its end (tests wait on this)."""
        with self._lock:
            return self._runs[name]

    def every(self, name: str, every_s: float) -> None:
        """Run ``name`` at another interval from now on (tests and the demo)."""
        with self._lock:
            task = self._tasks[name]
            self._tasks[name] = Periodic(task.name, every_s, task.run)
            self._due[name] = min(self._due[name], self._monotonic() + every_s)
        self._wake.set()

    def trigger(self, name: str) -> None:
        """Run ``name`` as soon as the thread is free."""
        with self._lock:
            self._due[name] = self._monotonic()
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-scheduler",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            now = self._monotonic()
            with self._lock:
                due = [t for n, t in self._tasks.items() if self._due[n] <= now]
                for task in due:
                    self._due[task.name] = now + task.every_s
            for task in due:
                if self._stopping.is_set():
                    return
                try:
                    task.run()
                except Exception:  # tried again at its next time
                    log.exception("periodic task %s failed", task.name)
                with self._lock:
                    self._runs[task.name] += 1
            with self._lock:
                wait = min(self._due.values(), default=now + 1.0) - self._monotonic()
            self._wake.wait(max(0.0, min(wait, 1.0)))
            self._wake.clear()
