"""The plan aggregator's own store: every kiosk event once, by (community, kiosk, seq), and
the indicators' aggregates, kept up to date event by event in the same transaction.

Where: SQLite (``DIR/plan.db``, the default) or PostgreSQL (a ``postgresql://`` DSN, for a
federation); ``plan/db.py`` hides the difference.

What arrives from the broker is untrusted. ``check_message`` takes a message apart and
either returns a clean event or snapshot, or the reason it is refused; refused messages are
counted by reason, never stored, never allowed to stop the aggregator. Bounds per consumer
(``mqtt/contract.py``): communities, kiosks per community, events held per kiosk. An event
whose seq is far beyond what its kiosk announced (``SEQ_SLACK`` past ``state/uplink``'s
``last_seq``) is held apart: not counted, not a gap, until an announcement covers it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.events import iso, utc_now
from mqtt import topics
from mqtt.contract import (
    MAX_CHAIN_PAYLOAD,
    MAX_COMMUNITIES,
    MAX_HELD_PER_KIOSK,
    MAX_KIOSKS_PER_COMMUNITY,
    MAX_PAYLOAD,
    MAX_SEQ,
    SEQ_SLACK,
    CleanEvent,
    Refused,
    WitnessAlarm,
    check_event_body,
    check_state,
    check_witness_alarm,
    load_json,
    max_event_payload,
    valid_id,
)
from plan.db import PlanDB, PostgresPlanDB, SqlitePlanDB, Tx, is_dsn

# Snapshots the plan reads: capacity of the lockers and of the car park, the kiosk's last seq.
STATE_DEVICES = (topics.LOCKERS, topics.PARKING, topics.UPLINK)


def _v1(db: sqlite_utils.Database) -> None:
    """The first build's tables (SQLite only; PostgreSQL starts at ``_v1_portable``)."""
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


def _v1_portable(tx: Tx, d: Any) -> None:
    tx.execute(f"""CREATE TABLE events (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        seq BIGINT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL, type TEXT NOT NULL,
        data TEXT NOT NULL, received_at TEXT NOT NULL,
        PRIMARY KEY (community, kiosk, seq)){d.key_only}""")
    tx.execute("CREATE INDEX events_by_type ON events(community, type)")
    tx.execute("""CREATE TABLE kiosks (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        duplicates BIGINT NOT NULL DEFAULT 0, conflicts BIGINT NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, PRIMARY KEY (community, kiosk))""")
    tx.execute("CREATE TABLE rejects (reason TEXT PRIMARY KEY, count BIGINT NOT NULL, "
               "last_at TEXT NOT NULL)")
    tx.execute("""CREATE TABLE states (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        device TEXT NOT NULL, payload TEXT NOT NULL, received_at TEXT NOT NULL,
        PRIMARY KEY (community, kiosk, device))""")
    tx.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _v2(tx: Tx, d: Any) -> None:
    """The indicators' aggregates, and what bounds hostile input (held events, gaps)."""
    for column in ("received BIGINT NOT NULL DEFAULT 0", "max_seq BIGINT NOT NULL DEFAULT 0",
                   "announced BIGINT", "held BIGINT NOT NULL DEFAULT 0"):
        tx.execute(f"ALTER TABLE kiosks ADD COLUMN {column}")
    tx.execute(f"""CREATE TABLE seq_gaps (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        first BIGINT NOT NULL, last BIGINT NOT NULL,
        PRIMARY KEY (community, kiosk, first)){d.key_only}""")
    tx.execute(f"""CREATE TABLE held (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        seq BIGINT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL, type TEXT NOT NULL,
        data TEXT NOT NULL, PRIMARY KEY (community, kiosk, seq)){d.key_only}""")
    # Counters of every indicator: (metric, k1, k2, k3) -> count n, sum s, min lo, max hi.
    tx.execute(f"""CREATE TABLE tallies (community TEXT NOT NULL, metric TEXT NOT NULL,
        k1 TEXT NOT NULL, k2 TEXT NOT NULL, k3 TEXT NOT NULL,
        n DOUBLE PRECISION NOT NULL, s DOUBLE PRECISION NOT NULL,
        lo DOUBLE PRECISION NOT NULL, hi DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (community, metric, k1, k2, k3)){d.key_only}""")
    # Which compartments hold a parcel: the latest seq that filled and emptied each.
    tx.execute(f"""CREATE TABLE slots (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        slot TEXT NOT NULL, size TEXT NOT NULL, basis TEXT NOT NULL,
        in_seq BIGINT NOT NULL, out_seq BIGINT NOT NULL,
        PRIMARY KEY (community, kiosk, slot)){d.key_only}""")
    tx.execute(f"""CREATE TABLE occupancy (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        size TEXT NOT NULL, basis TEXT NOT NULL, now BIGINT NOT NULL, peak BIGINT NOT NULL,
        PRIMARY KEY (community, kiosk, size)){d.key_only}""")
    tx.execute(f"""CREATE TABLE open_faults (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        kind TEXT NOT NULL, subject TEXT NOT NULL, raised_seq BIGINT NOT NULL,
        raised_ts TEXT NOT NULL, PRIMARY KEY (community, kiosk, kind, subject)){d.key_only}""")
    tx.execute(f"""CREATE TABLE parking_asks (community TEXT NOT NULL, kiosk TEXT NOT NULL,
        round TEXT NOT NULL, member TEXT NOT NULL, type TEXT NOT NULL, seq BIGINT NOT NULL,
        PRIMARY KEY (community, kiosk, round, member)){d.key_only}""")


