"""Where the plan keeps its data: SQLite (the embedded default, ``DIR/plan.db``) or
PostgreSQL for a federation (``postgresql://…`` DSN, psycopg 3, the ``federation`` extra).

Both speak the same small interface, ``PlanDB``: ``step()`` (one write transaction),
``query``/``scalar`` (reads). The plan's SQL is written once, with ``?`` placeholders and
the subset both engines share (``ON CONFLICT … DO UPDATE``, window functions); the few
differences are the dialect's fields (``least``/``greatest``, the key-only table suffix).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from kiosk.store import Migrations, Store


class Tx(Protocol):
    """One open write transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


class PlanDB(Protocol):
    kind: str  # "sqlite" or "postgresql"
    least: str  # the two-argument minimum: MIN in SQLite, LEAST in PostgreSQL
    greatest: str
    key_only: str  # suffix for a table with a composite primary key and no rowid

    def step(self) -> Any: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def close(self) -> None: ...


def is_dsn(where: str | Path) -> bool:
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


# -- SQLite ---------------------------------------------------------------------------------

class _SqliteTx:
    def __init__(self, conn: Any):
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class SqlitePlanDB:
    """The kiosk core's ``Store`` (WAL, busy timeout, a full disk refused cleanly)."""

    kind = "sqlite"
    least, greatest = "MIN", "MAX"
    key_only = " WITHOUT ROWID"

    def __init__(self, path: str | Path, migrations: Migrations):
        self.store = Store(path, migrations)
        # The plan's own data can be rebuilt from the broker's history; a kiosk's cannot.
        # NORMAL still survives a process crash; the persistent session redelivers the rest.
        self.store.db.conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def step(self) -> Iterator[_SqliteTx]:
        with self.store.step() as db:
            yield _SqliteTx(db.conn)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.store.query(sql, tuple(params))

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.store.scalar(sql, tuple(params))

    def close(self) -> None:
        self.store.close()


# -- PostgreSQL -----------------------------------------------------------------------------

def _pg(sql: str) -> str:
    # The plan's SQL has no '?' or '%' inside literals, so this is exact.
    return sql.replace("%", "%%").replace("?", "%s")


class _PgTx:
    def __init__(self, cursor: Any):
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.cursor.execute(_pg(sql), tuple(params))
        return self.cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(_pg(sql), [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.cursor.execute(_pg(sql), tuple(params))
        return list(self.cursor.fetchall())


class PostgresPlanDB:
    """One psycopg 3 connection (the aggregator is one writer), used under a lock.
    Migrations are the same per-component lists as SQLite's, recorded in ``plan_schema``."""

    kind = "postgresql"
    least, greatest = "LEAST", "GREATEST"
    key_only = ""

    def __init__(self, dsn: str, migrations: dict[str, list[Any]]):
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError:  # pragma: no cover - depends on the installation
            raise RuntimeError("PostgreSQL needs psycopg: pip install "
                               "'community-kiosk[federation]'") from None
        self._lock = threading.RLock()
        self.conn = psycopg.connect(dsn, row_factory=dict_row, autocommit=False)
        self._migrate(migrations)

    def _migrate(self, migrations: dict[str, list[Any]]) -> None:
        with self.step() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS plan_schema (component TEXT PRIMARY KEY, "
                       "version INTEGER NOT NULL)")
            for component, steps in migrations.items():
                row = tx.query("SELECT version FROM plan_schema WHERE component = ?",
                               (component,))
                done = row[0]["version"] if row else 0
                for step in steps[done:]:
                    step(tx, self)
                if len(steps) > done:
                    tx.execute("INSERT INTO plan_schema (component, version) VALUES (?, ?) "
                               "ON CONFLICT (component) DO UPDATE SET version = "
                               "excluded.version", (component, len(steps)))

    @contextmanager
    def step(self) -> Iterator[_PgTx]:
        with self._lock, self.conn.transaction(), self.conn.cursor() as cursor:
            yield _PgTx(cursor)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.step() as tx:
            return tx.query(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return next(iter(rows[0].values())) if rows else None

    def close(self) -> None:
        with self._lock:
            self.conn.close()
