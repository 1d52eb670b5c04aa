"""Needs and proposals: what a household says the community should build or fix.

A household raises a need ("more large lockers"), a fault report ("the gate is broken")
or a proposal, and supports others' — once per household, and it may withdraw its support.
The raiser's support is counted from the start; when the raiser withdraws, the need is
withdrawn as a whole.

What is published: the need's number, kind, topic and size tag, its text and its support
count after every change. Never who raised or supported it: the households are kept on
the kiosk only, to count support once each (``need_support``'s key). The text is public
and is cleaned before anything is stored: control, format and bidi characters go,
whitespace is folded, and it must be 3–280 characters after that.

Refusals are ``NeedError``s; ``reason`` is one of ``bad_text``, ``bad_kind``,
``bad_topic``, ``bad_size``, ``no_need``, ``need_closed``, ``already_supported``,
``not_supported``, ``unknown_household``, ``too_many_open``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from kiosk.events import Clock, Outbox, iso, utc_now
from kiosk.refusals import Refusal
from kiosk.store import Migration, Store

KINDS = ("need", "fault", "proposal")
TOPICS = ("lockers", "parking", "doors", "kiosk", "other")
SIZES = ("S", "M", "L")
MIN_TEXT = 3
MAX_TEXT = 280
# One household cannot flood the list: open needs it raised at a time.
MAX_OPEN_PER_HOUSEHOLD = 20

# Bidi controls are category Cf too, named here so the rule is plain to a reader.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                  "\u2066\u2067\u2068\u2069")
_SPACE = re.compile(r"\s+")


class NeedError(Refusal):
    default_reason = "need"


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """Public text as it may be shown anywhere: NFC, no control, format (bidi, zero-width),
    private-use or unpaired surrogate characters, whitespace folded to single spaces.
    Longer than ``limit`` is cut (callers that must refuse check the length first)."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for ch in text:
        if ch in _BIDI:
            continue
        category = unicodedata.category(ch)
        if category in ("Zl", "Zp") or ch in "\t\n\r":
            kept.append(" ")
        elif category[0] == "C":  # Cc, Cf, Co, Cs, Cn
            continue
        else:
            kept.append(ch)
    return _SPACE.sub(" ", "".join(kept)).strip()[:limit]


def checked_text(text: str) -> str:
    if not isinstance(text, str):
        raise NeedError("the text must be a string", reason="bad_text")
    cleaned = clean_text(text, limit=MAX_TEXT + 1)
    if len(cleaned) < MIN_TEXT:
        raise NeedError(f"say what is needed in at least {MIN_TEXT} characters",
                        reason="bad_text")
    if len(cleaned) > MAX_TEXT:
        raise NeedError(f"at most {MAX_TEXT} characters, please", reason="bad_text",
                        limit=MAX_TEXT)
    return cleaned


# Topic words, English and Chinese; the first topic with a word in the text is its tag.
_TOPIC_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("parking", ("parking", "car park", "spot", "garage", "车位", "停车", "车库")),
    ("lockers", ("locker", "compartment", "parcel", "package", "柜", "格口", "包裹", "快递")),
    ("doors", ("gate", "door", "lock", "barrier", "门", "锁", "道闸")),
    ("kiosk", ("kiosk", "screen", "touch", "屏", "终端")),
)
_SIZE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("L", ("large", "big", "大")),
    ("M", ("medium", "中")),
    ("S", ("small", "小")),
)


def tag(text: str) -> tuple[str, str | None]:
    """(topic, size) a need is about, from its words: a simple tagging, so the plan can put
    "more large lockers" next to how often the large compartments were full."""
    lowered = text.lower()
    topic = next((t for t, words in _TOPIC_WORDS if any(w in lowered for w in words)),
                 "other")
    size = None
    if topic == "lockers":
        size = next((s for s, words in _SIZE_WORDS if any(w in lowered for w in words)), None)
    return topic, size


