"""The plan aggregator's own SQLite: every kiosk event once, by (community, kiosk, seq).

What arrives from the broker is untrusted. ``check_event`` takes a message apart and either
returns a clean event or the reason it is refused; refused messages are counted by reason,
never stored, never allowed to stop the aggregator.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.events import iso, utc_now
from kiosk.store import Migrations, Store
from mqtt import topics
from mqtt.contract import (
    MAX_PAYLOAD,
    MAX_SEQ,
    CleanEvent,
    Refused,
    check_event_body,
    load_json,
)

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Snapshots the plan reads: capacity of the lockers and of the car park, the kiosk's last seq.
STATE_DEVICES = (topics.LOCKERS, topics.PARKING, topics.UPLINK)


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE events (
            community TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            ts TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (community, kiosk, seq)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX events_by_type ON events(community, type)")
    db.execute("""
        CREATE TABLE kiosks (
            community TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            duplicates INTEGER NOT NULL DEFAULT 0,
            conflicts INTEGER NOT NULL DEFAULT 0,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (community, kiosk)
        )""")
    db.execute("""
        CREATE TABLE rejects (
            reason TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            last_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE states (
            community TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            device TEXT NOT NULL,
            payload TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (community, kiosk, device)
        )""")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


PLAN_MIGRATIONS: Migrations = {"plan": [_v1]}


@dataclass(frozen=True)
class CleanState:
    community: str
    kiosk: str
    device: str
    payload: dict[str, Any]


def check_message(topic: str, payload: bytes) -> CleanEvent | CleanState | Refused | None:
    """Take one incoming message apart. None: a state snapshot the plan does not read."""
    if len(payload) > MAX_PAYLOAD:
        return Refused("too_large")
    where = topics.parse(topic)
    if where is None or not _ID.match(where.community) or not _ID.match(where.kiosk):
        return Refused("bad_topic")
    if where.kind == "state":
        if where.name not in STATE_DEVICES:
            return None
        try:
            body = load_json(payload)
        except (ValueError, RecursionError):
            return Refused("bad_json")
        if not isinstance(body, dict):
            return Refused("not_object")
        return CleanState(where.community, where.kiosk, where.name, body)
    if where.kind != "event":
        return Refused("bad_topic")
    try:
        body = load_json(payload)
    except (ValueError, RecursionError):
        return Refused("bad_json")
    return check_event_body(where.community, where.kiosk, where.name, body)


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


@dataclass(frozen=True)
class Gap:
    """Loss seen from the plan's side of one kiosk: seqs never received."""

    community: str
    kiosk: str
    received: int
    max_seq: int
    missing: int
    ranges: list[tuple[int, int]]
    # The kiosk's own last seq, from its retained uplink snapshot: shows a lost tail too.
    announced_last_seq: int | None

    @property
    def behind(self) -> int:
        if self.announced_last_seq is None:
            return 0
        return max(0, self.announced_last_seq - self.max_seq)


class PlanStore:
    """plan.db: ingest checked messages, answer gap and indicator queries."""

    def __init__(self, path: str | Path):
        self.store = Store(path, PLAN_MIGRATIONS)

    def close(self) -> None:
        self.store.close()

    def client_id(self) -> str:
        """A broker client id fixed for this database, so the broker keeps our session."""
        with self.store.step() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'client_id'").fetchone()
            if row:
                return str(row[0])
            value = f"kiosk-plan-{uuid.uuid4().hex[:12]}"
            db.execute("INSERT INTO meta (key, value) VALUES ('client_id', ?)", (value,))
            return value

    def ingest(self, messages: Iterable[tuple[str, bytes]]) -> IngestResult:
        """Check and store a batch in one transaction. Never raises for bad input."""
        result = IngestResult()
        now = iso(utc_now())
        with self.store.step() as db:
            for topic, payload in messages:
                try:
                    checked = check_message(topic, payload)
                    if checked is None:
                        continue
                    if isinstance(checked, Refused):
                        result.refuse(checked.reason)
                    elif isinstance(checked, CleanState):
                        self._store_state(db, checked, now)
                    else:
                        self._store_event(db, checked, now, result)
                except Exception:  # hostile input must not stop the plan
                    result.refuse("error")
            for reason, count in result.refused.items():
                db.execute(
                    "INSERT INTO rejects (reason, count, last_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(reason) DO UPDATE SET count = count + excluded.count, "
                    "last_at = excluded.last_at", (reason, count, now))
        return result

    def _store_event(self, db: sqlite_utils.Database, e: CleanEvent, now: str,
                     result: IngestResult) -> None:
        db.execute(
            "INSERT INTO kiosks (community, kiosk, first_seen, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(community, kiosk) DO UPDATE SET last_seen = excluded.last_seen",
            (e.community, e.kiosk, now, now))
        cursor = db.execute(
            "INSERT OR IGNORE INTO events (community, kiosk, seq, id, ts, type, data, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (e.community, e.kiosk, e.seq, e.id, e.ts, e.type,
             json.dumps(e.data, ensure_ascii=False, sort_keys=True), now))
        if cursor.rowcount:
            result.stored += 1
            return
        known = db.execute("SELECT id FROM events WHERE community = ? AND kiosk = ? AND seq = ?",
                           (e.community, e.kiosk, e.seq)).fetchone()[0]
        if known == e.id:
            result.duplicates += 1
            column = "duplicates"
        else:
            # Same (kiosk, seq), different event: a replay or a forgery. The first one stays.
            result.refuse("conflict")
            column = "conflicts"
        db.execute(f"UPDATE kiosks SET {column} = {column} + 1 WHERE community = ? AND kiosk = ?",
                   (e.community, e.kiosk))

    def _store_state(self, db: sqlite_utils.Database, s: CleanState, now: str) -> None:
        db.execute(
            "INSERT INTO states (community, kiosk, device, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(community, kiosk, device) DO UPDATE SET "
            "payload = excluded.payload, received_at = excluded.received_at",
            (s.community, s.kiosk, s.device, json.dumps(s.payload, sort_keys=True), now))

    # -- queries --------------------------------------------------------------------------

    def communities(self) -> list[str]:
        return [r["community"] for r in self.store.query(
            "SELECT DISTINCT community FROM kiosks ORDER BY community")]

    def events(self, community: str) -> Iterable[dict[str, Any]]:
        """Every event of a community, per kiosk in seq order."""
        rows = self.store.query(
            "SELECT kiosk, seq, ts, type, data FROM events WHERE community = ? "
            "ORDER BY kiosk, seq", (community,))
        for row in rows:
            row["data"] = json.loads(row["data"])
            yield row

    def states(self, community: str, device: str) -> dict[str, dict[str, Any]]:
        rows = self.store.query(
            "SELECT kiosk, payload FROM states WHERE community = ? AND device = ?",
            (community, device))
        return {r["kiosk"]: json.loads(r["payload"]) for r in rows}

    def kiosk_counters(self, community: str) -> list[dict[str, Any]]:
        return self.store.query(
            "SELECT kiosk, duplicates, conflicts, first_seen, last_seen FROM kiosks "
            "WHERE community = ? ORDER BY kiosk", (community,))

    def rejects(self) -> dict[str, int]:
        return {r["reason"]: r["count"] for r in self.store.query(
            "SELECT reason, count FROM rejects ORDER BY reason")}

    def gaps(self, community: str, max_ranges: int = 50) -> list[Gap]:
        announced = {k: v.get("last_seq") for k, v in self.states(community, "uplink").items()}
        out = []
        for row in self.store.query(
                "SELECT kiosk, COUNT(*) AS n, MAX(seq) AS top FROM events WHERE community = ? "
                "GROUP BY kiosk ORDER BY kiosk", (community,)):
            kiosk, n, top = row["kiosk"], row["n"], row["top"]
            ranges = []
            if top > n:
                for r in self.store.query(
                        "SELECT prev + 1 AS first, seq - 1 AS last FROM ("
                        " SELECT seq, LAG(seq, 1, 0) OVER (ORDER BY seq) AS prev FROM events"
                        " WHERE community = ? AND kiosk = ?) WHERE seq - prev > 1 LIMIT ?",
                        (community, kiosk, max_ranges)):
                    ranges.append((r["first"], r["last"]))
            last = announced.get(kiosk)
            last = last if type(last) is int and 0 <= last <= MAX_SEQ else None
            out.append(Gap(community, kiosk, n, top, top - n, ranges, last))
        return out

    def event_count(self) -> int:
        return self.store.scalar("SELECT COUNT(*) FROM events") or 0


def finite_number(value: Any) -> float | None:
    """A number from untrusted data, or None (bools, NaN and strings are not numbers)."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None
