"""The kiosk's configuration: one TOML file, checked strictly.

An unknown key or a bad value is refused with the file and the key named; every problem
is reported at once, so an installer fixes the file in one go.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIZES = ("S", "M", "L")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ConfigError(Exception):
    """A config file is broken. ``problems`` holds one line per bad key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class BoardConfig:
    port: str = "/dev/ttyUSB0"
    # Checked against the protocols in devices/ by the command line, which knows them.
    protocol: str = "kerong"
    baudrate: int = 19200
    lock_bit_locked: int = 1
    timeout_s: float = 0.3
    retries: int = 2
    # How long an unlocked door may take to show as unlocked in the status bits.
    confirm_s: float = 1.5
    # How often the health monitor polls each board.
    heartbeat_s: float = 5.0

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if self.lock_bit_locked not in (0, 1):
            bad.append(("lock_bit_locked", "must be 0 or 1"))
        if self.baudrate <= 0:
            bad.append(("baudrate", "must be positive"))
        for name in ("timeout_s", "confirm_s", "heartbeat_s"):
            if getattr(self, name) <= 0:
                bad.append((name, "must be positive"))
        if self.retries < 0:
            bad.append(("retries", "must be 0 or more"))
        return bad


@dataclass
class CompartmentGroup:
    board: int
    locks: str | list[int] | int
    size: str

    def lock_numbers(self) -> list[int]:
        if isinstance(self.locks, int):
            return [self.locks]
        if isinstance(self.locks, list):
            return list(self.locks)
        numbers: list[int] = []
        for part in self.locks.split(","):
            first, _, last = part.strip().partition("-")
            numbers.extend(range(int(first), int(last or first) + 1))
        return numbers

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if not 0 <= self.board <= 15:
            bad.append(("board", "must be a bus address 0-15"))
        if self.size not in SIZES:
            bad.append(("size", f"must be one of {', '.join(SIZES)}"))
        try:
            numbers = self.lock_numbers()
        except ValueError:
            return [*bad, ("locks", "must be a lock number, a list, or a range like '1-16'")]
        if not numbers or any(not 1 <= n <= 16 for n in numbers):
            bad.append(("locks", "lock numbers must be 1-16"))
        return bad


@dataclass
class GpioConfig:
    # "native" on a Pi; "mock" uses gpiozero's mock pins (demo, tests).
    pin_factory: str = "native"
    buzzer: int | None = None
    led_ok: int | None = None
    led_fault: int | None = None
    tamper: int | None = None
    motion: int | None = None
    barrier: int | None = None
    spot_sensors: dict[str, int] = field(default_factory=dict)

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if self.pin_factory not in ("native", "mock"):
            bad.append(("pin_factory", "must be 'native' or 'mock'"))
        pins = [(n, getattr(self, n)) for n in ("buzzer", "led_ok", "led_fault", "tamper",
                                                "motion", "barrier")]
        pins += [(f"spot_sensors.{k}", v) for k, v in self.spot_sensors.items()]
        seen: dict[int, str] = {}
        for name, pin in pins:
            if pin is None:
                continue
            if not 0 <= pin <= 27:
                bad.append((name, "must be a BCM GPIO number 0-27"))
            elif pin in seen:
                bad.append((name, f"pin {pin} is already used by {seen[pin]}"))
            else:
                seen[pin] = name
        return bad


@dataclass
class MqttConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    keepalive: int = 30
    reconnect_max_s: int = 30

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if not 1 <= self.port <= 65535:
            bad.append(("port", "must be 1-65535"))
        if self.keepalive < 5:
            bad.append(("keepalive", "must be at least 5 seconds"))
        if self.reconnect_max_s < 1:
            bad.append(("reconnect_max_s", "must be at least 1 second"))
        if self.ca_file and not self.tls:
            bad.append(("ca_file", "is set but tls = false"))
        return bad


@dataclass
class LockerConfig:
    overdue_days: int = 3
    reminder_every_hours: int = 24
    code_length: int = 6
    # Wrong codes before the kiosk starts to wait; each further one doubles the wait.
    free_attempts: int = 3
    backoff_base_s: float = 5.0
    backoff_max_s: float = 300.0
    door_open_beep_s: int = 30
    door_open_alert_s: int = 120
    # Parcels waiting this long are handed back to a courier for return to the sender.
    return_after_days: int = 14
    # Cabinets without occupancy sensors cannot tell an empty compartment from a full one.
    occupancy_sensors: bool = True

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if not 4 <= self.code_length <= 12:
            bad.append(("code_length", "must be 4-12"))
        for name in ("overdue_days", "reminder_every_hours", "door_open_beep_s",
                     "door_open_alert_s", "return_after_days"):
            if getattr(self, name) < 1:
                bad.append((name, "must be at least 1"))
        if self.free_attempts < 1:
            bad.append(("free_attempts", "must be at least 1"))
        if self.backoff_base_s <= 0 or self.backoff_max_s < self.backoff_base_s:
            bad.append(("backoff_max_s", "must be at least backoff_base_s, both positive"))
        return bad


