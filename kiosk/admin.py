"""Administrative changes to the kiosk: households, couriers, the configuration.

Each change and its audit entry commit together. Entries name pseudonyms and the fields
that changed, never a unit, a name or a PIN: the audit chain is public.
"""

from __future__ import annotations

import hashlib

from kiosk import households
from kiosk.audit import AuditLog
from kiosk.lockers.model import Courier, Household, LockerError
from kiosk.lockers.service import LockerService


class Admin:
    def __init__(self, lockers: LockerService, audit: AuditLog):
        self.lockers = lockers
        self.audit = audit
        self.store = lockers.store

    def add_household(self, actor: str, reason: str, unit: str,
                      pin: str | None = None) -> Household:
        problem = households.pin_problem(pin) if pin is not None else None
        if problem:
            raise LockerError(problem)
        with self.store.step() as db:
            known = db.execute("SELECT pseudonym FROM households WHERE unit = ?",
                               (unit.strip().upper(),)).fetchone()
            household = self.lockers.add_household(unit, known[0] if known else None, pin)
            fields = ["pin"] if known else ["unit", *(["pin"] if pin else [])]
            self.audit.append(db, actor, "household.changed" if known else "household.added",
                              household.pseudonym, reason, {"fields": fields})
        return household

    def add_courier(self, actor: str, reason: str, courier_id: str, pin: str) -> Courier:
        with self.store.step() as db:
            known = db.execute("SELECT pseudonym FROM couriers WHERE id = ?",
                               (courier_id,)).fetchone()
            courier = self.lockers.add_courier(courier_id, pin, known[0] if known else None)
            self.audit.append(db, actor, "courier.changed" if known else "courier.added",
                              courier.pseudonym, reason, {"fields": ["pin"]})
        return courier

    def retire_courier(self, actor: str, reason: str, courier_id: str) -> None:
        with self.store.step() as db:
            row = db.execute("SELECT pseudonym FROM couriers WHERE id = ? AND active = 1",
                             (courier_id,)).fetchone()
            if row is None:
                raise LockerError(f"no active courier {courier_id!r}")
            db.execute("UPDATE couriers SET active = 0 WHERE id = ?", (courier_id,))
            self.audit.append(db, actor, "courier.retired", row[0], reason)

    def record_config(self, text: str, source: str) -> bool:
        """Audit the configuration the kiosk starts with, when it differs from last time."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self.store.step() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'config_sha256'").fetchone()
            if row and row[0] == digest:
                return False
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('config_sha256', ?)",
                       (digest,))
            self.audit.append(db, "kiosk", "config.changed", source,
                              "configuration loaded at start-up",
                              {"sha256": digest, "previous": row[0] if row else None})
        return True
