"""The notifier's own database, DIR/notify.db: the contacts directory, its audit trail,
and the deliveries under way (a delivery's code is kept only until it is delivered)."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from kiosk.store import Migrations, Store


def _contacts_v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            household TEXT NOT NULL,
            url TEXT NOT NULL,
            language TEXT NOT NULL,
            label TEXT NOT NULL DEFAULT '',
            added_ts TEXT NOT NULL,
            UNIQUE (household, url)
        )""")
    # Who changed what, never the contact itself: the household, the kind of channel and
    # how many contacts it has afterwards.
    db.execute("""
        CREATE TABLE contacts_audit (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            action TEXT NOT NULL,
            household TEXT NOT NULL,
            channel TEXT NOT NULL,
            contacts_after INTEGER NOT NULL,
            actor TEXT NOT NULL
        )""")


def _deliveries_v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE deliveries (
            uid TEXT PRIMARY KEY,
            payload TEXT,
            received_ts TEXT NOT NULL,
            done_ts TEXT,
            outcome TEXT,
            community TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try REAL NOT NULL DEFAULT 0
        )""")
    db.execute("CREATE INDEX deliveries_open ON deliveries(next_try) WHERE done_ts IS NULL")
    # One row per contact that has this delivery: a restart sends only to the others.
    db.execute("""
        CREATE TABLE sent (
            uid TEXT NOT NULL,
            contact INTEGER NOT NULL,
            ts TEXT NOT NULL,
            PRIMARY KEY (uid, contact)
        )""")


MIGRATIONS: Migrations = {"contacts": [_contacts_v1], "deliveries": [_deliveries_v1]}
DB_NAME = "notify.db"


def open_notifier_store(data: str | Path) -> Store:
    return Store(Path(data) / DB_NAME, MIGRATIONS)
