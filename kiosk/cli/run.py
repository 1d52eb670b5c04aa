"""``kiosk run``: the production kiosk — real boards and pins from the config, the screen.

Start-up settles what a crash interrupted (reconcile) before the screen takes input.
Under systemd the UI loop pings the watchdog, so a frozen screen gets the kiosk restarted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.common import CommandError, load
from kiosk.config import ConfigError
from kiosk.hardware import BoardError
from kiosk.logging_setup import setup_logging


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the kiosk screen on the real hardware",
                                   description=__doc__)
    parser.add_argument("--config", metavar="FILE", required=True, help="kiosk config (TOML)")
    parser.add_argument("--idle", metavar="SECONDS", type=float, default=60.0,
                        help="return home after this long without input (default: 60)")
    parser.set_defaults(handler=run_kiosk)


def run_kiosk(args: argparse.Namespace) -> int:
    from kiosk.cli import wiring

    config = load(args)
    try:
        wiring.check_settings(config)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    data = Path(config.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    try:
        board = wiring.open_board(config)
    except (BoardError, ValueError) as exc:
        raise CommandError(f"{config.source}: [board]: {exc}") from None
    try:
        peripherals = wiring.open_peripherals(config)
    except Exception as exc:  # GpioError, or gpiozero finding no pins at all
        board.close()
        raise CommandError(f"{config.source}: [gpio]: {exc}") from None
    on_tick, tick_s, on_ready = _systemd()
    # From here the screen owns the terminal: logs go to the journal, else to a file.
    setup_logging(args.log_level, terminal_owned=True, log_file=data / "kiosk.log")
    kiosk = wiring.assemble(config, board, peripherals=peripherals)
    kiosk.closers[:0] = [board.close, peripherals.close]
    try:
        _audit_config(kiosk)
        kiosk.lockers.reconcile()
        app = wiring.build_app(kiosk, idle_s=args.idle, on_tick=on_tick, tick_s=tick_s,
                               on_ready=on_ready)
        app.run()
    finally:
        kiosk.close()
    return 0


def _audit_config(kiosk) -> None:
    """A configuration that changed since the last start is a public, audited change."""
    from kiosk.admin import Admin

    source = Path(kiosk.config.source)
    Admin(kiosk.lockers, kiosk.audit).record_config(source.read_text(encoding="utf-8"),
                                                    source.name)


def _systemd():
    """READY once the first frame is drawn; watchdog pings from the UI loop."""
    from kiosk.sdnotify import Notifier, Watchdog

    notifier = Notifier.from_env()
    watchdog = Watchdog(notifier)
    return watchdog.tick, watchdog.poll_every, lambda: notifier.ready()
