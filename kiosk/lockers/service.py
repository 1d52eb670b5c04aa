"""The locker steps: deposit, pickup, send, collect, remind, reconcile.

Each step is persisted before the hardware moves, and each state change commits together
with its event. Methods block on the board; the screen calls them from worker threads.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlite_utils

from kiosk import backoff, households, pins
from kiosk.codes import keyed_hash, new_code, normalize
from kiosk.config import Config
from kiosk.doors import DoorController
from kiosk.events import Clock, Outbox, iso, parse_iso, utc_now
from kiosk.hardware import BoardError, BoardStatus, LockBoard
from kiosk.lockers.model import (
    HOLDING_STATES,
    SIZES,
    BadText,
    Compartment,
    Courier,
    DoorDidNotOpen,
    Household,
    LockerError,
    LockersOutOfOrder,
    NoFreeCompartment,
    NothingInside,
    OpenResult,
    ParcelState,
    Round,
    ShortPin,
    Slot,
    UnknownUnit,
    WrongCode,
    WrongPin,
    compartment_label,
    sizes_that_fit,
)
from kiosk.notifications import PARCEL_LEFT, RESEND
from kiosk.store import Store, insert_with_id

_HOLDING = "(" + ", ".join(f"'{s}'" for s in HOLDING_STATES) + ")"
# Fault of a compartment whose sensor sees something inside that no parcel record
# explains (a forced door, a parcel put back), or a parcel left behind at a pickup.
ITEM_INSIDE = "item_inside"
LEFT_INSIDE = "left_inside"
DESTINATION_MAX = 120
WAYBILL_MAX = 40
# A waybill is what a barcode scanner types: letters, digits and a few separators.
_WAYBILL_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.")
UNIT_MAX = 16
# A courier types their id on the screen before the PIN: short, and only what the
# screen's unit keys can type (letters, digits, "-"; case does not count).
MAX_COURIER_ID = 16
_COURIER_ID = re.compile(r"[a-z0-9-]{1,16}")
# A code still in the outbox this long after it was queued has not reached its household
# for an uplink outage (with the broker up a code leaves within milliseconds).
CODE_LATE_S = 60
# A courier's round whose last step (its start, a deposit) is older than this is over: the
# next login starts a new one. Shorter gaps (a restart, the idle reset, a break) go on.
ROUND_RESUME_S = 4 * 3600
_COMPARTMENT_SQL = f"""
    SELECT c.id, c.board, c.lock, c.size, c.in_service, c.fault, p.state AS parcel_state
    FROM compartments c
    LEFT JOIN parcels p ON p.compartment = c.id AND p.state IN {_HOLDING}
"""


@dataclass
class ReconcileReport:
    resolved: dict[str, str] = field(default_factory=dict)  # parcel id -> new state
    in_review: dict[str, str] = field(default_factory=dict)  # parcel id -> reason



def resent_scope(unit: str) -> str:
    """The counter of a re-sent code's tries while its unit waits (``pickup``)."""
    return f"{households.attempts_key(unit)}:resent"

