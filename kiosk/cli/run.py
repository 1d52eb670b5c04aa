"""``kiosk run``: the production kiosk — real boards and pins from the config, the screen.

The home screen draws first; the kiosk is composed behind it and settles what a crash
interrupted (reconcile) before the screen takes any action. Under systemd the UI loop
pings the watchdog, so a frozen screen gets the kiosk restarted.
What the kiosk is made of: kiosk/composition.py; its devices: kiosk/setups/production.py.
"""

from __future__ import annotations

import argparse

from kiosk.cli.common import CommandError, load
from kiosk.config import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="run the kiosk screen on the real hardware",
                                   description=__doc__)
    parser.add_argument("--config", metavar="FILE", required=True, help="kiosk config (TOML)")
    parser.add_argument("--idle", metavar="SECONDS", type=float, default=60.0,
                        help="return home after this long without input (default: 60)")
    parser.set_defaults(handler=run_kiosk)


def run_kiosk(args: argparse.Namespace) -> int:
    from kiosk.setups import production

    config = load(args)
    try:
        return production.run_kiosk(config, idle_s=args.idle, log_level=args.log_level)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    except production.DeviceError as exc:
        raise CommandError(str(exc)) from None
