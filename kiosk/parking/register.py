"""The parking register: members, spots, allocation rounds and short reservations.

Every state change commits together with its event (and, for a maintainer's edit, its
audit entry) in one step. Events name members by pseudonym only. The occupancy sensors
and the screen reach the register through plain method calls (the screen through
``kiosk/parking/desk.py``, which checks no rule of its own).

Each parking rule is checked here, once. A request it turns down raises ``ParkingError``
(``kiosk/refusals.py``) with nothing changed, a message for the command line and one of
these ``reason`` codes (details in brackets), which the screen words:

- a member at the kiosk: ``wrong_login`` [wait_s] (a wait still running is
  ``backoff.TooManyAttempts``), ``short_household_pin`` / ``short_pin`` [digits] (shorter
  than any PIN set now, kiosk/pins.py: refused before any lookup, not counted),
  ``not_member`` (unknown or left), ``need`` (accessible spots are for a declared need),
  ``no_spot_type``;
- rounds: ``round_busy`` [round_id] (that round is closed or committed but not drawn:
  no other takes requests or closes meanwhile), ``round_closed`` [round_id], ``no_request``,
  ``not_held`` (no spot this round to release), ``bad_round_id``, ``round_too_large``
  [round_id, bytes, limit] (its draw record might not be published whole: it stays open);
- reservations: ``bad_kind``, ``no_time_zone``, ``slot_order`` (ends before it starts),
  ``too_long`` [max_hours], ``slot_over``, ``overlap`` (another reservation or waitlist
  place then), ``no_reservation``, ``not_yours``, ``reservation_state`` [status],
  ``check_in_later`` [at: when check-in opens], ``no_offer`` (none waiting, or lapsed),
  ``not_waiting``; ``gate`` (the gate opens for no one without a spot or a check-in now);
- maintainers: ``no_member``, ``member_exists``, ``invalid_member`` [problems],
  ``no_spot``, ``spot_exists``, ``invalid_spot`` [problems], ``csv`` [problems]
  (``CsvImportError``), ``round_state`` [round_id, status] (a step out of order),
  ``bad_public_random``, ``memory_changed``, ``not_announced`` (a round closes only once
  the source of its public random value is announced), ``announced`` (already),
  ``inputs_changed`` [round_id, problems] (the round's stored close, announcement or
  commitment is not what its draw chain entries published: nothing is committed or
  drawn); ``memory_changed`` also when the memory a commit would start from is not the one
  the draw chain's newest draw left.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from kiosk import backoff, households, pins
from kiosk.audit import MAX_ENTRY_BYTES, AuditEntry, AuditLog, HashChain
from kiosk.codes import keyed_hash
from kiosk.config import LockerConfig
from kiosk.events import Clock, Outbox, iso, parse_iso, utc_now
from kiosk.parking.allocation import ALGORITHM_VERSION, Memory, eligible_list
from kiosk.parking.csvimport import (
    CsvImportError,
    default_pool,
    member_problems,
    normalize_unit,
    parse_spots,
    read_members,
    spot_problems,
)
from kiosk.parking.model import (
    ACCESSIBLE,
    SPOT_TYPES,
    Ask,
    ParkingError,
    Spot,
    may_ask_for,
    sha256_hex,
)
from kiosk.parking.policies import RoundInput
from kiosk.parking.record import (
    ANNOUNCED_KEYS,
    CLOSED_KEYS,
    MAX_PUBLIC_RANDOM,
    largest_record,
    make_commitment,
    make_inputs,
    make_record,
    rows_differ,
)
from kiosk.parking.settings import ParkingSettings
from kiosk.store import Store, insert_with_id

LIVE = ("held", "booked", "checked_in")
# The back-off scope of wrong member PINs at the kiosk.
LOGIN_SCOPE = "parking-login"
LOGIN_CAP = backoff.RateCap(burst=10, gap_s=10.0)
LIVE_SQL = "(" + ", ".join(f"'{status}'" for status in LIVE) + ")"
RESERVATION_KINDS = ("visitor", "moving")
_ROUND_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
# Room in a round's draw entry, besides its record, for the entry's own fields and the
# actor and reason the draw is given (a draw given a reason longer still is refused,
# ``EntryTooLarge``, and can be given a shorter one).
DRAW_ENTRY_ROOM = 64 * 1024


class DrawChain(HashChain):
    """Every step of every round, whole: ``parking.announced`` (the source of the public
    random value), ``parking.closed`` (the eligible list and spots), ``parking.committed``
    (the commitment) and ``parking.drawn`` (the record). Published entry by entry
    (``parking.draw_entry``); a witness holding it sees a second commitment for a round,
    or any entry changed or gone."""

    table = "parking_draw_chain"
    event = "parking.draw_entry"


MEMBER_SQL = ("SELECT m.member, m.unit, m.kind, m.need, m.active, "
              "COALESCE(m.pin_hash, h.pin_hash) AS pin_hash FROM parking_members m "
              "LEFT JOIN households h ON h.unit = m.unit")


@dataclass(frozen=True)
class Member:
    member: str
    unit: str | None  # a household's; a worker has none
    kind: str
    need: bool
    active: bool
    has_pin: bool


@dataclass(frozen=True)
class SpotInfo:
    spot: str
    type: str
    pool: str
    state: str
    occupied: bool | None


@dataclass(frozen=True)
class Reservation:
    id: int
    member: str
    spot: str
    type: str
    kind: str
    start: datetime
    end: datetime
    status: str
    offer_expires: datetime | None
    waitlist_id: int | None


@dataclass(frozen=True)
class Reserved:
    """What ``reserve`` gave: a reservation, or a place on the waitlist."""

    reservation: Reservation | None = None
    waitlist_id: int | None = None
    position: int | None = None


@dataclass(frozen=True)
class RoundsNow:
    """Where requests go: the open round, a round closed or committed but not drawn, and
    the name the next round takes when none is open."""

    open: str | None
    busy: str | None
    next: str


@dataclass(frozen=True)
class ImportReport:
    added: int
    changed: int
    unchanged: int


class ParkingRegister:
    def __init__(self, store: Store, outbox: Outbox, clock: Clock = utc_now,
                 settings: ParkingSettings | None = None, audit: AuditLog | None = None,
                 login_backoff: backoff.BackoffPolicy | None = None,
                 household_guard: backoff.Guard | None = None):
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.settings = settings or ParkingSettings()
        self.audit = audit or AuditLog(store, outbox, clock)
        self.chain = DrawChain(store, outbox, clock)
        self.login_backoff = login_backoff or backoff.BackoffPolicy()  # workers' PINs
        # A household's PIN counts with its parcel codes, under ``[lockers]``' back-off
        # (kiosk/households.py): pass the kiosk's (``households.guard(config.lockers)``).
        self.household_guard = household_guard or households.guard(LockerConfig())
        self._secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    # --- members ------------------------------------------------------------------------
    # A household's member is its identity's pseudonym (kiosk/households.py: one
    # pseudonym, one PIN for the lockers and parking); a worker has no unit and a PIN here.

    def add_member(self, actor: str, reason: str, member: str, unit: str | None, kind: str,
                   need: bool = False, pin: str | None = None) -> Member:
        """``member`` may be empty for a household that exists: its pseudonym is taken."""
        with self.store.step() as db:
            member, unit = self._checked(db, member, normalize_unit(unit or ""), kind, pin)
            if self._member_row(db, member) is not None:
                raise ParkingError(f"member {member} exists already", reason="member_exists")
            self._write_member(db, actor, reason, member, unit, kind, need, pin, True)
        return self.member(member)

    def update_member(self, actor: str, reason: str, member: str, *, unit: str | None = None,
                      kind: str | None = None, need: bool | None = None,
                      pin: str | None = None, active: bool | None = None) -> Member:
        """A maintainer's edit at the kiosk; only the fields given change (a worker has no
        unit: becoming one drops it)."""
        with self.store.step() as db:
            row = self._member_row(db, member)
            if row is None:
                raise ParkingError(f"no member {member}", reason="no_member")
            new_kind = kind if kind is not None else row["kind"]
            new_unit = (normalize_unit(unit) if unit is not None
                        else None if new_kind == "worker" else row["unit"])
            named, new_unit = self._checked(db, member, new_unit or "", new_kind, pin)
            if named != member:
                raise ParkingError(f"unit {new_unit} is the household {named}, not {member}",
                                   reason="invalid_member", problems=[])
            new_active = bool(row["active"]) if active is None else active
            self._write_member(db, actor, reason, member, new_unit, new_kind,
                               bool(row["need"]) if need is None else need, pin, new_active)
        return self.member(member)

    def import_members(self, text: str, actor: str, reason: str = "CSV import") -> ImportReport:
        """Add or update every member listed; all rows or none. Raises ``CsvImportError``."""
        rows, read_problems = read_members(text)
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        with self.store.step() as db:
            problems = list(read_problems)
            checked: list[tuple[Any, str, str | None]] = []
            lines: dict[str, int] = {}
            for row in rows:
                try:
                    member, unit = self._checked(db, row.member, row.unit, row.kind, row.pin)
                except ParkingError as exc:
                    problems += [f"line {row.line}: {p}" for p in exc.details["problems"]]
                    continue
                if member in lines:
                    problems.append(f"line {row.line}: member {member} is already on line "
                                    f"{lines[member]}")
                lines.setdefault(member, row.line)
                checked.append((row, member, unit))
            if problems:
                raise CsvImportError(sorted(problems, key=_line_no))
            for row, member, unit in checked:
                outcome = self._write_member(db, actor, reason, member, unit,
                                             row.kind, row.need, row.pin, True)
                counts[outcome] += 1
        return ImportReport(**counts)

    def _checked(self, db: sqlite_utils.Database, member: str, unit: str, kind: str,
                 pin: str | None) -> tuple[str, str | None]:
        """(member, unit) a row stands for, or ``ParkingError`` (``invalid_member``) naming
        every problem: a household's member is its unit's pseudonym; a worker has no unit
        and logs in with the member name, so it may be no household's unit or pseudonym."""
        problems = member_problems(member, unit, kind, pin)
        if kind == "household" and unit and not problems:
            row = db.execute("SELECT pseudonym FROM households WHERE unit = ?",
                             (unit,)).fetchone()
            if row is not None and member and member != row[0]:
                problems.append(f"unit {unit} is the household {row[0]}: its member is "
                                "that pseudonym (write it, or leave member empty)")
            elif row is not None:
                member = row[0]
            elif not member:
                problems.append(f"unit {unit} has no household yet: name its member")
            elif db.execute("SELECT 1 FROM households WHERE pseudonym = ?",
                            (member,)).fetchone():
                problems.append(f"member {member}: another unit's household has it")
        elif kind == "worker" and not problems and db.execute(
                "SELECT 1 FROM households WHERE pseudonym = ? OR unit = ?",
                (member, normalize_unit(member))).fetchone():
            problems.append(f"member {member}: a household's unit or pseudonym (a worker "
                            "logs in with the member name)")
        if problems:
            raise ParkingError("; ".join(problems), reason="invalid_member", problems=problems)
        return member, unit or None

    def _write_member(self, db: sqlite_utils.Database, actor: str, reason: str, member: str,
                      unit: str | None, kind: str, need: bool, pin: str | None,
                      active: bool) -> str:
        old = self._member_row(db, member)
        new: dict[str, Any] = {"member": member, "unit": unit, "kind": kind,
                               "need": int(need), "active": int(active), "pin_hash": None}
        pin_changed = False
        if kind == "household":
            # The household's one PIN, the lockers' too (kiosk/households.py).
            before = db.execute("SELECT pin_hash FROM households WHERE unit = ?",
                                (unit,)).fetchone()
            after = (households.pin_hash(self._secret, pin) if pin is not None
                     else before[0] if before else None)
            if before is None:
                db.execute("INSERT INTO households (unit, pseudonym, pin_hash) "
                           "VALUES (?, ?, ?)", (unit, member, after))
            elif after != before[0]:
                db.execute("UPDATE households SET pin_hash = ? WHERE unit = ?", (after, unit))
            pin_changed = before is not None and after != before[0]
        else:
            new["pin_hash"] = (keyed_hash(self._secret, "parking-pin", pin) if pin is not None
                               else old["pin_hash"] if old else None)
        changed = sorted({"need": "accessible_need", "pin_hash": "pin"}.get(k, k)
                         for k, v in new.items() if old is not None and old[k] != v)
        if pin_changed and "pin" not in changed:
            changed = sorted([*changed, "pin"])
        if old is not None and not changed:
            return "unchanged"
        db.table("parking_members").upsert(new, pk="member")
        # The audit names which fields changed; a PIN or a unit never leaves the kiosk.
        public = {"kind": kind, "accessible_need": need, "active": active}
        if old is None:
            self.audit.append(db, actor, "parking.member_added", member, reason, public)
            return "added"
        self.audit.append(db, actor, "parking.member_changed", member, reason,
                          {**public, "changed": changed})
        if not active:
            self._member_left(db, member)
        return "changed"

    def _member_left(self, db: sqlite_utils.Database, member: str) -> None:
        """A member who leaves takes back open requests and waitlist places."""
        db.execute("DELETE FROM parking_requests WHERE member = ? AND round IN "
                   "(SELECT round FROM parking_rounds WHERE status = 'open')", (member,))
        db.execute("UPDATE parking_waitlist SET status = 'cancelled' WHERE member = ? "
                   "AND status = 'waiting'", (member,))

    def _member_row(self, db: sqlite_utils.Database, member: str) -> dict[str, Any] | None:
        rows = list(db.query("SELECT * FROM parking_members WHERE member = ?", (member,)))
        return rows[0] if rows else None

    def member(self, member: str) -> Member:
        rows = self.store.query(MEMBER_SQL + " WHERE m.member = ?", (member,))
        if not rows:
            raise ParkingError(f"no member {member}", reason="no_member")
        return _member(rows[0])

    def members(self) -> list[Member]:
        return [_member(r) for r in self.store.query(MEMBER_SQL + " ORDER BY m.member")]

    def authenticate(self, login: str, pin: str) -> Member:
        """Member login at the kiosk: a household's unit and its PIN (the one the lockers
        know), or a worker's member name and theirs. Wrong tries make the next ones wait:
        while a wait runs, ``backoff.TooManyAttempts`` says how long."""
        typed = normalize_unit(login)
        with self.store.step() as db:
            household = db.execute("SELECT member FROM parking_members WHERE unit = ? AND "
                                   "active = 1", (typed,)).fetchone()
            # Shorter than any PIN set now: refused before any PIN is hashed or looked
            # up, and not counted (kiosk/pins.py).
            if pins.too_short(pin) and household is not None:
                raise ParkingError(pins.short_message(household=True),
                                   reason="short_household_pin", digits=pins.MIN_DIGITS)
            if pins.too_short(pin):
                raise ParkingError(pins.short_message(), reason="short_pin",
                                   digits=pins.MIN_DIGITS)
            # Counted per unit (or name), under a small kiosk-wide cap (kiosk/backoff.py):
            # wrong PINs typed for one household never lock out another. A household's
            # count and cap are its parcel codes' too: one budget (kiosk/households.py).
            if household is not None:
                guard, scope = self.household_guard, households.CAP_SCOPE
                key = households.attempts_key(typed)
            else:
                guard, scope = backoff.Guard(self.login_backoff, LOGIN_CAP), LOGIN_SCOPE
                key = f"{scope}:{typed[:16]}"
            tried = guard.attempt(db, scope, key, self._now(), lambda: self._login(
                db, typed, pin.strip(), household[0] if household else None))
            if tried.found is not None:
                return self._member_in(db, tried.found)
            wait_s = tried.wait_s
            self.outbox.append(db, "security.wrong_pin",
                               {"scope": scope, "failures": tried.failures, "wait_s": wait_s})
        raise ParkingError(f"wrong unit or PIN; wait {wait_s:.0f} s" if wait_s
                           else "wrong unit or PIN", reason="wrong_login", wait_s=wait_s)

    def _login(self, db: sqlite_utils.Database, typed: str, pin: str,
               household: str | None) -> str | None:
        if household is not None:
            right = households.check_pin(db, self._secret, typed, pin)
            return household if right else None
        worker = db.execute("SELECT member FROM parking_members WHERE kind = 'worker' AND "
                            "active = 1 AND upper(member) = ? AND pin_hash = ?",
                            (typed, keyed_hash(self._secret, "parking-pin", pin))).fetchone()
        return worker[0] if worker else None

    def _member_in(self, db: sqlite_utils.Database, member: str) -> Member:
        return _member(next(iter(db.query(MEMBER_SQL + " WHERE m.member = ?", (member,)))))

    # --- spots --------------------------------------------------------------------------

    def add_spot(self, actor: str, reason: str, spot: str, spot_type: str,
                 pool: str | None = None, state: str = "in_service") -> SpotInfo:
        pool = pool or default_pool(spot_type)
        problems = spot_problems(spot, spot_type, pool, state)
        if problems:
            raise ParkingError("; ".join(problems), reason="invalid_spot", problems=problems)
        with self.store.step() as db:
            if db.execute("SELECT 1 FROM parking_spots WHERE spot = ?", (spot,)).fetchone():
                raise ParkingError(f"spot {spot} exists already", reason="spot_exists")
            self._write_spot(db, actor, reason, spot, spot_type, pool, state)
        return self.spot(spot)

    def set_spot_state(self, actor: str, spot: str, state: str, reason: str) -> SpotInfo:
        """Take a spot out of service or back; its reservations move or are cancelled."""
        info = self.spot(spot)
        problems = spot_problems(spot, info.type, info.pool, state)
        if problems:
            raise ParkingError("; ".join(problems), reason="invalid_spot", problems=problems)
        with self.store.step() as db:
            self._write_spot(db, actor, reason, spot, info.type, info.pool, state)
        return self.spot(spot)

    def import_spots(self, text: str, actor: str, reason: str = "CSV import") -> ImportReport:
        rows = parse_spots(text)
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        with self.store.step() as db:
            for row in rows:
                outcome = self._write_spot(db, actor, reason, row.spot, row.type, row.pool,
                                           row.state)
                counts[outcome] += 1
        return ImportReport(**counts)

    def _write_spot(self, db: sqlite_utils.Database, actor: str, reason: str, spot: str,
                    spot_type: str, pool: str, state: str) -> str:
        rows = list(db.query("SELECT * FROM parking_spots WHERE spot = ?", (spot,)))
        old = rows[0] if rows else None
        new = {"spot": spot, "type": spot_type, "pool": pool, "state": state}
        if old is not None and all(old[k] == v for k, v in new.items()):
            return "unchanged"
        db.table("parking_spots").upsert(new, pk="spot")
        now = self._now()
        if old is None:
            self.audit.append(db, actor, "parking.spot_added", spot, reason,
                              {"type": spot_type, "pool": pool, "state": state})
        else:
            self.audit.append(db, actor, "parking.spot_changed", spot, reason,
                              {"type": spot_type, "pool": pool, "state": state,
                               "changed": sorted(k for k, v in new.items() if old[k] != v)})
            if state != "in_service":
                self._displace(db, spot, now, "spot out of service")
            elif spot_type != old["type"]:
                self._displace(db, spot, now, "spot changed type")
        if state == "in_service":
            self._offer(db, spot, now)
        if old is None:
            return "added"
        return "changed"

    def spot(self, spot: str) -> SpotInfo:
        rows = self.store.query("SELECT * FROM parking_spots WHERE spot = ?", (spot,))
        if not rows:
            raise ParkingError(f"no spot {spot}", reason="no_spot")
        return _spot(rows[0])

    def spots(self) -> list[SpotInfo]:
        return [_spot(r) for r in self.store.query("SELECT * FROM parking_spots ORDER BY spot")]

    # --- allocation rounds --------------------------------------------------------------

    def request(self, member: str, round_id: str, spot_type: str) -> None:
        """Ask for a spot of one type in an open round (again: the new type counts)."""
        _check_round_id(round_id)
        with self.store.step() as db:
            self._request(db, member, round_id, spot_type)

    def ask(self, member: str, spot_type: str) -> str:
        """Ask in the round taking requests: the open one, else a new one named by month.
        None takes requests while a round is closed or committed but not drawn. Returns the
        round's name."""
        with self.store.step() as db:
            rounds = self._rounds_now(db)
            if rounds.open is None and rounds.busy is not None:
                raise ParkingError(f"round {rounds.busy} is being drawn; ask once it is",
                                   reason="round_busy", round_id=rounds.busy)
            round_id = rounds.open or rounds.next
            self._request(db, member, round_id, spot_type)
        return round_id

    def _request(self, db: sqlite_utils.Database, member: str, round_id: str,
                 spot_type: str) -> None:
        if spot_type not in SPOT_TYPES:
            raise ParkingError(f"no spot type {spot_type!r}", reason="no_spot_type")
        now = iso(self._now())
        self._check_need(self._active_member(db, member), spot_type)
        status = self._round_status(db, round_id)
        if status is None:
            db.table("parking_rounds").insert({"round": round_id, "status": "open",
                                            "opened_ts": now})
        elif status != "open":
            raise ParkingError(f"round {round_id} is closed for requests",
                               reason="round_closed", round_id=round_id)
        db.execute(
            "INSERT INTO parking_requests (round, member, type, requested_ts) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (round, member) DO UPDATE SET "
            "type = excluded.type", (round_id, member, spot_type, now))
        self.outbox.append(db, "parking.requested",
                           {"round": round_id, "member": member, "type": spot_type})

    def withdraw(self, member: str, round_id: str | None = None) -> str:
        """Take back a request: in the round named, or else in the open one. Returns the
        round's name."""
        with self.store.step() as db:
            if round_id is None:
                round_id = self._rounds_now(db).open
                if round_id is None:
                    raise ParkingError("no round takes requests now", reason="no_request")
            elif self._round_status(db, round_id) != "open":
                raise ParkingError(f"round {round_id} is not open", reason="round_closed",
                                   round_id=round_id)
            gone = db.execute("DELETE FROM parking_requests WHERE round = ? AND member = ?",
                              (round_id, member)).rowcount
            if not gone:
                raise ParkingError(f"{member} has no request in round {round_id}",
                                   reason="no_request")
            self.outbox.append(db, "parking.request_withdrawn",
                               {"round": round_id, "member": member})
        return round_id

    def rounds_now(self) -> RoundsNow:
        with self.store.read() as db:
            return self._rounds_now(db)

    def _rounds_now(self, db: sqlite_utils.Database) -> RoundsNow:
        rows = list(db.query("SELECT round, status FROM parking_rounds "
                             "ORDER BY opened_ts, round"))
        return RoundsNow(
            open=next((r["round"] for r in rows if r["status"] == "open"), None),
            busy=next((r["round"] for r in rows if r["status"] in ("closed", "committed")),
                      None),
            next=next_round_id(self._now(), {r["round"] for r in rows}))

    def requests(self, round_id: str) -> list[Ask]:
        return [Ask(r["member"], r["type"], bool(r["need"])) for r in self.store.query(
            "SELECT q.member, q.type, m.need FROM parking_requests q "
            "JOIN parking_members m USING (member) WHERE q.round = ? ORDER BY q.member",
            (round_id,))]

    def announce(self, round_id: str, source: str, actor: str = "kiosk",
                 reason: str = "random source announced") -> dict[str, Any]:
        """Name, in public and before requests close, where the round's public random
        value will come from (e.g. a named lottery's draw of a given date). A round closes
        only once it is announced, so nobody can choose the source to suit the list."""
        _check_round_id(round_id)
        source = source.strip()
        if not source or len(source) > 256 or "\n" in source:
            raise ParkingError("the source must be one line of 1-256 characters",
                               reason="bad_public_random")
        now = iso(self._now())
        with self.store.step() as db:
            status = self._round_status(db, round_id)
            if status not in (None, "open"):
                raise ParkingError(f"round {round_id} is already {status}",
                                   reason="round_state", round_id=round_id, status=status)
            if status is None:
                db.table("parking_rounds").insert({"round": round_id, "status": "open",
                                                "opened_ts": now})
            elif db.execute("SELECT announced FROM parking_rounds WHERE round = ?",
                            (round_id,)).fetchone()[0] is not None:
                raise ParkingError(f"round {round_id}'s random source is announced already",
                                   reason="announced", round_id=round_id)
            announced = {"random_source": source, "announced_at": now}
            db.execute("UPDATE parking_rounds SET announced = ? WHERE round = ?",
                       (json.dumps(announced), round_id))
            self.chain.append(db, actor, "parking.announced", round_id, reason, announced)
            self.audit.append(db, actor, "parking.random_announced", round_id, reason,
                              announced)
            self.outbox.append(db, "parking.random_announced", {"round": round_id,
                                                                **announced})
        return announced

    def close(self, round_id: str, actor: str = "kiosk",
              reason: str = "requests closed") -> dict[str, Any]:
        """Stop taking requests and fix who asked and which spots are drawn. Close before
        the public random value is known, so nobody can pick the eligible list to suit it."""
        _check_round_id(round_id)
        with self.store.step() as db:
            return self._close(db, round_id, self._now(), actor, reason)

    def _close(self, db: sqlite_utils.Database, round_id: str,
               now: datetime, actor: str, reason: str) -> dict[str, Any]:
        status = self._round_status(db, round_id)
        if status not in (None, "open"):
            raise ParkingError(f"round {round_id} is already {status}", reason="round_state",
                               round_id=round_id, status=status)
        pending = db.execute("SELECT round, status FROM parking_rounds WHERE status IN "
                             "('closed', 'committed')").fetchone()
        if pending:
            raise ParkingError(f"round {pending[0]} is {pending[1]} but not drawn yet",
                               reason="round_busy", round_id=pending[0])
        announced = db.execute("SELECT announced FROM parking_rounds WHERE round = ?",
                               (round_id,)).fetchone()
        if announced is None or announced[0] is None:
            raise ParkingError(f"announce where round {round_id}'s public random value will "
                               "come from before closing it", reason="not_announced",
                               round_id=round_id)
        # Members who left, or lost a declared need, since asking are not eligible.
        asks = [Ask(r["member"], r["type"], bool(r["need"])) for r in db.query(
            "SELECT q.member, q.type, m.need FROM parking_requests q "
            "JOIN parking_members m USING (member) WHERE q.round = ? AND m.active = 1 "
            "AND (q.type != 'accessible' OR m.need = 1)", (round_id,))]
        spots = [{"spot": r["spot"], "type": r["type"]} for r in db.query(
            "SELECT spot, type FROM parking_spots WHERE state = 'in_service' "
            "AND pool = 'rounds' ORDER BY spot")]
        closed = {"closed_at": iso(now), "eligible": eligible_list(asks), "spots": spots}
        self._check_fits(db, round_id, closed, json.loads(announced[0]))
        db.execute("UPDATE parking_rounds SET status = 'closed', closed = ? WHERE round = ?",
                   (json.dumps(closed), round_id))
        self.chain.append(db, actor, "parking.closed", round_id, reason, closed)
        self.audit.append(db, actor, "parking.round_closed", round_id, reason,
                          {"eligible_hash": sha256_hex(closed["eligible"]),
                           "requests": len(closed["eligible"]), "spots": len(spots)})
        self.outbox.append(db, "parking.round_closed", {
            "round": round_id, "closed_at": closed["closed_at"],
            "eligible_hash": sha256_hex(closed["eligible"]),
            "askers": _count(a.type for a in asks),
            "spots": _count(s["type"] for s in spots)})
        return closed

    def _check_fits(self, db: sqlite_utils.Database, round_id: str, closed: dict[str, Any],
                    announced: dict[str, Any]) -> None:
        """Refuse to close a round whose draw record might not be published whole: once
        closed it must be committed and drawn, and a draw entry the chain refused would
        leave the round closed for good (``largest_record``, docs/parking.md)."""
        asks = [Ask(e["member"], e["type"], e["type"] == ACCESSIBLE)
                for e in closed["eligible"]]
        spots = [Spot(s["spot"], s["type"]) for s in closed["spots"]]
        largest = largest_record(round_id, asks, spots, self._memory(db),
                                 self.settings.lend_accessible,
                                 closed_at=closed["closed_at"],
                                 random_source=announced["random_source"],
                                 announced_at=announced["announced_at"])
        size = len(json.dumps(largest, ensure_ascii=False, sort_keys=True).encode())
        if size + DRAW_ENTRY_ROOM > MAX_ENTRY_BYTES:
            raise ParkingError(
                f"round {round_id} cannot close: its draw record could take {size} bytes, "
                f"more than the {MAX_ENTRY_BYTES - DRAW_ENTRY_ROOM} a record may take to be "
                f"published whole ({len(asks)} requests, {len(spots)} spots); it stays "
                "open", reason="round_too_large", round_id=round_id, bytes=size,
                limit=MAX_ENTRY_BYTES - DRAW_ENTRY_ROOM)

    def commit(self, round_id: str, public_random: str, actor: str = "kiosk",
               reason: str = "draw inputs committed") -> dict[str, Any]:
        """Fix the draw's inputs with the public random value; they are published before
        the draw. Only a closed round is committed: an open one is refused."""
        _check_round_id(round_id)
        public_random = public_random.strip()
        if (not public_random or len(public_random) > MAX_PUBLIC_RANDOM
                or "\n" in public_random):
            raise ParkingError("the public random value must be one line of 1-256 characters",
                               reason="bad_public_random")
        now = self._now()
        with self.store.step() as db:
            status = self._round_status(db, round_id)
            if status in (None, "open"):
                # The list must be fixed before the value can be known: never both at once.
                raise ParkingError(f"round {round_id} is still open: close it before the "
                                   "public random value is known", reason="round_state",
                                   round_id=round_id, status=status or "open")
            if status != "closed":
                raise ParkingError(f"round {round_id} is already {status}",
                                   reason="round_state", round_id=round_id, status=status)
            row = db.execute("SELECT closed, announced FROM parking_rounds WHERE "
                             "round = ?", (round_id,)).fetchone()
            # The round's table row is editable; the draw chain's entries were published
            # when the round closed. The commitment carries what they said, or nothing is
            # committed: a list changed after the close would steer the draw unseen.
            closed = self._chain_step(db, "parking.closed", round_id)
            announced = self._chain_step(db, "parking.announced", round_id)
            problems = _against_chain(
                round_id, {"closed": row[0], "announced": row[1]},
                {"closed": closed, "announced": announced})
            if problems or closed is None or announced is None:
                raise ParkingError(f"round {round_id} cannot be committed: "
                                   + "; ".join(problems), reason="inputs_changed",
                                   round_id=round_id, problems=problems)
            asks = [Ask(e["member"], e["type"], e["type"] == ACCESSIBLE)
                    for e in closed["eligible"]]
            spots = [Spot(s["spot"], s["type"]) for s in closed["spots"]]
            memory = self._memory(db)
            # The memory is editable too; the draw before published the one it left.
            drawn = self._newest_drawn(db)
            if drawn is not None and (memory.hash() != drawn[1]["results"]
                                      ["posterior_state_hash"]):
                raise ParkingError(f"round {round_id} cannot be committed: the register's "
                                   f"memory is not the one round {drawn[0]}'s draw left "
                                   "(draw chain)", reason="memory_changed",
                                   round_id=round_id)
            inputs = make_inputs(round_id, asks, spots, memory, public_random, iso(now),
                                 self.settings.lend_accessible, ALGORITHM_VERSION,
                                 closed_at=closed["closed_at"],
                                 random_source=announced["random_source"],
                                 announced_at=announced["announced_at"])
            commitment = make_commitment(inputs)
            db.execute("UPDATE parking_rounds SET status = 'committed', commitment = ? "
                       "WHERE round = ?", (json.dumps(commitment), round_id))
            self.chain.append(db, actor, "parking.committed", round_id, reason, commitment)
            self.audit.append(db, actor, "parking.round_committed", round_id, reason,
                              {"inputs_hash": commitment["inputs_hash"],
                               "public_random": public_random})
            self.outbox.append(db, "parking.draw_committed", {
                "round": round_id, "round_no": inputs["round_no"],
                "algorithm": inputs["algorithm"], "public_random": public_random,
                "closed_at": inputs["closed_at"],
                "inputs_hash": commitment["inputs_hash"],
                "eligible_hash": inputs["eligible_hash"],
                "prior_state_hash": inputs["prior_state_hash"],
                "askers": _count(a.type for a in asks), "spots": _count(s.type for s in spots)})
        return commitment

    def draw(self, round_id: str, actor: str = "kiosk",
             reason: str = "committed draw run") -> dict[str, Any]:
        """Run the committed draw, store and publish its record and the allocations."""
        now = self._now()
        with self.store.step() as db:
            status = self._round_status(db, round_id)
            if status != "committed":
                raise ParkingError(f"round {round_id} is not committed"
                                   + (f" (it is {status})" if status else ""),
                                   reason="round_state", round_id=round_id, status=status)
            stored = json.loads(db.execute(
                "SELECT commitment FROM parking_rounds WHERE round = ?",
                (round_id,)).fetchone()[0])
            # The draw runs on the commitment the draw chain published, never on an
            # edited copy of it (a round's first: a second is itself an alarm).
            commitment = self._chain_step(db, "parking.committed", round_id)
            if commitment != stored:
                why = (f"no parking.committed entry for round {round_id} in the draw chain"
                       if commitment is None else "commitment: the register's copy differs "
                       "from the draw chain's parking.committed entry")
                raise ParkingError(f"round {round_id} cannot be drawn: {why}",
                                   reason="inputs_changed", round_id=round_id,
                                   problems=[why])
            assert commitment is not None
            memory = self._memory(db)
            if memory.hash() != commitment["inputs"]["prior_state_hash"]:
                raise ParkingError("the register's memory changed since the commitment",
                                   reason="memory_changed")
            drawn_at = max(iso(now), commitment["inputs"]["committed_at"])
            record, after = make_record(commitment, drawn_at)
            results = record["results"]
            db.execute("UPDATE parking_rounds SET status = 'drawn', round_no = ?, record = ? "
                       "WHERE round = ?",
                       (commitment["inputs"]["round_no"], json.dumps(record), round_id))
            db.execute("INSERT OR REPLACE INTO parking_state (id, state, state_hash) "
                       "VALUES (1, ?, ?)", (json.dumps(after.to_json()), after.hash()))
            self.chain.append(db, actor, "parking.drawn", round_id, reason, record)
            self.audit.append(db, actor, "parking.round_drawn", round_id, reason,
                              {"inputs_hash": record["inputs_hash"],
                               "results_hash": record["results_hash"]})
            for row in results["assignments"]:
                db.table("parking_allocations").insert(
                    {"round": round_id, "member": row["member"], "spot": row["spot"],
                     "type": row["type"]})
                self.outbox.append(db, "parking.allocated", {"round": round_id, **row})
                self._displace(db, row["spot"], now, "spot allocated in the new round")
            for row in results["refused"]:
                self.outbox.append(db, "parking.refused",
                                   {"kind": "round", "round": round_id, **row})
            self.outbox.append(db, "parking.draw_published", {
                "round": round_id, "round_no": commitment["inputs"]["round_no"],
                "inputs_hash": record["inputs_hash"], "results_hash": record["results_hash"],
                "allocated": len(results["assignments"]), "refused": len(results["refused"]),
                "summary": results["summary"]})
        return record

    def release(self, member: str) -> str:
        """Give back this round's spot early; it becomes reservable until the next draw.
        Returns the spot."""
        now = self._now()
        with self.store.step() as db:
            current = self._current_round(db)
            held = self._held(db, member)
            if held is None:
                raise ParkingError(f"{member} holds no spot this round", reason="not_held")
            spot = held[0]
            db.execute("UPDATE parking_allocations SET released_ts = ? WHERE round = ? AND "
                       "member = ?", (iso(now), current, member))
            self.outbox.append(db, "parking.released", {"kind": "allocation", "member": member,
                                                        "spot": spot, "round": current,
                                                        "reason": "released"})
            # In the audit chain the witnesses keep: a holder marked released with sqlite3
            # has no such entry, and the live check names it (``check_against_record``).
            self.audit.append(db, member, "parking.released", member, "released",
                              {"round": current, "spot": spot})
            self._offer(db, spot, now)
        return spot

    def allocation(self, member: str) -> str | None:
        """The spot ``member`` holds this round, if any."""
        held = self.held(member)
        return held[0] if held else None

    def held(self, member: str) -> tuple[str, str] | None:
        """The spot ``member`` holds this round and its type, if any."""
        with self.store.read() as db:
            return self._held(db, member)

    def _held(self, db: sqlite_utils.Database, member: str) -> tuple[str, str] | None:
        row = db.execute("SELECT spot, type FROM parking_allocations WHERE round = ? AND "
                         "member = ? AND released_ts IS NULL",
                         (self._current_round(db), member)).fetchone()
        return (row[0], row[1]) if row else None

    def may_open_gate(self, member: str) -> bool:
        """The gate opens for a member who holds a spot this round or is checked in now.
        The round's spot is taken from the draw chain's record, not from the allocations
        table: an edited table opens the gate for nobody it should not."""
        if self.recorded_spot(member) is not None:
            return True
        now = self._now()
        return any(r.status == "checked_in" and self.check_in_opens(r) <= now < r.end
                   for r in self.reservations(member))

    def check_gate(self, member: str) -> None:
        """Refuse, with the reason ``gate``, a member the gate does not open for."""
        if not self.may_open_gate(member):
            raise ParkingError("the gate opens for a spot this round or a check-in now",
                               reason="gate")

    def recorded_spot(self, member: str) -> str | None:
        """The spot the newest drawn record gives ``member``, unless they released it."""
        with self.store.read() as db:
            drawn = self._newest_drawn(db)
            if drawn is None:
                return None
            round_id, record = drawn
            for row in record["results"]["assignments"]:
                if row["member"] == member:
                    # A release counts only if it is on record: a holder marked released
                    # with sqlite3 still gets in (and the live check names it).
                    released = db.execute(
                        "SELECT 1 FROM parking_allocations WHERE round = ? AND member = ? "
                        "AND spot = ? AND released_ts IS NOT NULL",
                        (round_id, member, row["spot"])).fetchone()
                    if released and (member, row["spot"]) in self._recorded_releases(
                            db, round_id):
                        return None
                    return row["spot"]
        return None

    def _chain_step(self, db: sqlite_utils.Database, action: str,
                    round_id: str) -> dict[str, Any] | None:
        """The data of a round's first draw chain entry of ``action``, if any (a round
        takes each step once; a second is compared against the first)."""
        row = db.execute("SELECT data FROM parking_draw_chain WHERE action = ? AND "
                         "subject = ? ORDER BY seq LIMIT 1", (action, round_id)).fetchone()
        return json.loads(row[0]) if row else None

    def _newest_drawn(self, db: sqlite_utils.Database) -> tuple[str, dict[str, Any]] | None:
        row = db.execute("SELECT subject, data FROM parking_draw_chain WHERE action = "
                         "'parking.drawn' ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def check_against_record(self) -> list[str]:
        """Every way the live state (the allocations that drive "my spot" and the board,
        the stored record, which round is current) differs from the draw chain's newest
        record. [] when they agree."""
        with self.store.read() as db:
            drawn = self._newest_drawn(db)
            current = self._current_round(db)
            if drawn is None:
                rows = db.execute("SELECT COUNT(*) FROM parking_allocations").fetchone()[0]
                return [f"allocations: {rows} row(s) but no draw in the draw chain"] if rows \
                    else []
            round_id, record = drawn
            problems = []
            if current != round_id:
                problems.append(f"round: the register's current round is {current!r}, the "
                                f"draw chain's newest draw is {round_id!r}")
            stored = db.execute("SELECT record FROM parking_rounds WHERE round = ?",
                                (round_id,)).fetchone()
            if stored is None or stored[0] is None or json.loads(stored[0]) != record:
                problems.append(f"round {round_id}: the stored record differs from the "
                                "draw chain's")
            want = {r["member"]: (r["spot"], r["type"])
                    for r in record["results"]["assignments"]}
            got: dict[str, tuple[str, str]] = {}
            for r in db.query("SELECT member, spot, type FROM parking_allocations "
                              "WHERE round = ?", (round_id,)):
                got[r["member"]] = (r["spot"], r["type"])
            problems += self._unrecorded_releases(db, round_id)
        for member in sorted(set(want) | set(got)):
            if member not in got:
                problems.append(f"round {round_id}: member {member}: the record gives spot "
                                f"{want[member][0]}, the allocations none")
            elif member not in want:
                problems.append(f"round {round_id}: member {member}: the allocations give "
                                f"spot {got[member][0]}, the record none")
            elif got[member] != want[member]:
                problems.append(f"round {round_id}: member {member}: the allocations give "
                                f"spot {got[member][0]}, the record {want[member][0]}")
        return problems

    def _unrecorded_releases(self, db: sqlite_utils.Database, round_id: str) -> list[str]:
        """Allocations marked released (the gate refuses them, the spot is offered to
        others) with no release on record: each release is a ``parking.released`` entry
        of the audit chain; one made before it was audited left only the
        ``parking.released`` event, taken as well."""
        recorded = self._recorded_releases(db, round_id)
        return [f"round {round_id}: member {member}: spot {spot} is marked released, but "
                "no release is on record (no parking.released entry)"
                for member, spot in db.execute(
                    "SELECT member, spot FROM parking_allocations WHERE round = ? AND "
                    "released_ts IS NOT NULL ORDER BY member", (round_id,))
                if (member, spot) not in recorded]

    def _recorded_releases(self, db: sqlite_utils.Database, round_id: str
                           ) -> set[tuple[str, str]]:
        """(member, spot) of every release of the round on record."""
        recorded = {(r[0], r[1]) for r in db.execute(
            "SELECT subject, json_extract(data, '$.spot') FROM audit WHERE action = "
            "'parking.released' AND json_extract(data, '$.round') = ?", (round_id,))}
        recorded |= {(r[0], r[1]) for r in db.execute(
            "SELECT json_extract(data, '$.member'), json_extract(data, '$.spot') FROM events "
            "WHERE type = 'parking.released' AND json_extract(data, '$.kind') = 'allocation' "
            "AND json_extract(data, '$.round') = ?", (round_id,))}
        return recorded

    def verify_draw_chain(self) -> list[str]:
        """The draw chain alone: intact, one announcement, close, commitment and draw per
        round, each commitment carrying what its round's close and announcement published,
        each record verifying against its round's commitment and the one before."""
        return verify_draw_entries(self.chain.entries())

    def current_round(self, db: sqlite_utils.Database | None = None) -> str | None:
        """The newest drawn round; inside ``db``'s transaction when given."""
        if db is not None:
            return self._current_round(db)
        with self.store.read() as reading:
            return self._current_round(reading)

    def round_status(self, round_id: str) -> str | None:
        with self.store.read() as db:
            return self._round_status(db, round_id)

    def commitment(self, round_id: str) -> dict[str, Any] | None:
        text = self.store.scalar("SELECT commitment FROM parking_rounds WHERE round = ?",
                                 (round_id,))
        return json.loads(text) if text else None

    def record(self, round_id: str) -> dict[str, Any] | None:
        text = self.store.scalar("SELECT record FROM parking_rounds WHERE round = ?",
                                 (round_id,))
        return json.loads(text) if text else None

    def memory(self) -> Memory:
        with self.store.read() as db:
            return self._memory(db)

    def history(self) -> list[RoundInput]:
        """Every drawn round, oldest first, as input for comparing policies."""
        history = []
        for r in self.store.query("SELECT round, record FROM parking_rounds "
                                  "WHERE status = 'drawn' ORDER BY round_no"):
            inputs = json.loads(r["record"])["inputs"]
            times = {q["member"]: parse_iso(q["requested_ts"]).timestamp() for q in
                     self.store.query("SELECT member, requested_ts FROM parking_requests "
                                      "WHERE round = ?", (r["round"],))}
            history.append(RoundInput(
                round_id=r["round"],
                asks=[Ask(e["member"], e["type"], e["type"] == ACCESSIBLE)
                      for e in inputs["eligible"]],
                spots=[Spot(s["spot"], s["type"]) for s in inputs["spots"]],
                public_random=inputs["public_random"], request_times=times,
                lend_accessible=inputs["lend_accessible"]))
        return history

    def _memory(self, db: sqlite_utils.Database) -> Memory:
        row = db.execute("SELECT state FROM parking_state WHERE id = 1").fetchone()
        return Memory.from_json(json.loads(row[0])) if row else Memory()

    def _round_status(self, db: sqlite_utils.Database, round_id: str) -> str | None:
        row = db.execute("SELECT status FROM parking_rounds WHERE round = ?",
                         (round_id,)).fetchone()
        return row[0] if row else None

    def _current_round(self, db: sqlite_utils.Database) -> str | None:
        row = db.execute("SELECT round FROM parking_rounds WHERE status = 'drawn' "
                         "ORDER BY round_no DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def _active_member(self, db: sqlite_utils.Database, member: str) -> dict[str, Any]:
        row = self._member_row(db, member)
        if row is None or not row["active"]:
            raise ParkingError(f"{member} is not a member", reason="not_member")
        return row

    def _check_need(self, member_row: dict[str, Any], spot_type: str) -> None:
        if not may_ask_for(spot_type, bool(member_row["need"])):
            raise ParkingError("accessible spots are for members with a declared need",
                               reason="need")

    # --- short reservations -------------------------------------------------------------

    def reserve(self, member: str, spot_type: str, start: datetime, end: datetime,
                kind: str = "visitor") -> Reserved:
        """Book a free spot for a time slot, or join the waitlist for one."""
        now = self._now()
        start, end = _utc(start), _utc(end)
        if kind not in RESERVATION_KINDS:
            raise ParkingError(f"kind must be one of {', '.join(RESERVATION_KINDS)}",
                               reason="bad_kind")
        if spot_type not in SPOT_TYPES:
            raise ParkingError(f"no spot type {spot_type!r}", reason="no_spot_type")
        if not start < end:
            raise ParkingError("a slot ends after it starts", reason="slot_order")
        max_hours = self.settings.max_reservation_hours
        if end - start > timedelta(hours=max_hours):
            raise ParkingError(f"a slot is at most {max_hours} h", reason="too_long",
                               max_hours=max_hours)
        if end <= now:
            raise ParkingError("that slot is over", reason="slot_over")
        s, e = iso(start), iso(end)
        with self.store.step() as db:
            self._check_need(self._active_member(db, member), spot_type)
            overlapping = db.execute(
                f"SELECT id FROM parking_reservations WHERE member = ? AND status IN {LIVE_SQL}"
                " AND start_ts < ? AND end_ts > ?", (member, e, s)).fetchone()
            if overlapping:
                raise ParkingError(f"{member} already has reservation {overlapping[0]} then",
                                   reason="overlap", reservation=overlapping[0])
            if db.execute("SELECT 1 FROM parking_waitlist WHERE member = ? AND status IN "
                          "('waiting', 'offered') AND start_ts < ? AND end_ts > ?",
                          (member, e, s)).fetchone():
                raise ParkingError(f"{member} is already on the waitlist for that time",
                                   reason="overlap")
            spot = self._free_spot(db, spot_type, s, e)
            if spot is not None:
                rid = self._insert_reservation(db, member, spot, spot_type, kind, s, e,
                                               "booked", now)
                self.outbox.append(db, "parking.reserved", {
                    "reservation": rid, "member": member, "spot": spot, "type": spot_type,
                    "kind": kind, "start": s, "end": e, "from_waitlist": False})
                return Reserved(reservation=self._reservation(db, rid))
            wid = insert_with_id(db, "parking_waitlist", {
                "member": member, "type": spot_type, "kind": kind, "start_ts": s,
                "end_ts": e, "joined_ts": iso(now), "status": "waiting"})
            position = self._position(db, wid)
            self.outbox.append(db, "parking.refused", {
                "kind": "reservation", "member": member, "type": spot_type,
                "start": s, "end": e})
            self.outbox.append(db, "parking.waitlisted", {
                "waitlist": wid, "member": member, "type": spot_type, "start": s, "end": e,
                "position": position})
            return Reserved(waitlist_id=wid, position=position)

    def cancel_reservation(self, reservation_id: int, member: str) -> None:
        now = self._now()
        with self.store.step() as db:
            r = self._own_reservation(db, reservation_id, member)
            if r.status not in ("booked", "checked_in"):
                raise ParkingError(f"reservation {reservation_id} is {r.status}",
                                   reason="reservation_state", status=r.status)
            self._end_reservation(db, r, "cancelled", now)
            self.outbox.append(db, "parking.released", {
                "kind": "reservation", "reservation": r.id, "member": member,
                "spot": r.spot, "reason": "cancelled"})
            self._offer(db, r.spot, now)

    def check_in(self, reservation_id: int, member: str) -> Reservation:
        """Check-in at the kiosk."""
        now = self._now()
        with self.store.step() as db:
            r = self._own_reservation(db, reservation_id, member)
            if r.status != "booked":
                raise ParkingError(f"reservation {reservation_id} is {r.status}",
                                   reason="reservation_state", status=r.status)
            opens = self.check_in_opens(r)
            if now < opens:
                raise ParkingError(f"check-in opens at {iso(opens)}", reason="check_in_later",
                                   at=opens)
            if now >= r.end:
                raise ParkingError("that slot is over", reason="slot_over")
            self._check_in(db, r, "kiosk", now)
            return self._reservation(db, r.id)

    def check_in_opens(self, r: Reservation) -> datetime:
        """Check-in at the kiosk opens a little before a slot starts; it closes at its end."""
        return r.start - timedelta(minutes=self.settings.early_checkin_minutes)

    def may_check_in(self, r: Reservation) -> bool:
        return r.status == "booked" and self.check_in_opens(r) <= self._now() < r.end

    def spot_occupancy_changed(self, spot: str, occupied: bool) -> str:
        """A spot's sensor changed. Returns what the kiosk made of it: ``checked_in``
        (a reservation's car arrived), ``expected`` (its holder or a checked-in car),
        ``unreserved`` (nobody should be there: published) or ``vacated``."""
        now = self._now()
        with self.store.step() as db:
            row = db.execute("SELECT type FROM parking_spots WHERE spot = ?",
                             (spot,)).fetchone()
            if row is None:
                raise ParkingError(f"no spot {spot}", reason="no_spot")
            db.execute("UPDATE parking_spots SET occupied = ?, occupied_ts = ? WHERE spot = ?",
                       (int(occupied), iso(now), spot))
            if not occupied:
                return "vacated"
            early = iso(now + timedelta(minutes=self.settings.early_checkin_minutes))
            live = list(db.query(
                "SELECT * FROM parking_reservations WHERE spot = ? AND status IN "
                "('booked', 'checked_in') AND start_ts <= ? AND end_ts > ? ORDER BY start_ts",
                (spot, early, iso(now))))
            if any(r["status"] == "checked_in" for r in live):
                return "expected"
            if live:
                self._check_in(db, _reservation(live[0]), "sensor", now)
                return "checked_in"
            if self._held_by_allocation(db, spot):
                return "expected"
            self.outbox.append(db, "parking.unreserved_occupancy",
                               {"spot": spot, "type": row[0]})
            return "unreserved"

    def accept_offer(self, waitlist_id: int, member: str) -> Reservation:
        now = self._now()
        with self.store.step() as db:
            r = self._offered(db, waitlist_id, member)
            if r.offer_expires is not None and r.offer_expires <= now:
                raise ParkingError("the offer has lapsed", reason="no_offer")
            db.execute("UPDATE parking_reservations SET status = 'booked', "
                       "offer_expires_ts = NULL WHERE id = ?", (r.id,))
            db.execute("UPDATE parking_waitlist SET status = 'served' WHERE id = ?",
                       (waitlist_id,))
            self.outbox.append(db, "parking.reserved", {
                "reservation": r.id, "member": member, "spot": r.spot, "type": r.type,
                "kind": r.kind, "start": iso(r.start), "end": iso(r.end),
                "from_waitlist": True})
            return self._reservation(db, r.id)

    def decline_offer(self, waitlist_id: int, member: str) -> None:
        now = self._now()
        with self.store.step() as db:
            r = self._offered(db, waitlist_id, member)
            self._lapse(db, r, "declined", now)

    def leave_waitlist(self, waitlist_id: int, member: str) -> None:
        now = self._now()
        with self.store.step() as db:
            row = db.execute("SELECT member, status FROM parking_waitlist WHERE id = ?",
                             (waitlist_id,)).fetchone()
            if row is None or row[0] != member or row[1] not in ("waiting", "offered"):
                raise ParkingError(f"{member} is not waiting as {waitlist_id}",
                                   reason="not_waiting")
            if row[1] == "offered":
                self._lapse(db, self._offered(db, waitlist_id, member), "declined", now)
            db.execute("UPDATE parking_waitlist SET status = 'cancelled' WHERE id = ?",
                       (waitlist_id,))

    def tick(self) -> dict[str, int]:
        """Time passes: release no-shows, lapse unanswered offers, end finished slots and
        drop waitlist places nobody can use any more. Call it every minute or so."""
        now = self._now()
        n = iso(now)
        done = {"no_show": 0, "lapsed": 0, "ended": 0, "expired": 0}
        grace = timedelta(minutes=self.settings.grace_minutes)
        with self.store.step() as db:
            for row in list(db.query("SELECT * FROM parking_reservations WHERE status = "
                                     "'booked' AND start_ts < ? ORDER BY start_ts, id",
                                     (iso(now - grace),))):
                r = _reservation(row)
                self._end_reservation(db, r, "no_show", now)
                self.outbox.append(db, "parking.no_show", {
                    "reservation": r.id, "member": r.member, "spot": r.spot, "type": r.type})
                done["no_show"] += 1
                self._offer(db, r.spot, now)
            for row in list(db.query("SELECT * FROM parking_reservations WHERE status = "
                                     "'held' AND offer_expires_ts <= ? ORDER BY id", (n,))):
                self._lapse(db, _reservation(row), "lapsed", now)
                done["lapsed"] += 1
            for row in list(db.query("SELECT * FROM parking_reservations WHERE status = "
                                     "'checked_in' AND end_ts <= ?", (n,))):
                r = _reservation(row)
                self._end_reservation(db, r, "completed", now)
                self.outbox.append(db, "parking.released", {
                    "kind": "reservation", "reservation": r.id, "member": r.member,
                    "spot": r.spot, "reason": "ended"})
                done["ended"] += 1
            for row in list(db.query("SELECT id, member, type FROM parking_waitlist WHERE "
                                     "status = 'waiting' AND end_ts <= ?", (n,))):
                db.execute("UPDATE parking_waitlist SET status = 'expired' WHERE id = ?",
                           (row["id"],))
                self.outbox.append(db, "parking.waitlist_expired", {
                    "waitlist": row["id"], "member": row["member"], "type": row["type"]})
                done["expired"] += 1
        return done

    def reservations(self, member: str | None = None,
                     live_only: bool = True) -> list[Reservation]:
        sql = "SELECT * FROM parking_reservations WHERE 1 = 1"
        params: list[Any] = []
        if member is not None:
            sql += " AND member = ?"
            params.append(member)
        if live_only:
            sql += f" AND status IN {LIVE_SQL}"
        return [_reservation(r) for r in self.store.query(sql + " ORDER BY start_ts, id",
                                                            tuple(params))]

    def reservation(self, reservation_id: int) -> Reservation:
        with self.store.read() as db:
            return self._reservation(db, reservation_id)

    def waitlist(self, spot_type: str) -> list[dict[str, Any]]:
        """The waitlist of one type in turn order."""
        return self.store.query(
            "SELECT id, member, kind, start_ts, end_ts, status FROM parking_waitlist "
            "WHERE type = ? AND status IN ('waiting', 'offered') ORDER BY id", (spot_type,))

    def offer_for(self, waitlist_id: int) -> Reservation | None:
        """The spot currently offered to a waitlist place, if any."""
        rows = self.store.query("SELECT * FROM parking_reservations WHERE waitlist_id = ? "
                                "AND status = 'held'", (waitlist_id,))
        return _reservation(rows[0]) if rows else None

    def spot_summary(self) -> dict[str, dict[str, int]]:
        """Per type: spots in service, held this round, reserved now, occupied: for the
        kiosk's state snapshot and the plan."""
        now = iso(self._now())
        with self.store.read() as db:
            current = self._current_round(db)
            summary: dict[str, dict[str, int]] = {}
            for row in db.query("SELECT * FROM parking_spots"):
                s = summary.setdefault(row["type"], {"spots": 0, "in_service": 0,
                                                     "allocated": 0, "reserved_now": 0,
                                                     "occupied": 0})
                s["spots"] += 1
                s["in_service"] += row["state"] == "in_service"
                s["occupied"] += bool(row["occupied"])
            for row in db.query("SELECT type, COUNT(*) AS n FROM parking_allocations WHERE "
                                "round = ? AND released_ts IS NULL GROUP BY type", (current,)):
                summary.setdefault(row["type"], {"spots": 0})["allocated"] = row["n"]
            for row in db.query("SELECT s.type, COUNT(*) AS n FROM parking_reservations r "
                                "JOIN parking_spots s USING (spot) WHERE r.status IN "
                                "('booked', 'checked_in') AND r.start_ts <= ? AND "
                                "r.end_ts > ? GROUP BY s.type", (now, now)):
                summary.setdefault(row["type"], {"spots": 0})["reserved_now"] = row["n"]
        return summary

    # --- reservation internals ------------------------------------------------------------

    def _free_spot(self, db: sqlite_utils.Database, spot_type: str, start: str, end: str,
                   exclude: str | None = None) -> str | None:
        """A spot of the type free for the whole slot: reservation spots first, then round
        spots nobody holds this round."""
        for row in db.query("SELECT spot FROM parking_spots WHERE type = ? AND "
                            "state = 'in_service' ORDER BY pool = 'rounds', spot",
                            (spot_type,)):
            if row["spot"] != exclude and self._spot_free(db, row["spot"], start, end):
                return row["spot"]
        return None

    def _spot_free(self, db: sqlite_utils.Database, spot: str, start: str, end: str) -> bool:
        if self._held_by_allocation(db, spot):
            return False
        return db.execute(f"SELECT 1 FROM parking_reservations WHERE spot = ? AND status IN "
                          f"{LIVE_SQL} AND start_ts < ? AND end_ts > ?",
                          (spot, end, start)).fetchone() is None

    def _held_by_allocation(self, db: sqlite_utils.Database, spot: str) -> bool:
        return db.execute("SELECT 1 FROM parking_allocations WHERE spot = ? AND round = ? "
                          "AND released_ts IS NULL",
                          (spot, self._current_round(db))).fetchone() is not None

    def _offer(self, db: sqlite_utils.Database, spot: str, now: datetime) -> None:
        """A spot came free: offer it to the waitlist in turn, never to the quickest. Each
        place it fits, in order, gets the offer for its own slot."""
        row = db.execute("SELECT type, state FROM parking_spots WHERE spot = ?",
                         (spot,)).fetchone()
        if row is None or row[1] != "in_service":
            return
        expires = iso(now + timedelta(minutes=self.settings.offer_minutes))
        for w in list(db.query("SELECT * FROM parking_waitlist WHERE type = ? AND "
                               "status = 'waiting' AND end_ts > ? ORDER BY id",
                               (row[0], iso(now)))):
            if not self._spot_free(db, spot, w["start_ts"], w["end_ts"]):
                continue
            rid = self._insert_reservation(db, w["member"], spot, row[0], w["kind"],
                                           w["start_ts"], w["end_ts"], "held", now,
                                           offer_expires=expires, waitlist_id=w["id"])
            db.execute("UPDATE parking_waitlist SET status = 'offered' WHERE id = ?",
                       (w["id"],))
            self.outbox.append(db, "parking.offered", {
                "waitlist": w["id"], "reservation": rid, "member": w["member"],
                "spot": spot, "type": row[0], "expires": expires})

    def _lapse(self, db: sqlite_utils.Database, r: Reservation, why: str,
               now: datetime) -> None:
        """An offer was declined or not answered in time: the place is given up and the
        spot goes to the next in turn."""
        self._end_reservation(db, r, "lapsed", now)
        db.execute("UPDATE parking_waitlist SET status = ? WHERE id = ?", (why, r.waitlist_id))
        self.outbox.append(db, "parking.offer_lapsed", {
            "waitlist": r.waitlist_id, "member": r.member, "spot": r.spot, "why": why})
        self._offer(db, r.spot, now)

    def _displace(self, db: sqlite_utils.Database, spot: str, now: datetime,
                  reason: str) -> None:
        """Reservations on a spot that is no longer free for them move to another spot of
        the type, or are cancelled and published. A car already checked in stays."""
        for row in list(db.query("SELECT * FROM parking_reservations WHERE spot = ? AND "
                                 "status IN ('held', 'booked') AND end_ts > ?",
                                 (spot, iso(now)))):
            r = _reservation(row)
            target = self._free_spot(db, r.type, iso(r.start), iso(r.end), exclude=spot)
            if target is not None:
                db.execute("UPDATE parking_reservations SET spot = ? WHERE id = ?",
                           (target, r.id))
                self.outbox.append(db, "parking.reservation_moved", {
                    "reservation": r.id, "member": r.member, "from": spot, "to": target,
                    "reason": reason})
            else:
                self._end_reservation(db, r, "cancelled", now)
                if r.waitlist_id is not None:
                    db.execute("UPDATE parking_waitlist SET status = 'waiting' WHERE id = ?",
                               (r.waitlist_id,))
                self.outbox.append(db, "parking.reservation_cancelled", {
                    "reservation": r.id, "member": r.member, "spot": spot, "type": r.type,
                    "reason": reason})

    def _insert_reservation(self, db: sqlite_utils.Database, member: str, spot: str,
                            spot_type: str, kind: str, start: str, end: str, status: str,
                            now: datetime, offer_expires: str | None = None,
                            waitlist_id: int | None = None) -> int:
        return insert_with_id(db, "parking_reservations", {
            "member": member, "spot": spot, "type": spot_type, "kind": kind,
            "start_ts": start, "end_ts": end, "status": status, "created_ts": iso(now),
            "offer_expires_ts": offer_expires, "waitlist_id": waitlist_id})

    def _end_reservation(self, db: sqlite_utils.Database, r: Reservation, status: str,
                         now: datetime) -> None:
        db.execute("UPDATE parking_reservations SET status = ?, ended_ts = ? WHERE id = ?",
                   (status, iso(now), r.id))

    def _check_in(self, db: sqlite_utils.Database, r: Reservation, via: str,
                  now: datetime) -> None:
        db.execute("UPDATE parking_reservations SET status = 'checked_in', checked_in_ts = ?, "
                   "checked_in_via = ? WHERE id = ?", (iso(now), via, r.id))
        self.outbox.append(db, "parking.checked_in", {
            "reservation": r.id, "member": r.member, "spot": r.spot, "via": via})

    def _reservation(self, db: sqlite_utils.Database, reservation_id: int) -> Reservation:
        rows = list(db.query("SELECT * FROM parking_reservations WHERE id = ?",
                             (reservation_id,)))
        if not rows:
            raise ParkingError(f"no reservation {reservation_id}", reason="no_reservation")
        return _reservation(rows[0])

    def _own_reservation(self, db: sqlite_utils.Database, reservation_id: int,
                         member: str) -> Reservation:
        r = self._reservation(db, reservation_id)
        if r.member != member:
            raise ParkingError(f"reservation {reservation_id} is not {member}'s",
                               reason="not_yours")
        return r

    def _offered(self, db: sqlite_utils.Database, waitlist_id: int,
                 member: str) -> Reservation:
        rows = list(db.query("SELECT * FROM parking_reservations WHERE waitlist_id = ? AND "
                             "status = 'held' AND member = ?", (waitlist_id, member)))
        if not rows:
            raise ParkingError(f"no offer is waiting for {member} as {waitlist_id}",
                               reason="no_offer")
        return _reservation(rows[0])

    def _position(self, db: sqlite_utils.Database, waitlist_id: int) -> int:
        return db.execute(
            "SELECT COUNT(*) FROM parking_waitlist w, parking_waitlist me WHERE me.id = ? "
            "AND w.type = me.type AND w.status IN ('waiting', 'offered') AND w.id <= me.id",
            (waitlist_id,)).fetchone()[0]


def next_round_id(now: datetime, taken: set[str]) -> str:
    """Rounds are named by month: the first month after ``now`` not used yet."""
    year, month = now.year, now.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        round_id = f"{year:04d}-{month:02d}"
        if round_id not in taken:
            return round_id


def _check_round_id(round_id: str) -> None:
    if not _ROUND_ID.match(round_id):
        raise ParkingError(f"round {round_id!r}: 1-40 letters, digits, '-', '_' or '.'",
                           reason="bad_round_id")


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ParkingError("times must carry a time zone", reason="no_time_zone")
    return ts.astimezone(UTC)


def _against_chain(round_id: str, stored: dict[str, str | None],
                   chain: dict[str, dict[str, Any] | None]) -> list[str]:
    """How the round's stored close and announcement (JSON text) differ from the draw
    chain's ``parking.closed`` / ``parking.announced`` entries."""
    problems = []
    for what, keys in (("closed", CLOSED_KEYS), ("announced", ANNOUNCED_KEYS)):
        step, text = chain[what], stored[what]
        if step is None:
            problems.append(f"no parking.{what} entry for round {round_id} in the draw "
                            "chain")
            continue
        mine = json.loads(text) if text else {}
        problems += [f"{key}: the register's copy differs from the draw chain's "
                     f"parking.{what} entry" + rows_differ(key, mine.get(key), step.get(key))
                     for key in keys if mine.get(key) != step.get(key)]
    return problems


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return dict(sorted(counts.items()))


def _line_no(problem: str) -> int:
    """The line a CSV problem names ("line 7: …"), to report them in file order."""
    return int(problem.split(":", 1)[0].removeprefix("line "))


def _member(row: dict[str, Any]) -> Member:
    return Member(row["member"], row["unit"], row["kind"], bool(row["need"]),
                  bool(row["active"]), row["pin_hash"] is not None)


def _spot(row: dict[str, Any]) -> SpotInfo:
    occupied = None if row["occupied"] is None else bool(row["occupied"])
    return SpotInfo(row["spot"], row["type"], row["pool"], row["state"], occupied)


def _reservation(row: dict[str, Any]) -> Reservation:
    expires = row["offer_expires_ts"]
    return Reservation(row["id"], row["member"], row["spot"], row["type"], row["kind"],
                       parse_iso(row["start_ts"]), parse_iso(row["end_ts"]), row["status"],
                       parse_iso(expires) if expires else None, row["waitlist_id"])


def verify_draw_entries(entries: list[AuditEntry]) -> list[str]:
    """A draw chain's entries (the kiosk's, or a copy such as a witness's export): intact,
    one announcement, close, commitment and draw per round, each commitment carrying what
    its round's close and announcement published, each record verifying against its
    round's commitment and the one before."""
    from kiosk.audit import verify as verify_chain_hashes
    from kiosk.parking.record import against_previous, against_steps
    from kiosk.parking.record import verify as verify_record

    problems = [f"draw chain: {p}" for p in verify_chain_hashes(entries)]
    committed: dict[str, dict[str, Any]] = {}
    # A round's first close and announcement: what its commitment must carry.
    steps: dict[str, dict[str, dict[str, Any]]] = {"parking.closed": {},
                                                   "parking.announced": {}}
    drawn: dict[str, int] = {}
    previous: dict[str, Any] | None = None
    for e in entries:
        if e.action in steps:
            if e.subject in steps[e.action]:
                problems.append(f"draw chain: entry {e.seq}: a second {e.action} entry "
                                f"for round {e.subject} (a round is never reopened)")
            steps[e.action].setdefault(e.subject, e.data)
        elif e.action == "parking.committed":
            if e.subject in committed:
                problems.append(f"draw chain: entry {e.seq}: a second commitment for "
                                f"round {e.subject}")
            committed.setdefault(e.subject, e.data)
            inputs = e.data.get("inputs")
            found = against_steps(inputs, steps["parking.closed"].get(e.subject),
                                  steps["parking.announced"].get(e.subject))
            if previous is not None and isinstance(inputs, dict):
                found += against_previous(inputs, previous)
            problems += [f"round {e.subject}: commitment (entry {e.seq}): {p}"
                         for p in found]
        elif e.action == "parking.drawn":
            if e.subject in drawn:
                problems.append(f"draw chain: entry {e.seq}: a second draw of round "
                                f"{e.subject} (first: entry {drawn[e.subject]})")
            drawn.setdefault(e.subject, e.seq)
            problems += [f"round {e.subject}: {p}" for p in verify_record(
                e.data, commitment=committed.get(e.subject), previous=previous)]
            if e.subject not in committed:
                problems.append(f"round {e.subject}: drawn without a commitment in the "
                                "draw chain")
            previous = e.data
    return problems
