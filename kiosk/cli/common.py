"""What several commands share: finding the config and the kiosk's database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.config import Config, ConfigError, load_config
from kiosk.schema import open_kiosk_store
from kiosk.store import Store

DB_NAME = "kiosk.db"


class CommandError(Exception):
    """A user error: printed as one line, exit code 2, no traceback."""


def add_state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="kiosk config (TOML)")
    parser.add_argument("--data", metavar="DIR",
                        help="data directory holding kiosk.db (default: the config's data_dir)")


def load(args: argparse.Namespace) -> Config:
    if getattr(args, "config", None):
        try:
            return load_config(args.config)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
    return Config()


def data_dir(args: argparse.Namespace, config: Config) -> Path:
    return Path(getattr(args, "data", None) or config.data_dir)


def open_state(args: argparse.Namespace, must_exist: bool = True) -> tuple[Config, Store]:
    config = load(args)
    path = data_dir(args, config) / DB_NAME
    if must_exist and not path.exists():
        raise CommandError(f"no kiosk database at {path} (give --data DIR or --config FILE)")
    return config, open_kiosk_store(path)


def fail(message: str, code: int = 2) -> int:
    print(f"kiosk: {message}", file=sys.stderr)
    return code
