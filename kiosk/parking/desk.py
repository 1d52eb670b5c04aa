"""What the kiosk screen asks of the parking register: a member's page, the public board,
and the member's actions, with refusals the screen can put into either language.

Plain Python over ``ParkingRegister``; the screen calls it from worker threads and never
touches SQLite itself. Every rule is the register's: an action here is the register's
method, and its refusal reaches the screen as it was raised (same reason, same details;
the reasons are listed in ``kiosk/parking/register.py``). Reads that the register has no
method for (a member's history, the board's counts) are plain queries here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from kiosk.backoff import TooManyAttempts
from kiosk.events import iso, parse_iso
from kiosk.parking.model import SPOT_TYPES, ParkingError, may_ask_for, sha256_hex
from kiosk.parking.register import (
    LIVE,
    LIVE_SQL,
    Member,
    ParkingRegister,
    Reservation,
    Reserved,
)

# How rounds are named, still importable from here.
from kiosk.parking.register import next_round_id as next_round_id

HISTORY_ROUNDS = 6
HISTORY_RESERVATIONS = 4

T = TypeVar("T")


class Refused(ParkingError):
    """What the screen catches: the register's refusal, carried over as it was raised
    (``reason``, ``detail`` = its message, ``wait_s``, ``at``, ``round_id``), or one the
    screen names itself (``Refused("gate")``). ``blocked`` is a login while a back-off
    wait runs (``backoff.TooManyAttempts``)."""

    def __init__(self, reason: str, detail: str = "", **details: Any):
        super().__init__(detail, reason=reason, **details)

    @classmethod
    def of(cls, refusal: ParkingError) -> Refused:
        return cls(refusal.reason, refusal.message, **refusal.details)


@dataclass(frozen=True)
class Holding:
    round: str
    spot: str
    type: str


@dataclass(frozen=True)
class TypeChoice:
    """A spot type one may ask for in the open round: its spots and who asks so far."""

    type: str
    spots: int
    askers: int


@dataclass(frozen=True)
class WaitPlace:
    id: int
    type: str
    kind: str
    start: datetime
    end: datetime
    position: int
    offer: Reservation | None


@dataclass(frozen=True)
class PastRound:
    round: str
    asked: str | None
    spot: str | None
    type: str | None
    released: bool


@dataclass(frozen=True)
class MemberView:
    member: Member
    now: datetime
    holding: Holding | None
    # The round taking requests (it exists once someone asks), or the round being drawn
    # while requests wait for the next one.
    open_round: str | None
    busy_round: str | None
    asked: str | None  # the type asked for in the open round, or in the one being drawn
    round_types: list[TypeChoice]
    reserve_types: list[str]
    max_hours: int
    early_checkin: timedelta
    reservations: list[Reservation]
    checkable: Reservation | None
    waiting: list[WaitPlace]
    history: list[PastRound]
    past_reservations: list[Reservation]
    may_open_gate: bool

    @property
    def offer(self) -> WaitPlace | None:
        return next((w for w in self.waiting if w.offer is not None), None)

    @property
    def cancellable(self) -> Reservation | None:
        return next((r for r in self.reservations if r.status == "booked"), None)


@dataclass(frozen=True)
class TypeCounts:
    type: str
    spots: int
    out_of_service: int
    held: int
    reserved_now: int
    free_now: int
    occupied: int


@dataclass(frozen=True)
class DrawInputs:
    """What is public about one round so far: everything once it is committed."""

    round: str
    status: str
    askers: int
    closed_at: datetime | None = None
    committed_at: datetime | None = None
    algorithm: str | None = None
    eligible_hash: str | None = None
    public_random: str | None = None
    inputs_hash: str | None = None
    results_hash: str | None = None
    drawn_at: datetime | None = None


@dataclass(frozen=True)
class PublicBoard:
    now: datetime
    current_round: str | None
    allocations: list[tuple[str, str, str]]  # (member pseudonym, spot, type)
    types: list[TypeCounts]
    next_draw: DrawInputs | None
    last_draw: DrawInputs | None
    # The round requests go to next when none is open yet.
    next_round: str | None = None


class ParkingDesk:
    def __init__(self, register: ParkingRegister):
        self.register = register
        self.store = register.store

    def now(self) -> datetime:
        return self.register.clock().astimezone(UTC)

    @property
    def max_hours(self) -> int:
        return self.register.settings.max_reservation_hours

    # --- login --------------------------------------------------------------------------

    def login(self, unit: str, pin: str) -> Member:
        try:
            return self._call(self.register.authenticate, unit, pin)
        except TooManyAttempts as exc:
            raise Refused("blocked", exc.message, wait_s=exc.wait_s) from exc

    # --- rounds -------------------------------------------------------------------------

    def request(self, member: str, spot_type: str) -> str:
        """Ask for a spot in the round taking requests; returns the round's name."""
        return self._call(self.register.ask, member, spot_type)

    def withdraw(self, member: str) -> str:
        """Take back the request in the open round; returns the round's name."""
        return self._call(self.register.withdraw, member)

    def release(self, member: str) -> str:
        return self._call(self.register.release, member)

    # --- reservations -------------------------------------------------------------------

    def reserve(self, member: str, spot_type: str, kind: str, start: datetime,
                hours: int) -> Reserved:
        return self._call(self.register.reserve, member, spot_type, start,
                          start + timedelta(hours=hours), kind)

    def check_in(self, member: str, reservation_id: int) -> Reservation:
        return self._call(self.register.check_in, reservation_id, member)

    def cancel(self, member: str, reservation_id: int) -> None:
        self._call(self.register.cancel_reservation, reservation_id, member)

    def accept(self, member: str, waitlist_id: int) -> Reservation:
        return self._call(self.register.accept_offer, waitlist_id, member)

    def decline(self, member: str, waitlist_id: int) -> None:
        self._call(self.register.decline_offer, waitlist_id, member)

    def leave_waitlist(self, member: str, waitlist_id: int) -> None:
        self._call(self.register.leave_waitlist, waitlist_id, member)

    def may_open_gate(self, member: str) -> bool:
        """The gate opens for a member who holds a spot this round or is checked in now."""
        return self.register.may_open_gate(member)

    def check_gate(self, member: str) -> None:
        """Refuse (reason ``gate``) a member the gate does not open for."""
        self._call(self.register.check_gate, member)

    def _early(self) -> timedelta:
        return timedelta(minutes=self.register.settings.early_checkin_minutes)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """The register's refusal, as the type the screen catches. Nothing is re-checked."""
        try:
            return fn(*args)
        except ParkingError as exc:
            raise Refused.of(exc) from exc

    # --- what a member sees -------------------------------------------------------------

    def member_view(self, member_id: str) -> MemberView:
        register = self.register
        member = register.member(member_id)
        now = self.now()
        current = register.current_round()
        held = register.held(member_id)
        holding = Holding(current, *held) if current is not None and held else None
        rounds = register.rounds_now()
        open_round, busy = rounds.open, rounds.busy
        asked = None
        if open_round is not None or busy is not None:
            asked = self.store.scalar("SELECT type FROM parking_requests WHERE round = ? "
                                      "AND member = ?", (open_round or busy, member_id))
        reservations = register.reservations(member_id)
        return MemberView(
            member=member, now=now, holding=holding,
            open_round=open_round or (None if busy else rounds.next),
            busy_round=busy if open_round is None else None, asked=asked,
            round_types=self._round_types(open_round, member.need),
            reserve_types=self._reserve_types(member.need), max_hours=self.max_hours,
            early_checkin=self._early(), reservations=reservations,
            checkable=next((r for r in reservations if register.may_check_in(r)), None),
            waiting=self._waiting(member_id), history=self._history(member_id),
            past_reservations=[r for r in reversed(register.reservations(
                member_id, live_only=False)) if r.status not in LIVE][:HISTORY_RESERVATIONS],
            may_open_gate=register.may_open_gate(member_id))

    def _round_types(self, open_round: str | None, need: bool) -> list[TypeChoice]:
        spots = {r["type"]: r["n"] for r in self.store.query(
            "SELECT type, COUNT(*) AS n FROM parking_spots WHERE pool = 'rounds' AND "
            "state = 'in_service' GROUP BY type")}
        askers = {r["type"]: r["n"] for r in self.store.query(
            "SELECT type, COUNT(*) AS n FROM parking_requests WHERE round = ? GROUP BY type",
            (open_round or "",))}
        return [TypeChoice(t, spots.get(t, 0), askers.get(t, 0)) for t in SPOT_TYPES
                if (spots.get(t) or askers.get(t)) and may_ask_for(t, need)]

    def _reserve_types(self, need: bool) -> list[str]:
        present = {r["type"] for r in self.store.query(
            "SELECT DISTINCT type FROM parking_spots WHERE state = 'in_service'")}
        return [t for t in SPOT_TYPES if t in present and may_ask_for(t, need)]

    def _waiting(self, member_id: str) -> list[WaitPlace]:
        """The member's places on the waitlists, with their place in the register's turn."""
        places = []
        for spot_type in SPOT_TYPES:
            for position, row in enumerate(self.register.waitlist(spot_type), start=1):
                if row["member"] == member_id:
                    places.append(WaitPlace(
                        row["id"], spot_type, row["kind"], parse_iso(row["start_ts"]),
                        parse_iso(row["end_ts"]), position,
                        self.register.offer_for(row["id"])))
        return sorted(places, key=lambda w: w.id)

    def _history(self, member_id: str) -> list[PastRound]:
        rows = self.store.query(
            "SELECT r.round, q.type AS asked, a.spot, a.type, a.released_ts "
            "FROM parking_rounds r "
            "LEFT JOIN parking_requests q ON q.round = r.round AND q.member = :m "
            "LEFT JOIN parking_allocations a ON a.round = r.round AND a.member = :m "
            "WHERE r.status = 'drawn' AND (q.member IS NOT NULL OR a.member IS NOT NULL) "
            "ORDER BY r.round_no DESC LIMIT :n", {"m": member_id, "n": HISTORY_ROUNDS})
        return [PastRound(r["round"], r["asked"], r["spot"], r["type"],
                          r["released_ts"] is not None) for r in rows]

    # --- the public board ---------------------------------------------------------------

    def public_board(self) -> PublicBoard:
        now = self.now()
        current = self.register.current_round()
        allocations = [(r["member"], r["spot"], r["type"]) for r in self.store.query(
            "SELECT member, spot, type FROM parking_allocations WHERE round = ? AND "
            "released_ts IS NULL ORDER BY member", (current or "",))]
        held = {spot for _, spot, _ in allocations}
        n = iso(now)
        reserved = {r["spot"] for r in self.store.query(
            f"SELECT spot FROM parking_reservations WHERE status IN {LIVE_SQL} AND "
            "start_ts <= ? AND end_ts > ?", (n, n))}
        counts: dict[str, dict[str, int]] = {}
        for s in self.register.spots():
            c = counts.setdefault(s.type, {"spots": 0, "out_of_service": 0, "held": 0,
                                           "reserved_now": 0, "free_now": 0, "occupied": 0})
            c["spots"] += 1
            c["occupied"] += bool(s.occupied)
            if s.state != "in_service":
                c["out_of_service"] += 1
            elif s.spot in held:
                c["held"] += 1
            elif s.spot in reserved:
                c["reserved_now"] += 1
            else:
                c["free_now"] += 1
        types = [TypeCounts(t, **counts[t]) for t in SPOT_TYPES if t in counts]
        rounds = self.register.rounds_now()
        pending = rounds.busy or rounds.open
        return PublicBoard(
            now=now, current_round=current, allocations=allocations, types=types,
            next_draw=self._draw_inputs(pending) if pending else None,
            last_draw=self._draw_inputs(current) if current else None,
            next_round=None if pending else rounds.next)

    def _draw_inputs(self, round_id: str) -> DrawInputs:
        row = self.store.query("SELECT * FROM parking_rounds WHERE round = ?", (round_id,))[0]
        status = row["status"]
        if status == "drawn":
            record = json.loads(row["record"])
            return _from_inputs(round_id, status, record["inputs"], record["inputs_hash"],
                                results_hash=record["results_hash"],
                                drawn_at=_time(record["results"]["drawn_at"]))
        if status == "committed":
            commitment = json.loads(row["commitment"])
            return _from_inputs(round_id, status, commitment["inputs"],
                                commitment["inputs_hash"])
        if status == "closed":
            closed = json.loads(row["closed"])
            return DrawInputs(round_id, status, len(closed["eligible"]),
                              closed_at=_time(closed["closed_at"]),
                              eligible_hash=sha256_hex(closed["eligible"]))
        askers = self.store.scalar("SELECT COUNT(*) FROM parking_requests WHERE round = ?",
                                   (round_id,))
        return DrawInputs(round_id, status, int(askers or 0))


def _from_inputs(round_id: str, status: str, inputs: dict[str, Any], inputs_hash: str,
                 **more: Any) -> DrawInputs:
    return DrawInputs(round_id, status, len(inputs["eligible"]),
                      closed_at=_time(inputs["closed_at"]),
                      committed_at=_time(inputs["committed_at"]),
                      algorithm=inputs["algorithm"], eligible_hash=inputs["eligible_hash"],
                      public_random=inputs["public_random"], inputs_hash=inputs_hash, **more)


def _time(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None
