"""``kiosk run``'s devices: the real bus of lock boards and the GPIO pins from the config,
and the kiosk composed over them with the screen on top.

The screen draws its home screen first; the kiosk is composed behind it, on the app's
connect worker (``BehindTheScreen``): the database, the board, the pins, and start-up
settling what a crash interrupted (reconcile). Until that is done the home screen takes
no action ("starting, a moment"). What can be checked cheaply (the config, the instance
lock, a board port that is not there) is checked before the screen takes the terminal;
what fails behind it ends the app non-zero, its message shown once the terminal is back.
Nothing heavy is imported before the first frame (tests/test_composition.py keeps it so).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config import Config, ConfigError
from kiosk.hardware import BoardError, LockBoard, Peripherals
from kiosk.instance_lock import AlreadyRunning, InstanceLock, hold
from kiosk.setups.screen import exit_code, run_screen

if TYPE_CHECKING:
    from kiosk.composition import Devices, Kiosk
    from kiosk.events import Clock
    from tui.app import KioskApp, KioskParts

log = logging.getLogger(__name__)


class DeviceError(Exception):
    """A device named in the config could not be opened; the message names the section."""


def open_board(config: Config) -> LockBoard:
    """The real bus of lock boards named in ``[board]``. Raises BoardError/ValueError."""
    from devices.serial_board import REOPEN_MAX_S
    from devices.serial_board import open_board as open_serial

    b = config.board
    # A lost port is retried at least every half heartbeat, so the health poll after the
    # adapter is plugged back in always gets a try: back in service within one heartbeat.
    return open_serial(b.port, protocol=b.protocol, baudrate=b.baudrate,
                       lock_bit_locked=b.lock_bit_locked, timeout_s=b.timeout_s,
                       retries=b.retries, reopen_max_s=min(REOPEN_MAX_S, b.heartbeat_s / 2))


def open_peripherals(config: Config, pin_factory: object | None = None) -> Peripherals:
    from devices.gpio import GpioPeripherals

    return GpioPeripherals(config.gpio, pin_factory=pin_factory)


def open_devices(config: Config, pin_factory: object | None = None) -> Devices:
    """Board and pins from the config, or ``DeviceError`` naming what failed."""
    from kiosk.composition import Devices

    try:
        board = open_board(config)
    except (BoardError, ValueError) as exc:
        raise DeviceError(f"{config.source}: [board]: {exc}") from None
    try:
        peripherals = open_peripherals(config, pin_factory)
    except Exception as exc:  # GpioError, or gpiozero finding no pins at all
        board.close()
        raise DeviceError(f"{config.source}: [gpio]: {exc}") from None
    return Devices(board, peripherals, closers=[board.close, peripherals.close])


def production_kiosk(config: Config, pin_factory: object | None = None,
                     command: str = "run", clock: Clock | None = None,
                     lock: InstanceLock | None = None) -> Kiosk:
    """The kiosk ``kiosk run`` runs, composed and started (reconciled, uplink connecting,
    scheduler running). Raises ``ConfigError`` or ``DeviceError`` before opening anything
    it cannot use, ``AlreadyRunning`` when another kiosk holds the data directory or the
    board's port (kiosk/instance_lock.py). ``clock``: the domain's time (tests move it to
    span days of back-off; ``kiosk run`` keeps the real one). ``lock``: the instance lock
    already taken (``kiosk run`` takes it before its screen); released on any error, and
    with the kiosk once it closes."""
    from kiosk.composition import check_settings, compose
    from kiosk.events import utc_now

    try:
        check_settings(config)
        Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        # Before the port is opened: a second kiosk must not say a word on the first's bus.
        if lock is None:
            lock = hold(config.data_dir, command, port=config.board.port)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    try:
        devices = open_devices(config, pin_factory)
    except BaseException:
        lock.release()
        raise
    # Closers run newest first: the locks go last, once everything else is closed.
    devices.closers.insert(0, lock.release)
    kiosk = compose(config, devices, clock=clock or utc_now)
    try:
        kiosk.start()
    except BaseException:
        kiosk.close()
        raise
    return kiosk


def check_port(config: Config) -> None:
    """A board port that names nothing (a wrong path, the adapter not plugged in) is the
    config's error, said before the screen takes the terminal; a port that is there but
    will not open as a serial device is found behind the screen (``open_board``)."""
    port = config.board.port
    if "://" not in port and not os.path.exists(port):
        raise DeviceError(f"{config.source}: [board]: cannot open port {port}: "
                          "no such device")


# The errors a person starting the kiosk can put right (the config, the wiring, another
# kiosk): one line, exit code 2, as before the screen (kiosk/cli/common.py, CommandError).
USER_ERRORS = (ConfigError, DeviceError, AlreadyRunning)


def explain(error: Exception) -> str:
    """The line a failure behind the screen leaves on the terminal once it is restored:
    as the command says it before the screen (kiosk/cli/main.py)."""
    if isinstance(error, USER_ERRORS):
        return f"kiosk: {error}"
    return (f"kiosk: run stopped on an unhandled error: {type(error).__name__}: {error} "
            "(the traceback is in the log)")


# How long quitting waits for a composition under way to finish (then closes it).
COMPOSING_WAIT_S = 60.0


class BehindTheScreen:
    """``kiosk run``'s kiosk, composed on the screen's connect worker after the first
    frame and closed after the screen ends. ``compose_kiosk``: how it is composed
    (``production_kiosk``; a test may hold it back to see the screen before it)."""

    def __init__(self, config: Config, lock: InstanceLock,
                 compose_kiosk: Callable[..., Kiosk] = production_kiosk):
        self.config = config
        self._lock = lock
        self._compose = compose_kiosk
        self.kiosk: Kiosk | None = None
        self.error: BaseException | None = None  # what stopped the composition
        self._began = threading.Event()
        self._ended = threading.Event()

    def connect(self, app: KioskApp) -> KioskParts:
        """On the app's connect worker: compose and start the kiosk (reconcile included),
        then the screen's parts over it. ``KioskApp`` ends non-zero on an error here."""
        from kiosk.setups import screen

        self._began.set()
        try:
            kiosk = self._compose(self.config, lock=self._lock)
            self.kiosk = kiosk
            screen.attach(kiosk, app)
            return screen.parts(kiosk)
        except BaseException as exc:
            self.error = exc
            if isinstance(exc, USER_ERRORS):  # the config or the wiring: no traceback
                log.error("kiosk run could not start: %s", exc)
            else:
                log.critical("kiosk run stopped on an unhandled error", exc_info=exc)
            raise
        finally:
            self._ended.set()

    def close(self) -> None:
        """After the screen: let a composition under way end (a kiosk half started is
        closed whole), then close the kiosk; the lock goes with it, or here."""
        if self._began.is_set() and not self._ended.wait(COMPOSING_WAIT_S):
            log.error("the kiosk was still starting %.0f s after the screen ended",
                      COMPOSING_WAIT_S)
            return  # its thread dies with the process; the kernel drops the locks
        if self.kiosk is not None:
            self.kiosk.close()  # its closers release the lock last
            self.kiosk = None
        else:
            self._lock.release()


