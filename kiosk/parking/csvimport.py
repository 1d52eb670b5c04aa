"""Reading the member and spot lists a maintainer imports. Every row is checked before
anything is written, and every problem is reported with its line number."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from kiosk import pins
from kiosk.parking.model import MEMBER_KINDS, SPOT_TYPES, ParkingError

MEMBER_COLUMNS = ("member", "unit", "kind")
MEMBER_OPTIONAL = ("accessible_need", "pin")
# Cells that may be empty: a worker's unit, a household's member (its unit's pseudonym).
MEMBER_EMPTY_OK = ("member", "unit")
SPOT_COLUMNS = ("spot", "type")
SPOT_OPTIONAL = ("pool", "state")
POOLS = ("rounds", "short")
SPOT_STATES = ("in_service", "out_of_service")

_PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_UNIT = re.compile(r"^[A-Z0-9][A-Z0-9_./-]{0,19}$")
# What the kiosk's login pane types (tui/screens/parking/login.py): 8 of these.
_WORKER_LOGIN = re.compile(r"^[A-Za-z0-9-]{1,8}$")
_TRUE, _FALSE = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}


class CsvImportError(ParkingError):
    """A CSV file refused whole; ``problems`` name every line at fault."""

    default_reason = "csv"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems), problems=problems)


@dataclass(frozen=True)
class MemberRow:
    line: int
    member: str
    unit: str
    kind: str
    need: bool
    pin: str | None  # None: keep the PIN a member already has


@dataclass(frozen=True)
class SpotRow:
    line: int
    spot: str
    type: str
    pool: str
    state: str


def default_pool(spot_type: str) -> str:
    # A loading bay serves moving days and deliveries, never one member for a month.
    return "short" if spot_type == "loading" else "rounds"


def normalize_unit(unit: str) -> str:
    return unit.strip().upper()


def member_problems(member: str, unit: str, kind: str, pin: str | None) -> list[str]:
    """A row on its own: a household has a unit (its member may be left empty, for the
    unit's pseudonym); a worker has no unit and logs in at the kiosk with the member
    name, so it must be typeable on the login pane."""
    problems = []
    if kind not in MEMBER_KINDS:
        problems.append(f"kind {kind!r}: must be one of {', '.join(MEMBER_KINDS)}")
    if member and not _PSEUDONYM.match(member):
        problems.append(f"member {member!r}: a pseudonym is 1-40 letters, digits, '-', "
                        "'_' or '.'")
    if kind == "household" and not unit:
        problems.append("a household needs its unit")
    if kind == "worker" and unit:
        problems.append(f"unit {unit}: a worker has no unit (leave it empty: they log in "
                        "with their member name)")
    if kind == "worker" and not member:
        problems.append("a worker needs a member name")
    elif kind == "worker" and member and not _WORKER_LOGIN.match(member):
        problems.append(f"member {member!r}: a worker logs in with it at the kiosk: 1-8 "
                        "letters, digits or '-'")
    if unit and not _UNIT.match(unit):
        problems.append(f"unit {unit!r}: 1-20 letters, digits, '-', '_', '.' or '/'")
    if pin is not None and (why := pins.problem(pin, "a PIN")):
        problems.append(f"pin: {why}")
    return problems


def spot_problems(spot: str, spot_type: str, pool: str, state: str) -> list[str]:
    problems = []
    if not _PSEUDONYM.match(spot):
        problems.append(f"spot {spot!r}: 1-40 letters, digits, '-', '_' or '.'")
    if spot_type not in SPOT_TYPES:
        problems.append(f"type {spot_type!r}: must be one of {', '.join(SPOT_TYPES)}")
    if pool not in POOLS:
        problems.append(f"pool {pool!r}: must be one of {', '.join(POOLS)}")
    if state not in SPOT_STATES:
        problems.append(f"state {state!r}: must be one of {', '.join(SPOT_STATES)}")
    return problems


def read_members(text: str) -> tuple[list[MemberRow], list[str]]:
    """The rows that read well on their own, and the problems of the others (by line), so
    the register can add what only it can check and report everything at once."""
    cells_by_line, problems = _read(text, MEMBER_COLUMNS, MEMBER_OPTIONAL, MEMBER_EMPTY_OK)
    rows = []
    seen_member: dict[str, int] = {}
    seen_unit: dict[str, int] = {}
    for line, cells in cells_by_line:
        member, unit = cells["member"], normalize_unit(cells["unit"])
        kind = cells["kind"].lower()
        pin = cells.get("pin") or None
        row_problems = member_problems(member, unit, kind, pin)
        need_text = (cells.get("accessible_need") or "").lower()
        if need_text not in _TRUE | _FALSE:
            row_problems.append(f"accessible_need {need_text!r}: must be yes or no")
        if member and member in seen_member:
            row_problems.append(f"member {member} is already on line {seen_member[member]}")
        if unit and unit in seen_unit:
            row_problems.append(f"unit {unit} is already on line {seen_unit[unit]}")
        if member:
            seen_member.setdefault(member, line)
        if unit:
            seen_unit.setdefault(unit, line)
        problems += [f"line {line}: {p}" for p in row_problems]
        if not row_problems:
            rows.append(MemberRow(line, member, unit, kind, need_text in _TRUE, pin))
    return rows, problems


def parse_spots(text: str) -> list[SpotRow]:
    cells_by_line, problems = _read(text, SPOT_COLUMNS, SPOT_OPTIONAL)
    rows = []
    seen: dict[str, int] = {}
    for line, cells in cells_by_line:
        spot, spot_type = cells["spot"], cells["type"].lower()
        pool = (cells.get("pool") or default_pool(spot_type)).lower()
        state = (cells.get("state") or "in_service").lower()
        row_problems = spot_problems(spot, spot_type, pool, state)
        if spot in seen:
            row_problems.append(f"spot {spot} is already on line {seen[spot]}")
        seen.setdefault(spot, line)
        problems += [f"line {line}: {p}" for p in row_problems]
        rows.append(SpotRow(line, spot, spot_type, pool, state))
    if problems:
        raise CsvImportError(problems)
    return rows


def _read(text: str, required: tuple[str, ...], optional: tuple[str, ...],
          empty_ok: tuple[str, ...] = ()) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """(line number, cells) of every well-formed non-blank row, and the problems of the
    others. A bad header is reported at once: no row can be read without it."""
    text = text.removeprefix("\ufeff")  # a spreadsheet's byte-order mark
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvImportError(["line 1: the file is empty (expected a header: "
                              f"{','.join(required + optional)})"]) from None
    except csv.Error as exc:
        raise CsvImportError([f"line 1: not readable as CSV ({exc})"]) from None
    columns = [c.strip().lower() for c in header]
    problems = [f"line 1: column {c!r} is not known (known: {', '.join(required + optional)})"
                for c in columns if c not in required + optional]
    problems += [f"line 1: column {c!r} is missing" for c in required if c not in columns]
    problems += [f"line 1: column {c!r} appears twice" for c in set(columns)
                 if columns.count(c) > 1]
    if problems:
        raise CsvImportError(problems)
    rows, problems = [], []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(columns):
                problems.append(f"line {line}: {len(cells)} cells, the header has "
                                f"{len(columns)}")
                continue
            values = {c: v.strip() for c, v in zip(columns, cells, strict=True)}
            missing = [c for c in required if not values[c] and c not in empty_ok]
            if missing:
                problems.append(f"line {line}: empty {', '.join(missing)}")
                continue
            rows.append((line, values))
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not readable as CSV ({exc})")
    return rows, problems
