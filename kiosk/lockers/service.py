"""The locker steps: deposit, pickup, send, collect, remind, reconcile.

Each step is persisted before the hardware moves, and each state change commits together
with its event. Methods block on the board; the screen calls them from worker threads.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import sqlite_utils

from kiosk import backoff
from kiosk.codes import keyed_hash, new_code, normalize
from kiosk.config import Config
from kiosk.doors import DoorController
from kiosk.events import Clock, Outbox, iso, parse_iso, utc_now
from kiosk.hardware import BoardError, BoardStatus, LockBoard
from kiosk.lockers.model import (
    HOLDING_STATES,
    SIZES,
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
    Slot,
    UnknownUnit,
    WrongCode,
    WrongPin,
    compartment_label,
    sizes_that_fit,
)
from kiosk.store import Store, insert_with_id

_HOLDING = "(" + ", ".join(f"'{s}'" for s in HOLDING_STATES) + ")"
# A code still in the outbox this long after it was queued has not reached its household
# for an uplink outage (with the broker up a code leaves within milliseconds).
CODE_LATE_S = 60
_COMPARTMENT_SQL = f"""
    SELECT c.id, c.board, c.lock, c.size, c.in_service, c.fault, p.state AS parcel_state
    FROM compartments c
    LEFT JOIN parcels p ON p.compartment = c.id AND p.state IN {_HOLDING}
