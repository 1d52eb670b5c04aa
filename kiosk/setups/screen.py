"""The Textual screen over a composed kiosk: what it runs on (``KioskParts``), the
signals it listens to (tamper, motion, spot sensors, parking changed by time), and how it
runs and ends (``run_screen``, ``exit_code``: never 0 after an unhandled error).

Signals arrive on any thread; the app's ``device_*`` methods only post a message. Light
to import: ``kiosk demo`` draws its first frame before the core is loaded.
"""

from __future__ import annotations

import logging
import sys
import threading
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from kiosk.refusals import Refusal

if TYPE_CHECKING:
    from textual.app import App

    from kiosk.composition import Kiosk
    from tui.app import KioskApp, KioskParts

log = logging.getLogger(__name__)


def parts(kiosk: Kiosk, demo: Any = None) -> KioskParts:
    """What the screen runs on."""
    from kiosk.maintenance_view import MaintenanceParts
    from kiosk.parking.desk import ParkingDesk
    from tui.app import KioskParts

    return KioskParts(kiosk.lockers, kiosk.status, kiosk.peripherals, demo,
                      parking=ParkingDesk(kiosk.parking),
                      maintenance=MaintenanceParts(kiosk.maintenance, kiosk.duty,
                                                   kiosk.health, kiosk.parking),
                      worker_failed=lambda where, error: worker_failed(kiosk, where, error),
                      speech=kiosk.speech,
                      needs=getattr(kiosk, "needs", None),
                      practice=getattr(kiosk, "practice", None),
                      practice_cabinet=practice_cabinet)


def practice_cabinet() -> Any:
    """A cabinet for practice: the pty board simulator behind the same serial driver as
    the kiosk's own board, but its own port, so practice never moves a real lock."""
    from devices.board_sim import BoardSimulator
    from devices.serial_board import open_board
    from kiosk.practice import PracticeCabinet

    simulator = BoardSimulator(boards=(0,)).start()
    try:
        board = open_board(simulator.port, timeout_s=0.3)
    except BaseException:
        simulator.close()
        raise

    def close() -> None:
        try:
            board.close()
        finally:
            simulator.close()

    return PracticeCabinet(board, close, simulator)


def worker_failed(kiosk: Kiosk, where: str, error: str) -> None:
    """A screen's worker failed: a fault for maintainers. Called on the UI loop, so the
    write (an event in SQLite) goes to a thread of its own. Only the exception's kind is
    kept: its text could carry what a person typed."""
    kind = error.split(":", 1)[0].strip()[:80] or "Exception"
    threading.Thread(target=kiosk.health.worker_failed, args=(where[:80], kind),
                     name="worker-fault", daemon=True).start()


def attach(kiosk: Kiosk, app: KioskApp) -> None:
    """The kiosk's signals to the screen, as messages."""
    kiosk.signals.connect("tamper", app.device_tamper)
    kiosk.signals.connect("motion", app.device_motion)
    kiosk.signals.connect("spot", app.device_spot)
    kiosk.signals.connect("parking.changed", app.device_parking_changed)


def build_app(kiosk: Kiosk, *, demo: Any = None, **options: Any) -> KioskApp:
    """The screen over this kiosk; ``options`` go to ``KioskApp`` (idle_s, on_tick…)."""
    from tui.app import KioskApp

    options.setdefault("language", kiosk.config.language)
    app = KioskApp(parts(kiosk, demo), **options)
    attach(kiosk, app)
    return app


def run_screen(app: App[Any]) -> None:
    """Run the screen; a thread dying of an unhandled error stops it too (with exit code
    1), so systemd restarts a whole kiosk rather than one missing its publisher or its
    devices' callbacks. Logged either way: under cage and foot the terminal that shows
    Textual's traceback is gone the moment the kiosk exits."""
    previous = threading.excepthook

    def thread_died(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        if isinstance(args.exc_value, Refusal):
            # A busy or full database refusing a side thread's write (a fault report):
            # the store said so in the log; the kiosk carries on.
            log.warning("thread %s: %s", name, args.exc_value)
            return
        log.critical("thread %s stopped on an unhandled error; the kiosk stops", name,
                     exc_info=args.exc_value)
        with suppress(RuntimeError):  # the app is not running (any more)
            app.call_from_thread(app.exit, return_code=1,
                                 message=f"kiosk: thread {name} failed: {args.exc_value!r}")

    threading.excepthook = thread_died
    try:
        app.run()
    finally:
        threading.excepthook = previous
    # Why the screen could not start (tui/app.py, ``failure_line``), now the terminal is
    # back: one line, not wrapped to the screen's width as Textual's exit message is.
    failure = getattr(app, "failure_line", None)
    if failure:
        print(failure, file=sys.stderr)


def exit_code(app: App[Any]) -> int:
    """The process's exit code after the screen ended: non-zero whenever it ended on an
    error, so ``Restart=on-failure`` restarts the kiosk. Textual sets ``return_code`` to 1
    on an unhandled error and keeps the first in ``_exception``; that one is logged here
    (the journal or DIR/kiosk.log), since the traceback Textual prints goes to a terminal
    nobody reads."""
    error = getattr(app, "_exception", None)
    # A failed worker arrives wrapped (textual.worker.WorkerFailed): log what it raised.
    error = getattr(error, "error", error)
    if isinstance(error, BaseException):
        log.critical("the screen stopped on an unhandled error", exc_info=error)
        return app.return_code or 1
    return app.return_code or 0