@dataclass(frozen=True)
class Need:
    id: int
    kind: str
    topic: str
    size: str | None
    text: str
    raised_ts: str
    state: str  # open | withdrawn
    support: int
    supported_by_me: bool = False  # for the household asking, when one asks

    def public(self) -> dict[str, Any]:
        """The event data: nothing about who."""
        data: dict[str, Any] = {"need": self.id, "kind": self.kind, "topic": self.topic,
                                "text": self.text, "support": self.support}
        if self.size:
            data["size"] = self.size
        return data


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE needs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            topic TEXT NOT NULL,
            size TEXT,
            text TEXT NOT NULL,
            raised_by TEXT NOT NULL,
            raised_ts TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'open'
        )""")
    # Private: which household supports which need, so each counts once.
    db.execute("""
        CREATE TABLE need_support (
            need INTEGER NOT NULL REFERENCES needs(id),
            household TEXT NOT NULL,
            ts TEXT NOT NULL,
            PRIMARY KEY (need, household)
        ) WITHOUT ROWID""")


MIGRATIONS: list[Migration] = [_v1]


class NeedsBook:
    """The kiosk's list of needs. Every change and its event are one transaction."""

    def __init__(self, store: Store, outbox: Outbox, clock: Clock = utc_now):
        self.store = store
        self.outbox = outbox
        self.clock = clock

    # --- changes ------------------------------------------------------------------------

    def raise_need(self, household: str, kind: str, text: str, topic: str | None = None,
                   size: str | None = None) -> Need:
        if kind not in KINDS:
            raise NeedError(f"kind must be one of {', '.join(KINDS)}", reason="bad_kind")
        text = checked_text(text)
        auto_topic, auto_size = tag(text)
        topic = topic or auto_topic
        if topic not in TOPICS:
            raise NeedError(f"topic must be one of {', '.join(TOPICS)}", reason="bad_topic")
        size = size if size is not None else (auto_size if topic == auto_topic else None)
        if size is not None and size not in SIZES:
            raise NeedError(f"size must be one of {', '.join(SIZES)}", reason="bad_size")
        now = iso(self.clock())
        with self.store.step() as db:
            unit = self._household(db, household)
            open_now = db.execute("SELECT COUNT(*) FROM needs WHERE raised_by = ? AND "
                                  "state = 'open'", (unit,)).fetchone()[0]
            if open_now >= MAX_OPEN_PER_HOUSEHOLD:
                raise NeedError(f"a household has at most {MAX_OPEN_PER_HOUSEHOLD} open "
                                "needs; withdraw one first", reason="too_many_open")
            cursor = db.execute(
                "INSERT INTO needs (kind, topic, size, text, raised_by, raised_ts) "
                "VALUES (?, ?, ?, ?, ?, ?)", (kind, topic, size, text, unit, now))
            need_id = int(cursor.lastrowid or 0)
            db.execute("INSERT INTO need_support (need, household, ts) VALUES (?, ?, ?)",
                       (need_id, unit, now))
            need = Need(need_id, kind, topic, size, text, now, "open", 1, True)
            self.outbox.append(db, "need.raised", need.public())
        return need

    def support(self, household: str, need_id: int) -> Need:
        now = iso(self.clock())
        with self.store.step() as db:
            unit = self._household(db, household)
            self._open_need(db, need_id)
            cursor = db.execute("INSERT OR IGNORE INTO need_support (need, household, ts) "
                                "VALUES (?, ?, ?)", (need_id, unit, now))
            if not cursor.rowcount:
                raise NeedError(f"your household already supports need {need_id}",
                                reason="already_supported", need=need_id)
            need = self._need(db, need_id, unit)
            self.outbox.append(db, "need.supported", {"need": need_id, "support": need.support})
        return need

    def withdraw(self, household: str, need_id: int) -> Need:
        """Withdraw this household's support; the raiser's withdrawal closes the need."""
        with self.store.step() as db:
            unit = self._household(db, household)
            row = self._open_need(db, need_id)
            cursor = db.execute("DELETE FROM need_support WHERE need = ? AND household = ?",
                                (need_id, unit))
            if not cursor.rowcount:
                raise NeedError(f"your household does not support need {need_id}",
                                reason="not_supported", need=need_id)
            if row["raised_by"] == unit:
                db.execute("UPDATE needs SET state = 'withdrawn' WHERE id = ?", (need_id,))
                need = self._need(db, need_id, unit)
                self.outbox.append(db, "need.withdrawn",
                                   {"need": need_id, "support": need.support})
            else:
                need = self._need(db, need_id, unit)
                self.outbox.append(db, "need.support_withdrawn",
                                   {"need": need_id, "support": need.support})
        return need

    # --- reading ------------------------------------------------------------------------

    def needs(self, household: str | None = None, include_withdrawn: bool = False) -> list[Need]:
        """Needs, most supported first; ``supported_by_me`` for ``household`` (a unit)."""
        unit = household.strip().upper() if household else ""
        rows = self.store.query(
            "SELECT n.id, n.kind, n.topic, n.size, n.text, n.raised_ts, n.state, "
            " (SELECT COUNT(*) FROM need_support s WHERE s.need = n.id) AS support, "
            " EXISTS (SELECT 1 FROM need_support s WHERE s.need = n.id AND s.household = ?) "
            " AS mine FROM needs n " + ("" if include_withdrawn else "WHERE n.state = 'open' ")
            + "ORDER BY support DESC, n.id", (unit,))
        return [Need(r["id"], r["kind"], r["topic"], r["size"], r["text"], r["raised_ts"],
                     r["state"], r["support"], bool(r["mine"])) for r in rows]

    def get(self, need_id: int, household: str | None = None) -> Need:
        with self.store.step() as db:
            return self._need(db, need_id, household.strip().upper() if household else "")

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _household(db: sqlite_utils.Database, household: str) -> str:
        unit = household.strip().upper()
        if not db.execute("SELECT 1 FROM households WHERE unit = ? AND active = 1",
                          (unit,)).fetchone():
            raise NeedError(f"no household in unit {household!r}", reason="unknown_household")
        return unit

    @staticmethod
    def _open_need(db: sqlite_utils.Database, need_id: int) -> dict[str, Any]:
        row = db.execute("SELECT state, raised_by FROM needs WHERE id = ?",
                         (need_id,)).fetchone()
        if row is None:
            raise NeedError(f"no need {need_id}", reason="no_need", need=need_id)
        if row[0] != "open":
            raise NeedError(f"need {need_id} was withdrawn", reason="need_closed",
                            need=need_id)
        return {"state": row[0], "raised_by": row[1]}

    @staticmethod
    def _need(db: sqlite_utils.Database, need_id: int, unit: str) -> Need:
        row = db.execute(
            "SELECT id, kind, topic, size, text, raised_ts, state, "
            " (SELECT COUNT(*) FROM need_support s WHERE s.need = n.id), "
            " EXISTS (SELECT 1 FROM need_support s WHERE s.need = n.id AND s.household = ?) "
            "FROM needs n WHERE id = ?", (unit, need_id)).fetchone()
        if row is None:
            raise NeedError(f"no need {need_id}", reason="no_need", need=need_id)
        return Need(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                    bool(row[8]))