@dataclass
class Config:
    community_id: str = "demo-community"
    kiosk_id: str = "kiosk-1"
    language: str = "zh"
    data_dir: str = "/var/lib/kiosk"
    board: BoardConfig = field(default_factory=BoardConfig)
    compartments: list[CompartmentGroup] = field(default_factory=list)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    lockers: LockerConfig = field(default_factory=LockerConfig)
    # Sections owned by other features (parking, duty) are kept as plain tables and
    # checked by those features; see ``extra_sections``.
    parking: dict[str, Any] = field(default_factory=dict)
    duty: dict[str, Any] = field(default_factory=dict)
    source: str = "<defaults>"

    def check(self) -> list[tuple[str, str]]:
        bad = []
        for name in ("community_id", "kiosk_id"):
            if not _ID.match(getattr(self, name)):
                bad.append((name, "must be lowercase letters, digits, '-' or '_' "
                                  "(it becomes part of MQTT topics)"))
        if self.language not in ("zh", "en"):
            bad.append(("language", "must be 'zh' or 'en'"))
        seen: set[tuple[int, int]] = set()
        for i, group in enumerate(self.compartments):
            try:
                numbers = group.lock_numbers()
            except ValueError:
                continue
            for n in numbers:
                if (group.board, n) in seen:
                    bad.append((f"compartments[{i}].locks",
                                f"board {group.board} lock {n} is listed twice"))
                seen.add((group.board, n))
        return bad

    def compartment_list(self) -> list[tuple[int, int, str]]:
        """Every configured compartment as (board, lock, size), in cabinet order."""
        return [(g.board, n, g.size) for g in self.compartments for n in g.lock_numbers()]

    def board_addresses(self) -> list[int]:
        return sorted({g.board for g in self.compartments})


def load_config(path: str | Path) -> Config:
    """Read and check a config file. Raises ``ConfigError`` naming the file and keys."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return config_from_dict(raw, str(path))


def config_from_dict(raw: dict[str, Any], source: str = "<config>") -> Config:
    problems: list[str] = []
    config = _build(Config, raw, "", source, problems)
    if problems:
        raise ConfigError(problems)
    assert isinstance(config, Config)
    config.source = source
    return config


def _build(cls: type, raw: Any, where: str, source: str, problems: list[str]) -> Any:
    """Make a ``cls`` from a TOML table, appending a line to ``problems`` per bad key."""
    if not isinstance(raw, dict):
        problems.append(f"{source}: {where or 'top level'}: expected a table")
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{where}{key}"
        if key not in fields:
            problems.append(f"{source}: {name}: unknown key (known: {', '.join(sorted(fields))})")
            continue
        converted = _convert(hints[key], value, name, source, problems)
        if converted is not _BAD:
            values[key] = converted
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [r for r in required if r not in values]
    for r in missing:
        if r not in raw:
            problems.append(f"{source}: {where}{r}: required key is missing")
    if missing:
        return _BAD
    obj = cls(**values)
    for key, message in obj.check() if hasattr(obj, "check") else []:
        problems.append(f"{source}: {where}{key}: {message}")
    return obj


_BAD = object()


def _convert(hint: Any, value: Any, name: str, source: str, problems: list[str]) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for option in options:
            quiet: list[str] = []
            result = _convert(option, value, name, source, quiet)
            if not quiet:
                return result
        problems.append(f"{source}: {name}: expected {_describe(hint)}, got {value!r}")
        return _BAD
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a class, not an instance
        result = _build(hint, value, f"{name}.", source, problems)
        return result
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            problems.append(f"{source}: {name}: expected a list, got {value!r}")
            return _BAD
        items = [_convert(item, v, f"{name}[{i}]", source, problems) for i, v in enumerate(value)]
        return [i for i in items if i is not _BAD]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            problems.append(f"{source}: {name}: expected a table, got {value!r}")
            return _BAD
        if item is Any:
            return value
        return {k: _convert(item, v, f"{name}.{k}", source, problems) for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool):
        problems.append(f"{source}: {name}: expected {_describe(hint)}, got {value!r}")
        return _BAD
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    problems.append(f"{source}: {name}: expected {_describe(hint)}, got {value!r}")
    return _BAD


def _describe(hint: Any) -> str:
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [_describe(a) for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(parts)
    if typing.get_origin(hint) is list:
        return "a list"
    return names.get(hint, getattr(hint, "__name__", str(hint)))
