"""The systemd watchdog is fed by the kiosk screen's own UI loop: while the loop is
blocked, no ping reaches NOTIFY_SOCKET, so systemd would restart a frozen kiosk."""

from __future__ import annotations

import os
import time

from kiosk.sdnotify import Notifier, Watchdog, watchdog_interval
from tests.conftest import drain
from tests.tui_setup import demo_kiosk, until


async def test_pings_come_from_the_ui_loop_and_stop_while_it_is_blocked(tmp_path,
                                                                        notify_socket):
    sock, path = notify_socket
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())}
    notifier = Notifier.from_env(env)
    watchdog = Watchdog(notifier, interval=watchdog_interval(env))
    pings: list[float] = []
    with demo_kiosk(tmp_path / "demo", on_tick=watchdog.tick, tick_s=watchdog.poll_every,
                    on_ready=notifier.ready) as demo:
        async with demo.app.run_test(size=(80, 24)) as pilot:

            def count() -> int:
                pings.extend(time.monotonic() for m in drain(sock) if m == b"WATCHDOG=1")
                return len(pings)

            await until(pilot, lambda: count() >= 3, what="watchdog pings")
            # Freeze the UI loop for ten watchdog intervals, as a hung screen would.
            drain(sock)
            blocked_from = time.monotonic()
            demo.app.call_later(lambda: time.sleep(1.0))
            await pilot.pause(0.05)
            assert time.monotonic() - blocked_from >= 1.0
            # A ping sent while frozen would be waiting on the socket now: at most the one
            # the loop sent as it woke up is there, not the ten a pinger thread would send.
            assert drain(sock).count(b"WATCHDOG=1") <= 1
            before = count()
            await until(pilot, lambda: count() >= before + 2, what="pings after the freeze")
