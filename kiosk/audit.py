"""The public, hash-chained log of every maintainer action and administrative change.

Each entry's hash covers its content and the previous entry's hash, so editing, removing
or reordering any entry breaks the chain from that point on, and ``verify`` names it.
Entries are also published as events, so copies exist outside the kiosk: each one whole,
so an entry that would not fit one event (``MAX_ENTRY_BYTES``) is refused, not committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import sqlite_utils

from kiosk.events import Clock, Outbox, iso, utc_now
from kiosk.refusals import Refusal
from kiosk.store import Migration, Store

GENESIS = "0" * 64

# The largest chain event a witness or the plan takes (``mqtt.contract.MAX_CHAIN_PAYLOAD``
# is this bound): an entry it refused would be a gap in every copy for good.
MAX_CHAIN_EVENT = 4 * 1024 * 1024
# The event around an entry (community and kiosk ids of at most 63 characters, the event's
# id, seq, time and type: about 300 bytes) fits in this.
ENVELOPE_BYTES = 1024
# The largest entry, as the outbox keeps it (``entry_bytes``), that a chain commits.
MAX_ENTRY_BYTES = MAX_CHAIN_EVENT - ENVELOPE_BYTES


class EntryTooLarge(Refusal):
    """An entry that could not be published whole: refused, so nothing of the step that
    made it is committed (details: ``bytes``, ``limit``)."""

    default_reason = "chain_entry_too_large"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    reason: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def entry_hash(seq: int, ts: str, actor: str, action: str, subject: str, reason: str,
               data: dict[str, Any], prev_hash: str) -> str:
    body = json.dumps([seq, ts, actor, action, subject, reason, data, prev_hash],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def entry_bytes(entry: AuditEntry | dict[str, Any]) -> int:
    """An entry's size in UTF-8 as the outbox keeps it and its event carries it."""
    body = entry.to_dict() if isinstance(entry, AuditEntry) else entry
    return len(json.dumps(body, ensure_ascii=False, sort_keys=True).encode())


def create_chain_table(db: sqlite_utils.Database, table: str) -> None:
    db.execute(f"""
        CREATE TABLE {table} (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL,
            reason TEXT NOT NULL,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")


def _v1(db: sqlite_utils.Database) -> None:
    create_chain_table(db, "audit")


MIGRATIONS: list[Migration] = [_v1]


class HashChain:
    """An append-only hash chain in one table, each entry published as an event.

    The audit log is one; the parking draw chain (``kiosk/parking/register.py``) is
    another, of the same shape, holding every announcement, commitment and record whole.
    """

    table = "audit"
    event = "audit.entry"

    def __init__(self, store: Store, outbox: Outbox, clock: Clock = utc_now):
        self.store = store
        self.outbox = outbox
        self.clock = clock

    def head(self, db: sqlite_utils.Database | None = None) -> tuple[int, str]:
        """(seq, hash) of the newest entry; (0, GENESIS) for an empty chain."""
        sql = f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1"
        if db is None:
            with self.store.read() as reading:
                row = reading.execute(sql).fetchone()
        else:
            row = db.execute(sql).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def append(self, db: sqlite_utils.Database, actor: str, action: str, subject: str,
               reason: str, data: dict[str, Any] | None = None) -> AuditEntry:
        """Record an action inside the step that performs it; publish it as an event."""
        if not reason.strip():
            raise ValueError("every maintainer action needs a reason")
        data = data or {}
        last = db.execute(f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1"
                          ).fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        ts = iso(self.clock())
        digest = entry_hash(seq, ts, actor, action, subject, reason, data, prev)
        entry = AuditEntry(seq, ts, actor, action, subject, reason, data, prev, digest)
        # Shallow: ``to_dict`` would copy a draw record's data twice over.
        body = dict(vars(entry))
        size = entry_bytes(body)
        if size > MAX_ENTRY_BYTES:
            raise EntryTooLarge(f"{action} {subject}: the {self.table} chain entry would be "
                                f"{size} bytes, more than the {MAX_ENTRY_BYTES} one entry "
                                "may take (it is published whole, as one event)",
                                bytes=size, limit=MAX_ENTRY_BYTES)
        db.execute(
            f"INSERT INTO {self.table} (seq, ts, actor, action, subject, reason, data, "
            "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, ts, actor, action, subject, reason,
             json.dumps(data, ensure_ascii=False, sort_keys=True), prev, digest))
        self.outbox.append(db, self.event, body)
        return entry

    def entries(self) -> list[AuditEntry]:
        rows = self.store.query(f"SELECT * FROM {self.table} ORDER BY rowid")
        return [AuditEntry(**{**r, "data": json.loads(r["data"])}) for r in rows]


class AuditLog(HashChain):
    """The public log of every maintainer action and administrative change."""


def verify(entries: Iterable[AuditEntry | dict[str, Any]]) -> list[str]:
    """Every break in the chain, naming the entry where it starts. Empty when intact."""
    problems: list[str] = []
    prev_hash, expected_seq = GENESIS, 1
    for position, item in enumerate(entries, start=1):
        e = item if isinstance(item, AuditEntry) else AuditEntry(**item)
        if e.seq != expected_seq:
            what = "removed" if e.seq > expected_seq else "reordered or duplicated"
            problems.append(f"entry {e.seq} at position {position}: expected entry "
                            f"{expected_seq} (entries {what})")
        elif e.prev_hash != prev_hash:
            problems.append(f"entry {e.seq}: does not follow the entry before it "
                            "(entries removed or reordered)")
        if entry_hash(e.seq, e.ts, e.actor, e.action, e.subject, e.reason, e.data,
                      e.prev_hash) != e.hash:
            problems.append(f"entry {e.seq}: content was edited ({e.action} {e.subject})")
        prev_hash, expected_seq = e.hash, e.seq + 1
    return problems
