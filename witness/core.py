"""A witness: its own copy of every kiosk's audit chain and draw chain, and the alarm the
moment a kiosk presents a history that does not extend it.

Plain Python over SQLite (no paho): ``witness/service.py`` feeds it from MQTT, the plan
aggregator can feed it the events it stores (``Witness.event``), and ``kiosk audit verify``
/ ``kiosk parking verify`` compare a kiosk's database with it (``Witness.compare``).

What it is shown, per kiosk: the public key (first one seen is kept), every chain entry
(``audit.entry``, ``parking.draw_entry`` events), the signed chain heads and the live
allocations (retained). An alarm names its kind:

- ``edited``: an entry arrived for a seq the witness holds, with other content;
- ``reordered``: the next entry does not follow the one held before it;
- ``gap``: an entry arrived past the next one (one was removed before it was published);
- ``truncated``: the kiosk's signed head stays shorter than the chain the witness holds
  (``grace_s``: a head read just before an entry was added may arrive after it);
- ``rewritten``: the head's hash at a length the witness holds is not the held entry's;
- ``second_commitment`` / ``second_draw``: a round committed or drawn twice;
  ``second_announcement`` / ``second_close``: its random source announced, or the round
  closed, twice (a round is never reopened);
- ``inputs_changed``: a commitment whose eligible list, spots, closing time or random
  source is not what the round's ``parking.closed`` / ``parking.announced`` entries said,
  or whose memory is not the one the draw before it left;
- ``draw_invalid``: a draw record that does not verify (``kiosk.parking.record.verify``)
  against the round's commitment and the record before it, as the witness holds them;
- ``forged``: a head whose signature fails the kiosk's key, an entry whose own hash fails;
- ``key_changed``: another public key for a kiosk the witness knows;
- ``allocations``: the published allocations are not the newest held record's, or one
  is released with no ``parking.released`` entry in the held audit chain.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.audit import GENESIS, AuditEntry, entry_hash
from kiosk.events import Clock, iso, utc_now
from kiosk.parking.record import SHOW, against_previous, against_steps
from kiosk.parking.record import verify as verify_record
from kiosk.signing import AUDIT, CHAINS, DRAWS, KEY_FORMAT, check_head
from kiosk.store import Store
from mqtt.contract import MAX_ALARM_DETAIL

ALARM_FORMAT = "kiosk-witness-alarm/1"
# The event types that carry chain entries, and their chains.
CHAIN_EVENTS = {"audit.entry": AUDIT, "parking.draw_entry": DRAWS}
ENTRY_KEYS = {"seq", "ts", "actor", "action", "subject", "reason", "data", "prev_hash", "hash"}
# The steps a round takes once, each with the alarm of a second one and its name in it. A
# round is never reopened: a second close is a list changed after the first one.
ONCE_A_ROUND = {"parking.announced": ("second_announcement", "announcement"),
                "parking.closed": ("second_close", "close"),
                "parking.committed": ("second_commitment", "commitment"),
                "parking.drawn": ("second_draw", "draw")}


@dataclass(frozen=True)
class Alarm:
    community: str
    kiosk: str
    chain: str
    kind: str
    detail: str

    def to_json(self, witness: str, ts: str) -> dict[str, Any]:
        return {"format": ALARM_FORMAT, "witness": witness, "ts": ts, **asdict(self)}

    def __str__(self) -> str:
        return f"{self.community}/{self.kiosk} {self.chain}: {self.kind}: {self.detail}"


class BackfillRefused(ValueError):
    """A chain offered from its beginning that is not whole or not the kiosk's signed one."""


