"""The kiosk's SQLite state: connection, WAL, versioned migrations, one transaction per step.

Every domain step runs inside ``Store.step()``: the state change and its outbox event
commit together or not at all.

Two ways SQLite can say no to a step, and neither is a bug, so neither crashes a screen:
another writer holds the database longer than the busy timeout (``StoreBusy``: try again
in a moment), or the disk is full (``DiskFull``: nothing was written; the store's space
watchers hear of it, the health monitor raises ``kiosk.disk_full``). Both are refusals,
the step rolled back.

A full disk, in order: a small reserve of pages kept in the database is given back, so
small writes (a pickup, its events, the fault's own event) still fit; new rows in the
tables held while full (the composition holds ``parcels``: a new deposit) are refused
until there is room again, so the reserve is not spent on parcels that would then have
nowhere to be recorded as stored. Once a commit finds room, the reserve is taken again.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.refusals import Refusal

log = logging.getLogger(__name__)

# How long a step waits for another writer (a long CSV import, the maintainers' CLI)
# before it is refused as busy. sqlite3's ``timeout`` is SQLite's busy timeout: it applies
# to ``BEGIN IMMEDIATE`` taking the write lock.
BUSY_TIMEOUT_S = 10.0
# After a full disk, the store counts as having room again with this much free space on
# the file system and this many pages free under the database's own page limit.
ROOM_BYTES = 4 * 1024 * 1024
ROOM_PAGES = 16
# Pages (of 4 KiB by default) kept filled in the table ``store_reserve`` while there is
# room, and given back when the disk is full, for the small writes that must go on.
RESERVE_PAGES = 64


class StoreBusy(Refusal):
    """Another writer held the database for longer than the busy timeout."""

    default_reason = "store_busy"


class DiskFull(Refusal):
    """The database could not grow: the disk (or its page limit) is full."""

    default_reason = "disk_full"

Migration = Callable[[sqlite_utils.Database], None]
# Each feature keeps its own list and version counter, so features evolve independently.
Migrations = dict[str, list[Migration]]


def insert_with_id(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> int:
    """Insert ``row`` into a table keyed by ``id INTEGER PRIMARY KEY``; return its new id."""
    new_id = db.table(table).insert(row).last_pk
    # sqlite-utils types last_pk loosely (None before an insert, a tuple for compound keys);
    # a single insert into an integer key gives the new rowid.
    if not isinstance(new_id, int):
        raise TypeError(f"{table}: expected an integer id, got {new_id!r}")
    return new_id


class Store:
    """One SQLite database file. Thread-safe: every use of the connection takes a lock.

    ``migrations`` maps a feature name to its migrations, oldest first; those not yet
    applied run at opening, in one transaction.
    """

    def __init__(self, path: str | Path, migrations: Migrations, *,
                 busy_timeout_s: float = BUSY_TIMEOUT_S):
        self.path = str(path)
        self._migrations = migrations
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        # Set while a write failed for want of space, until a commit finds room again.
        self.full: str | None = None
        self._space_watchers: list[tuple[Callable[[str], None], Callable[[], None]]] = []
        self._held_while_full: set[str] = set()
        self._denied: str | None = None  # the table a held insert was refused on
        self._reserve_pages = RESERVE_PAGES if self.path != ":memory:" else 0
        conn = sqlite3.connect(self.path, timeout=busy_timeout_s, check_same_thread=False)
        # No sqlite-utils plugins: whatever happens to be installed stays out of the
        # kiosk's database, and start-up skips scanning every package's entry points.
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self._lock = threading.RLock()
        self._after_commit: list[Callable[[], None]] = []
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed step survives power loss, not just a process crash.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self._take_reserve()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @property
    def busy_timeout_s(self) -> float:
        return self._busy_timeout_s

    @busy_timeout_s.setter
    def busy_timeout_s(self, seconds: float) -> None:
        """Wait this long for another writer from now on (SQLite's ``busy_timeout``, the
        same setting sqlite3's ``timeout`` makes at connecting)."""
        with self._lock:
            self.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
            self._busy_timeout_s = seconds

    @contextmanager
    def step(self) -> Iterator[sqlite_utils.Database]:
        """One domain step: an immediate write transaction, committed on success."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                # Nested step: join the outer one so both commit together.
                with self.db.atomic():
                    yield self.db
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                self._raise_refusal(exc)
                raise
            self._denied = None
            try:
                yield self.db
                conn.execute("COMMIT")
            except BaseException as exc:
                self._after_commit.clear()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self._denied is not None and isinstance(exc, sqlite3.DatabaseError):
                    raise DiskFull(f"no new {self._denied} while the disk is full: "
                                   f"{self.full}") from exc
                if isinstance(exc, sqlite3.OperationalError):
                    self._raise_refusal(exc)
                raise
            callbacks, self._after_commit = self._after_commit, []
            if self.full is not None:
                self._check_room()
        for callback in callbacks:
            callback()

    def hold_while_full(self, table: str) -> None:
        """While the disk is full, refuse new rows in ``table`` (``DiskFull``)."""
        self._held_while_full.add(table)

    def watch_space(self, full: Callable[[str], None], ok: Callable[[], None]) -> None:
        """``full(error)`` when a step fails for want of space (each time), ``ok()`` once
        a later commit finds room again."""
        self._space_watchers.append((full, ok))

    def _raise_refusal(self, exc: sqlite3.OperationalError) -> None:
        """SQLite's "busy" and "full" raised as refusals; any other error is left to the
        caller to raise as it was."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            log.warning("database busy for more than %.1f s: %s", self.busy_timeout_s, exc)
            raise StoreBusy(f"the database is busy (another writer): {exc}") from exc
        if code == sqlite3.SQLITE_FULL:
            log.error("database cannot grow: %s", exc)
            if self.full is None:
                self.full = str(exc)
                self._give_reserve()
                # Only while full: an authorizer runs at every statement's preparing.
                self.db.conn.set_authorizer(self._authorize)
            for full, _ in list(self._space_watchers):
                try:
                    full(self.full)
                except Exception:  # a watcher must not hide the refusal
                    log.exception("a space watcher failed")
            raise DiskFull(f"no space left for the database: {exc}") from exc

    def _authorize(self, action: int, arg1: str | None, *_: object) -> int:
        if action == sqlite3.SQLITE_INSERT and arg1 in self._held_while_full:
            self._denied = arg1
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    def _give_reserve(self) -> None:
        conn = self.db.conn
        try:
            # Freeing pages writes little (the WAL reuses its space after a checkpoint).
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM store_reserve")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # never taken (a full disk at first start)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.warning("no reserve to give back: %s", exc)

    def _take_reserve(self) -> None:
        if not self._reserve_pages:
            return
        conn = self.db.conn
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS store_reserve (b BLOB NOT NULL)")
            if conn.execute("SELECT COUNT(*) FROM store_reserve").fetchone()[0]:
                return
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            with self.step():
                for _ in range(self._reserve_pages):
                    # A row a little smaller than a page takes one page of its own.
                    conn.execute("INSERT INTO store_reserve VALUES (zeroblob(?))",
                                 (size - 600,))
        except (sqlite3.Error, Refusal) as exc:
            # No room (or another writer) now: the store goes without one until it is
            # next opened. Never raised: the step that called this has committed already.
            log.warning("could not keep a reserve of pages: %s", exc)

    def _check_room(self) -> None:
        if not self.has_room():
            return
        self.full = None
        self.db.conn.set_authorizer(None)
        log.warning("database has room again")
        self._take_reserve()
        for _, ok in list(self._space_watchers):
            try:
                ok()
            except Exception:
                log.exception("a space watcher failed")

    def has_room(self) -> bool:
        """Room on the file system and under the database's page limit for new writes."""
        if self.path != ":memory:":
            try:
                if shutil.disk_usage(Path(self.path).parent).free < ROOM_BYTES:
                    return False
            except OSError:
                return False
        # Pages the database file may still grow by (free pages inside it do not count:
        # the reserve given back is among them, and is not room).
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        limit = self.db.execute("PRAGMA max_page_count").fetchone()[0]
        return limit - pages >= ROOM_PAGES

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current step has committed (never on a rollback).
        Inside a step only; the same callback is called once however often it is added."""
        with self._lock:
            if callback not in self._after_commit:
                self._after_commit.append(callback)

    @contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        """Reads that must see one consistent snapshot."""
        with self._lock:
            yield self.db

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        with self._lock:
            return list(self.db.query(sql, params))

    def scalar(self, sql: str, params: tuple | dict = ()):
        with self._lock:
            row = self.db.execute(sql, params).fetchone()
            return None if row is None else row[0]

    def _migrate(self) -> None:
        # Foreign keys are off while migrating, so a migration can rebuild a table others
        # refer to (SQLite's way to drop a UNIQUE or a NOT NULL: create, copy, drop,
        # rename); the pragma does nothing inside a transaction, hence before the step.
        # Every reference is checked before the migrations commit.
        self.db.execute("PRAGMA foreign_keys=OFF")
        try:
            with self.step() as db:
                db.execute(
                    "CREATE TABLE IF NOT EXISTS schema_versions "
                    "(feature TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
                ran = False
                for feature, migrations in self._migrations.items():
                    row = db.execute(
                        "SELECT version FROM schema_versions WHERE feature = ?", (feature,)
                    ).fetchone()
                    current = row[0] if row else 0
                    for version, migration in enumerate(migrations, start=1):
                        if version > current:
                            migration(db)
                            ran = True
                    db.execute(
                        "INSERT OR REPLACE INTO schema_versions (feature, version) "
                        "VALUES (?, ?)", (feature, len(migrations)),
                    )
                broken = db.execute("PRAGMA foreign_key_check").fetchall() if ran else []
                if broken:
                    raise sqlite3.IntegrityError(
                        f"a migration left rows referring to nothing: {broken[:5]}")
        finally:
            self.db.execute("PRAGMA foreign_keys=ON")

    def schema_version(self, feature: str) -> int:
        return self.scalar("SELECT version FROM schema_versions WHERE feature = ?", (feature,)) or 0
