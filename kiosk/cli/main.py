"""Entry point of the ``kiosk`` command. Each command group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each module has ``register(subparsers)``; it adds its commands, whose handlers take the
# parsed arguments and return an exit code. Imports are lazy so ``kiosk board`` does not
# pay for Textual.
COMMAND_MODULES = [
    # "kiosk.cli.board",
    "kiosk.cli.plan",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="The community kiosk: parcel lockers, parking, events."
    )
    parser.add_argument("--log-level", default="WARNING",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
