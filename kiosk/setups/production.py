"""``kiosk run``'s devices: the real bus of lock boards and the GPIO pins from the config,
and the kiosk composed over them with the screen on top.

Start-up settles what a crash interrupted (reconcile) before the screen takes input.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.composition import Devices, Kiosk, check_settings, compose
from kiosk.config import Config
from kiosk.events import Clock, utc_now
from kiosk.hardware import BoardError, LockBoard, Peripherals
from kiosk.instance_lock import hold
from kiosk.setups.screen import exit_code, run_screen

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
                     command: str = "run", clock: Clock = utc_now) -> Kiosk:
    """The kiosk ``kiosk run`` runs, composed and started (reconciled, uplink connecting,
    scheduler running). Raises ``ConfigError`` or ``DeviceError`` before opening anything
    it cannot use, ``AlreadyRunning`` when another kiosk holds the data directory or the
    board's port (kiosk/instance_lock.py). ``clock``: the domain's time (tests move it to
    span days of back-off; ``kiosk run`` keeps the real one)."""
    check_settings(config)
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)
    # Before the port is opened: a second kiosk must not say a word on the first's bus.
    lock = hold(config.data_dir, command, port=config.board.port)
    try:
        devices = open_devices(config, pin_factory)
    except BaseException:
        lock.release()
        raise
    # Closers run newest first: the locks go last, once everything else is closed.
    devices.closers.insert(0, lock.release)
    kiosk = compose(config, devices, clock=clock)
    try:
        kiosk.start()
    except BaseException:
        kiosk.close()
        raise
    return kiosk


def run_kiosk(config: Config, *, idle_s: float, log_level: str | None) -> int:
    """``kiosk run``: settle what a crash interrupted, then the screen, until it quits.

    Under systemd the UI loop pings the watchdog, so a frozen screen gets the kiosk
    restarted; READY is sent once the first frame is drawn.
    """
    from kiosk.logging_setup import setup_logging
    from kiosk.sdnotify import Notifier, Watchdog
    from kiosk.setups.screen import build_app

    data = Path(config.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    # From here the screen owns the terminal: logs go to the journal, else to a file.
    setup_logging(log_level, terminal_owned=True, log_file=data / "kiosk.log")
    kiosk = production_kiosk(config)
    try:
        notifier = Notifier.from_env()
        watchdog = Watchdog(notifier)
        app = build_app(kiosk, idle_s=idle_s, on_tick=watchdog.tick,
                        tick_s=watchdog.poll_every, on_ready=notifier.ready)
        run_screen(app)
    finally:
        kiosk.close()
    return exit_code(app)