def _v3(tx: Tx, d: Any) -> None:
    """The witnesses' alarms (``community/{c}/witness/{name}/alarm/{kiosk}/{chain}/{kind}``,
    and ``…/alarm/{kiosk}`` of witnesses from before): each one once, keyed by witness,
    kiosk, chain, kind and detail, however often the broker hands the retained one again."""
    tx.execute(f"""CREATE TABLE witness_alarms (community TEXT NOT NULL,
        witness TEXT NOT NULL, kiosk TEXT NOT NULL, chain TEXT NOT NULL, kind TEXT NOT NULL,
        detail TEXT NOT NULL, ts TEXT NOT NULL, received_at TEXT NOT NULL,
        PRIMARY KEY (community, witness, kiosk, chain, kind, detail)){d.key_only}""")


# Bounds on what witnesses can make the plan keep: a real community has a few witnesses;
# a kiosk that keeps alarming is seen from its newest alarms.
MAX_WITNESSES_PER_COMMUNITY = 32
MAX_ALARMS_PER_WITNESS_KIOSK = 100


def _sqlite(step: Any) -> Any:
    from plan.db import _SqliteTx

    def migrate(db: sqlite_utils.Database) -> None:
        step(_SqliteTx(db.conn), SqlitePlanDB)
    return migrate


PLAN_MIGRATIONS = {"plan": [_v1, _sqlite(_v2), _sqlite(_v3)]}
PG_MIGRATIONS = {"plan": [_v1_portable, _v2, _v3]}


@dataclass(frozen=True)
class CleanState:
    community: str
    kiosk: str
    device: str
    payload: dict[str, Any]


def check_message(topic: str,
                  payload: bytes) -> CleanEvent | CleanState | WitnessAlarm | Refused | None:
    """Take one incoming message apart. None: a state snapshot the plan does not read."""
    if len(payload) > MAX_CHAIN_PAYLOAD:
        return Refused("too_large")
    if topics.parse_witness_alarm(topic) is not None:
        return check_witness_alarm(topic, payload) if len(payload) <= MAX_PAYLOAD \
            else Refused("too_large")
    where = topics.parse(topic)
    # Chain entries are kept whole up to their own bound (a draw record is large); every
    # other message up to 64 KiB.
    limit = max_event_payload(where.name) if where and where.kind == "event" else MAX_PAYLOAD
    if len(payload) > limit:
        return Refused("too_large")
    if where is None or not valid_id(where.community) or not valid_id(where.kiosk):
        return Refused("bad_topic")
    if where.kind == "state":
        if where.name not in STATE_DEVICES:
            return None
        state = check_state(where.name, payload)
        if isinstance(state, Refused):
            return state
        return CleanState(where.community, where.kiosk, where.name, state)
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
    held: int = 0
    released: int = 0
    states: int = 0
    alarms: int = 0
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
    held: int = 0

    @property
    def behind(self) -> int:
        if self.announced_last_seq is None:
            return 0
        return max(0, self.announced_last_seq - self.max_seq)


