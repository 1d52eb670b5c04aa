"""What an on-duty maintainer may do at the kiosk. Every action is audited and published.

Nothing here can be reached from the network: these are plain methods the screen calls
after an on-duty PIN, and no MQTT handler exists that opens a door.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.audit import AuditLog
from kiosk.doors import sensor_mismatch
from kiosk.hardware import BoardError
from kiosk.lockers.model import Compartment, LockerError, ParcelState
from kiosk.lockers.service import LockerService

# How a maintainer may settle a parcel the kiosk could not decide about.
REVIEW_OUTCOMES = {
    "stored": ParcelState.STORED,
    "collected": ParcelState.COLLECTED,
    "returned": ParcelState.RETURNED,
    "cancelled": ParcelState.CANCELLED,
}


@dataclass(frozen=True)
class Mismatch:
    compartment: str
    problem: str


class Maintenance:
    def __init__(self, lockers: LockerService, audit: AuditLog):
        self.lockers = lockers
        self.audit = audit
        self.store = lockers.store

    def force_door(self, actor: str, compartment_id: str, reason: str) -> bool:
        """Open one door outside any parcel flow. Logged before the lock moves."""
        c = self._compartment(compartment_id)
        with self.store.step() as db:
            self.audit.append(db, actor, "door.force", c.id, reason,
                              {"parcel_state": c.parcel_state})
        return self.lockers.doors.open(c, report_jam=False).opened

    def set_in_service(self, actor: str, compartment_id: str, in_service: bool,
                       reason: str) -> None:
        c = self._compartment(compartment_id)
        with self.store.step() as db:
            self.audit.append(db, actor, "compartment.in_service" if in_service
                              else "compartment.out_of_service", c.id, reason)
            db.execute("UPDATE compartments SET in_service = ?, service_note = ? WHERE id = ?",
                       (int(in_service), None if in_service else reason, c.id))

    def clear_fault(self, actor: str, compartment_id: str, reason: str) -> None:
        """After a jammed lock was fixed, the compartment takes parcels again."""
        c = self._compartment(compartment_id)
        if c.fault is None:
            raise LockerError(f"compartment {c.id} has no fault")
        with self.store.step() as db:
            self.audit.append(db, actor, "compartment.fault_cleared", c.id, reason,
                              {"fault": c.fault})
            self.lockers.doors.clear_fault(db, c.id)

    def resolve_review(self, actor: str, parcel_id: int, outcome: str, reason: str) -> None:
        if outcome not in REVIEW_OUTCOMES:
            raise LockerError(f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
        parcel = self.lockers.parcel(parcel_id)
        if parcel["state"] != ParcelState.IN_REVIEW:
            raise LockerError(f"parcel {parcel_id} is not in review")
        state = REVIEW_OUTCOMES[outcome]
        if state == ParcelState.STORED and parcel["outgoing"]:
            state = ParcelState.OUTGOING
        with self.store.step() as db:
            self.audit.append(db, actor, "parcel.review_resolved", str(parcel_id), reason,
                              {"outcome": str(state), "compartment": parcel["compartment"]})
            db.table("parcels").update(parcel_id, {"state": str(state), "note": reason})

    def in_review(self) -> list[dict]:
        return self.store.query(
            "SELECT id, compartment, size, note FROM parcels WHERE state = 'in_review' "
            "ORDER BY id")

    def reconcile_all(self, actor: str, reason: str) -> list[Mismatch]:
        """Compare the database with every occupancy sensor; log what differs."""
        mismatches: list[Mismatch] = []
        compartments = self.lockers.compartments()
        for board in sorted({c.board for c in compartments}):
            try:
                status = self.lockers.doors.status(board)
            except BoardError as exc:
                mismatches += [Mismatch(c.id, f"board {board} did not answer: {exc}")
                               for c in compartments if c.board == board]
                continue
            for c in compartments:
                if c.board != board:
                    continue
                problem = sensor_mismatch(c.parcel_state, status.is_occupied(c.lock))
                if problem is not None:
                    mismatches.append(Mismatch(c.id, problem))
        with self.store.step() as db:
            self.audit.append(db, actor, "lockers.reconcile", "all", reason,
                              {"mismatches": [m.__dict__ for m in mismatches]})
        return mismatches

    def _compartment(self, compartment_id: str) -> Compartment:
        for c in self.lockers.compartments():
            if c.id == compartment_id.strip().upper():
                return c
        raise LockerError(f"no compartment {compartment_id!r}")
