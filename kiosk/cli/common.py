"""What several commands share: finding the config and the kiosk's database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.store import Store

DB_NAME = "kiosk.db"


class CommandError(Exception):
    """A user error: printed as one line, exit code 2, no traceback."""


def add_state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="kiosk config (TOML)")
    parser.add_argument("--data", metavar="DIR",
                        help="data directory holding kiosk.db (default: the config's data_dir)")


def load(args: argparse.Namespace) -> Config:
    # Imported here: `kiosk demo` never reads a config, and its first frame need not wait.
    from kiosk.config import Config, ConfigError, load_config

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
    # Imported here: building the parser must stay cheap (sqlite-utils and every
    # feature's schema are only needed once a command opens the database).
    from kiosk.schema import open_kiosk_store

    return config, open_kiosk_store(path)


def fail(message: str, code: int = 2) -> int:
    print(f"kiosk: {message}", file=sys.stderr)
    return code


def add_broker_login_options(parser: argparse.ArgumentParser) -> None:
    """Account and TLS options of a command that talks to an MQTT broker."""
    parser.add_argument("--username", metavar="U",
                        help="broker account (or set KIOSK_MQTT_USERNAME)")
    parser.add_argument("--password", metavar="P",
                        help="password (or set KIOSK_MQTT_PASSWORD, which stays out of ps)")
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--ca-file", metavar="F",
                        help="CA certificate (PEM) for --tls; default: the system's CAs")


def broker_login(args: argparse.Namespace) -> tuple[str, str]:
    """(username, password) from the options or the environment, checked with TLS options."""
    import os

    if args.ca_file and not args.tls:
        raise CommandError("--ca-file needs --tls")
    if args.ca_file and not Path(args.ca_file).is_file():
        raise CommandError(f"no CA file at {args.ca_file}")
    username = args.username or os.environ.get("KIOSK_MQTT_USERNAME", "")
    password = args.password or os.environ.get("KIOSK_MQTT_PASSWORD", "")
    if password and not username:
        raise CommandError("--password needs --username")
    return username, password