class LockerService:
    def __init__(self, store: Store, outbox: Outbox, board: LockBoard, config: Config,
                 clock: Clock = utc_now, sleep: Callable[[float], None] = time.sleep,
                 doors: DoorController | None = None):
        self.store = store
        self.outbox = outbox
        self.board = board
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self.rules = config.lockers
        # Wrong codes and household PINs of all households together: a small cap whose
        # wait never exceeds ``kiosk_gap_s`` (at most 10 s); courier PINs have their own.
        self.guard = households.guard(self.rules)
        self.backoff = self.guard.policy
        self.kiosk_cap = self.guard.cap
        # A lost code: the first re-send at once, then one each ``resend_every_s``.
        self.resend_policy = backoff.BackoffPolicy(1, self.rules.resend_every_s,
                                                   self.rules.resend_every_s)
        self.resend_cap = backoff.RateCap(10, 60.0)
        self._secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")
        # Every door this service opens, and every compartment fault, goes through here.
        self.doors = doors or DoorController(store, outbox, board, config.board.confirm_s,
                                             clock=clock, sleep=sleep)
        self.sync_compartments(config.compartment_list())

    # --- people -------------------------------------------------------------------------

    def add_household(self, unit: str, pseudonym: str | None = None,
                      pin: str | None = None) -> Household:
        """Add a household, or set its PIN. Its pseudonym never changes once given (its
        parking member refers to it), and without ``pin`` it keeps the PIN it has: the
        same identity logs in at the lockers and at parking (kiosk/households.py)."""
        unit = unit.strip().upper()
        with self.store.step() as db:
            old = db.execute("SELECT pseudonym, pin_hash FROM households WHERE unit = ?",
                             (unit,)).fetchone()
            pseudonym = pseudonym or (old[0] if old else "h-" + secrets.token_hex(3))
            pin_hash = (households.pin_hash(self._secret, pin) if pin
                        else old[1] if old else None)
            db.table("households").upsert(
                {"unit": unit, "pseudonym": pseudonym, "pin_hash": pin_hash, "active": 1},
                pk="unit")
        return Household(unit, pseudonym)

    def add_courier(self, courier_id: str, pin: str, pseudonym: str | None = None) -> Courier:
        if problem := pins.problem(pin, "a courier PIN"):
            raise LockerError(problem)
        courier_id = courier_id.strip()
        if not _COURIER_ID.fullmatch(courier_id.lower()):
            raise LockerError(f"a courier id is 1-{MAX_COURIER_ID} letters, digits or -")
        pseudonym = pseudonym or "c-" + secrets.token_hex(3)
        with self.store.step() as db:
            db.table("couriers").upsert(
                {"id": courier_id, "pseudonym": pseudonym,
                 "pin_hash": keyed_hash(self._secret, "courier-pin", pin), "active": 1},
                pk="id")
        return Courier(courier_id, pseudonym)

    def household(self, unit: str) -> Household:
        rows = self.store.query(
            "SELECT unit, pseudonym FROM households WHERE unit = ? AND active = 1",
            (unit.strip().upper(),))
        if not rows:
            raise UnknownUnit(f"no household in unit {unit!r}")
        return Household(rows[0]["unit"], rows[0]["pseudonym"])

    def units(self) -> list[str]:
        return [r["unit"] for r in self.store.query(
            "SELECT unit FROM households WHERE active = 1 ORDER BY unit")]

    def courier_login(self, courier_id: str, pin: str) -> Courier:
        """A courier's id and PIN open a session for many deposits in a row. Wrong PINs
        are counted for the id typed (known or not: an unknown id reads like a wrong PIN)
        and under the kiosk-wide cap, so a flood against one id never keeps another
        courier waiting longer than ``kiosk_gap_s``."""
        typed = courier_id.strip().lower()
        if not _COURIER_ID.fullmatch(typed):
            raise LockerError(f"a courier id is 1-{MAX_COURIER_ID} letters, digits or -")
        if pins.too_short(pin):  # before any lookup or hash: nothing is counted
            raise ShortPin(pins.short_message(), "short_pin", pins.MIN_DIGITS)
        pin_hash = keyed_hash(self._secret, "courier-pin", pin.strip())

        def find(db: sqlite_utils.Database) -> dict | None:
            rows = list(db.query("SELECT id, pseudonym FROM couriers WHERE lower(id) = ? "
                                 "AND pin_hash = ? AND active = 1", (typed, pin_hash)))
            return rows[0] if rows else None

        return self._login("courier", find, lambda r: Courier(r["id"], r["pseudonym"]),
                           identity=typed)

    def resident_login(self, unit: str, pin: str) -> Household:
        """A household's PIN, counted for its unit together with its codes (``pickup``:
        one budget, kiosk/households.py): wrong PINs typed for one household never make
        another wait longer than the kiosk-wide cap. The same PIN logs the household in
        to parking. A PIN shorter than any set now is refused first (``ShortPin``, not
        counted)."""
        unit = _unit(unit)
        if pins.too_short(pin):
            raise ShortPin(pins.short_message(household=True), "short_household_pin",
                           pins.MIN_DIGITS)
        return self._login(households.CAP_SCOPE, lambda db: households.check_pin(
                               db, self._secret, unit, pin),
                           lambda r: Household(r["unit"], r["pseudonym"]), identity=unit)

    def _login(self, scope: str, find: Callable[[sqlite_utils.Database], dict | None],
               make: Callable, identity: str):
        """A PIN typed with who it is for (a unit, a courier id): the wrong tries are
        counted for that identity and under the kiosk-wide cap of the scope."""
        key = f"{scope}:{identity}"
        now = self.clock()
        with self.store.step() as db:
            tried = self.guard.attempt(db, scope, key, now, lambda: find(db))
            if tried.found is not None:
                return make(tried.found)
            self.outbox.append(db, "security.wrong_pin", {
                "scope": scope, "failures": tried.failures, "wait_s": tried.wait_s})
        raise WrongPin(tried.wait_s)

    # --- a courier's round --------------------------------------------------------------

    def begin_round(self, courier: Courier) -> Round:
        """A courier logged in: their round goes on if its last step was less than
        ``ROUND_RESUME_S`` ago (the kiosk restarted, the screen went home), else a new
        one starts now."""
        now = self.clock()
        with self.store.step() as db:
            row = db.execute("SELECT seen_ts FROM courier_rounds WHERE courier = ?",
                             (courier.id,)).fetchone()
            resumed = row is not None and \
                parse_iso(row[0]) >= now - timedelta(seconds=ROUND_RESUME_S)
            if resumed:
                db.execute("UPDATE courier_rounds SET seen_ts = ? WHERE courier = ?",
                           (iso(now), courier.id))
            else:
                db.execute("INSERT OR REPLACE INTO courier_rounds (courier, started_ts, "
                           "seen_ts) VALUES (?, ?, ?)", (courier.id, iso(now), iso(now)))
        return self.round_of(courier, resumed=resumed)

    def round_of(self, courier: Courier, resumed: bool = False) -> Round:
        """The round so far: every parcel ``courier`` stored since it started (a held
        code counts; a door shut on nothing, a cancelled slot do not)."""
        with self.store.read() as db:
            row = db.execute("SELECT started_ts FROM courier_rounds WHERE courier = ?",
                             (courier.id,)).fetchone()
            if row is None:
                return Round()
            parcels = list(db.query(
                "SELECT size, household FROM parcels WHERE courier = ? AND created_ts >= ? "
                "AND outgoing = 0 AND stored_ts IS NOT NULL ORDER BY id",
                (courier.id, row[0])))
        by_size = dict.fromkeys(SIZES, 0)
        for p in parcels:
            by_size[p["size"]] += 1
        return Round(row[0], len(parcels), by_size, sorted({p["household"] for p in parcels}),
                     resumed=resumed)

    def end_round(self, courier: Courier) -> Round:
        """"Finish": the round's summary; the next login starts a new round."""
        summary = self.round_of(courier)
        with self.store.step() as db:
            db.execute("DELETE FROM courier_rounds WHERE courier = ?", (courier.id,))
        return summary

    # --- compartments -------------------------------------------------------------------

    def sync_compartments(self, wanted: Iterable[tuple[int, int, str]]) -> None:
        """Add configured compartments; resize free ones. History is never deleted."""
        with self.store.step() as db:
            for board, lock, size in wanted:
                db.execute(
                    "INSERT INTO compartments (id, board, lock, size) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET size = excluded.size",
                    (compartment_label(board, lock), board, lock, size))

    def compartments(self) -> list[Compartment]:
        rows = self.store.query(_COMPARTMENT_SQL + " ORDER BY c.board, c.lock")
        return [_compartment(r) for r in rows]

    def free_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SIZES, 0)
        for c in self.compartments():
            if c.free:
                counts[c.size] += 1
        return counts

    def _choose(self, db: sqlite_utils.Database, size: str) -> Compartment | None:
        for fitting in sizes_that_fit(size):
            rows = list(db.query(
                _COMPARTMENT_SQL + " WHERE c.size = ? AND c.in_service = 1 AND c.fault IS NULL "
                "AND p.id IS NULL ORDER BY c.board, c.lock LIMIT 1", (fitting,)))
            if rows:
                return _compartment(rows[0])
        return None

    # --- deposit and send ---------------------------------------------------------------

    def deposit(self, courier: Courier, unit: str, size: str, waybill: str = "",
                hold_code: bool = False) -> Slot:
        """Choose a compartment, persist the pending parcel, open the door. With
        ``hold_code`` (a courier's round at the screen) the household's code waits for
        ``confirm`` or ``correct_unit``, at most ``correct_within_s``."""
        slot = self._begin(unit, size, courier=courier, outgoing=False,
                           waybill=clean_waybill(waybill), hold_code=hold_code)
        self._open_slot(slot)
        return slot

    def send(self, household: Household, size: str, destination: str = "",
             waybill: str = "") -> Slot:
        """A resident puts an outgoing parcel in, with where it goes (or the waybill
        number a courier needs); a courier collects it later."""
        slot = self._begin(household.unit, size, courier=None, outgoing=True,
                           destination=clean_destination(destination),
                           waybill=clean_waybill(waybill))
        self._open_slot(slot)
        return slot

    def _begin(self, unit: str, size: str, courier: Courier | None, outgoing: bool,
               destination: str = "", waybill: str = "", hold_code: bool = False) -> Slot:
        if size not in SIZES:
            raise LockerError(f"size must be one of {', '.join(SIZES)}")
        household = self.household(unit)
        causes: dict[str, int] = {}
        checked: set[str] = set()
        while True:
            with self.store.step() as db:
                compartment = self._choose(db, size)
                if compartment is None or compartment.id in checked \
                        or not self.rules.occupancy_sensors:
                    break
            # Offered only when empty: the sensor is asked before the door is offered,
            # whatever flow last shut it (a pickup, a collection, a forced door).
            try:
                occupied = self._occupied(compartment)
            except BoardError:
                occupied = False  # its door will not open either, and says so
            if occupied:
                self.item_inside(compartment)
                continue
            checked.add(compartment.id)
        with self.store.step() as db:
            if compartment is not None:
                again = self._choose(db, size)
                if again is None or again.id != compartment.id:
                    compartment = None  # taken meanwhile by another screen: refuse
            if compartment is None:
                causes = self.out_of_order(db, size)
                data = {"size": size, "outgoing": outgoing,
                        "courier": courier.pseudonym if courier else None,
                        "free": self._free_counts(db)}
                # Unmet demand only when building more would have helped: an outage is
                # reported as one, for the maintainers, and never reaches the plan's demand.
                if causes:
                    self.outbox.append(db, "locker.unavailable", {**data, "causes": causes})
                else:
                    self.outbox.append(db, "locker.full", data)
            else:
                if courier is not None:  # the round goes on (``begin_round``)
                    db.execute("UPDATE courier_rounds SET seen_ts = ? WHERE courier = ?",
                               (self._now(), courier.id))
                parcel_id = insert_with_id(db, "parcels", {
                    "household": household.unit, "compartment": compartment.id, "size": size,
                    "outgoing": int(outgoing), "state": ParcelState.DEPOSIT_PENDING,
                    "courier": courier.id if courier else None, "created_ts": self._now(),
                    "destination": destination or None, "waybill": waybill or None,
                })
        if compartment is None:
            raise LockersOutOfOrder(size, causes) if causes else NoFreeCompartment(size)
        return Slot(parcel_id, compartment, household.unit, outgoing, hold_code=hold_code)

    def item_inside(self, c: Compartment) -> None:
        """The sensor sees something in a compartment no parcel holds: not offered until
        a maintainer looks (the fault ``item_inside``)."""
        with self.store.step() as db:
            self.doors.something_inside(db, c.id, ITEM_INSIDE)
            self.outbox.append(db, "sensor.item_inside", {"compartment": c.id})

    def out_of_order(self, db: sqlite_utils.Database, size: str) -> dict[str, int]:
        """Compartments a parcel of ``size`` fits that are unavailable for an outage, by
        cause: empty but out of order (``board_offline``, ``jammed``, ``out_of_service``),
        or holding a parcel whose code has waited in the outbox over ``CODE_LATE_S``
        (``code_not_sent``: the uplink is down, so nobody comes for it).

        When none is free, these decide what the refusal is: without the outage one would
        have been free (or soon), so it is an outage. When there are none, every fitting
        compartment holds a parcel its household knows of, and only building more would
        have helped.
        """
        fitting = sizes_that_fit(size)
        sizes = "c.size IN (" + ", ".join("?" for _ in fitting) + ")"
        rows = db.query(
            _COMPARTMENT_SQL + f" WHERE {sizes} AND p.id IS NULL "
            "AND (c.in_service = 0 OR c.fault IS NOT NULL)", tuple(fitting))
        causes: dict[str, int] = {}
        for r in rows:
            cause = r["fault"] or "out_of_service"  # a fault says more than the switch
            causes[cause] = causes.get(cause, 0) + 1
        if self.config.mqtt.enabled:
            # A parcel whose household was never told its code (the uplink is down) waits
            # for the outage, not for lack of room: its resident would have come for it.
            late = iso(self.clock() - timedelta(seconds=CODE_LATE_S))
            waiting = db.execute(
                "SELECT COUNT(*) FROM compartments c JOIN parcels p ON p.compartment = c.id "
                f"WHERE {sizes} AND p.state = 'stored' AND p.outgoing = 0 AND EXISTS ("
                "SELECT 1 FROM notifications n WHERE n.household = p.household "
                "AND n.ts < ?)", (*fitting, late)).fetchone()[0]
            if waiting:
                causes["code_not_sent"] = waiting
        return causes

    def unavailable_sizes(self) -> set[str]:
        """Sizes a parcel cannot get now for an outage (see ``out_of_order``), not because
        every fitting compartment is full: the screen says "out of order" for these."""
        free = self.free_counts()
        with self.store.read() as db:
            return {s for s in SIZES
                    if not any(free[f] for f in sizes_that_fit(s)) and self.out_of_order(db, s)}

    def _free_counts(self, db: sqlite_utils.Database) -> dict[str, int]:
        rows = db.query(_COMPARTMENT_SQL + " WHERE c.in_service = 1 AND c.fault IS NULL "
                        "AND p.id IS NULL")
        counts = dict.fromkeys(SIZES, 0)
        for r in rows:
            counts[r["size"]] += 1
        return counts

    def _open_slot(self, slot: Slot) -> None:
        c = slot.compartment
        if self._open(c):
            return
        with self.store.step() as db:
            self._set_parcel(db, slot.parcel_id, ParcelState.CANCELLED, note="door did not open")
        raise DoorDidNotOpen(c)

    def finish(self, slot: Slot) -> None:
        """The door is shut again: the parcel is stored and the household told its code."""
        if self.rules.occupancy_sensors and not self._occupied(slot.compartment):
            with self.store.step() as db:
                self._set_parcel(db, slot.parcel_id, ParcelState.CANCELLED,
                                 note="nothing inside when the door was shut")
                self.outbox.append(db, "parcel.deposit_cancelled", {
                    "parcel": slot.parcel_id, "compartment": slot.compartment.id,
                    "reason": "empty"})
            raise NothingInside(f"compartment {slot.compartment.id} is empty")
        with self.store.step() as db:
            self._store_parcel(db, slot.parcel_id, hold=slot.hold_code)

    def record_waybill(self, parcel_id: int, waybill: str) -> str:
        """The waybill number a courier scanned (or typed) while the door was open."""
        waybill = clean_waybill(waybill)
        with self.store.step() as db:
            db.execute("UPDATE parcels SET waybill = ? WHERE id = ? AND state IN "
                       "('deposit_pending', 'stored')", (waybill or None, parcel_id))
        return waybill

    def confirm(self, parcel_id: int) -> None:
        """The courier moved on: a held code goes to the parcel's household now."""
        with self.store.step() as db:
            p = db.table("parcels").get(parcel_id)
            if p["code_held"] and p["state"] == ParcelState.STORED:
                self._release_code(db, p)

    def correct_unit(self, parcel_id: int, unit: str) -> Household:
        """A wrong unit typed by the courier, corrected right after the door shut: the
        parcel changes household before any code was made, so only ``unit`` is told."""
        household = self.household(unit)
        limit = self.clock() - timedelta(seconds=self.rules.correct_within_s)
        with self.store.step() as db:
            p = db.table("parcels").get(parcel_id)
            if not (p["code_held"] and p["state"] == ParcelState.STORED
                    and parse_iso(p["stored_ts"]) >= limit):
                raise LockerError("this parcel's household was told already",
                                  reason="too_late_to_correct")
            wrong = p["household"]
            db.table("parcels").update(parcel_id, {"household": household.unit})
            self.outbox.append(db, "parcel.unit_corrected", {
                "parcel": parcel_id, "compartment": p["compartment"],
                "household": household.pseudonym,
                "was": db.table("households").get(wrong)["pseudonym"]})
            self._release_code(db, {**p, "household": household.unit})
        return household

    def release_held_codes(self, all_now: bool = False) -> int:
        """Codes held longer than ``correct_within_s`` (a courier who walked away) go out;
        ``all_now`` at start-up, when no courier session is left to correct anything."""
        limit = iso(self.clock() - timedelta(seconds=self.rules.correct_within_s))
        sql = "SELECT * FROM parcels WHERE code_held = 1 AND state = 'stored'"
        if not self.store.query(sql + " LIMIT 1"):
            return 0  # the usual case: no write every tidy-up
        with self.store.step() as db:
            rows = list(db.query(sql if all_now else sql + " AND stored_ts < ?",
                                 () if all_now else (limit,)))
            for p in rows:
                self._release_code(db, p)
        return len(rows)

    def cancel(self, slot: Slot, reason: str = "cancelled at the screen") -> None:
        with self.store.step() as db:
            self._set_parcel(db, slot.parcel_id, ParcelState.CANCELLED, note=reason)
            self.outbox.append(db, "parcel.deposit_cancelled", {
                "parcel": slot.parcel_id, "compartment": slot.compartment.id,
                "reason": "cancelled"})

    def _store_parcel(self, db: sqlite_utils.Database, parcel_id: int,
                      reconciled: bool = False, hold: bool = False) -> None:
        p = db.table("parcels").get(parcel_id)
        household = db.table("households").get(p["household"])
        state = ParcelState.OUTGOING if p["outgoing"] else ParcelState.STORED
        self._set_parcel(db, parcel_id, state, stored_ts=self._now())
        data = {"parcel": parcel_id, "compartment": p["compartment"], "size": p["size"],
                "compartment_size": _compartment_size(db, p["compartment"]),
                "household": household["pseudonym"]}
        if reconciled:
            data["reconciled"] = True
        if p["outgoing"]:
            self.outbox.append(db, "parcel.sent", data)
            return
        if hold:
            # Neither the event nor the code yet: the unit may still be corrected.
            db.table("parcels").update(parcel_id, {"code_held": 1})
            return
        self._deposited(db, p, household, data)

    def _release_code(self, db: sqlite_utils.Database, p: dict) -> None:
        db.table("parcels").update(p["id"], {"code_held": 0})
        household = db.table("households").get(p["household"])
        self._deposited(db, p, household, {
            "parcel": p["id"], "compartment": p["compartment"], "size": p["size"],
            "compartment_size": _compartment_size(db, p["compartment"]),
            "household": household["pseudonym"]})

    def _deposited(self, db: sqlite_utils.Database, p: dict, household: dict,
                   data: dict) -> None:
        courier = db.table("couriers").get(p["courier"]) if p["courier"] else None
        data["courier"] = courier["pseudonym"] if courier else None
        self.outbox.append(db, "parcel.deposited", data)
        self._issue_code(db, household["unit"], "pickup_code")

    def _issue_code(self, db: sqlite_utils.Database, unit: str, kind: str) -> None:
        """A fresh code per message; any unused code of a household opens all its parcels."""
        code = new_code(self.rules.code_length)
        db.table("codes").insert({"hash": keyed_hash(self._secret, "code", code), "household": unit,
                               "created_ts": self._now(), "resent": int(kind == RESEND)})
        waiting = db.execute(
            "SELECT COUNT(*) FROM parcels WHERE household = ? AND state = 'stored' "
            "AND code_held = 0", (unit,)).fetchone()[0]
        self.outbox.notify(db, unit, kind, {
            "code": code, "parcels": waiting, "community": self.config.community_id,
            "kiosk": self.config.kiosk_id})

    # --- pickup and collection ----------------------------------------------------------

    def pickup(self, code: str, unit: str) -> OpenResult:
        """The unit and one of its household's codes open every parcel waiting for it.

        Wrong codes are counted per unit (``free_attempts``, then doubling waits up to
        ``backoff_max_s``) and under a kiosk-wide cap (``kiosk_burst``, then one each
        ``kiosk_gap_s`` ≤ 10 s): wrong codes typed for other households cost a resident
        at most that cap's wait. During a wait no code is looked at, not even a right one
        — except a code the household asked to have re-sent (``resend_code``): it is
        tried under a counter of its own, which the re-send started afresh, so whoever
        floods one unit with wrong codes cannot keep its household from its parcels.
        """
        unit = _unit(unit)
        code_hash = keyed_hash(self._secret, "code", normalize(code))
        scope = households.attempts_key(unit)
        now = self.clock()
        with self.store.step() as db:
            backoff.check_cap(db, households.CAP_SCOPE, self.kiosk_cap, now)
            resent_only = False
            try:
                backoff.check(db, scope, self.backoff, now)
            except backoff.TooManyAttempts:
                if not db.execute("SELECT 1 FROM codes WHERE household = ? AND resent = 1 "
                                  "AND used_ts IS NULL", (unit,)).fetchone():
                    raise
                resent_only = True
                scope = resent_scope(unit)
                backoff.check(db, scope, self.backoff, now)
            household = db.execute("SELECT pseudonym FROM households WHERE unit = ? AND "
                                   "active = 1", (unit,)).fetchone()
            row = db.execute("SELECT household FROM codes WHERE hash = ? AND household = ? "
                             "AND used_ts IS NULL AND resent >= ?",
                             (code_hash, unit, int(resent_only))).fetchone()
            if row is None:
                backoff.spend_cap(db, households.CAP_SCOPE, self.kiosk_cap, now)
                failures, wait_s = 0, 0.0
                if household is not None:  # no counter for a unit nobody lives in
                    failures, wait_s = backoff.record_failure(db, scope, self.backoff, now)
                self.outbox.append(db, "security.wrong_code", {
                    "failures": failures, "wait_s": wait_s,
                    "household": household[0] if household else None})
            else:
                backoff.record_success(db, households.attempts_key(unit))
                backoff.record_success(db, resent_scope(unit))
                parcels = self._claim(db, "household = ? AND state = 'stored' AND "
                                      "code_held = 0", (unit,), collector=None)
        if row is None:
            raise WrongCode(wait_s)
        result = self._hand_over(parcels, courier=None)
        result.household = unit
        return result

    def open_with_pin(self, unit: str, pin: str) -> OpenResult:
        """A lost code: the household's own PIN (the one it sends parcels with) opens its
        waiting parcels instead; wrong PINs back off per unit like codes."""
        household = self.resident_login(unit, pin)
        with self.store.step() as db:
            parcels = self._claim(db, "household = ? AND state = 'stored' AND code_held = 0",
                                  (household.unit,), collector=None)
        result = self._hand_over(parcels, courier=None)
        result.household = household.unit
        return result

    def resend_code(self, unit: str) -> None:
        """A lost code: a new one to the household's phone, and every older one stops
        working. Says nothing about whether parcels wait (anyone can ask for any unit);
        at most one re-send each ``resend_every_s`` a household, ten a minute a kiosk."""
        unit = _unit(unit)
        now = self.clock()
        with self.store.step() as db:
            backoff.check_cap(db, "resend", self.resend_cap, now)
            backoff.check(db, f"resend:{unit}", self.resend_policy, now)
            backoff.spend_cap(db, "resend", self.resend_cap, now)
            household = db.execute("SELECT pseudonym FROM households WHERE unit = ? AND "
                                   "active = 1", (unit,)).fetchone()
            if household is None:
                return
            backoff.record_failure(db, f"resend:{unit}", self.resend_policy, now)
            waiting = db.execute("SELECT COUNT(*) FROM parcels WHERE household = ? AND "
                                 "state = 'stored' AND code_held = 0", (unit,)).fetchone()[0]
            if not waiting:
                return
            db.execute("UPDATE codes SET used_ts = ? WHERE household = ? AND used_ts IS NULL",
                       (iso(now), unit))
            # The new code's own counter starts afresh (see ``pickup``).
            backoff.record_success(db, resent_scope(unit))
            self.outbox.append(db, "parcel.code_resent", {"household": household[0]})
            self._issue_code(db, unit, RESEND)

    def open_again(self, compartment_id: str, unit: str | None = None,
                   courier: Courier | None = None) -> OpenResult:
        """The door once more for a parcel left inside, for the household (or courier)
        whose pickup just found it there."""
        where = "compartment = ? AND state IN ('stored', 'outgoing') AND code_held = 0"
        params: tuple = (compartment_id,)
        if unit is not None:
            where += " AND household = ?"
            params += (_unit(unit),)
        with self.store.step() as db:
            parcels = self._claim(db, where, params, collector=courier)
        result = self._hand_over(parcels, courier=courier)
        result.household = unit
        return result

    def collectable(self) -> list[dict]:
        """What a courier's round takes away: parcels sent, and those the community's rule
        (``after_last_reminder``) hands back, oldest first; each with ``why``."""
        where, params = self._collectable()
        rows = self.store.query(
            f"SELECT id, compartment, size, outgoing, destination, waybill, stored_ts "
            f"FROM parcels WHERE {where} ORDER BY outgoing DESC, stored_ts, id", params)
        back = "desk" if self.rules.after_last_reminder == "desk" else "return"
        return [{**r, "why": "sent" if r["outgoing"] else back} for r in rows]

    def _collectable(self) -> tuple[str, tuple]:
        """Sent parcels, and, by the community's rule, stored ones whose last reminder
        has gone out (``reminders`` reached ``max_reminders``, counted by
        ``remind_overdue``) and that waited ``return_after_days``: never one whose
        household has not had every reminder (kiosk/config.py refuses a
        ``return_after_days`` that would come first)."""
        if self.rules.after_last_reminder == "keep":
            return "state = 'outgoing'", ()
        limit = iso(self.clock() - timedelta(days=self.rules.return_after_days))
        return ("(state = 'outgoing' OR (state = 'stored' AND code_held = 0 "
                "AND reminders >= ? AND stored_ts < ?))", (self.rules.max_reminders, limit))

    def collect(self, courier: Courier, parcel_ids: Iterable[int] | None = None) -> OpenResult:
        """A courier takes outgoing parcels and those the community's rule hands back
        (all, or those of ``parcel_ids``). Each is taken once its door is shut on an empty
        compartment (``settle_shut``)."""
        where, params = self._collectable()
        if parcel_ids is not None:
            ids = [int(i) for i in parcel_ids]
            where += " AND id IN (" + ", ".join("?" for _ in ids) + ")"
            params += tuple(ids)
        with self.store.step() as db:
            parcels = self._claim(db, where, params, collector=courier)
        return self._hand_over(parcels, courier=courier)

    def sent_by(self, unit: str) -> list[dict]:
        """A household's parcels waiting for a courier: it may still take them back."""
        return self.store.query(
            "SELECT id, compartment, size, destination, waybill FROM parcels "
            "WHERE household = ? AND state = 'outgoing' ORDER BY id", (_unit(unit),))

    def cancel_send(self, household: Household, parcel_id: int) -> OpenResult:
        """Before a courier took it: the sender's door opens, the parcel comes back out."""
        with self.store.step() as db:
            parcels = self._claim(db, "id = ? AND household = ? AND state = 'outgoing'",
                                  (parcel_id, household.unit), collector=None)
        if not parcels:
            raise LockerError("that parcel is not waiting for a courier any more",
                              reason="not_outgoing")
        result = self._hand_over(parcels, courier=None)
        result.household = household.unit
        return result

    def _claim(self, db: sqlite_utils.Database, where: str, params: tuple,
               collector: Courier | None) -> list[dict]:
        """Mark parcels pickup_pending, and by whom, before any door moves."""
        parcels = list(db.query(f"SELECT * FROM parcels WHERE {where} ORDER BY id", params))
        for p in parcels:
            self._set_parcel(db, p["id"], ParcelState.PICKUP_PENDING, opened_ts=None,
                             collector=collector.id if collector else None)
        return parcels

    def _hand_over(self, parcels: list[dict], courier: Courier | None) -> OpenResult:
        """Open each claimed parcel's door. A parcel stays pickup_pending until its door
        is shut on an empty compartment (``settle_shut``)."""
        result = OpenResult(parcels=len(parcels))
        for p in parcels:
            compartment = self._compartment(p["compartment"])
            if self._open(compartment):
                result.opened.append(compartment)
                result.parcel_ids.setdefault(compartment.id, []).append(p["id"])
                if p["waybill"]:
                    result.waybills[compartment.id] = p["waybill"]
                with self.store.step() as db:
                    db.table("parcels").update(p["id"], {"opened_ts": self._now()})
            else:
                result.failed.append(compartment)
                with self.store.step() as db:
                    # The door stayed shut: the parcel is still inside and its code valid.
                    self._set_parcel(db, p["id"], _resting_state(p), collector=None)
        return result

    def settle_shut(self, result: OpenResult) -> list[Compartment]:
        """The doors ``result`` opened are shut: each parcel is taken if its compartment
        is empty. Those whose sensor still sees it are returned: the parcel stays with its
        household and its code (or waits for the next courier), and the compartment
        carries the fault ``left_inside`` until a door shuts on it empty."""
        left = []
        for c in result.opened:
            if self._settle_door(c, result.parcel_ids.get(c.id, [])):
                left.append(c)
        return left

    def settle_unattended(self) -> int:
        """Pickups whose screen went away before the door was shut (a restart, a person
        who walked off): settled once the door is shut, as the screen would have."""
        rows = self.store.query("SELECT id, compartment FROM parcels WHERE state = "
                                "'pickup_pending' AND opened_ts IS NOT NULL ORDER BY id")
        if not rows:
            return 0
        doors: dict[str, list[int]] = {}
        for r in rows:
            doors.setdefault(r["compartment"], []).append(r["id"])
        settled = 0
        compartments = [self._compartment(c) for c in doors]
        try:
            still_open = {c.id for c in self.open_doors(compartments)}
        except BoardError:
            return 0
        for c in compartments:
            if c.id not in still_open:
                self._settle_door(c, doors[c.id])
                settled += 1
        return settled

    def _settle_door(self, c: Compartment, ids: list[int]) -> bool:
        """True when the parcel is still inside after its door shut."""
        occupied = self.rules.occupancy_sensors and self._occupied(c)
        with self.store.step() as db:
            rows = [p for p in (db.table("parcels").get(i) for i in ids)
                    if p["state"] == ParcelState.PICKUP_PENDING and p["opened_ts"]]
            for p in rows:
                if occupied:
                    self._set_parcel(db, p["id"], _resting_state(p), collector=None,
                                     opened_ts=None)
                    self.doors.something_inside(db, c.id, LEFT_INSIDE)
                    self.outbox.append(db, "parcel.left_inside", {
                        "parcel": p["id"], "compartment": c.id,
                        "household": db.table("households").get(p["household"])["pseudonym"]})
                else:
                    self._release(db, p, self._collector(db, p))
            if rows and not occupied:
                self.doors.emptied(db, c.id, LEFT_INSIDE)
        states = [self.parcel(i)["state"] for i in ids]
        return any(s in (ParcelState.STORED, ParcelState.OUTGOING) for s in states)

    def _release(self, db: sqlite_utils.Database, p: dict, courier: Courier | None,
                 reconciled: bool = False) -> None:
        desk = self.rules.after_last_reminder == "desk"
        if courier is not None:
            kind, state = (("parcel.outgoing_collected", ParcelState.COLLECTED) if p["outgoing"]
                           else ("parcel.to_desk", ParcelState.AT_DESK) if desk
                           else ("parcel.returned", ParcelState.RETURNED))
        else:
            kind, state = (("parcel.send_cancelled", ParcelState.CANCELLED) if p["outgoing"]
                           else ("parcel.collected", ParcelState.COLLECTED))
        self._set_parcel(db, p["id"], state, done_ts=self._now())
        household = db.table("households").get(p["household"])
        data = {"parcel": p["id"], "compartment": p["compartment"], "size": p["size"],
                "compartment_size": _compartment_size(db, p["compartment"]),
                "household": household["pseudonym"],
                "waited_s": self._waited_s(p["stored_ts"])}
        if courier is not None:
            data["courier"] = courier.pseudonym
        if reconciled:
            data["reconciled"] = True
        self.outbox.append(db, kind, data)
        if courier is not None:
            # The household hears where its parcel went (its private topic, no code).
            note = {"outgoing_collected": PARCEL_LEFT, "to_desk": "at_desk",
                    "returned": "returned"}[kind.removeprefix("parcel.")]
            self.outbox.notify(db, household["unit"], note, {
                "parcel": p["id"], "waybill": p["waybill"], "destination": p["destination"],
                "ts": self._now(), "community": self.config.community_id,
                "kiosk": self.config.kiosk_id})
        if not p["outgoing"]:
            left = db.execute("SELECT COUNT(*) FROM parcels WHERE household = ? AND state IN "
                              "('stored', 'pickup_pending') AND code_held = 0",
                              (p["household"],)).fetchone()[0]
            if not left:  # codes are spent once nothing of the household waits
                db.execute("UPDATE codes SET used_ts = ? WHERE household = ? AND "
                           "used_ts IS NULL", (self._now(), p["household"]))

    def _waited_s(self, stored_ts: str | None) -> int | None:
        if not stored_ts:
            return None
        return int((self.clock() - parse_iso(stored_ts)).total_seconds())

    # --- doors --------------------------------------------------------------------------

    def _open(self, c: Compartment) -> bool:
        return self.doors.open(c).opened

    def open_doors(self, compartments: Iterable[Compartment]) -> list[Compartment]:
        """Those of ``compartments`` whose doors are still open (one status read a board)."""
        return self.doors.still_open(compartments)

    def _occupied(self, c: Compartment) -> bool:
        return self.doors.occupied(c)

    def _compartment(self, compartment_id: str) -> Compartment:
        return _compartment(self.store.query(_COMPARTMENT_SQL + " WHERE c.id = ?",
                                             (compartment_id,))[0])

    # --- reminders ----------------------------------------------------------------------

    def remind_overdue(self) -> int:
        """Remind households of parcels waiting too long, at most ``max_reminders`` times
        a parcel; what happens after the last one is ``after_last_reminder``. Reminders
        never cost anything, and nothing the kiosk does ever does."""
        now = self.clock()
        due = iso(now - timedelta(days=self.rules.overdue_days))
        again = iso(now - timedelta(hours=self.rules.reminder_every_hours))
        sent = 0
        with self.store.step() as db:
            rows = list(db.query(
                "SELECT * FROM parcels WHERE state = 'stored' AND code_held = 0 AND "
                "stored_ts < ? AND reminders < ? AND "
                "(last_reminder_ts IS NULL OR last_reminder_ts < ?) ORDER BY household, id",
                (due, self.rules.max_reminders, again)))
            households = sorted({r["household"] for r in rows})
            for r in rows:
                db.execute("UPDATE parcels SET reminders = reminders + 1, last_reminder_ts = ? "
                           "WHERE id = ?", (iso(now), r["id"]))
                self.outbox.append(db, "parcel.overdue", {
                    "parcel": r["id"], "compartment": r["compartment"],
                    "household": db.table("households").get(r["household"])["pseudonym"],
                    "waited_s": self._waited_s(r["stored_ts"]), "reminder": r["reminders"] + 1})
            for unit in households:
                self._issue_code(db, unit, "reminder")
                sent += 1
        return sent

    # --- start-up -----------------------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Settle every step a crash interrupted, from the board's bits. Never pulses a lock."""
        report = ReconcileReport()
        pending = self.store.query(
            "SELECT * FROM parcels WHERE state IN ('deposit_pending', 'pickup_pending') "
            "ORDER BY id")
        statuses: dict[int, BoardStatus | None] = {}
        for p in pending:
            c = self._compartment(p["compartment"])
            if c.board not in statuses:
                try:
                    statuses[c.board] = self.board.status(c.board)
                except BoardError:
                    statuses[c.board] = None
            status = statuses[c.board]
            with self.store.step() as db:
                outcome = self._settle(db, p, c, status)
            key = str(p["id"])
            if outcome.startswith("review:"):
                report.in_review[key] = outcome.removeprefix("review:")
            else:
                report.resolved[key] = outcome
        if pending:
            with self.store.step() as db:
                self.outbox.append(db, "kiosk.reconciled", {
                    "resolved": len(report.resolved), "in_review": len(report.in_review)})
        return report

    def _settle(self, db: sqlite_utils.Database, p: dict, c: Compartment,
                status: BoardStatus | None) -> str:
        if status is None:
            return self._review(db, p, "board did not answer at start-up")
        locked, occupied = status.is_locked(c.lock), status.is_occupied(c.lock)
        sensors = self.rules.occupancy_sensors
        if not locked:
            # Opened by this kiosk before the restart: a door left open, not a break-in.
            self.doors.left_open_at_start(c.id)
        if p["state"] == ParcelState.DEPOSIT_PENDING:
            if locked and sensors and occupied:
                self._store_parcel(db, p["id"], reconciled=True)
                return str(ParcelState.OUTGOING if p["outgoing"] else ParcelState.STORED)
            if locked and sensors:
                self._set_parcel(db, p["id"], ParcelState.CANCELLED,
                                 note="empty after restart")
                return str(ParcelState.CANCELLED)
            return self._review(db, p, "door open after restart" if not locked
                                else "deposit interrupted; no occupancy sensor")
        if sensors and not occupied:
            self._release(db, p, self._collector(db, p), reconciled=True)
            return "taken"
        if sensors and locked:
            self._set_parcel(db, p["id"], _resting_state(p), collector=None, opened_ts=None)
            return str(_resting_state(p))
        if sensors:
            # Opened for this pickup before the stop, the parcel still inside: the person
            # may be taking it right now. Settled when the door shuts (settle_unattended).
            db.table("parcels").update(p["id"], {"opened_ts": p["opened_ts"] or self._now()})
            return "door open, settled when shut"
        return self._review(db, p, "pickup interrupted; no occupancy sensor")

    def _collector(self, db: sqlite_utils.Database, p: dict) -> Courier | None:
        row = db.table("couriers").get(p["collector"]) if p["collector"] else None
        return Courier(row["id"], row["pseudonym"]) if row else None

    def _review(self, db: sqlite_utils.Database, p: dict, reason: str) -> str:
        self._set_parcel(db, p["id"], ParcelState.IN_REVIEW, note=reason)
        self.outbox.append(db, "parcel.in_review", {
            "parcel": p["id"], "compartment": p["compartment"], "reason": reason})
        return "review:" + reason

    # --- helpers ------------------------------------------------------------------------

    def _set_parcel(self, db: sqlite_utils.Database, parcel_id: int, state: ParcelState,
                    **columns: object) -> None:
        db.table("parcels").update(parcel_id, {"state": str(state), **columns})

    def _now(self) -> str:
        return iso(self.clock())

    def parcel(self, parcel_id: int) -> dict:
        return self.store.query("SELECT * FROM parcels WHERE id = ?", (parcel_id,))[0]

    def waiting(self, unit: str) -> list[dict]:
        return self.store.query(
            "SELECT id, compartment, size, state FROM parcels WHERE household = ? AND state IN "
            + _HOLDING + " ORDER BY id", (unit,))


