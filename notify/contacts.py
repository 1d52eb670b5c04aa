"""The contacts directory: which Apprise URLs reach each household, in which language.

Changes are audited (``contacts_audit``) by household and kind of channel, never with the
contact itself. A CSV import is all or nothing: every bad line is named, and a file with
one bad line changes nothing.
"""

from __future__ import annotations

import csv
import getpass
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils

from kiosk.events import iso, utc_now
from kiosk.store import Store

LANGUAGES = ("zh", "en")
MAX_URL = 2048
MAX_HOUSEHOLD = 64
MAX_LABEL = 64
MAX_IMPORT_BYTES = 5_000_000
MAX_IMPORT_LINES = 50_000
COLUMNS = ("household", "url", "language")


class ContactError(ValueError):
    """Bad contact input; ``problems`` names each (by line, for an import)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Contact:
    id: int
    household: str
    url: str
    language: str
    label: str

    @property
    def channel(self) -> str:
        return channel_of(self.url)


def channel_of(url: str) -> str:
    """The kind of channel of an Apprise URL (its scheme): what logs and events may name."""
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and scheme.isascii() and scheme.isalnum() else "?"


def url_problem(url: str) -> str | None:
    """Why Apprise cannot use this URL, or None. Never repeats the URL (it is private)."""
    import apprise

    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        return "not an Apprise URL"
    if channel_of(url) == "?":
        return "not an Apprise URL (scheme://…)"
    if apprise.Apprise.instantiate(url) is None:
        return f"Apprise cannot use this {channel_of(url)}:// URL"
    return None


def check(household: str, url: str, language: str, label: str = "") -> list[str]:
    bad = []
    if not household or len(household) > MAX_HOUSEHOLD or not household.isprintable():
        bad.append(f"household must be 1-{MAX_HOUSEHOLD} printable characters")
    problem = url_problem(url)
    if problem:
        bad.append(f"url: {problem}")
    if language not in LANGUAGES:
        bad.append(f"language must be one of {', '.join(LANGUAGES)}")
    if len(label) > MAX_LABEL or not label.isprintable():
        bad.append(f"label must be at most {MAX_LABEL} printable characters")
    return bad


class ContactsDirectory:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utc_now,
                 actor: str | None = None):
        self.store = store
        self.clock = clock
        self.actor = actor or _who()

    def of(self, household: str) -> list[Contact]:
        return [Contact(r["id"], r["household"], r["url"], r["language"], r["label"])
                for r in self.store.query(
                    "SELECT * FROM contacts WHERE household = ? ORDER BY id", (household,))]

    def all(self) -> list[Contact]:
        return [Contact(r["id"], r["household"], r["url"], r["language"], r["label"])
                for r in self.store.query("SELECT * FROM contacts ORDER BY household, id")]

    def get(self, contact_id: int) -> Contact | None:
        rows = self.store.query("SELECT * FROM contacts WHERE id = ?", (contact_id,))
        return (Contact(rows[0]["id"], rows[0]["household"], rows[0]["url"],
                        rows[0]["language"], rows[0]["label"]) if rows else None)

    def add(self, household: str, url: str, language: str, label: str = "") -> int:
        bad = check(household, url, language, label)
        if bad:
            raise ContactError(bad)
        with self.store.step() as db:
            if db.execute("SELECT 1 FROM contacts WHERE household = ? AND url = ?",
                          (household, url)).fetchone():
                raise ContactError([f"household {household} already has this contact"])
            new = self._insert(db, household, url, language, label)
            self._audit(db, "add", household, channel_of(url))
        return new

    def remove(self, household: str, contact_id: int | None = None) -> int:
        """Remove one contact (by id) or every contact of a household; returns how many."""
        with self.store.step() as db:
            rows = db.execute(
                "SELECT id, url FROM contacts WHERE household = ?"
                + (" AND id = ?" if contact_id is not None else ""),
                (household,) if contact_id is None else (household, contact_id)).fetchall()
            if not rows:
                raise ContactError([f"household {household} has no such contact"])
            for cid, url in rows:
                db.execute("DELETE FROM contacts WHERE id = ?", (cid,))
                self._audit(db, "remove", household, channel_of(url))
        return len(rows)

    def import_csv(self, path: str | Path) -> int:
        """Add every contact of a CSV file (household,url,language[,label]), or none."""
        path = Path(path)
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_IMPORT_BYTES + 1)
        except OSError as exc:
            raise ContactError([f"{path}: cannot read: {exc.strerror}"]) from None
        if len(raw) > MAX_IMPORT_BYTES:
            raise ContactError([f"{path}: larger than {MAX_IMPORT_BYTES} bytes"])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ContactError([f"{path}: not UTF-8 text"]) from None
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:3]] != list(COLUMNS):
            raise ContactError([f"{path}: line 1: the header must be "
                                "household,url,language[,label]"])
        problems: list[str] = []
        rows: list[tuple[str, str, str, str]] = []
        seen: dict[tuple[str, str], int] = {}
        for line_no, fields in enumerate(reader, start=2):
            if line_no > MAX_IMPORT_LINES:
                problems.append(f"line {line_no}: more than {MAX_IMPORT_LINES} lines")
                break
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) not in (3, 4):
                problems.append(f"line {line_no}: expected 3 or 4 fields, got {len(fields)}")
                continue
            household, url, language = (f.strip() for f in fields[:3])
            label = fields[3].strip() if len(fields) == 4 else ""
            bad = check(household, url, language, label)
            if (household, url) in seen:
                bad.append(f"the same contact as line {seen[household, url]}")
            seen.setdefault((household, url), line_no)
            problems += [f"line {line_no}: {b}" for b in bad]
            rows.append((household, url, language, label))
        if problems:
            raise ContactError(problems)
        with self.store.step() as db:
            added = 0
            for household, url, language, label in rows:
                if db.execute("SELECT 1 FROM contacts WHERE household = ? AND url = ?",
                              (household, url)).fetchone():
                    continue  # already there: importing the same file twice is harmless
                self._insert(db, household, url, language, label)
                self._audit(db, "import", household, channel_of(url))
                added += 1
        return added

    def audit(self) -> list[dict[str, object]]:
        return self.store.query("SELECT * FROM contacts_audit ORDER BY seq")

    def _insert(self, db: sqlite_utils.Database, household: str, url: str, language: str,
                label: str) -> int:
        cur = db.execute(
            "INSERT INTO contacts (household, url, language, label, added_ts) "
            "VALUES (?, ?, ?, ?, ?)", (household, url, language, label, iso(self.clock())))
        return int(cur.lastrowid or 0)

    def _audit(self, db: sqlite_utils.Database, action: str, household: str, channel: str) -> None:
        after = db.execute("SELECT COUNT(*) FROM contacts WHERE household = ?",
                                      (household,)).fetchone()[0]
        db.execute(
            "INSERT INTO contacts_audit (ts, action, household, channel, contacts_after, actor) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (iso(self.clock()), action, household, channel, after, self.actor))


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"
