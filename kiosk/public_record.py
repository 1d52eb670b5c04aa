"""What a kiosk shows the world so nobody needs its disk to re-check it.

Retained, under ``…/public/{name}`` (``mqtt/topics.py``): the kiosk's public key, the
signed heads of its audit chain and its draw chain, the allocations the board and the
gate act on, the newest draw record whole, the duty roster with its seed inputs, and the
duty load. The chains' entries themselves go out as events (``audit.entry``,
``parking.draw_entry``), never lost (the outbox). Witnesses (``witness/``) keep copies.

``alarm_if_changed`` turns the live check (the allocations against the draw chain's record)
into a public event, ``parking.record_mismatch``, each time what differs changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.rotation import sha256_hex
from kiosk.signing import AUDIT, DRAWS, KioskKey

if TYPE_CHECKING:
    from kiosk.audit import AuditLog
    from kiosk.duty import DutyRoster
    from kiosk.parking.register import ParkingRegister

ALLOCATIONS_FORMAT = "kiosk-parking-allocations/1"
ROSTER_FORMAT = "kiosk-duty-roster/1"
# A volunteer carrying more than this many times the mean load is flagged in public.
OVERLOAD_FACTOR = 1.5
# ... and at least this many shifts above the mean (a few shifts are noise).
OVERLOAD_MIN_EXTRA = 2


class PublicRecord:
    def __init__(self, key: KioskKey, community: str, kiosk: str, audit: AuditLog,
                 parking: ParkingRegister | None = None, duty: DutyRoster | None = None):
        self.key = key
        self.community = community
        self.kiosk = kiosk
        self.audit = audit
        self.parking = parking
        self.duty = duty
        self._alarmed: str | None = None
        self._record_key: tuple[Any, ...] | None = None
        self._record: dict[str, Any] | None = None

    def heads(self) -> dict[str, dict[str, Any]]:
        """The signed head of each chain, by chain name."""
        heads = {AUDIT: self.key.head(self.community, self.kiosk, AUDIT, *self.audit.head())}
        if self.parking is not None:
            heads[DRAWS] = self.key.head(self.community, self.kiosk, DRAWS,
                                         *self.parking.chain.head())
        return heads

    def items(self) -> dict[str, Any]:
        """Every retained public item, by its public name (``mqtt.topics`` gives topics)."""
        items: dict[str, Any] = {"key": self.key.announcement(self.community, self.kiosk)}
        for chain, head in self.heads().items():
            items[f"head-{chain}"] = head
        if self.parking is not None:
            items["allocations"] = self.allocations()
            record = self._newest_record()
            if record is not None:
                items["draw-record"] = record
        if self.duty is not None:
            items["roster"] = self.roster()
            items["duty-load"] = duty_load(self.duty.counts())
        return items

    def _newest_record(self) -> dict[str, Any] | None:
        """The current round's record, read again only when the draw chain moved (a
        record can be a megabyte; this runs after every commit)."""
        assert self.parking is not None
        key = (self.parking.current_round(), self.parking.chain.head())
        if self._record_key != key:
            current = key[0]
            self._record = self.parking.record(current) if current else None
            self._record_key = key
        return self._record

    def allocations(self) -> dict[str, Any]:
        """What "my spot", the board and the gate show: the allocations table as it is."""
        assert self.parking is not None
        parking = self.parking
        # One read: the round, its rows and the draw chain's length it reflects. A witness
        # can be handed this snapshot after a newer draw entry; ``draws_seq`` tells it
        # which record to hold it against.
        with parking.store.read() as db:
            current = parking.current_round(db)
            rows = db.execute(
                "SELECT member, spot, type, released_ts FROM parking_allocations WHERE "
                "round = ? ORDER BY member", (current,)).fetchall() if current else []
            draws_seq = parking.chain.head(db)[0]
            # The audit chain's length too: every release is an entry of it, and a witness
            # holds a released allocation against the entries up to here.
            audit_seq = parking.audit.head(db)[0]
        return {"format": ALLOCATIONS_FORMAT, "round": current, "draws_seq": draws_seq,
                "audit_seq": audit_seq,
                "allocations": [{"member": m, "spot": spot, "type": kind,
                                 "released": released is not None}
                                for m, spot, kind, released in rows]}

    def roster(self) -> dict[str, Any]:
        """Every shift with what recomputes it: who stood (``standing``, the list whose
        hash is ``seed_inputs.eligible_hash``), the places drawn for, the seed inputs.
        A resident replays the rotation from the first shift (docs/parking.md, "The
        duty roster"); ``standing`` is null for shifts planned before it was kept."""
        from kiosk.duty import POOL

        assert self.duty is not None
        return {"format": ROSTER_FORMAT, "pool": POOL,
                "shifts": [{"start": s.start, "end": s.end, "maintainers": list(s.maintainers),
                            "standing": list(s.standing) if s.standing is not None else None,
                            "places": s.places, "seed_inputs": s.seed_inputs}
                           for s in self.duty.roster()]}

    def alarm_if_changed(self) -> list[str]:
        """Run the live check; publish ``parking.record_mismatch`` when what differs is not
        what was last published (also when it clears). Returns the differences."""
        if self.parking is None:
            return []
        problems = self.parking.check_against_record()
        digest = sha256_hex(problems) if problems else None
        if digest != self._alarmed:
            with self.parking.store.step() as db:
                self.parking.outbox.append(db, "parking.record_mismatch", {
                    "problems": problems[:50], "count": len(problems),
                    "gate": "follows the draw record"})
            self._alarmed = digest
        return problems


def duty_load(counts: dict[str, int]) -> dict[str, Any]:
    """Shifts per volunteer, the mean, and who carries far more than the rest."""
    mean = sum(counts.values()) / len(counts) if counts else 0.0
    flagged = sorted(v for v, n in counts.items()
                     if n > mean * OVERLOAD_FACTOR and n - mean >= OVERLOAD_MIN_EXTRA)
    return {"shifts": dict(sorted(counts.items())), "mean": round(mean, 3),
            "overloaded": flagged}


def publish_all(record: PublicRecord, set_retained: Callable[[str, str], None],
                topic: Callable[[str], str]) -> int:
    """Hand every item to ``set_retained`` (which skips unchanged payloads)."""
    items = record.items()
    for name, payload in items.items():
        set_retained(topic(name), json.dumps(payload, ensure_ascii=False, sort_keys=True,
                                             separators=(",", ":")))
    return len(items)
