"""Domain events and the outbox they are written to, in the same transaction as the change.

``seq`` is per kiosk, starts at 1 and never has a gap: consumers dedupe and detect loss by
(kiosk, seq). An event leaves the outbox (``published = 1``) only after the broker's ack. A private
notification leaves it only after the notifier's receipt (``delivered``; docs/notify.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from kiosk.store import Migration, Store

Clock = Callable[[], datetime]

# Public events must never carry these: data is public, people are not.
PRIVATE_KEYS = frozenset({"name", "phone", "email", "code", "pin", "pickup_code", "password"})


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Event:
    seq: int
    id: str
    ts: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self, community: str, kiosk: str) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "ts": self.ts, "type": self.type,
                "community": community, "kiosk": kiosk, "data": self.data}

    def to_json(self, community: str, kiosk: str) -> str:
        return json.dumps(self.payload(community, kiosk), ensure_ascii=False,
                          separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class Notification:
    """A private message to one household (pickup code, reminder). Never public."""

    id: int
    household: str
    ts: str
    kind: str
    data: dict[str, Any]
    # Random, stable across re-sends: the notifier's receipt names it (kiosk/notifications.py).
    uid: str = ""


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            ts TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            published INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("CREATE INDEX events_pending ON events(seq) WHERE published = 0")
    # Private notifications hold pickup codes in clear only until delivered (see _v2).
    db.execute("""
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            household TEXT NOT NULL,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL
        )""")


def _v2(db: sqlite_utils.Database) -> None:
    # A notification now stays until the notifier's receipt names it (docs/notify.md).
    db.execute("ALTER TABLE notifications ADD COLUMN uid TEXT")
    db.execute("UPDATE notifications SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL")
    db.execute("CREATE UNIQUE INDEX notifications_uid ON notifications(uid)")


MIGRATIONS: list[Migration] = [_v1, _v2]


def _check_public(data: Any, where: str = "data") -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).lower() in PRIVATE_KEYS:
                raise ValueError(f"event {where}.{key}: private data never goes into events")
            _check_public(value, f"{where}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_public(value, f"{where}[{i}]")


def _runs(numbers: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive runs of a set of integers, as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


class Outbox:
    """Appends events and notifications inside a step; hands them to the publisher."""

    def __init__(self, store: Store, clock: Clock = utc_now):
        self.store = store
        self.clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit that added an event or a notification
        (the publisher's kick: it goes out now, not at the next poll)."""
        self._listeners.append(listener)

    def _added(self) -> None:
        if self._listeners:
            self.store.after_commit(self._tell)

    def _tell(self) -> None:
        for listener in self._listeners:
            listener()

    def append(self, db: sqlite_utils.Database, type_: str, data: dict[str, Any]) -> Event:
        """Add an event. Call inside ``Store.step()`` with the change it records."""
        if not db.conn.in_transaction:
            raise RuntimeError("events are appended inside a step, with the change they record")
        _check_public(data)
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events").fetchone()[0]
        event = Event(seq=seq, id=str(uuid.uuid4()), ts=iso(self.clock()), type=type_, data=data)
        db.execute(
            "INSERT INTO events (seq, id, ts, type, data) VALUES (?, ?, ?, ?, ?)",
            (event.seq, event.id, event.ts, event.type,
             json.dumps(data, ensure_ascii=False, sort_keys=True)),
        )
        self._added()
        return event

    def notify(self, db: sqlite_utils.Database, household: str, kind: str,
               data: dict[str, Any]) -> None:
        """Queue a private message for one household. Call inside a step. It stays on the
        kiosk until the notifier's receipt says it reached the household (``delivered``)."""
        if not db.conn.in_transaction:
            raise RuntimeError("notifications are queued inside a step")
        db.execute(
            "INSERT INTO notifications (household, ts, kind, data, uid) VALUES (?, ?, ?, ?, ?)",
            (household, iso(self.clock()), kind, json.dumps(data, ensure_ascii=False),
             uuid.uuid4().hex),
        )
        self._added()

    def pending(self, limit: int = 500, after_seq: int = 0) -> list[Event]:
        rows = self.store.query(
            "SELECT seq, id, ts, type, data FROM events WHERE published = 0 AND seq > ? "
            "ORDER BY seq LIMIT ?", (after_seq, limit))
        return [Event(r["seq"], r["id"], r["ts"], r["type"], json.loads(r["data"])) for r in rows]

    def pending_payloads(self, community: str, kiosk: str, limit: int = 500,
                         after_seq: int = 0) -> list[tuple[int, str, str]]:
        """(seq, type, JSON payload) of unpublished events, oldest first: the publisher's
        fast path. The payload is ``Event.to_json`` up to whitespace inside ``data``.

        SQLite builds the payloads and returns them as one JSON array in one row: the
        sqlite3 module lets go of the GIL for every row it steps through, and with paho's
        network thread busy each of those hand-overs can cost milliseconds.
        """
        text = self.store.scalar(
            "SELECT json_group_array(json_array(seq, type, "
            " '{\"community\":' || json_quote(:community) || ',\"data\":' || data"
            " || ',\"id\":' || json_quote(id) || ',\"kiosk\":' || json_quote(:kiosk)"
            " || ',\"seq\":' || seq || ',\"ts\":' || json_quote(ts)"
            " || ',\"type\":' || json_quote(type) || '}'))"
            " FROM (SELECT seq, id, ts, type, data FROM events"
            "       WHERE published = 0 AND seq > :after ORDER BY seq LIMIT :limit)",
            {"community": community, "kiosk": kiosk, "after": after_seq, "limit": limit})
        return sorted((seq, type_, payload) for seq, type_, payload in json.loads(text or "[]"))

    def mark_published(self, seqs: Iterable[int]) -> None:
        # Acks may arrive out of order: mark exactly these, never "everything up to".
        # Runs of consecutive seqs go in one statement each (one statement per batch of
        # acks, usually), which keeps the publisher's thread off the GIL queue.
        runs = _runs(seqs)
        if not runs:
            return
        with self.store.step() as db:
            db.conn.executemany("UPDATE events SET published = 1 WHERE seq BETWEEN ? AND ?",
                                runs)

    def pending_count(self) -> int:
        return self.store.scalar("SELECT COUNT(*) FROM events WHERE published = 0") or 0

    def last_seq(self) -> int:
        return self.store.scalar("SELECT COALESCE(MAX(seq), 0) FROM events") or 0

    def events(self, after_seq: int = 0, limit: int = 1000) -> list[Event]:
        rows = self.store.query(
            "SELECT seq, id, ts, type, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit))
        return [Event(r["seq"], r["id"], r["ts"], r["type"], json.loads(r["data"])) for r in rows]

    def pending_notifications(self, limit: int = 100, after_id: int = 0) -> list[Notification]:
        """Notifications no receipt has named yet, oldest first."""
        rows = self.store.query(
            "SELECT id, household, ts, kind, data, uid FROM notifications WHERE id > ? "
            "ORDER BY id LIMIT ?", (after_id, limit))
        return [Notification(r["id"], r["household"], r["ts"], r["kind"], json.loads(r["data"]),
                             r["uid"]) for r in rows]

    def undelivered_count(self, older_than_s: float = 0) -> int:
        """Notifications without a receipt; with ``older_than_s``, those queued longer ago."""
        if older_than_s <= 0:
            return self.store.scalar("SELECT COUNT(*) FROM notifications") or 0
        since = iso(self.clock() - timedelta(seconds=older_than_s))
        return self.store.scalar("SELECT COUNT(*) FROM notifications WHERE ts < ?",
                                 (since,)) or 0

    def notifications_by_uid(self, uids: Iterable[str]) -> list[Notification]:
        found = []
        for uid in dict.fromkeys(uids):
            r = self.store.query("SELECT id, household, ts, kind, data, uid FROM notifications "
                                 "WHERE uid = ?", (uid,))
            found += [Notification(x["id"], x["household"], x["ts"], x["kind"],
                                   json.loads(x["data"]), x["uid"]) for x in r]
        return found

    def delivered(self, uids: Iterable[str]) -> list[Notification]:
        """The notifier's receipts named these: they leave the kiosk's disk. Returns the
        ones that were still here (a receipt for an unknown id changes nothing)."""
        uids = list(dict.fromkeys(uids))
        if not uids:
            return []
        done: list[Notification] = []
        with self.store.step() as db:
            for uid in uids:
                row = db.execute("SELECT id, household, ts, kind, data, uid FROM notifications "
                                 "WHERE uid = ?", (uid,)).fetchone()
                if row is None:
                    continue
                db.execute("DELETE FROM notifications WHERE id = ?", (row[0],))
                done.append(Notification(row[0], row[1], row[2], row[3], json.loads(row[4]),
                                         row[5]))
        return done

