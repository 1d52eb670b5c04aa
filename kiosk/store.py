"""The kiosk's SQLite state: connection, WAL, versioned migrations, one transaction per step.

Every domain step runs inside ``Store.step()``: the state change and its outbox event
commit together or not at all.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

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

    def __init__(self, path: str | Path, migrations: Migrations):
        self.path = str(path)
        self._migrations = migrations
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
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

    def close(self) -> None:
        with self._lock:
            self.db.close()

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
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self._after_commit.clear()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
                callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

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
        with self.step() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions "
                "(feature TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            for feature, migrations in self._migrations.items():
                row = db.execute(
                    "SELECT version FROM schema_versions WHERE feature = ?", (feature,)
                ).fetchone()
                current = row[0] if row else 0
                for version, migration in enumerate(migrations, start=1):
                    if version > current:
                        migration(db)
                db.execute(
                    "INSERT OR REPLACE INTO schema_versions (feature, version) VALUES (?, ?)",
                    (feature, len(migrations)),
                )

    def schema_version(self, feature: str) -> int:
        return self.scalar("SELECT version FROM schema_versions WHERE feature = ?", (feature,)) or 0
