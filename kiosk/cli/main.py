"""Entry point of the ``kiosk`` command. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from kiosk import __version__
from kiosk.cli.common import CommandError, fail
from kiosk.instance_lock import AlreadyRunning
from kiosk.logging_setup import LevelSpecError, setup_logging

log = logging.getLogger("kiosk")

# Each module has ``register(subparsers)``; it adds its commands, whose handlers take the
# parsed arguments and return an exit code. Imports are lazy so ``kiosk board`` does not
# pay for Textual.
COMMAND_MODULES = [
    "kiosk.cli.board",
    "kiosk.cli.audit",
    "kiosk.cli.config_cmd",
    "kiosk.cli.parking",
    "kiosk.cli.duty",
    "kiosk.cli.needs",
    "kiosk.cli.people",
    "kiosk.cli.monitor",
    "kiosk.cli.plan",
    "kiosk.cli.notify",
    "kiosk.cli.witness",
    "kiosk.cli.simulate",
    "kiosk.cli.demo",
    "kiosk.cli.run",
]
# The command each module adds, so that a command imports only its own module before it
# runs (`kiosk demo` draws its first frame sooner). A module missing here is still found:
# for a command not listed, every module is registered.
COMMANDS = {"board": "kiosk.cli.board", "audit": "kiosk.cli.audit",
            "config": "kiosk.cli.config_cmd", "parking": "kiosk.cli.parking",
            "duty": "kiosk.cli.duty", "people": "kiosk.cli.people",
            "monitor": "kiosk.cli.monitor", "plan": "kiosk.cli.plan",
            "simulate": "kiosk.cli.simulate", "demo": "kiosk.cli.demo", "run": "kiosk.cli.run"}
_OPTIONS_WITH_VALUE = {"--log-level"}


def command_in(argv: list[str]) -> str | None:
    """The command word of a command line (the first word that is not an option)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _OPTIONS_WITH_VALUE:
            skip = True
        elif word == "--" or not word.startswith("-"):
            return None if word == "--" else word
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``only`` one command of ``COMMANDS`` (if it is one)."""
    parser = argparse.ArgumentParser(
        prog="kiosk", description="The community kiosk: parcel lockers, parking, events."
    )
    parser.add_argument("--log-level", metavar="LEVEL", default=None,
                        help="DEBUG, INFO, WARNING (default) or ERROR; per logger as in "
                             "'INFO,devices=DEBUG'; else $KIOSK_LOG_LEVEL")
    parser.add_argument("--version", action="version",
                        version=f"kiosk (community-kiosk) {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in [COMMANDS[only]] if only in COMMANDS else COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(command_in(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    try:
        # Commands that draw a TUI call setup_logging again with terminal_owned=True.
        setup_logging(args.log_level)
    except LevelSpecError as exc:
        parser.error(str(exc))
    try:
        return int(args.handler(args) or 0)
    except (CommandError, AlreadyRunning) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # A bug or a failure nobody foresaw (a locked or full database at start-up…):
        # the traceback to the log (the journal, or DIR/kiosk.log once a screen owns the
        # terminal), one line to stderr, and a non-zero exit so systemd restarts the kiosk.
        log.critical("kiosk %s stopped on an unhandled error", args.command, exc_info=exc)
        return fail(f"{args.command} stopped on an unhandled error: "
                    f"{type(exc).__name__}: {exc} (the traceback is in the log)", code=1)