"""


@dataclass
class ReconcileReport:
    resolved: dict[str, str] = field(default_factory=dict)  # parcel id -> new state
    in_review: dict[str, str] = field(default_factory=dict)  # parcel id -> reason


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
        self.backoff = backoff.BackoffPolicy(
            self.rules.free_attempts, self.rules.backoff_base_s, self.rules.backoff_max_s)
        self._secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")
        # Every door this service opens, and every compartment fault, goes through here.
        self.doors = doors or DoorController(store, outbox, board, config.board.confirm_s,
                                             clock=clock, sleep=sleep)
        self.sync_compartments(config.compartment_list())

    # --- people -------------------------------------------------------------------------

    def add_household(self, unit: str, pseudonym: str | None = None,
                      pin: str | None = None) -> Household:
        unit = unit.strip().upper()
        pseudonym = pseudonym or "h-" + secrets.token_hex(3)
        pin_hash = keyed_hash(self._secret, "household-pin", pin) if pin else None
        with self.store.step() as db:
            db.table("households").upsert(
                {"unit": unit, "pseudonym": pseudonym, "pin_hash": pin_hash, "active": 1},
                pk="unit")
        return Household(unit, pseudonym)

    def add_courier(self, courier_id: str, pin: str, pseudonym: str | None = None) -> Courier:
        if not pin.isdigit() or len(pin) < 4:
            raise LockerError("a courier PIN is at least 4 digits")
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

    def courier_login(self, pin: str) -> Courier:
        """A courier's PIN opens a session for many deposits in a row."""
        pin_hash = keyed_hash(self._secret, "courier-pin", pin.strip())
        return self._login("courier", "SELECT id, pseudonym FROM couriers "
                           "WHERE pin_hash = ? AND active = 1", (pin_hash,),
                           lambda r: Courier(r["id"], r["pseudonym"]))

    def resident_login(self, unit: str, pin: str) -> Household:
        pin_hash = keyed_hash(self._secret, "household-pin", pin.strip())
        return self._login("resident", "SELECT unit, pseudonym FROM households "
                           "WHERE unit = ? AND pin_hash = ? AND active = 1",
                           (unit.strip().upper(), pin_hash),
                           lambda r: Household(r["unit"], r["pseudonym"]))

    def _login(self, scope: str, sql: str, params: tuple, make: Callable):
        with self.store.step() as db:
            backoff.check(db, scope, self.backoff, self.clock())
            rows = list(db.query(sql, params))
            if rows:
                backoff.record_success(db, scope)
                return make(rows[0])
            failures, wait_s = backoff.record_failure(db, scope, self.backoff, self.clock())
            self.outbox.append(db, "security.wrong_pin",
                               {"scope": scope, "failures": failures, "wait_s": wait_s})
        raise WrongPin(wait_s)

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

    def deposit(self, courier: Courier, unit: str, size: str) -> Slot:
        """Choose a compartment, persist the pending parcel, open the door."""
        slot = self._begin(unit, size, courier=courier, outgoing=False)
        self._open_slot(slot)
        return slot

    def send(self, household: Household, size: str) -> Slot:
        """A resident puts an outgoing parcel in; a courier collects it later."""
        slot = self._begin(household.unit, size, courier=None, outgoing=True)
        self._open_slot(slot)
        return slot

    def _begin(self, unit: str, size: str, courier: Courier | None, outgoing: bool) -> Slot:
        if size not in SIZES:
            raise LockerError(f"size must be one of {', '.join(SIZES)}")
        household = self.household(unit)
        causes: dict[str, int] = {}
        with self.store.step() as db:
            compartment = self._choose(db, size)
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
                parcel_id = insert_with_id(db, "parcels", {
                    "household": household.unit, "compartment": compartment.id, "size": size,
                    "outgoing": int(outgoing), "state": ParcelState.DEPOSIT_PENDING,
                    "courier": courier.id if courier else None, "created_ts": self._now(),
                })
        if compartment is None:
            raise LockersOutOfOrder(size, causes) if causes else NoFreeCompartment(size)
        return Slot(parcel_id, compartment, household.unit, outgoing)

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
            self._store_parcel(db, slot.parcel_id)

    def cancel(self, slot: Slot, reason: str = "cancelled at the screen") -> None:
        with self.store.step() as db:
            self._set_parcel(db, slot.parcel_id, ParcelState.CANCELLED, note=reason)
            self.outbox.append(db, "parcel.deposit_cancelled", {
                "parcel": slot.parcel_id, "compartment": slot.compartment.id,
                "reason": "cancelled"})

    def _store_parcel(self, db: sqlite_utils.Database, parcel_id: int,
                      reconciled: bool = False) -> None:
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
        courier = db.table("couriers").get(p["courier"]) if p["courier"] else None
        data["courier"] = courier["pseudonym"] if courier else None
        self.outbox.append(db, "parcel.deposited", data)
        self._issue_code(db, household["unit"], "pickup_code")

    def _issue_code(self, db: sqlite_utils.Database, unit: str, kind: str) -> None:
        """A fresh code per message; any unused code of a household opens all its parcels."""
        code = new_code(self.rules.code_length)
        db.table("codes").insert({"hash": keyed_hash(self._secret, "code", code), "household": unit,
                               "created_ts": self._now()})
        waiting = db.execute(
            "SELECT COUNT(*) FROM parcels WHERE household = ? AND state = 'stored'",
            (unit,)).fetchone()[0]
        self.outbox.notify(db, unit, kind, {
            "code": code, "parcels": waiting, "community": self.config.community_id,
            "kiosk": self.config.kiosk_id})

    # --- pickup and collection ----------------------------------------------------------

    def pickup(self, code: str) -> OpenResult:
        """One code opens every parcel waiting for its household."""
        code_hash = keyed_hash(self._secret, "code", normalize(code))
        with self.store.step() as db:
            backoff.check(db, "pickup", self.backoff, self.clock())
            row = db.execute("SELECT household FROM codes WHERE hash = ? AND used_ts IS NULL",
                             (code_hash,)).fetchone()
            if row is None:
                failures, wait_s = backoff.record_failure(db, "pickup", self.backoff,
                                                          self.clock())
                self.outbox.append(db, "security.wrong_code",
                                   {"failures": failures, "wait_s": wait_s})
            else:
                backoff.record_success(db, "pickup")
                parcels = self._claim(db, "household = ? AND state = 'stored'", (row[0],),
                                      collector=None)
        if row is None:
            raise WrongCode(wait_s)
        result = self._hand_over(parcels, courier=None)
        with self.store.step() as db:
            left = db.execute("SELECT COUNT(*) FROM parcels WHERE household = ? AND state = "
                              "'stored'", (row[0],)).fetchone()[0]
            if not left:
                db.execute("UPDATE codes SET used_ts = ? WHERE household = ? AND used_ts IS NULL",
                           (self._now(), row[0]))
        return result

    def collect(self, courier: Courier) -> OpenResult:
        """A courier takes outgoing parcels and those waiting past the return limit."""
        limit = iso(self.clock() - timedelta(days=self.rules.return_after_days))
        with self.store.step() as db:
            parcels = self._claim(
                db, "state = 'outgoing' OR (state = 'stored' AND stored_ts < ?)", (limit,),
                collector=courier)
        return self._hand_over(parcels, courier=courier)

    def _claim(self, db: sqlite_utils.Database, where: str, params: tuple,
               collector: Courier | None) -> list[dict]:
        """Mark parcels pickup_pending, and by whom, before any door moves."""
        parcels = list(db.query(f"SELECT * FROM parcels WHERE {where} ORDER BY id", params))
        for p in parcels:
            self._set_parcel(db, p["id"], ParcelState.PICKUP_PENDING,
                             collector=collector.id if collector else None)
        return parcels

    def _hand_over(self, parcels: list[dict], courier: Courier | None) -> OpenResult:
        result = OpenResult(parcels=len(parcels))
        for p in parcels:
            compartment = self._compartment(p["compartment"])
            if self._open(compartment):
                result.opened.append(compartment)
                with self.store.step() as db:
                    self._release(db, p, courier)
            else:
                result.failed.append(compartment)
                with self.store.step() as db:
                    # The door stayed shut: the parcel is still inside and its code valid.
                    self._set_parcel(db, p["id"], _resting_state(p), collector=None)
        return result

    def _release(self, db: sqlite_utils.Database, p: dict, courier: Courier | None,
                 reconciled: bool = False) -> None:
        returned = courier is not None and not p["outgoing"]
        state = ParcelState.RETURNED if returned else ParcelState.COLLECTED
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
        kind = "parcel.returned" if returned else (
            "parcel.outgoing_collected" if p["outgoing"] else "parcel.collected")
        self.outbox.append(db, kind, data)

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
        """Remind households of parcels waiting too long. Reminders never cost anything."""
        now = self.clock()
        due = iso(now - timedelta(days=self.rules.overdue_days))
        again = iso(now - timedelta(hours=self.rules.reminder_every_hours))
        sent = 0
        with self.store.step() as db:
            rows = list(db.query(
                "SELECT * FROM parcels WHERE state = 'stored' AND stored_ts < ? AND "
                "(last_reminder_ts IS NULL OR last_reminder_ts < ?) ORDER BY household, id",
                (due, again)))
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
            self._set_parcel(db, p["id"], _resting_state(p), collector=None)
            return str(_resting_state(p))
        return self._review(db, p, "door open with the parcel inside after restart"
                            if sensors else "pickup interrupted; no occupancy sensor")

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
