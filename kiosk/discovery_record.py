"""Which Home Assistant discovery configs this kiosk has put on its broker.

A part removed from the config (a board, a compartment, a parking spot type) must
disappear from Home Assistant too: its retained config is cleared with an empty retained
message. The broker's retained messages cannot be listed reliably from here, so the
kiosk remembers every config topic it ever published. Cleared ones stay recorded (a few
rows per part ever configured) and are cleared again after every start: a clear that a
broker lost while it was down is repeated.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from kiosk.store import Migration, Store


def migrate_v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE discovery_topics (
            topic TEXT PRIMARY KEY,
            live INTEGER NOT NULL
        )""")


MIGRATIONS: list[Migration] = [migrate_v1]


class DiscoveryRecord:
    def __init__(self, store: Store):
        self.store = store

    def known(self) -> set[str]:
        """Every config topic ever published, live or cleared."""
        return {r["topic"] for r in self.store.query("SELECT topic FROM discovery_topics")}

    def empty(self) -> bool:
        return not self.store.scalar("SELECT COUNT(*) FROM discovery_topics")

    def record(self, live: Iterable[str], cleared: Iterable[str]) -> None:
        """The configs now published, and those cleared (kept, to clear again)."""
        live = set(live)
        with self.store.step() as db:
            db.conn.executemany("INSERT INTO discovery_topics (topic, live) VALUES (?, 1) "
                           "ON CONFLICT(topic) DO UPDATE SET live = 1", [(t,) for t in live])
            db.conn.executemany("INSERT INTO discovery_topics (topic, live) VALUES (?, 0) "
                           "ON CONFLICT(topic) DO UPDATE SET live = 0",
                           [(t,) for t in set(cleared) - live])
