"""``kiosk config check FILE``: every problem in a config file, one per line.

The core checks keys, types and values; here we add what only the composition root
knows, such as which lock-board protocols the devices package provides.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from typing import Any

from kiosk.config import SIZES, Config, ConfigError, config_from_dict, read_table


def register(subparsers: argparse._SubParsersAction) -> None:
    config = subparsers.add_parser("config", help="work with the kiosk's config file")
    commands = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND",
                                     required=True)
    check = commands.add_parser(
        "check", help="validate a config file and name every problem",
        description="Validate a kiosk config file. Prints each problem on its own line "
                    "(file: key: what is wrong) and exits 1, or a summary and exits 0.")
    check.add_argument("file", metavar="FILE", help="path of the TOML config, "
                                                     "e.g. /etc/kiosk/kiosk.toml")
    check.set_defaults(handler=check_command)


def known_protocols() -> tuple[str, ...]:
    """Names of the lock-board protocols the installed devices package implements."""
    try:
        from devices.protocols import PROTOCOLS
    except ModuleNotFoundError as exc:
        if exc.name not in ("devices", "devices.protocols"):
            raise  # the registry exists but is broken: say so, don't guess
        # Until devices/protocols.py lands, the one protocol the design names.
        return ("kerong",)
    return tuple(PROTOCOLS)


def extra_problems(path: str, raw: dict[str, Any]) -> list[str]:
    """Problems the core cannot see because it does not know the adapters.

    Works on the raw table so they are reported together with the core's problems.
    """
    problems = []
    board = raw.get("board")
    protocol = board.get("protocol") if isinstance(board, dict) else None
    protocols = known_protocols()
    if isinstance(protocol, str) and protocol not in protocols:
        problems.append(f"{path}: board.protocol: unknown protocol {protocol!r} "
                        f"(known: {', '.join(protocols)})")
    return problems


def summary(config: Config) -> str:
    compartments = config.compartment_list()
    sizes = Counter(size for _, _, size in compartments)
    by_size = ", ".join(f"{sizes[s]} {s}" for s in SIZES if sizes[s])
    boards = ", ".join(str(b) for b in config.board_addresses()) or "none"
    mqtt = (f"MQTT {config.mqtt.host}:{config.mqtt.port}" if config.mqtt.enabled
            else "MQTT off")
    return (f"ok: {config.source}: community {config.community_id}, kiosk {config.kiosk_id}, "
            f"{len(compartments)} compartments ({by_size or 'none'}) on boards {boards} "
            f"via {config.board.protocol} at {config.board.port}, {mqtt}, "
            f"data in {config.data_dir}")


def feature_problems(config: Config) -> list[str]:
    """What the features say of their own sections ([parking], [duty]), as ``kiosk run``
    checks them before it opens anything."""
    from kiosk.composition import FEATURES

    problems = []
    for feature in FEATURES:
        try:
            feature.check(config)
        except ConfigError as exc:
            problems += exc.problems
    return problems


def sections_only(raw: dict[str, Any], source: str) -> Config:
    """A default config holding the file's feature sections, so that they are checked
    even when the core part of the file is broken: every problem at once."""
    config = Config(source=source)
    for f in dataclasses.fields(Config):
        if isinstance(getattr(config, f.name), dict) and isinstance(raw.get(f.name), dict):
            setattr(config, f.name, raw[f.name])
    return config


def check_command(args: argparse.Namespace) -> int:
    config: Config | None = None
    try:
        raw = read_table(args.file)
    except ConfigError as exc:
        # Not a TOML table at all (missing, too big, not UTF-8, a BOM): nothing to check.
        problems = list(exc.problems)
    else:
        try:
            config = config_from_dict(raw, args.file, require_compartments=True)
            problems = []
        except ConfigError as exc:
            problems = list(exc.problems)
        problems += extra_problems(args.file, raw)
        problems += feature_problems(config or sections_only(raw, args.file))
    if problems or config is None:
        for line in problems:
            print(line, file=sys.stderr)
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"{args.file}: {len(problems)} {noun}; the kiosk will not start with this file",
              file=sys.stderr)
        return 1
    print(summary(config))
    return 0