def _unit(unit: str) -> str:
    return unit.strip().upper()[:UNIT_MAX]


def clean_waybill(text: str) -> str:
    """A waybill number as typed or scanned (a scanner ends it with Enter), or ``BadText``."""
    text = "".join(text.split()).upper()
    if len(text) > WAYBILL_MAX or not set(text) <= _WAYBILL_CHARS:
        raise BadText(f"a waybill number is at most {WAYBILL_MAX} letters and digits",
                      field="waybill")
    return text


def clean_destination(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > DESTINATION_MAX or not text.isprintable():
        raise BadText(f"a destination is at most {DESTINATION_MAX} characters",
                      field="destination")
    return text


def _resting_state(parcel: dict) -> ParcelState:
    """Where a parcel goes back to when a door did not open for it."""
    return ParcelState.OUTGOING if parcel["outgoing"] else ParcelState.STORED


def _compartment(row: dict) -> Compartment:
    return Compartment(row["id"], row["board"], row["lock"], row["size"],
                       bool(row["in_service"]), row["fault"], row["parcel_state"])


def _compartment_size(db: sqlite_utils.Database, compartment: str | None) -> str | None:
    """The size of the compartment a parcel took (an S parcel may take an M): the plan
    counts occupancy by compartment, not by parcel."""
    if compartment is None:
        return None
    row = db.execute("SELECT size FROM compartments WHERE id = ?", (compartment,)).fetchone()
    return row[0] if row else None
