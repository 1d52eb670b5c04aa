"""The plan's stores for tests: SQLite in a temporary directory, or PostgreSQL in a schema of
its own on the server at 127.0.0.1:5432 (trust auth, database ``test``), dropped after.

``KIOSK_TEST_POSTGRES`` names another server (a libpq DSN of a database the test user may
create schemas in). No server: the PostgreSQL tests fail, they are not skipped; CI and the
developers' machines run one.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mqtt import topics

POSTGRES = os.environ.get("KIOSK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A DSN whose search path is a fresh schema, dropped with everything in it after."""
    import psycopg

    schema = f"plan_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES else "?"
    try:
        yield f"{POSTGRES}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def plan_location(backend: str, tmp: Path) -> Iterator[str | Path]:
    if backend == "sqlite":
        yield tmp / "plan.db"
    else:
        with postgres_schema() as dsn:
            yield dsn


def event(community: str, kiosk: str, seq: int, type_: str = "parcel.deposited",
          data: dict[str, Any] | None = None, ts: str = "2026-11-29T09:15:00.000000Z",
          id_: str | None = None) -> tuple[str, bytes]:
    body = {"seq": seq, "id": id_ or str(uuid.uuid4()), "ts": ts, "type": type_,
            "community": community, "kiosk": kiosk, "data": data or {}}
    return topics.event_topic(community, kiosk, type_), json.dumps(body).encode()


def state(community: str, kiosk: str, device: str, body: Any) -> tuple[str, bytes]:
    return topics.state_topic(community, kiosk, device), json.dumps(body).encode()


def lockers(community: str, kiosk: str, capacity: dict[str, int],
            free: dict[str, int] | None = None) -> tuple[str, bytes]:
    return state(community, kiosk, topics.LOCKERS,
                 {"free": free or dict(capacity), "capacity": capacity, "doors_open": [],
                  "out_of_service": [], "faults": []})


def uplink(community: str, kiosk: str, last_seq: int) -> tuple[str, bytes]:
    return state(community, kiosk, topics.UPLINK,
                 {"connected": True, "backlog": 0, "last_seq": last_seq, "ts": "x"})
