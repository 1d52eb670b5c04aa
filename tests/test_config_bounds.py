"""Every number in the config is finite and in a range a real installation could need;
ranges are checked before they are expanded; the file itself is named when it is not a
config (a BOM, not UTF-8, far too big). ``kiosk config check`` refuses each hostile file
in a child held to 512 MB of address space, so a blow-up fails the test instead of eating
the machine, and its peak memory stays that of the shipped example."""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import typing
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import (
    MAX_FILE_BYTES,
    BoardConfig,
    CompartmentGroup,
    Config,
    ConfigError,
    GpioConfig,
    LockerConfig,
    MqttConfig,
    NotifyConfig,
    SpeechConfig,
    config_from_dict,
    range_of,
)
from kiosk.duty import DutySettings
from kiosk.parking.settings import ParkingSettings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "systemd" / "kiosk.toml.example"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
ADDRESS_SPACE = 512 * 1024 * 1024
# Peak memory a hostile file may add to the check of the shipped example.
FEW_MB = 32 * 1024


@dataclasses.dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_kb: int  # the child's own peak resident memory (ru_maxrss, kB on Linux)


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_limited(args: list[str]) -> Run:
    """Run a Python child under the address-space limit; its own rusage via wait4 (the
    pytest process's RUSAGE_CHILDREN is the peak of every child it ever had)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, preexec_fn=_limit_address_space)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, out.read().decode(), err.read().decode(),
                   usage.ru_maxrss)


def check(path: Path) -> Run:
    return run_limited(["-m", "kiosk", "config", "check", str(path)])


def edit(old: str, new: str, text: str = EXAMPLE_TEXT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def without_compartments() -> str:
    start = EXAMPLE_TEXT.index("[[compartments]]")
    return EXAMPLE_TEXT[:start] + EXAMPLE_TEXT[EXAMPLE_TEXT.index("[gpio]"):]


COMMUNITY_LINE = EXAMPLE_TEXT[:EXAMPLE_TEXT.index("maple-court")].count("\n") + 1

# name: (file content, what the first problem line says after "<file>: ")
HOSTILE: dict[str, tuple[str | bytes, str]] = {
    "a billion-lock range": (edit('locks = "9-14"', 'locks = "9-1000000000"'),
                             "compartments[1].locks: lock numbers must be 1-16, "
                             "got '9-1000000000'"),
    "a range of a thousand-digit number": (
        edit('locks = "9-14"', f'locks = "9-{"9" * 1000}"'),
        "compartments[1].locks: lock numbers must be 1-16, got '9-99999"),
    "a backwards range": (edit('locks = "9-14"', 'locks = "14-9"'),
                          "compartments[1].locks: the range '14-9' runs backwards"),
    "lock 17": (edit('locks = "9-14"', 'locks = "9-17"'),
                "compartments[1].locks: lock numbers must be 1-16, got '9-17'"),
    "lock 0": (edit("locks = [15, 16]", "locks = [0, 16]"),
               "compartments[2].locks: lock numbers must be 1-16, got [0, 16]"),
    "many ranges": (edit('locks = "9-14"', 'locks = "' + ",".join(["9-14"] * 100_000) + '"'),
                    "compartments[1].locks: lists at most 16 ranges (one board)"),
    "a list of 200000 locks": (edit("locks = [15, 16]",
                                    "locks = [" + ", ".join(["16"] * 200_000) + "]"),
                               "compartments[2].locks: lists at most 16 locks (one board), "
                               "got a list of 200000 items"),
    "a lock that is true": (edit("locks = [15, 16]", "locks = true"),
                            "compartments[2].locks: expected a string or a list or a whole "
                            "number, got true"),
    "board 16": (edit("board = 1", "board = 16"), "compartments[3].board: must be 0-15, got 16"),
    "overlapping ranges": (edit('locks = "9-14"', 'locks = "7-14"'),
                           "compartments[1].locks: board 0 locks 7, 8 are listed twice "
                           "(also in compartments[0])"),
    "a lock twice in one entry": (edit("locks = [15, 16]", "locks = [15, 16, 15]"),
                                  "compartments[2].locks: board 0 lock 15 is listed twice "
                                  "(earlier in this entry)"),
    "no compartments": (without_compartments(),
                        "compartments: none listed; a kiosk needs at least one "
                        "[[compartments]] entry"),
    "timeout_s = inf": (edit("timeout_s = 0.3", "timeout_s = inf"),
                        "board.timeout_s: must be 0.01-10 s, got inf"),
    "confirm_s = nan": (edit("confirm_s = 1.5", "confirm_s = nan"),
                        "board.confirm_s: must be 0.05-60 s, got nan"),
    "heartbeat_s = 1e300": (edit("heartbeat_s = 5.0", "heartbeat_s = 1e300"),
                            "board.heartbeat_s: must be 0.05-3600 s, got 1e+300"),
    "heartbeat_s = -inf": (edit("heartbeat_s = 5.0", "heartbeat_s = -inf"),
                           "board.heartbeat_s: must be 0.05-3600 s, got -inf"),
    "a 17-digit baudrate": (edit("baudrate = 19200", "baudrate = 12345678901234567"),
                            "board.baudrate: must be 300-4000000, got 12345678901234567"),
    "a 4000-digit baudrate": (edit("baudrate = 19200", "baudrate = " + "9" * 4000),
                              "board.baudrate: must be 300-4000000, got a number of "
                              "4000 digits"),
    "a 5000-digit number": (edit("retries = 2", "retries = " + "9" * 5000),
                            "not valid TOML: a number of thousands of digits"),
    "retries = 100000000": (edit("retries = 2", "retries = 100000000"),
                            "board.retries: must be 0-10, got 100000000"),
    "retries = true": (edit("retries = 2", "retries = true"),
                       "board.retries: expected a whole number, got true"),
    "lock_bit_locked = 2": (edit("lock_bit_locked = 1", "lock_bit_locked = 2"),
                            "board.lock_bit_locked: must be 0 or 1, got 2"),
    "mqtt port 0": (edit("port = 1883", "port = 0"), "mqtt.port: must be 1-65535, got 0"),
    "keepalive a year": (edit("keepalive = 30", "keepalive = 31536000"),
                         "mqtt.keepalive: must be 5-3600 s, got 31536000"),
    "reconnect_max_s = inf": (edit("reconnect_max_s = 30", "reconnect_max_s = inf"),
                              "mqtt.reconnect_max_s: expected a whole number, got inf"),
    "overdue_days = 0": (edit("overdue_days = 3", "overdue_days = 0"),
                         "lockers.overdue_days: must be 1-365 days, got 0"),
    "reminder every 10^9 hours": (edit("reminder_every_hours = 24",
                                       "reminder_every_hours = 1000000000"),
                                  "lockers.reminder_every_hours: must be 1-720 hours"),
    "code_length 100": (edit("code_length = 6", "code_length = 100"),
                        "lockers.code_length: must be 4-12 digits, got 100"),
    "free_attempts huge": (edit("free_attempts = 3", "free_attempts = 100000000"),
                           "lockers.free_attempts: must be 1-100, got 100000000"),
    "backoff_base_s = nan": (edit("backoff_base_s = 5.0", "backoff_base_s = nan"),
                             "lockers.backoff_base_s: must be 0.1-3600 s, got nan"),
    "backoff_max_s = inf": (edit("backoff_max_s = 300.0", "backoff_max_s = inf"),
                            "lockers.backoff_max_s: must be 0.1-86400 s, got inf"),
    "door_open_beep_s negative": (edit("door_open_beep_s = 30", "door_open_beep_s = -30"),
                                  "lockers.door_open_beep_s: must be 1-3600 s, got -30"),
    "door_open_alert_s huge": (edit("door_open_alert_s = 120", "door_open_alert_s = 1e9"),
                               "lockers.door_open_alert_s: expected a whole number, "
                               "got 1000000000.0"),
    "a GPIO pin 28": (edit("buzzer = 17", "buzzer = 28"), "gpio.buzzer: must be 0-27, got 28"),
    "a spot sensor pin -1": (edit("P02 = 6", "P02 = -1"),
                             "gpio.spot_sensors.P02: must be 0-27, got -1"),
    "parking grace inf": (EXAMPLE_TEXT + "\n[parking]\ngrace_minutes = inf\n",
                          "parking.grace_minutes: expected a whole number of at least 1, "
                          "got inf"),
    "parking reservation 10^9 hours": (
        EXAMPLE_TEXT + "\n[parking]\nmax_reservation_hours = 1000000000\n",
        "parking.max_reservation_hours: must be 1-744 hours, got 1000000000"),
    "duty shift 10^9 hours": (EXAMPLE_TEXT + "\n[duty]\nshift_hours = 1000000000\n",
                              "duty.shift_hours: must be 1-8784 hours, got 1000000000"),
    "a byte-order mark": (b"\xef\xbb\xbf" + EXAMPLE_TEXT.encode(),
                          "the file starts with a UTF-8 byte-order mark; save it without BOM"),
    "UTF-16": (EXAMPLE_TEXT.encode("utf-16"), "the file is UTF-16 text; save it as UTF-8"),
    "Latin-1": (EXAMPLE_TEXT.encode().replace(b"maple-court", b"maple-c\xe9urt", 1),
                f"not UTF-8 text (line {COMMUNITY_LINE}, byte b'\\xe9'); save it as UTF-8"),
    "a file over 1 MB": (EXAMPLE_TEXT + "#" * MAX_FILE_BYTES + "\n",
                         f"more than {MAX_FILE_BYTES} bytes; a kiosk config is a few kB"),
    "arrays nested 300000 deep": ("x = " + "[" * 300_000 + "]" * 300_000 + "\n",
                                  "not valid TOML: nested too deeply"),
}


@pytest.fixture(scope="module")
def example_run() -> Run:
    return check(EXAMPLE)


def test_the_example_passes_under_the_same_limit(example_run):
    assert example_run.returncode == 0, example_run.stderr
    assert example_run.stdout.startswith(f"ok: {EXAMPLE}: ")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_config_is_refused_in_a_moment_and_a_few_mb(tmp_path, name, example_run):
    content, expected = HOSTILE[name]
    path = tmp_path / "kiosk.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    result = check(path)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}: {expected}"), result.stderr
    assert result.stderr.splitlines()[-1].endswith("; the kiosk will not start with this file")
    assert result.peak_kb < example_run.peak_kb + FEW_MB, (result.peak_kb, example_run.peak_kb)


def test_the_memory_limit_stops_what_the_old_check_did():
    """Control: the old check expanded '9-1000000000' into a list; under the children's
    limit that fails, so a hostile file that still blew up could not pass the test."""
    old_check = "numbers = list(range(9, 1000000000 + 1)); print(len(numbers))"
    result = run_limited(["-c", old_check])
    assert result.returncode != 0 and "MemoryError" in result.stderr


def test_kiosk_run_refuses_a_config_without_compartments(tmp_path):
    def run(text: str) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "kiosk.toml"
        path.write_text(text, encoding="utf-8")
        return subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(path)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)

    head = f'data_dir = "{tmp_path}"\n[board]\nport = "{tmp_path}/no-such-tty"\n'
    empty = run(head)
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert "compartments: none listed" in empty.stderr
    # Control: with one compartment the same file gets past the config, to the board.
    one = run(head + '[[compartments]]\nboard = 0\nlocks = "1-4"\nsize = "S"\n')
    assert one.returncode == 2 and "compartments" not in one.stderr
    assert "[board]" in one.stderr


# --- every numeric field, in process --------------------------------------------------------

SECTIONS: dict[str, type] = {"board": BoardConfig, "gpio": GpioConfig, "mqtt": MqttConfig,
                             "lockers": LockerConfig, "notify": NotifyConfig,
                             "speech": SpeechConfig}


def numeric_fields(cls: type) -> list[dataclasses.Field[Any]]:
    hints = typing.get_type_hints(cls)

    def numeric(hint: Any) -> bool:
        args = typing.get_args(hint)
        return hint in (int, float) or any(numeric(a) for a in args)

    return [f for f in dataclasses.fields(cls) if numeric(hints[f.name])]


@pytest.mark.parametrize("cls", [*SECTIONS.values(), CompartmentGroup, Config,
                                 ParkingSettings, DutySettings])
def test_every_number_has_a_finite_range_and_its_default_is_in_it(cls):
    for f in numeric_fields(cls):
        if (cls, f.name) == (CompartmentGroup, "locks"):
            continue  # a lock list or range: checked by lock_spans against LOCKS
        bounds = range_of(f)
        assert bounds is not None, f"{cls.__name__}.{f.name} has no range (between(...))"
        low, high, _ = bounds
        assert low <= high and high < 10**9
        if f.default is not dataclasses.MISSING and f.default is not None:
            assert low <= f.default <= high, f"{cls.__name__}.{f.name}"


def core_cases() -> list[tuple[str, str, tuple[float, float, str], bool]]:
    cases = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in numeric_fields(cls):
            bounds = range_of(f)
            assert bounds is not None
            cases.append((section, f.name, bounds, float in typing.get_args(hints[f.name])
                          or hints[f.name] is float))
    return cases


def section_value(section: str, name: str, value: Any) -> dict[str, Any]:
    if name == "spot_sensors":
        return {section: {name: {"P01": value}}}
    return {section: {name: value}}


# Settings that let each end of a reminder-schedule number pass the check that a parcel is
# never handed back before its last reminder (LockerConfig.check).
SCHEDULE_COMPANIONS: dict[str, dict[str, int]] = {
    "overdue_days": {"max_reminders": 1, "return_after_days": 365},
    "reminder_every_hours": {"max_reminders": 1},
    "max_reminders": {"reminder_every_hours": 1},
    "return_after_days": {"overdue_days": 1, "max_reminders": 1},
}


@pytest.mark.parametrize(("section", "name", "bounds", "is_float"), core_cases(),
                         ids=lambda c: c if isinstance(c, str) else "")
def test_each_core_number_is_refused_outside_its_range_and_taken_at_its_ends(
        section, name, bounds, is_float):
    low, high, _ = bounds
    key = f"{section}.{name}" + (".P01" if name == "spot_sensors" else "")
    # Control: both ends are accepted (backoff_max_s must also be at least backoff_base_s).
    for value in (low, high):
        raw = section_value(section, name, value)
        if name == "backoff_base_s":
            raw[section]["backoff_max_s"] = high
        if name == "backoff_max_s":
            raw[section]["backoff_base_s"] = low
        if section == "lockers":
            # return_after_days must not come before the last reminder can go out.
            raw[section].update(SCHEDULE_COMPANIONS.get(name, {}))
        config_from_dict(raw, "t.toml")
    outside = [high + 1, low - 1, 10**17, True]
    if is_float:
        outside += [float("inf"), float("-inf"), float("nan"), 1e300]
    for value in outside:
        with pytest.raises(ConfigError) as caught:
            config_from_dict(section_value(section, name, value), "t.toml")
        assert any(p.startswith(f"t.toml: {key}: ") for p in caught.value.problems), \
            (value, caught.value.problems)


@pytest.mark.parametrize("settings", [ParkingSettings, DutySettings])
def test_feature_numbers_are_refused_outside_their_range(settings):
    section = "parking" if settings is ParkingSettings else "duty"

    def read(raw: dict[str, Any]) -> Any:
        return settings.from_config(config_from_dict({section: raw}, "t.toml"))

    def at(name: str, value: Any) -> dict[str, Any]:
        # backoff_max_s must also be at least backoff_base_s (as in [lockers]).
        ranges = {f.name: range_of(f) for f in dataclasses.fields(settings)}
        raw = {name: value}
        if name == "backoff_base_s":
            raw["backoff_max_s"] = ranges["backoff_max_s"][1]
        if name == "backoff_max_s":
            raw["backoff_base_s"] = ranges["backoff_base_s"][0]
        return raw

    for f in numeric_fields(settings):
        bounds = range_of(f)
        assert bounds is not None
        low, high, _ = bounds
        for end in (low, high):  # control: both ends are taken
            assert getattr(read(at(f.name, end)), f.name) == end
        for value in (high + 1, low - 1, float("inf"), float("nan"), True, 10**17):
            with pytest.raises(ConfigError) as caught:
                read({f.name: value})
            assert caught.value.problems[0].startswith(f"t.toml: {section}.{f.name}: ")


def test_the_duty_back_off_follows_the_lockers_bounds():
    def read(raw: dict[str, Any]) -> DutySettings:
        return DutySettings.from_config(config_from_dict({"duty": raw}, "t.toml"))

    lockers = {f.name: range_of(f) for f in dataclasses.fields(LockerConfig)}
    for f in dataclasses.fields(DutySettings):
        if f.name in lockers:
            assert range_of(f) == lockers[f.name], f.name
    defaults = read({})
    assert (defaults.free_attempts, defaults.backoff_base_s, defaults.backoff_max_s,
            defaults.kiosk_burst, defaults.kiosk_gap_s) == (3, 5.0, 600.0, 10, 10.0)
    taken = read({"backoff_base_s": 2, "backoff_max_s": 60})  # whole numbers are fine
    assert (taken.backoff_base_s, taken.backoff_max_s) == (2.0, 60.0)
    with pytest.raises(ConfigError) as caught:
        read({"backoff_base_s": 60, "backoff_max_s": 2})
    assert caught.value.problems == [
        "t.toml: duty.backoff_max_s: must be at least backoff_base_s"]
    with pytest.raises(ConfigError, match=r"duty\.kiosk_gap_s: expected a number"):
        read({"kiosk_gap_s": "10"})


def test_integers_are_fine_where_numbers_are_expected():
    config = config_from_dict({"board": {"timeout_s": 1, "heartbeat_s": 60}})
    assert (config.board.timeout_s, config.board.heartbeat_s) == (1.0, 60.0)


def test_the_lock_ranges_a_board_has_are_all_accepted():
    config = config_from_dict({"compartments": [
        {"board": 0, "locks": "1-16", "size": "S"},
        {"board": 15, "locks": " 1 - 3 , 5,7-7 ", "size": "M"},
        {"board": 15, "locks": list(range(8, 17)), "size": "L"},
        {"board": 14, "locks": 16, "size": "L"}]}, require_compartments=True)
    assert len(config.compartment_list()) == 16 + 5 + 9 + 1


def test_a_group_built_in_code_never_expands_an_unchecked_range():
    with pytest.raises(ValueError, match="lock numbers must be 1-16"):
        CompartmentGroup(0, "1-1000000000000", "S").lock_numbers()


def test_a_list_of_many_bad_items_is_summed_up():
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"gpio": {"spot_sensors": {f"P{n}": True for n in range(1000)}}})
    assert len(caught.value.problems) == 51
    assert caught.value.problems[-1] == "<config>: ... and 950 more problems"


# --- the configs the demo and the simulation build themselves -------------------------------

def as_table(config: Config) -> dict[str, Any]:
    """A built ``Config`` as the TOML table that would make it (no None: TOML has none)."""
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    table = clean(dataclasses.asdict(config))
    table.pop("source")
    return table


def test_the_demo_and_simulation_configs_are_within_bounds(tmp_path):
    from kiosk.setups.demo import demo_config
    from kiosk.setups.simulation import Simulation, SimulationOptions

    demo = demo_config(tmp_path, "/dev/null", ("127.0.0.1", 1883))
    again = config_from_dict(as_table(demo), "<demo>", require_compartments=True)
    assert again.compartment_list() == demo.compartment_list()
    simulation = Simulation(SimulationOptions(host="127.0.0.1", port=1883,
                                              data=str(tmp_path), parcels=1))
    config = simulation.kiosk_config("/dev/null")
    config_from_dict(as_table(config), "<simulate>", require_compartments=True)
    # Control: the same table with a number out of range is refused.
    broken = as_table(config)
    broken["board"]["heartbeat_s"] = float("inf")
    with pytest.raises(ConfigError, match=r"board\.heartbeat_s: must be"):
        config_from_dict(broken, "<simulate>")


def test_the_ranges_written_in_the_example_are_the_ranges_checked():
    """The example's comments ("retries = 2  # 0-10") say what the check does."""
    import re

    classes = {**SECTIONS, "compartments": CompartmentGroup}
    section, seen = "", 0
    for line in EXAMPLE_TEXT.splitlines():
        if header := re.match(r"^\[+([a-z_.]+)\]+", line):
            section = header.group(1)
            continue
        written = re.match(r"^(\w+) = \S+\s+# (?:(\d[\d.]*)-(\d[\d.]*)|0 or 1)\b", line)
        if not written:
            continue
        f = next(f for f in dataclasses.fields(classes[section]) if f.name == written[1])
        bounds = range_of(f)
        assert bounds is not None, line
        expected = (0, 1) if written[2] is None else (float(written[2]), float(written[3]))
        assert bounds[:2] == expected, line
        seen += 1
    assert seen >= 18  # control: the comments were found at all
