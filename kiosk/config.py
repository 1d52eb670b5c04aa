"""The kiosk's configuration: one TOML file, checked strictly.

An unknown key or a bad value is refused with the file and the key named; every problem
is reported at once, so an installer fixes the file in one go.

Every number has its allowed range beside its field (``between``): generous for any real
installation, but finite, so a typo such as ``timeout_s = inf`` or ``retries = 100000000``
is named at the check instead of hanging or crashing the kiosk later. Nothing is expanded
or allocated by size before it has been checked: the file is read only up to
``MAX_FILE_BYTES`` and lock ranges are checked as ranges, so the check stays small and
quick whatever the file says.
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIZES = ("S", "M", "L")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# A real config is a few kB; anything near this is the wrong file (a log, a database).
MAX_FILE_BYTES = 1_000_000
MAX_PROBLEMS = 50
# What one board drives: bus addresses (DIP switches) and lock channels as labelled.
BOARDS = (0, 15)
LOCKS = (1, 16)
# BCM numbers of the Pi's 40-pin header, the pins gpiozero drives there.
GPIO_PINS = (0, 27)


def between(low: float, high: float, unit: str = "") -> dict[str, Any]:
    """Field metadata: the value (each value, for a list or table) must be low-high."""
    return {"range": (low, high, unit)}


def range_of(f: dataclasses.Field[Any]) -> tuple[float, float, str] | None:
    bounds = f.metadata.get("range")
    return None if bounds is None else tuple(bounds)


def show(value: Any) -> str:
    """``repr`` for a message, cut short: a value may be a 4000-digit number or a long
    string, and Python refuses to print integers of more than 4300 digits at all."""
    if isinstance(value, bool):
        return "true" if value else "false"  # as the file says it
    if isinstance(value, int) and abs(value) >= 10**18:
        try:
            digits = len(str(abs(value)))
        except ValueError:  # over 4300 digits: tomllib refuses those, code might not
            digits = int(math.log10(abs(value))) + 1
        return f"{'-' if value < 0 else ''}a number of {digits} digits"
    if isinstance(value, (list, dict)) and len(value) > 8:
        kind = "list" if isinstance(value, list) else "table"
        return f"a {kind} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def out_of_range(value: Any, bounds: tuple[float, float, str]) -> str | None:
    """Why a number is not allowed, or None. NaN fails every comparison, so it is out."""
    low, high, unit = bounds
    if isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high:
        return None
    if (low, high) == (0, 1):
        return f"must be 0 or 1, got {show(value)}"
    return f"must be {_number(low)}-{_number(high)}{' ' + unit if unit else ''}, got {show(value)}"


def _number(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


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
    # From the slowest serial line to the fastest USB-RS485 adapters.
    baudrate: int = field(default=19200, metadata=between(300, 4_000_000))
    lock_bit_locked: int = field(default=1, metadata=between(0, 1))
    # One request's wait for an answer; every poll may wait (retries + 1) times this.
    timeout_s: float = field(default=0.3, metadata=between(0.01, 10, "s"))
    retries: int = field(default=2, metadata=between(0, 10))
    # How long an unlocked door may take to show as unlocked in the status bits.
    confirm_s: float = field(default=1.5, metadata=between(0.05, 60, "s"))
    # How often the health monitor polls each board.
    heartbeat_s: float = field(default=5.0, metadata=between(0.05, 3600, "s"))


_SPAN = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_LOCKS_FORM = "must be a lock number, a list, or a range like '1-16'"


@dataclass
class CompartmentGroup:
    board: int = field(metadata=between(*BOARDS))
    locks: str | list[int] | int
    size: str

    def lock_spans(self) -> list[tuple[int, int]]:
        """The locks as (first, last) runs, checked before anything is expanded: a range
        like '9-1000000000' is refused here, it never becomes a list of a billion locks.
        Raises ``ValueError`` saying what is wrong."""
        low, high = LOCKS
        most = high - low + 1
        spans: list[tuple[int, int]] = []
        if isinstance(self.locks, bool):
            raise ValueError(_LOCKS_FORM)
        if isinstance(self.locks, int):
            spans = [(self.locks, self.locks)]
        elif isinstance(self.locks, list):
            if len(self.locks) > most:
                raise ValueError(f"lists at most {most} locks (one board), got {show(self.locks)}")
            spans = [(n, n) for n in self.locks]
        else:
            if self.locks.count(",") >= most:
                raise ValueError(f"lists at most {most} ranges (one board), "
                                 f"got {show(self.locks)}")
            for part in self.locks.split(","):
                match = _SPAN.match(part)
                if match is None:
                    raise ValueError(f"{_LOCKS_FORM}, got {show(self.locks)}")
                first, last = match.group(1), match.group(2) or match.group(1)
                # Digits only, so the length bounds the number without converting it.
                if len(first) > 3 or len(last) > 3:
                    raise ValueError(f"lock numbers must be {low}-{high}, got {show(self.locks)}")
                if int(first) > int(last):
                    raise ValueError(f"the range {part.strip()!r} runs backwards")
                spans.append((int(first), int(last)))
        if not spans:
            raise ValueError(f"names no lock; {_LOCKS_FORM}")
        if any(not (low <= first and last <= high) for first, last in spans):
            raise ValueError(f"lock numbers must be {low}-{high}, got {show(self.locks)}")
        return spans

    def lock_numbers(self) -> list[int]:
        """Every lock of the group; at most 16 per range, as ``lock_spans`` checked."""
        return [n for first, last in self.lock_spans() for n in range(first, last + 1)]

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if self.size not in SIZES:
            bad.append(("size", f"must be one of {', '.join(SIZES)}"))
        try:
            self.lock_spans()
        except ValueError as exc:
            bad.append(("locks", str(exc)))
        return bad


@dataclass
class GpioConfig:
    # "native" on a Pi; "mock" uses gpiozero's mock pins (demo, tests).
    pin_factory: str = "native"
    buzzer: int | None = field(default=None, metadata=between(*GPIO_PINS))
    led_ok: int | None = field(default=None, metadata=between(*GPIO_PINS))
    led_fault: int | None = field(default=None, metadata=between(*GPIO_PINS))
    tamper: int | None = field(default=None, metadata=between(*GPIO_PINS))
    motion: int | None = field(default=None, metadata=between(*GPIO_PINS))
    barrier: int | None = field(default=None, metadata=between(*GPIO_PINS))
    spot_sensors: dict[str, int] = field(default_factory=dict, metadata=between(*GPIO_PINS))

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if self.pin_factory not in ("native", "mock"):
            bad.append(("pin_factory", "must be 'native' or 'mock'"))
        pins = [(n, getattr(self, n)) for n in ("buzzer", "led_ok", "led_fault", "tamper",
                                                "motion", "barrier")]
        pins += [(f"spot_sensors.{k}", v) for k, v in self.spot_sensors.items()]
        seen: dict[int, str] = {}
        for name, pin in pins:
            # The range is checked with every field's (``between``); a pin outside it
            # is not also reported as shared.
            if pin is None or not GPIO_PINS[0] <= pin <= GPIO_PINS[1]:
                continue
            if pin in seen:
                bad.append((name, f"pin {pin} is already used by {seen[pin]}"))
            else:
                seen[pin] = name
        return bad


@dataclass
class MqttConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = field(default=1883, metadata=between(1, 65535))
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    keepalive: int = field(default=30, metadata=between(5, 3600, "s"))
    reconnect_max_s: int = field(default=30, metadata=between(1, 3600, "s"))
    # Home Assistant shows it as the kiosk's support link: the maintainers' page or contact.
    support_url: str = ""

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if self.ca_file and not self.tls:
            bad.append(("ca_file", "is set but tls = false"))
        url = self.support_url
        if url and (not url.startswith(("https://", "http://")) or len(url) > 300
                    or any(ch.isspace() for ch in url)):
            bad.append(("support_url", "must be an http(s):// address of at most 300 "
                                       "characters, without spaces"))
        return bad


@dataclass
class LockerConfig:
    overdue_days: int = field(default=3, metadata=between(1, 365, "days"))
    reminder_every_hours: int = field(default=24, metadata=between(1, 720, "hours"))
    code_length: int = field(default=6, metadata=between(4, 12, "digits"))
    # Wrong codes before the kiosk starts to wait; each further one doubles the wait.
    free_attempts: int = field(default=3, metadata=between(1, 100))
    backoff_base_s: float = field(default=5.0, metadata=between(0.1, 3600, "s"))
    backoff_max_s: float = field(default=300.0, metadata=between(0.1, 86400, "s"))
    door_open_beep_s: int = field(default=30, metadata=between(1, 3600, "s"))
    door_open_alert_s: int = field(default=120, metadata=between(1, 86400, "s"))
    # After the last reminder (``after_last_reminder`` = return | desk), a parcel that has
    # waited this long since it was stored is handed to a courier's round.
    return_after_days: int = field(default=14, metadata=between(1, 365, "days"))
    # Cabinets without occupancy sensors cannot tell an empty compartment from a full one.
    occupancy_sensors: bool = True
    # Reminders stop after this many; then ``after_last_reminder`` decides, never a fee:
    # "keep" (the parcel waits for its household), "return" (couriers take it back to the
    # sender once its last reminder went out and it waited ``return_after_days``), "desk"
    # (a courier round takes it to the community's desk, same rule).
    max_reminders: int = field(default=3, metadata=between(1, 50))
    after_last_reminder: str = "return"
    # Wrong codes for all households together: this many at once, then one each
    # ``kiosk_gap_s``. At most 10 s, so a resident is never kept waiting longer by wrong
    # codes typed for other households (docs/lockers.md, "Guessing").
    kiosk_burst: int = field(default=10, metadata=between(1, 100))
    kiosk_gap_s: float = field(default=10.0, metadata=between(0.1, 10, "s"))
    # A lost code is re-sent at most this often per household.
    resend_every_s: int = field(default=600, metadata=between(10, 86400, "s"))
    # A courier may correct a parcel's unit this long after its door shut; the code waits
    # as long, so it never reaches the wrong household.
    correct_within_s: int = field(default=120, metadata=between(5, 3600, "s"))

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if self.backoff_max_s < self.backoff_base_s:
            bad.append(("backoff_max_s", "must be at least backoff_base_s"))
        if self.after_last_reminder not in AFTER_LAST_REMINDER:
            bad.append(("after_last_reminder",
                        "must be one of " + ", ".join(AFTER_LAST_REMINDER)))
        elif self.after_last_reminder != "keep" and (last := self.last_reminder_days()) \
                is not None and self.return_after_days < last:
            bad.append(("return_after_days", (
                f"must be at least {math.ceil(last)} days with after_last_reminder = "
                f"{self.after_last_reminder!r}: the last reminder goes out {last:g} days "
                "after storage at the earliest (overdue_days + (max_reminders - 1) x "
                "reminder_every_hours), and a parcel is handed back only after it, never "
                f"before; got {self.return_after_days}")))
        return bad

    def last_reminder_days(self) -> float | None:
        """When the last reminder goes out at the earliest, in days after storage; None
        for a value out of range (reported by its own bound, not here as well)."""
        values = (self.overdue_days, self.max_reminders, self.reminder_every_hours)
        if not all(isinstance(v, int) and 0 < v <= 1000 for v in values):
            return None
        return self.overdue_days + (self.max_reminders - 1) * self.reminder_every_hours / 24


AFTER_LAST_REMINDER = ("keep", "return", "desk")


@dataclass
class NotifyConfig:
    """The kiosk's side of the community notifier (docs/notify.md)."""

    # A notification without the notifier's receipt is sent again after this, then after
    # twice as long each time, up to the cap (a cap below the first wait is the first wait).
    receipt_timeout_s: float = field(default=60.0, metadata=between(1, 86400, "s"))
    receipt_timeout_max_s: float = field(default=1800.0, metadata=between(1, 604800, "s"))
    # Slips for households without a contact: "", "simulated", /dev/usb/lp0 or
    # serial:/dev/ttyUSB1[:BAUD].
    printer: str = ""

    def check(self) -> list[tuple[str, str]]:
        bad = []
        from kiosk.notifications import printer_spec

        try:
            printer_spec(self.printer)
        except ValueError as exc:
            bad.append(("printer", str(exc)))
        return bad


