"""``kiosk demo``'s launch: the screen's first frame first, the demo's parts behind it.

Nothing heavy is imported before the first frame (SQLite, the services, the simulator):
tests/test_composition.py keeps it so. The demo's parts are ``kiosk/setups/demo.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.setups.screen import exit_code, run_screen

if TYPE_CHECKING:
    from kiosk.setups.demo import DemoKiosk


def run_demo(data: Path, broker: tuple[str, int] | None, language: str, idle_s: float,
             log_level: str | None) -> int:
    """``kiosk demo``: the screen first, the demo's parts opened behind it on a worker."""
    from kiosk.logging_setup import setup_logging
    from tui.app import KioskApp

    setup_logging(log_level, terminal_owned=True, log_file=data / "kiosk.log")
    opened: list[DemoKiosk] = []
    connecting = threading.Event()
    connected = threading.Event()

    def connect(app: KioskApp) -> Any:
        # On a worker, after the first frame: the home screen is up while the simulated
        # boards, the database and the services start behind it.
        connecting.set()
        try:
            from kiosk.setups.demo import DemoKiosk

            # Without --broker, a private Mosquitto (if installed) started here, behind
            # the first frame: the codes still take the real path.
            demo = DemoKiosk(data, broker, language, private_broker=True)
            opened.append(demo)
            return demo.parts_for(app)
        finally:
            connected.set()

    app = KioskApp(connect=connect, language=language, idle_s=idle_s)
    try:
        run_screen(app)
    finally:
        # Quit while still starting: let the start (seeding included) finish, then close.
        if connecting.is_set():
            connected.wait(timeout=30)
        for demo in opened:
            demo.close()
    return exit_code(app)