@dataclass(frozen=True)
class Backfilled:
    community: str
    kiosk: str
    chain: str
    entries: int
    alarms: list[Alarm]


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""CREATE TABLE keys (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  public_key TEXT NOT NULL, first_seen TEXT NOT NULL,
                  PRIMARY KEY (community, kiosk))""")
    db.execute("""CREATE TABLE entries (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  chain TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
                  body TEXT NOT NULL, PRIMARY KEY (community, kiosk, chain, seq))""")
    # Entries past a gap: kept, but not part of the held chain.
    db.execute("""CREATE TABLE pending (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  chain TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                  PRIMARY KEY (community, kiosk, chain, seq))""")
    # The newest head each kiosk presented (checked once its key is known).
    # short_since: when the head was first seen shorter than the chain held (a head read
    # just before an entry was added can arrive after that entry; the kiosk's next head
    # supersedes it within a second, a truncated history's never does).
    db.execute("""CREATE TABLE heads (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  chain TEXT NOT NULL, body TEXT NOT NULL, seen TEXT NOT NULL,
                  short_since REAL, PRIMARY KEY (community, kiosk, chain))""")
    db.execute("""CREATE TABLE alarms (id INTEGER PRIMARY KEY AUTOINCREMENT,
                  community TEXT NOT NULL, kiosk TEXT NOT NULL, chain TEXT NOT NULL,
                  kind TEXT NOT NULL, detail TEXT NOT NULL, ts TEXT NOT NULL,
                  UNIQUE (community, kiosk, chain, kind, detail))""")


WITNESS_DB = "witness.db"


def _v2(db: sqlite_utils.Database) -> None:
    # The newest allocations each kiosk published and the draw chain length they reflect.
    # behind_since: when they were first seen older than a draw the witness holds.
    db.execute("""CREATE TABLE allocations (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  body TEXT NOT NULL, draws_seq INTEGER, behind_since REAL,
                  PRIMARY KEY (community, kiosk))""")


def _v3(db: sqlite_utils.Database) -> None:
    # What this witness is, kept with what it holds: its broker client id (``client_id``).
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _x1(db: sqlite_utils.Database) -> None:
    # What the witness's export is made of (witness/export.py), a component of its own.
    # attested: the newest head each kiosk signed that the witness's copy contains (same
    # length or longer, same hash there): the export ends there, so it always goes with a
    # signature. It only grows: a kiosk presenting a shorter head later (a truncation)
    # does not shorten what the witness can show was signed.
    db.execute("""CREATE TABLE attested (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  chain TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                  PRIMARY KEY (community, kiosk, chain))""")
    # A witness from before: the newest head it checked, if its copy contains it.
    for community, kiosk, chain, body, key in db.execute(
            "SELECT h.community, h.kiosk, h.chain, h.body, k.public_key FROM heads h "
            "JOIN keys k USING (community, kiosk)").fetchall():
        head = json.loads(body)
        if check_head(key, head) is not None or (
                head["community"], head["kiosk"], head["chain"]) != (community, kiosk, chain):
            continue
        held = db.execute("SELECT hash FROM entries WHERE community = ? AND kiosk = ? AND "
                          "chain = ? AND seq = ?",
                          (community, kiosk, chain, head["seq"])).fetchone()
        if held is not None and held[0] == head.get("hash"):
            db.execute("INSERT INTO attested VALUES (?, ?, ?, ?, ?)",
                       (community, kiosk, chain, head["seq"], body))
    # The newest retained public items a verifier reads beside the chains (the roster,
    # the duty load), as the kiosk published them.
    db.execute("""CREATE TABLE publics (community TEXT NOT NULL, kiosk TEXT NOT NULL,
                  name TEXT NOT NULL, body TEXT NOT NULL, seen TEXT NOT NULL,
                  PRIMARY KEY (community, kiosk, name))""")


# The public items (``mqtt/topics.py`` names) a witness keeps whole for its export.
KEPT_PUBLICS = ("roster", "duty-load")

# The client id every witness had before it kept its own: its name's.
LEGACY_CLIENT_ID = "kiosk-witness-{name}"

# A chain's length read from outside: bounded.
MAX_SEQ = 2**53
# How long a head may stay shorter than the chain held before it is a truncation.
GRACE_S = 30.0


class Witness:
    def __init__(self, path: str | Path, clock: Clock = utc_now, grace_s: float = GRACE_S):
        self.store = Store(path, {"witness": [_v1, _v2, _v3], "witness-export": [_x1]})
        self.clock = clock
        self.grace_s = grace_s

    def close(self) -> None:
        self.store.close()

    def client_id(self) -> str:
        """This witness's broker client id: made at random once and kept in witness.db.

        The broker keeps a persistent session per client id (what is published while the
        witness is away) and lets one connection hold an id: two witnesses under one id
        (the same ``--name`` on two machines) would knock each other off in turn. The name
        is for alarms and logs; the id follows the database, so a restarted witness takes
        up its own session again and another witness never shares it."""
        with self.store.step() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'client_id'").fetchone()
            if row is not None:
                return str(row[0])
            value = f"kiosk-witness-{uuid.uuid4().hex[:16]}"
            db.execute("INSERT INTO meta VALUES ('client_id', ?)", (value,))
            if db.execute("SELECT 1 FROM keys UNION ALL SELECT 1 FROM entries LIMIT 1"
                          ).fetchone():
                # A witness from before it kept an id: its old session (under
                # LEGACY_CLIENT_ID) would queue entries on the broker for nobody, for good.
                db.execute("INSERT INTO meta VALUES ('legacy_session', 'open')")
            return value

    def legacy_session_open(self) -> bool:
        """Whether the session this witness had before it kept its own id is still to end."""
        return bool(self.store.query("SELECT 1 AS x FROM meta WHERE key = 'legacy_session'"))

    def legacy_session_ended(self) -> None:
        with self.store.step() as db:
            db.execute("DELETE FROM meta WHERE key = 'legacy_session'")

    # --- what a kiosk shows -------------------------------------------------------------

    def event(self, community: str, kiosk: str, event_type: str,
              data: dict[str, Any]) -> list[Alarm]:
        """A kiosk event; only chain entries concern the witness."""
        chain = CHAIN_EVENTS.get(event_type)
        return self.entry(community, kiosk, chain, data) if chain else []

    def key(self, community: str, kiosk: str, announcement: Any) -> list[Alarm]:
        if not (isinstance(announcement, dict) and announcement.get("format") == KEY_FORMAT
                and isinstance(announcement.get("public_key"), str)):
            return self._raise([Alarm(community, kiosk, "key", "forged",
                                      "a published key that is not a kiosk key")])
        public = announcement["public_key"]
        with self.store.step() as db:
            row = db.execute("SELECT public_key FROM keys WHERE community = ? AND kiosk = ?",
                             (community, kiosk)).fetchone()
            if row is None:
                db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)",
                           (community, kiosk, public, iso(self.clock())))
            elif row[0] != public:
                return self._raise([Alarm(community, kiosk, "key", "key_changed",
                                          f"the kiosk now presents key {public[:16]}…, the "
                                          f"witness holds {row[0][:16]}…")], db)
        alarms: list[Alarm] = []
        for chain in CHAINS:
            alarms += self._check_head(community, kiosk, chain)
        return alarms

    def pin(self, community: str, kiosk: str, public_hex: str) -> list[Alarm]:
        """Hold ``public_hex`` as the kiosk's key, as given at its set-up (``kiosk audit
        key`` there, ``kiosk witness --key`` here), not the first key the broker shows: a
        key published before the kiosk's own is then ``key_changed``, not the kiosk's. A
        different key held already is that alarm too, and the pinned one is held from
        now on."""
        with self.store.step() as db:
            row = db.execute("SELECT public_key FROM keys WHERE community = ? AND kiosk = ?",
                             (community, kiosk)).fetchone()
            if row is None:
                db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)",
                           (community, kiosk, public_hex, iso(self.clock())))
                return []
            if row[0] == public_hex:
                return []
            db.execute("UPDATE keys SET public_key = ?, first_seen = ? WHERE community = ? "
                       "AND kiosk = ?", (public_hex, iso(self.clock()), community, kiosk))
            return self._raise([Alarm(community, kiosk, "key", "key_changed",
                                      f"the witness held key {row[0][:16]}…, the key given "
                                      f"at set-up is {public_hex[:16]}…")], db)

    def entry(self, community: str, kiosk: str, chain: str, body: Any) -> list[Alarm]:
        if not _entry_shape(body):
            return self._raise([Alarm(community, kiosk, chain, "forged",
                                      "a published entry that is not a chain entry")])
        seq = body["seq"]
        if entry_hash(seq, body["ts"], body["actor"], body["action"], body["subject"],
                      body["reason"], body["data"], body["prev_hash"]) != body["hash"]:
            return self._raise([Alarm(community, kiosk, chain, "forged",
                                      f"entry {seq}: its hash does not match its content")])
        alarms: list[Alarm] = []
        with self.store.step() as db:
            held = self._held_hash(db, community, kiosk, chain, seq)
            if held is not None:
                if held != body["hash"]:
                    alarms.append(Alarm(community, kiosk, chain, "edited",
                                        f"entry {seq} ({body['action']} {body['subject']}) "
                                        "differs from the copy the witness holds"))
                return self._raise(alarms, db)
            length = self._length(db, community, kiosk, chain)
            if seq > length + 1:
                db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?)",
                           (community, kiosk, chain, seq, json.dumps(body)))
                alarms.append(Alarm(community, kiosk, chain, "gap",
                                    f"entry {seq} arrived after entry {length}: entries "
                                    f"{length + 1}–{seq - 1} were never published"))
                return self._raise(alarms, db)
            alarms += self._accept(db, community, kiosk, chain, body)
            # Entries held back behind a gap that this one closed.
            while True:
                nxt = self._length(db, community, kiosk, chain) + 1
                row = db.execute("SELECT body FROM pending WHERE community = ? AND kiosk = ? "
                                 "AND chain = ? AND seq = ?",
                                 (community, kiosk, chain, nxt)).fetchone()
                if row is None:
                    break
                db.execute("DELETE FROM pending WHERE community = ? AND kiosk = ? AND "
                           "chain = ? AND seq = ?", (community, kiosk, chain, nxt))
                alarms += self._accept(db, community, kiosk, chain, json.loads(row[0]))
            new = self._raise(alarms, db)
        new += self._check_head(community, kiosk, chain)
        # The allocations wait on both chains: the draw they reflect, the releases (audit).
        return new + self._check_allocations(community, kiosk)

    def backfill(self, key: Any, head: Any, entries: list[Any]) -> Backfilled:
        """A chain from its beginning, e.g. a kiosk's export (``kiosk audit export
        --signed``): a witness that starts after a kiosk has history holds nothing before
        what it sees, so every later entry would be a gap. Taken only whole: every entry
        its own hash, seq 1, 2, … each following the one before, the last one the head the
        kiosk signed with ``key``, and that key the one the witness holds for the kiosk
        (if any). Else ``BackfillRefused`` and nothing is taken. Entries the witness
        already holds are compared as any arriving entry is (an alarm if they differ)."""
        if not (isinstance(key, dict) and key.get("format") == KEY_FORMAT
                and isinstance(key.get("public_key"), str)
                and isinstance(key.get("community"), str)
                and isinstance(key.get("kiosk"), str)):
            raise BackfillRefused("not a kiosk's key announcement")
        community, kiosk, public = key["community"], key["kiosk"], key["public_key"]
        why = check_head(public, head)
        if why is not None:
            raise BackfillRefused(f"signed head: {why}")
        if (head["community"], head["kiosk"]) != (community, kiosk):
            raise BackfillRefused("the signed head is another kiosk's than the key")
        chain = head["chain"]
        prev = GENESIS
        for position, body in enumerate(entries, start=1):
            if not _entry_shape(body):
                raise BackfillRefused(f"line {position}: not a chain entry")
            if body["seq"] != position:
                raise BackfillRefused(f"line {position}: entry {body['seq']}, expected "
                                      f"entry {position}")
            if body["prev_hash"] != prev:
                raise BackfillRefused(f"entry {position} does not follow the entry before "
                                      "it")
            if entry_hash(body["seq"], body["ts"], body["actor"], body["action"],
                          body["subject"], body["reason"], body["data"],
                          body["prev_hash"]) != body["hash"]:
                raise BackfillRefused(f"entry {position}: its hash does not match its "
                                      "content")
            prev = body["hash"]
        if (head["seq"], head["hash"]) != (len(entries), prev):
            raise BackfillRefused(f"the kiosk signed {head['seq']} entries ending in "
                                  f"{head['hash'][:12]}…, the copy has {len(entries)} "
                                  f"ending in {prev[:12]}…")
        with self.store.step() as db:
            row = db.execute("SELECT public_key FROM keys WHERE community = ? AND kiosk = ?",
                             (community, kiosk)).fetchone()
            if row is not None and row[0] != public:
                raise BackfillRefused(f"signed with key {public[:16]}…, the witness holds "
                                      f"{row[0][:16]}… for {community}/{kiosk}")
            if row is None:
                db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)",
                           (community, kiosk, public, iso(self.clock())))
        alarms: list[Alarm] = []
        for body in entries:
            alarms += self.entry(community, kiosk, chain, body)
        return Backfilled(community, kiosk, chain, len(entries), alarms)

    def head(self, community: str, kiosk: str, chain: str, head: Any) -> list[Alarm]:
        with self.store.step() as db:
            db.execute("INSERT OR REPLACE INTO heads VALUES (?, ?, ?, ?, ?, NULL)",
                       (community, kiosk, chain, json.dumps(head), iso(self.clock())))
        return self._check_head(community, kiosk, chain)

    def public(self, community: str, kiosk: str, name: str, body: Any) -> list[Alarm]:
        """A retained public item kept for the export (``KEPT_PUBLICS``), the newest whole.
        Not signed: its shifts are in the audit chain (``duty.planned``)."""
        if name not in KEPT_PUBLICS or not isinstance(body, dict):
            return []
        with self.store.step() as db:
            db.execute("INSERT OR REPLACE INTO publics VALUES (?, ?, ?, ?, ?)",
                       (community, kiosk, name, json.dumps(body), iso(self.clock())))
        return []

    def sweep(self) -> list[Alarm]:
        """Check every head again: a head still shorter than the chain held once the grace
        has passed is a truncation. The service calls this every second."""
        alarms: list[Alarm] = []
        for r in self.store.query("SELECT community, kiosk, chain FROM heads "
                                  "WHERE short_since IS NOT NULL"):
            alarms += self._check_head(r["community"], r["kiosk"], r["chain"])
        for r in self.store.query("SELECT community, kiosk FROM allocations "
                                  "WHERE behind_since IS NOT NULL"):
            alarms += self._check_allocations(r["community"], r["kiosk"])
        return alarms

    def allocations(self, community: str, kiosk: str, payload: Any) -> list[Alarm]:
        """The allocations a kiosk acts on, against the draw record they say they reflect
        (``draws_seq``, the draw chain's length when they were read)."""
        if not isinstance(payload, dict) or not isinstance(payload.get("allocations"), list):
            return []
        draws_seq = payload.get("draws_seq")
        if draws_seq is not None and not (isinstance(draws_seq, int)
                                          and not isinstance(draws_seq, bool)
                                          and 0 <= draws_seq <= MAX_SEQ):
            return self._raise([Alarm(community, kiosk, DRAWS, "allocations",
                                      "published allocations are malformed")])
        with self.store.step() as db:
            row = db.execute("SELECT draws_seq FROM allocations WHERE community = ? AND "
                             "kiosk = ?", (community, kiosk)).fetchone()
            # Retained snapshots can arrive out of order: an older one does not replace a
            # newer one already held.
            if (row is not None and draws_seq is not None and row[0] is not None
                    and draws_seq < row[0]):
                return []
            # The same draws_seq again keeps the time it was first seen behind.
            db.execute("INSERT INTO allocations VALUES (?, ?, ?, ?, NULL) "
                       "ON CONFLICT (community, kiosk) DO UPDATE SET body = excluded.body, "
                       "behind_since = CASE WHEN draws_seq IS excluded.draws_seq "
                       "THEN behind_since END, draws_seq = excluded.draws_seq",
                       (community, kiosk, json.dumps(payload), draws_seq))
        return self._check_allocations(community, kiosk)

    def _check_allocations(self, community: str, kiosk: str) -> list[Alarm]:
        with self.store.step() as db:
            row = db.execute("SELECT body, draws_seq, behind_since FROM allocations WHERE "
                             "community = ? AND kiosk = ?", (community, kiosk)).fetchone()
            if row is None:
                return []
            payload, behind_since = json.loads(row[0]), row[2]
            length = self._length(db, community, kiosk, DRAWS)
            upto = length if row[1] is None else row[1]
            if upto > length:
                return []  # checked again as the entries it reflects arrive
            audit_seq = payload.get("audit_seq")
            if _is_seq(audit_seq) and audit_seq > self._length(db, community, kiosk, AUDIT):
                return []  # the releases are checked as the audit entries arrive
            drawn = "AND json_extract(body, '$.action') = 'parking.drawn'"
            before = db.execute(
                f"SELECT body FROM entries WHERE community = ? AND kiosk = ? AND chain = ? "
                f"{drawn} AND seq <= ? ORDER BY seq DESC LIMIT 1",
                (community, kiosk, DRAWS, upto)).fetchone()
            alarms = self._allocations_against(community, kiosk, payload,
                                               json.loads(before[0]) if before else None)
            if _is_seq(audit_seq) and not alarms:
                alarms = self._unrecorded_releases(db, community, kiosk, payload, audit_seq)
            newer = db.execute(
                f"SELECT json_extract(body, '$.subject') FROM entries WHERE community = ? "
                f"AND kiosk = ? AND chain = ? {drawn} AND seq > ? ORDER BY seq DESC LIMIT 1",
                (community, kiosk, DRAWS, upto)).fetchone()
            if newer is None:
                if behind_since is not None:
                    db.execute("UPDATE allocations SET behind_since = NULL WHERE "
                               "community = ? AND kiosk = ?", (community, kiosk))
                return self._raise(alarms, db)
            # A snapshot read just before a draw can arrive after the draw's entry; the
            # kiosk publishes the new allocations at once. One that stays behind past the
            # grace is a kiosk acting on an older round.
            now = self.clock().timestamp()
            if behind_since is None:
                db.execute("UPDATE allocations SET behind_since = ? WHERE community = ? AND "
                           "kiosk = ?", (now, community, kiosk))
            elif now - behind_since >= self.grace_s:
                alarms.append(Alarm(community, kiosk, DRAWS, "allocations",
                                    f"the kiosk acts on round {payload.get('round')!r}, the "
                                    f"newest draw held is {newer[0]}"))
            return self._raise(alarms, db)

    def _allocations_against(self, community: str, kiosk: str, payload: dict[str, Any],
                             entry: dict[str, Any] | None) -> list[Alarm]:
        """Published allocations against the draw entry they reflect (none: nothing to
        hold them against yet)."""
        if entry is None:
            return []
        round_id = entry["subject"]
        try:
            want = {a["member"]: a["spot"] for a in entry["data"]["results"]["assignments"]}
            got = {a["member"]: a["spot"] for a in payload["allocations"]}
        except (KeyError, TypeError):
            return [Alarm(community, kiosk, DRAWS, "allocations",
                          "published allocations are malformed")]
        if payload.get("round") != round_id:
            return [Alarm(community, kiosk, DRAWS, "allocations",
                          f"the kiosk acts on round {payload.get('round')!r}, the draw "
                          f"record it names is {round_id}")]
        differ = [f"member {m}: kiosk {got.get(m)}, record {want.get(m)}"
                  for m in sorted(set(want) | set(got)) if want.get(m) != got.get(m)]
        if not differ:
            return []
        return [Alarm(community, kiosk, DRAWS, "allocations",
                      f"round {round_id}: " + "; ".join(differ[:10]))]

    def _unrecorded_releases(self, db: sqlite_utils.Database, community: str, kiosk: str,
                             payload: dict[str, Any], audit_seq: int) -> list[Alarm]:
        """A published allocation marked released (the gate refuses its holder, the spot
        is offered to others) with no ``parking.released`` entry in the audit chain held
        up to ``audit_seq``: someone released it outside the kiosk."""
        round_id = payload.get("round")
        recorded = {(r[0], r[1]) for r in db.execute(
            "SELECT json_extract(body, '$.subject'), json_extract(body, '$.data.spot') "
            "FROM entries WHERE community = ? AND kiosk = ? AND chain = ? AND seq <= ? AND "
            "json_extract(body, '$.action') = 'parking.released' AND "
            "json_extract(body, '$.data.round') = ?",
            (community, kiosk, AUDIT, audit_seq, round_id))}
        try:
            missing = [f"member {a['member']}: spot {a['spot']}" for a in payload["allocations"]
                       if a.get("released") is True
                       and (a["member"], a["spot"]) not in recorded]
        except (KeyError, TypeError):
            return [Alarm(community, kiosk, DRAWS, "allocations",
                          "published allocations are malformed")]
        if not missing:
            return []
        return [Alarm(community, kiosk, DRAWS, "allocations",
                      f"round {round_id}: marked released with no parking.released entry: "
                      + "; ".join(missing[:10]))]

    # --- what a verifier asks -----------------------------------------------------------

    def held(self, community: str, kiosk: str, chain: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.store.query(
            "SELECT body FROM entries WHERE community = ? AND kiosk = ? AND chain = ? "
            "ORDER BY seq", (community, kiosk, chain))]

    def kiosks(self) -> list[tuple[str, str]]:
        return [(r["community"], r["kiosk"]) for r in self.store.query(
            "SELECT community, kiosk FROM keys UNION SELECT community, kiosk FROM entries "
            "ORDER BY 1, 2")]

    def alarms(self, community: str | None = None,
               kiosk: str | None = None) -> list[Alarm]:
        rows = self.store.query("SELECT * FROM alarms ORDER BY id")
        return [Alarm(r["community"], r["kiosk"], r["chain"], r["kind"], r["detail"])
                for r in rows if (community is None or r["community"] == community)
                and (kiosk is None or r["kiosk"] == kiosk)]

    def compare(self, community: str, kiosk: str, chain: str,
                entries: list[dict[str, Any]]) -> list[str]:
        """How a kiosk's chain (from its database) fails to extend what the witness holds."""
        held = self.held(community, kiosk, chain)
        if not held and not self.kiosks():
            return ["the witness holds nothing yet"]
        problems = []
        mine = {e["seq"]: e for e in entries}
        for h in held:
            e = mine.get(h["seq"])
            if e is None:
                problems.append(f"{chain} entry {h['seq']} ({h['action']} {h['subject']}): "
                                "the witness holds it, the database does not (removed)")
            elif e["hash"] != h["hash"]:
                problems.append(f"{chain} entry {h['seq']} ({h['action']} {h['subject']}): "
                                "differs from the witness's copy")
        if len(held) > len(entries):
            problems.append(f"{chain}: the database has {len(entries)} entries, the witness "
                            f"holds {len(held)} (truncated)")
        return problems

    # --- internals ----------------------------------------------------------------------

    def _accept(self, db: sqlite_utils.Database, community: str, kiosk: str, chain: str,
                body: dict[str, Any]) -> list[Alarm]:
        seq = body["seq"]
        prev = self._held_hash(db, community, kiosk, chain, seq - 1) if seq > 1 else GENESIS
        alarms = []
        if body["prev_hash"] != prev:
            alarms.append(Alarm(community, kiosk, chain, "reordered",
                                f"entry {seq} does not follow entry {seq - 1} the witness "
                                "holds"))
        if chain == DRAWS and body["action"] in ONCE_A_ROUND:
            first = db.execute(
                "SELECT seq FROM entries WHERE community = ? AND kiosk = ? AND chain = ? AND "
                "json_extract(body, '$.action') = ? AND json_extract(body, '$.subject') = ?",
                (community, kiosk, chain, body["action"], body["subject"])).fetchone()
            if first is not None:
                kind, what = ONCE_A_ROUND[body["action"]]
                alarms.append(Alarm(community, kiosk, chain, kind,
                                    f"entry {seq}: a second {what} for round "
                                    f"{body['subject']} (first: entry {first[0]})"))
        if chain == DRAWS:
            alarms += self._check_draw_step(db, community, kiosk, body)
        db.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)",
                   (community, kiosk, chain, seq, body["hash"], json.dumps(body)))
        return alarms

    def _check_draw_step(self, db: sqlite_utils.Database, community: str, kiosk: str,
                         body: dict[str, Any]) -> list[Alarm]:
        """A commitment against the round's close and announcement the witness holds; a
        record recomputed, against the commitment and the record before it the witness
        holds. Hashes and links say an entry is the one published; only this says that
        what it publishes follows from what was published before."""
        seq, action, round_id, data = body["seq"], body["action"], body["subject"], body["data"]
        if action not in ("parking.committed", "parking.drawn"):
            return []
        row = db.execute(
            "SELECT body FROM entries WHERE community = ? AND kiosk = ? AND chain = ? "
            "AND json_extract(body, '$.action') = 'parking.drawn' AND seq < ? "
            "ORDER BY seq DESC LIMIT 1", (community, kiosk, DRAWS, seq)).fetchone()
        previous = json.loads(row[0])["data"] if row else None
        if action == "parking.committed":
            inputs = data.get("inputs")
            problems = against_steps(
                inputs,
                self._first_step(db, community, kiosk, "parking.closed", round_id, seq),
                self._first_step(db, community, kiosk, "parking.announced", round_id, seq))
            if previous is not None and isinstance(inputs, dict):
                problems += against_previous(inputs, previous)
            kind = "inputs_changed"
        else:
            commitment = self._first_step(db, community, kiosk, "parking.committed",
                                          round_id, seq)
            problems = verify_record(data, commitment=commitment, previous=previous)
            if commitment is None:
                problems.append(f"no commitment for round {round_id} in the draw chain")
            kind = "draw_invalid"
        if not problems:
            return []
        shown = problems[:SHOW] + ([f"... and {len(problems) - SHOW} more"]
                                   if len(problems) > SHOW else [])
        detail = f"entry {seq} ({action} {round_id}): " + "; ".join(shown)
        # Consumers keep an alarm's detail to MAX_ALARM_DETAIL characters: cut it here,
        # where the cut is said.
        if len(detail) > MAX_ALARM_DETAIL:
            detail = detail[:MAX_ALARM_DETAIL - 1] + "…"
        return [Alarm(community, kiosk, DRAWS, kind, detail)]

    def _first_step(self, db: sqlite_utils.Database, community: str, kiosk: str,
                    action: str, round_id: str, before: int) -> dict[str, Any] | None:
        """The data of a round's first held draw chain entry of ``action`` before
        ``before`` (a round takes each step once: a second is held against the first)."""
        row = db.execute(
            "SELECT body FROM entries WHERE community = ? AND kiosk = ? AND chain = ? AND "
            "json_extract(body, '$.action') = ? AND json_extract(body, '$.subject') = ? "
            "AND seq < ? ORDER BY seq LIMIT 1",
            (community, kiosk, DRAWS, action, round_id, before)).fetchone()
        data = json.loads(row[0])["data"] if row else None
        return data if isinstance(data, dict) else None

    def _check_head(self, community: str, kiosk: str, chain: str) -> list[Alarm]:
        with self.store.step() as db:
            row = db.execute("SELECT body, short_since FROM heads WHERE community = ? AND "
                             "kiosk = ? AND chain = ?", (community, kiosk, chain)).fetchone()
            key = db.execute("SELECT public_key FROM keys WHERE community = ? AND kiosk = ?",
                             (community, kiosk)).fetchone()
            if row is None or key is None:
                return []  # checked once both are here
            head = json.loads(row[0])
            why = check_head(key[0], head)
            if why is None and (head.get("community"), head.get("kiosk"),
                                head.get("chain")) != (community, kiosk, chain):
                why = "a head of another kiosk or chain"
            if why is not None:
                return self._raise([Alarm(community, kiosk, chain, "forged", why)], db)
            length = self._length(db, community, kiosk, chain)
            seq = head["seq"]
            self._attest(db, community, kiosk, chain, head, length)
            if seq < length:
                now = self.clock().timestamp()
                if row[1] is None:
                    db.execute("UPDATE heads SET short_since = ? WHERE community = ? AND "
                               "kiosk = ? AND chain = ?", (now, community, kiosk, chain))
                if row[1] is None or now - row[1] < self.grace_s:
                    return []
                return self._raise([Alarm(community, kiosk, chain, "truncated",
                                          f"the kiosk presents {seq} entries, the witness "
                                          f"holds {length}")], db)
            if row[1] is not None:
                db.execute("UPDATE heads SET short_since = NULL WHERE community = ? AND "
                           "kiosk = ? AND chain = ?", (community, kiosk, chain))
            if seq == 0 or seq > length:
                return []  # nothing to compare yet, or its entries are still on their way
            held = self._held_hash(db, community, kiosk, chain, seq)
            if held != head["hash"]:
                return self._raise([Alarm(community, kiosk, chain, "rewritten",
                                          f"the kiosk's signed head at entry {seq} is not "
                                          "the entry the witness holds (history "
                                          "rewritten)")], db)
        return []

    def _attest(self, db: sqlite_utils.Database, community: str, kiosk: str, chain: str,
                head: dict[str, Any], length: int) -> None:
        """Keep a head whose signature checked if the copy held contains it and it is
        longer than the one kept."""
        seq = head["seq"]
        if not (isinstance(seq, int) and 0 < seq <= length):
            return
        if self._held_hash(db, community, kiosk, chain, seq) != head.get("hash"):
            return
        db.execute("INSERT INTO attested VALUES (?, ?, ?, ?, ?) ON CONFLICT (community, "
                   "kiosk, chain) DO UPDATE SET seq = excluded.seq, body = excluded.body "
                   "WHERE excluded.seq > attested.seq",
                   (community, kiosk, chain, seq, json.dumps(head)))

    def attested(self, community: str, kiosk: str, chain: str) -> dict[str, Any] | None:
        """The newest signed head of the kiosk's chain the witness's copy contains."""
        rows = self.store.query("SELECT body FROM attested WHERE community = ? AND "
                                "kiosk = ? AND chain = ?", (community, kiosk, chain))
        return json.loads(rows[0]["body"]) if rows else None

    def public_key(self, community: str, kiosk: str) -> str | None:
        rows = self.store.query("SELECT public_key FROM keys WHERE community = ? AND "
                                "kiosk = ?", (community, kiosk))
        return str(rows[0]["public_key"]) if rows else None

    def kept_public(self, community: str, kiosk: str, name: str) -> dict[str, Any] | None:
        rows = self.store.query("SELECT body FROM publics WHERE community = ? AND "
                                "kiosk = ? AND name = ?", (community, kiosk, name))
        return json.loads(rows[0]["body"]) if rows else None

    def _held_hash(self, db: sqlite_utils.Database, community: str, kiosk: str, chain: str,
                   seq: int) -> str | None:
        row = db.execute("SELECT hash FROM entries WHERE community = ? AND kiosk = ? AND "
                         "chain = ? AND seq = ?", (community, kiosk, chain, seq)).fetchone()
        return row[0] if row else None

    def _length(self, db: sqlite_utils.Database, community: str, kiosk: str,
                chain: str) -> int:
        row = db.execute("SELECT MAX(seq) FROM entries WHERE community = ? AND kiosk = ? AND "
                         "chain = ?", (community, kiosk, chain)).fetchone()
        return row[0] or 0

    def _raise(self, alarms: list[Alarm],
               db: sqlite_utils.Database | None = None) -> list[Alarm]:
        """Keep each alarm once; return those not raised before."""
        if not alarms:
            return []
        if db is None:
            with self.store.step() as writing:
                return self._raise(alarms, writing)
        new = []
        for a in alarms:
            cur = db.execute("INSERT OR IGNORE INTO alarms (community, kiosk, chain, kind, "
                             "detail, ts) VALUES (?, ?, ?, ?, ?, ?)",
                             (a.community, a.kiosk, a.chain, a.kind, a.detail,
                              iso(self.clock())))
            if cur.rowcount:
                new.append(a)
        return new


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEQ


def _entry_shape(body: Any) -> bool:
    if not isinstance(body, dict) or set(body) != ENTRY_KEYS:
        return False
    seq = body["seq"]
    return (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1
            and isinstance(body["data"], dict)
            and all(isinstance(body[k], str) for k in ENTRY_KEYS - {"seq", "data"}))


def entry_of(e: AuditEntry | dict[str, Any]) -> dict[str, Any]:
    return e.to_dict() if isinstance(e, AuditEntry) else e