@dataclass
class SpeechConfig:
    """Spoken prompts at each step (espeak-ng through ALSA: devices/speech.py). Off unless
    switched on: a kiosk without a loudspeaker says everything on its screen anyway."""

    enabled: bool = False
    # The ALSA device aplay plays to: "default", "plughw:1,0", "sysdefault:CARD=Headphones".
    device: str = "default"
    # espeak-ng's speed (words a minute) and loudness (its amplitude, 100 = normal).
    rate: int = field(default=150, metadata=between(80, 400, "words/min"))
    volume: int = field(default=100, metadata=between(0, 200))
    # Write each prompt's WAV here instead of playing it (tests; checking the prompts).
    save_dir: str = ""

    def check(self) -> list[tuple[str, str]]:
        bad = []
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_:,.=-]{0,99}", self.device):
            bad.append(("device", "must be an ALSA device name like 'default' or "
                                  "'plughw:1,0'"))
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
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
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
        # Where each (board, lock) was first listed, so a second listing names both entries.
        first: dict[tuple[int, int], int] = {}
        for i, group in enumerate(self.compartments):
            try:
                numbers = group.lock_numbers()  # at most 16: lock_spans has checked
            except ValueError:
                continue  # already named by the group's own check
            again: dict[int, list[int]] = {}
            for n in numbers:
                if (group.board, n) in first:
                    again.setdefault(first[group.board, n], []).append(n)
                else:
                    first[group.board, n] = i
            for j, locks in again.items():
                where = "earlier in this entry" if j == i else f"also in compartments[{j}]"
                which = (f"lock {locks[0]} is" if len(locks) == 1
                         else f"locks {', '.join(map(str, locks))} are")
                bad.append((f"compartments[{i}].locks",
                            f"board {group.board} {which} listed twice ({where})"))
        return bad

    def compartment_list(self) -> list[tuple[int, int, str]]:
        """Every configured compartment as (board, lock, size), in cabinet order."""
        return [(g.board, n, g.size) for g in self.compartments for n in g.lock_numbers()]

    def board_addresses(self) -> list[int]:
        return sorted({g.board for g in self.compartments})