def run_app(config: Config, lock: InstanceLock, *, idle_s: float,
            compose_kiosk: Callable[..., Kiosk] = production_kiosk,
            **options: Any) -> tuple[KioskApp, BehindTheScreen]:
    """The screen ``kiosk run`` shows, with the kiosk to compose behind its first frame;
    ``options`` go to ``KioskApp`` (on_tick, on_ready…)."""
    from tui.app import KioskApp

    behind = BehindTheScreen(config, lock, compose_kiosk)
    app = KioskApp(connect=behind.connect, language=config.language, idle_s=idle_s,
                   explain_failure=explain, **options)
    return app, behind


def run_kiosk(config: Config, *, idle_s: float, log_level: str | None) -> int:
    """``kiosk run``: the screen, the kiosk composed behind its first frame (settling what
    a crash interrupted before the screen takes any action), until it quits.

    Under systemd the UI loop pings the watchdog from the start, so a frozen screen gets
    the kiosk restarted; READY is sent once the kiosk is composed and the first frame
    drawn. Raises ``DeviceError``/``AlreadyRunning`` for what is found before the screen.
    """
    from kiosk.logging_setup import setup_logging
    from kiosk.sdnotify import Notifier, Watchdog

    check_port(config)
    data = Path(config.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    # Before the screen: a second kiosk on this data directory or bus says so and exits.
    lock = hold(config.data_dir, "run", port=config.board.port)
    try:
        # From here the screen owns the terminal: logs go to the journal, else to a file.
        setup_logging(log_level, terminal_owned=True, log_file=data / "kiosk.log")
        notifier = Notifier.from_env()
        watchdog = Watchdog(notifier)
        app, behind = run_app(config, lock, idle_s=idle_s, on_tick=watchdog.tick,
                              tick_s=watchdog.poll_every, on_ready=notifier.ready)
    except BaseException:
        lock.release()
        raise
    try:
        run_screen(app)
    finally:
        behind.close()
    if isinstance(behind.error, USER_ERRORS):
        return 2  # as before the screen; its line is shown (``explain``) and logged
    return exit_code(app)