@dataclass
class _Kiosk:
    """A kiosk's seq bookkeeping, cached for the batch and written back at its end."""

    received: int
    max_seq: int
    announced: int | None
    held: int
    dirty: bool = False

    def allows(self, seq: int) -> bool:
        return seq <= (self.announced or 0) + SEQ_SLACK


class PlanStore:
    """Ingest checked messages, keep the aggregates, answer gap and indicator queries.

    ``where``: a SQLite file path, or a ``postgresql://`` DSN. ``settings``: the plan's
    settings (time zone, couriers' agreed hours); aggregates depend on them, so a store
    opened with other settings than it was built with rebuilds them from the events."""

    def __init__(self, where: str | Path, settings: Any = None):
        from plan.indicators import PlanSettings, Rules
        self.db: PlanDB
        if is_dsn(where):
            self.db = PostgresPlanDB(str(where), PG_MIGRATIONS)
        else:
            self.db = SqlitePlanDB(where, PLAN_MIGRATIONS)
        self._kiosks: dict[tuple[str, str], _Kiosk] = {}
        self._communities: set[str] | None = None
        kept = self._meta("aggregates")
        # None: as the plan was kept (a report reads it so), else the defaults.
        self.settings: PlanSettings = settings or PlanSettings.from_stamp(kept)
        self.rules = Rules(self.settings, self.db)
        if kept != self.rules.stamp():
            self.rebuild()

    def change_settings(self, settings: Any) -> int:
        """New settings: the aggregates are rebuilt from the events (cost: the history)."""
        from plan.indicators import Rules
        self.settings = settings
        self.rules = Rules(settings, self.db)
        return self.rebuild()

    @property
    def store(self) -> PlanDB:
        """The database, for read-only queries (tests, tools)."""
        return self.db

    def close(self) -> None:
        self.db.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]["value"]) if row else None

    @staticmethod
    def _set_meta(tx: Tx, key: str, value: str) -> None:
        tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                   "SET value = excluded.value", (key, value))

    def client_id(self) -> str:
        """A broker client id fixed for this database, so the broker keeps our session."""
        with self.db.step() as tx:
            row = tx.query("SELECT value FROM meta WHERE key = 'client_id'")
            if row:
                return str(row[0]["value"])
            value = f"kiosk-plan-{uuid.uuid4().hex[:12]}"
            self._set_meta(tx, "client_id", value)
            return value

    # -- ingest ---------------------------------------------------------------------------

    def ingest(self, messages: Iterable[tuple[str, bytes]]) -> IngestResult:
        """Check and store a batch in one transaction, with the aggregates it changes.
        Never raises for bad input: a message that breaks the batch (a bug meeting odd
        input) is found by taking the batch again one message at a time, and refused."""
        batch = list(messages)
        try:
            return self._ingest(batch)
        except _Poisoned:
            pass
        result = IngestResult()
        for message in batch:
            try:
                one = self._ingest([message])
            except _Poisoned:
                one = IngestResult(refused={"error": 1})
                self._count_refusals(one)
            result.stored += one.stored
            result.duplicates += one.duplicates
            result.held += one.held
            result.released += one.released
            result.states += one.states
            result.alarms += one.alarms
            for reason, n in one.refused.items():
                result.refused[reason] = result.refused.get(reason, 0) + n
        return result

    def _ingest(self, batch: list[tuple[str, bytes]]) -> IngestResult:
        result = IngestResult()
        now = iso(utc_now())
        try:
            with self.db.step() as tx:
                for topic, payload in batch:
                    try:
                        checked = check_message(topic, payload)
                        if checked is None:
                            continue
                        if isinstance(checked, Refused):
                            result.refuse(checked.reason)
                        elif isinstance(checked, CleanState):
                            self._store_state(tx, checked, now, result)
                        elif isinstance(checked, WitnessAlarm):
                            self._store_alarm(tx, checked, now, result)
                        else:
                            self._take_event(tx, checked, now, result)
                    except Exception as exc:
                        if _is_database_error(exc):
                            raise
                        raise _Poisoned() from exc
                self._flush(tx)
                self._count_refusals(result, tx, now)
        except BaseException:
            self._forget_cache()
            raise
        return result

    def _count_refusals(self, result: IngestResult, tx: Tx | None = None,
                        now: str = "") -> None:
        if not result.refused:
            return
        if tx is None:
            with self.db.step() as own:
                self._count_refusals(result, own, iso(utc_now()))
            return
        for reason, count in result.refused.items():
            tx.execute(
                "INSERT INTO rejects (reason, count, last_at) VALUES (?, ?, ?) "
                "ON CONFLICT (reason) DO UPDATE SET count = rejects.count + "
                "excluded.count, last_at = excluded.last_at", (reason, count, now))

    def _forget_cache(self) -> None:
        self._kiosks.clear()
        self._communities = None
        self.rules.discard()

    def _kiosk(self, tx: Tx, e: CleanEvent | CleanState, now: str) -> _Kiosk | None:
        """The kiosk's bookkeeping; a new kiosk is created within the bounds, else None."""
        key = (e.community, e.kiosk)
        known = self._kiosks.get(key)
        if known is not None:
            return known
        rows = tx.query("SELECT received, max_seq, announced, held FROM kiosks "
                        "WHERE community = ? AND kiosk = ?", key)
        if rows:
            r = rows[0]
            known = _Kiosk(int(r["received"]), int(r["max_seq"]),
                           None if r["announced"] is None else int(r["announced"]),
                           int(r["held"]))
        else:
            if self._communities is None:
                self._communities = {r["community"] for r in tx.query(
                    "SELECT DISTINCT community FROM kiosks")}
            if e.community not in self._communities:
                if len(self._communities) >= MAX_COMMUNITIES:
                    return None
            elif (tx.query("SELECT COUNT(*) AS n FROM kiosks WHERE community = ?",
                           (e.community,))[0]["n"] >= MAX_KIOSKS_PER_COMMUNITY):
                return None
            tx.execute("INSERT INTO kiosks (community, kiosk, first_seen, last_seen) "
                       "VALUES (?, ?, ?, ?)", (*key, now, now))
            self._communities.add(e.community)
            known = _Kiosk(0, 0, None, 0)
        self._kiosks[key] = known
        return known

    @staticmethod
    def _store_alarm(tx: Tx, a: WitnessAlarm, now: str, result: IngestResult) -> None:
        where = (a.community, a.witness, a.kiosk)
        kept = int(tx.query("SELECT COUNT(*) AS n FROM witness_alarms WHERE community = ? "
                            "AND witness = ? AND kiosk = ?", where)[0]["n"])
        if not kept:
            # A new (witness, kiosk): within the bounds on communities, witnesses, kiosks.
            if not tx.query("SELECT 1 AS x FROM witness_alarms WHERE community = ? LIMIT 1",
                            (a.community,)):
                if int(tx.query("SELECT COUNT(DISTINCT community) AS n "
                                "FROM witness_alarms")[0]["n"]) >= MAX_COMMUNITIES:
                    result.refuse("too_many_witnesses")
                    return
            elif not tx.query("SELECT 1 AS x FROM witness_alarms WHERE community = ? AND "
                              "witness = ? LIMIT 1", (a.community, a.witness)):
                if int(tx.query("SELECT COUNT(DISTINCT witness) AS n FROM witness_alarms "
                                "WHERE community = ?", (a.community,))[0]["n"]
                       ) >= MAX_WITNESSES_PER_COMMUNITY:
                    result.refuse("too_many_witnesses")
                    return
            elif int(tx.query("SELECT COUNT(DISTINCT kiosk) AS n FROM witness_alarms WHERE "
                              "community = ? AND witness = ?", (a.community, a.witness)
                              )[0]["n"]) >= MAX_KIOSKS_PER_COMMUNITY:
                result.refuse("too_many_witnesses")
                return
        cursor = tx.execute(
            "INSERT INTO witness_alarms (community, witness, kiosk, chain, kind, detail, ts, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (*where, a.chain, a.kind, a.detail, a.ts, now))
        if not cursor.rowcount:
            result.duplicates += 1
            return
        result.alarms += 1
        if kept + 1 > MAX_ALARMS_PER_WITNESS_KIOSK:
            oldest = tx.query("SELECT chain, kind, detail FROM witness_alarms WHERE "
                              "community = ? AND witness = ? AND kiosk = ? "
                              "ORDER BY ts, chain, kind, detail LIMIT 1", where)[0]
            tx.execute("DELETE FROM witness_alarms WHERE community = ? AND witness = ? AND "
                       "kiosk = ? AND chain = ? AND kind = ? AND detail = ?",
                       (*where, oldest["chain"], oldest["kind"], oldest["detail"]))

    def witness_alarms(self, community: str, limit: int = 50) -> list[dict[str, Any]]:
        """The witnesses' alarms about a community's kiosks, newest first."""
        return self.db.query(
            "SELECT witness, kiosk, chain, kind, detail, ts FROM witness_alarms "
            "WHERE community = ? ORDER BY ts DESC, witness, kiosk LIMIT ?",
            (community, limit))

    def _take_event(self, tx: Tx, e: CleanEvent, now: str, result: IngestResult) -> None:
        k = self._kiosk(tx, e, now)
        if k is None:
            result.refuse("too_many_kiosks")
            return
        if not k.allows(e.seq):
            self._hold(tx, k, e, result)
            return
        self._store_event(tx, k, e, now, result)

    def _hold(self, tx: Tx, k: _Kiosk, e: CleanEvent, result: IngestResult) -> None:
        if k.held >= MAX_HELD_PER_KIOSK:
            result.refuse("held_full")
            return
        cursor = tx.execute(
            "INSERT INTO held (community, kiosk, seq, id, ts, type, data) VALUES "
            "(?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (e.community, e.kiosk, e.seq, e.id, e.ts, e.type, _dumps(e.data)))
        if cursor.rowcount:
            k.held += 1
            k.dirty = True
            result.held += 1
        else:
            result.duplicates += 1

    def _store_event(self, tx: Tx, k: _Kiosk, e: CleanEvent, now: str,
                     result: IngestResult) -> None:
        cursor = tx.execute(
            "INSERT INTO events (community, kiosk, seq, id, ts, type, data, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (e.community, e.kiosk, e.seq, e.id, e.ts, e.type, _dumps(e.data), now))
        if cursor.rowcount:
            result.stored += 1
            self._count_seq(tx, k, e)
            self.rules.apply(tx, e)
            return
        known = tx.query("SELECT id FROM events WHERE community = ? AND kiosk = ? AND seq = ?",
                         (e.community, e.kiosk, e.seq))[0]["id"]
        if known == e.id:
            result.duplicates += 1
            column = "duplicates"
        else:
            # Same (kiosk, seq), different event: a replay or a forgery. The first one stays.
            result.refuse("conflict")
            column = "conflicts"
        tx.execute(f"UPDATE kiosks SET {column} = {column} + 1 WHERE community = ? AND "
                   "kiosk = ?", (e.community, e.kiosk))

    @staticmethod
    def _count_seq(tx: Tx, k: _Kiosk, e: CleanEvent) -> None:
        """Gaps kept as ranges, so the gap report never walks the history."""
        k.received += 1
        k.dirty = True
        s = e.seq
        if s > k.max_seq:
            if s > k.max_seq + 1:
                tx.execute("INSERT INTO seq_gaps (community, kiosk, first, last) VALUES "
                           "(?, ?, ?, ?)", (e.community, e.kiosk, k.max_seq + 1, s - 1))
            k.max_seq = s
            return
        rows = tx.query("SELECT first, last FROM seq_gaps WHERE community = ? AND kiosk = ? "
                        "AND first <= ? ORDER BY first DESC LIMIT 1", (e.community, e.kiosk, s))
        if not rows or rows[0]["last"] < s:
            return
        first, last = int(rows[0]["first"]), int(rows[0]["last"])
        tx.execute("DELETE FROM seq_gaps WHERE community = ? AND kiosk = ? AND first = ?",
                   (e.community, e.kiosk, first))
        for a, b in ((first, s - 1), (s + 1, last)):
            if a <= b:
                tx.execute("INSERT INTO seq_gaps (community, kiosk, first, last) VALUES "
                           "(?, ?, ?, ?)", (e.community, e.kiosk, a, b))

    def _store_state(self, tx: Tx, s: CleanState, now: str, result: IngestResult) -> None:
        k = self._kiosk(tx, s, now)
        if k is None:
            result.refuse("too_many_kiosks")
            return
        tx.execute(
            "INSERT INTO states (community, kiosk, device, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (community, kiosk, device) DO UPDATE SET "
            "payload = excluded.payload, received_at = excluded.received_at",
            (s.community, s.kiosk, s.device, json.dumps(s.payload, sort_keys=True), now))
        result.states += 1
        if s.device == topics.UPLINK and s.payload.get("last_seq") is not None:
            k.announced = int(s.payload["last_seq"])
            k.dirty = True
            if k.held:
                self._release(tx, k, s.community, s.kiosk, now, result)

    def _release(self, tx: Tx, k: _Kiosk, community: str, kiosk: str, now: str,
                 result: IngestResult) -> None:
        """Held events the new announcement covers are taken in, in seq order."""
        rows = tx.query("SELECT seq, id, ts, type, data FROM held WHERE community = ? AND "
                        "kiosk = ? AND seq <= ? ORDER BY seq",
                        (community, kiosk, (k.announced or 0) + SEQ_SLACK))
        for r in rows:
            tx.execute("DELETE FROM held WHERE community = ? AND kiosk = ? AND seq = ?",
                       (community, kiosk, r["seq"]))
            k.held -= 1
            k.dirty = True
            result.released += 1
            e = CleanEvent(community, kiosk, int(r["seq"]), r["id"], r["ts"], r["type"],
                           json.loads(r["data"]))
            self._store_event(tx, k, e, now, result)

    def _flush(self, tx: Tx) -> None:
        self.rules.flush(tx)
        for (community, kiosk), k in self._kiosks.items():
            if k.dirty:
                tx.execute("UPDATE kiosks SET received = ?, max_seq = ?, announced = ?, "
                           "held = ?, last_seen = ? WHERE community = ? AND kiosk = ?",
                           (k.received, k.max_seq, k.announced, k.held, iso(utc_now()),
                            community, kiosk))
                k.dirty = False

    # -- rebuilding the aggregates ----------------------------------------------------------

    def rebuild(self, chunk: int = 20_000, sample_every: int = 1) -> int:
        """Recompute every aggregate from the stored events (after the settings changed, or
        a schema that had none); returns the events replayed. Cost: the whole history.
        ``sample_every`` > 1 replays one block of 1,000 events in so many: for benchmarks
        only, to give a huge synthetic history aggregates of its shape (its keys), not its
        counts."""
        self._forget_cache()
        replayed = 0
        with self.db.step() as tx:
            self.rules.clear(tx)
            self._set_meta(tx, "aggregates", self.rules.stamp())
            keys = [(r["community"], r["kiosk"]) for r in tx.query(
                "SELECT community, kiosk FROM kiosks ORDER BY community, kiosk")]
            for community, kiosk in keys:
                after = 0
                while True:
                    rows = tx.query(
                        "SELECT seq, id, ts, type, data FROM events WHERE community = ? AND "
                        "kiosk = ? AND seq > ? ORDER BY seq LIMIT ?",
                        (community, kiosk, after, chunk))
                    for r in rows:
                        if sample_every > 1 and (int(r["seq"]) // 1000) % sample_every:
                            continue
                        self.rules.apply(tx, CleanEvent(community, kiosk, int(r["seq"]), r["id"],
                                                        r["ts"], r["type"],
                                                        json.loads(r["data"])))
                        replayed += 1
                    if len(rows) < chunk:
                        break
                    after = int(rows[-1]["seq"])
                    self.rules.flush(tx)
            self.rules.flush(tx)
            self._rebuild_seqs(tx)
        return replayed

    def _rebuild_seqs(self, tx: Tx) -> None:
        tx.execute("DELETE FROM seq_gaps")
        for r in tx.query("SELECT community, kiosk, COUNT(*) AS n, MAX(seq) AS top FROM events "
                          "GROUP BY community, kiosk"):
            tx.execute("UPDATE kiosks SET received = ?, max_seq = ? WHERE community = ? AND "
                       "kiosk = ?", (r["n"], r["top"], r["community"], r["kiosk"]))
            if r["top"] > r["n"]:
                tx.execute(
                    "INSERT INTO seq_gaps (community, kiosk, first, last) "
                    "SELECT community, kiosk, prev + 1, seq - 1 FROM ("
                    " SELECT community, kiosk, seq, LAG(seq, 1, 0) OVER (ORDER BY seq) AS prev"
                    " FROM events WHERE community = ? AND kiosk = ?) AS w WHERE seq - prev > 1",
                    (r["community"], r["kiosk"]))
        for r in tx.query("SELECT community, kiosk, payload FROM states WHERE device = ?",
                          (topics.UPLINK,)):
            last = json.loads(r["payload"]).get("last_seq")
            if type(last) is int and 0 <= last <= MAX_SEQ:
                tx.execute("UPDATE kiosks SET announced = ? WHERE community = ? AND kiosk = ?",
                           (last, r["community"], r["kiosk"]))

    # -- queries --------------------------------------------------------------------------

    def communities(self) -> list[str]:
        return [r["community"] for r in self.db.query(
            "SELECT DISTINCT community FROM kiosks ORDER BY community")]

    def events(self, community: str) -> Iterable[dict[str, Any]]:
        """Every event of a community, per kiosk in seq order."""
        rows = self.db.query(
            "SELECT kiosk, seq, ts, type, data FROM events WHERE community = ? "
            "ORDER BY kiosk, seq", (community,))
        for row in rows:
            row["data"] = json.loads(row["data"])
            yield row

    def states(self, community: str, device: str) -> dict[str, dict[str, Any]]:
        rows = self.db.query(
            "SELECT kiosk, payload FROM states WHERE community = ? AND device = ?",
            (community, device))
        return {r["kiosk"]: json.loads(r["payload"]) for r in rows}

    def kiosk_counters(self, community: str) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT kiosk, duplicates, conflicts, held, first_seen, last_seen FROM kiosks "
            "WHERE community = ? ORDER BY kiosk", (community,))

    def rejects(self) -> dict[str, int]:
        return {r["reason"]: int(r["count"]) for r in self.db.query(
            "SELECT reason, count FROM rejects ORDER BY reason")}

    def gaps(self, community: str, max_ranges: int = 50) -> list[Gap]:
        ranges: dict[str, list[tuple[int, int]]] = {}
        for r in self.db.query(
                "SELECT kiosk, first, last FROM (SELECT kiosk, first, last, ROW_NUMBER() "
                "OVER (PARTITION BY kiosk ORDER BY first) AS i FROM seq_gaps "
                "WHERE community = ?) AS g WHERE i <= ? ORDER BY kiosk, first",
                (community, max_ranges)):
            ranges.setdefault(r["kiosk"], []).append((int(r["first"]), int(r["last"])))
        out = []
        for row in self.db.query(
                "SELECT kiosk, received, max_seq, announced, held FROM kiosks "
                "WHERE community = ? AND (received > 0 OR held > 0) ORDER BY kiosk",
                (community,)):
            n, top = int(row["received"]), int(row["max_seq"])
            announced = row["announced"]
            out.append(Gap(community, row["kiosk"], n, top, top - n,
                           ranges.get(row["kiosk"], []),
                           None if announced is None else int(announced), int(row["held"])))
        return out

    def event_count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM events") or 0)


class _Poisoned(Exception):
    """One message of a batch raised: the batch is rolled back and taken one by one."""


def _is_database_error(exc: BaseException) -> bool:
    """The database is unwell (disk full, connection lost): the batch is not acked and
    comes again; the message is not to blame."""
    import sqlite3

    from kiosk.refusals import Refusal
    if isinstance(exc, sqlite3.Error | Refusal):
        return True
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.Error)


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def finite_number(value: Any) -> float | None:
    """A number from untrusted data, or None (bools, NaN and strings are not numbers)."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None