def read_table(path: str | Path) -> dict[str, Any]:
    """The TOML table of a config file. Raises ``ConfigError`` naming what is wrong with
    the file itself: missing, too big, not UTF-8 text, or not TOML."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            # Read one byte past the limit rather than trusting the size: /dev/zero and
            # pipes say 0.
            data = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{path}: more than {MAX_FILE_BYTES} bytes; a kiosk config is a "
                           "few kB: is this the right file?"])
    if data.startswith(codecs.BOM_UTF8):
        # Editors on Windows add it; tomllib would only say "invalid statement".
        raise ConfigError([f"{path}: the file starts with a UTF-8 byte-order mark; "
                           "save it without BOM"])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError([f"{path}: the file is UTF-16 text; save it as UTF-8"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([f"{path}: not UTF-8 text (line {line}, byte "
                           f"{data[exc.start:exc.start + 1]!r}); save it as UTF-8"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    except ValueError:
        # Python refuses integers of over 4300 digits; its message advises a Python call.
        raise ConfigError([f"{path}: not valid TOML: a number of thousands of digits"]) \
            from None
    except RecursionError:  # arrays nested thousands deep
        raise ConfigError([f"{path}: not valid TOML: nested too deeply"]) from None


def load_config(path: str | Path) -> Config:
    """Read and check a kiosk's config file. Raises ``ConfigError`` naming the file and
    keys. A file is a real kiosk's, so it must list its compartments."""
    return config_from_dict(read_table(path), str(path), require_compartments=True)


def config_from_dict(raw: dict[str, Any], source: str = "<config>", *,
                     require_compartments: bool = False) -> Config:
    """A checked ``Config``; ``require_compartments`` for a kiosk that will run (the demo
    and tests may build one without lockers)."""
    problems: list[str] = []
    config = _build(Config, raw, "", source, problems)
    if require_compartments and not raw.get("compartments"):
        problems.append(f"{source}: compartments: none listed; a kiosk needs at least one "
                        "[[compartments]] entry (board, locks, size)")
    if len(problems) > MAX_PROBLEMS:
        # A list of a hundred thousand wrong items is one mistake, not a screenful each.
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], f"{source}: ... and {more} more problems"]
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
    for f in dataclasses.fields(cls):
        bounds = range_of(f)
        if bounds is None or f.name not in values:
            continue  # the defaults are in range: a test checks them
        value = values[f.name]
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for key, item in items:
            why = None if item is None else out_of_range(item, bounds)
            if why is not None:
                name = f"{where}{f.name}" + ("" if key is None else f".{key}")
                problems.append(f"{source}: {name}: {why}")
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
        problems.append(f"{source}: {name}: expected {_describe(hint)}, got {show(value)}")
        return _BAD
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a class, not an instance
        result = _build(hint, value, f"{name}.", source, problems)
        return result
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            problems.append(f"{source}: {name}: expected a list, got {show(value)}")
            return _BAD
        items = [_convert(item, v, f"{name}[{i}]", source, problems) for i, v in enumerate(value)]
        return [i for i in items if i is not _BAD]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            problems.append(f"{source}: {name}: expected a table, got {show(value)}")
            return _BAD
        if item is Any:
            return value
        table = {k: _convert(item, v, f"{name}.{k}", source, problems) for k, v in value.items()}
        return {k: v for k, v in table.items() if v is not _BAD}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool):
        problems.append(f"{source}: {name}: expected {_describe(hint)}, got {show(value)}")
        return _BAD
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    problems.append(f"{source}: {name}: expected {_describe(hint)}, got {show(value)}")
    return _BAD


def _describe(hint: Any) -> str:
    names = {int: "a whole number", float: "a number", str: "a string", bool: "true or false"}
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [_describe(a) for a in typing.get_args(hint) if a is not type(None)]
        return " or ".join(parts)
    if typing.get_origin(hint) is list:
        return "a list"
    return names.get(hint, getattr(hint, "__name__", str(hint)))
