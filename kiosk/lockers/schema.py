"""Tables of the locker feature."""

from __future__ import annotations

import sqlite_utils

from kiosk.codes import new_secret
from kiosk.store import Migration


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta (key, value) VALUES ('secret', ?)", (new_secret(),))
    db.execute("""
        CREATE TABLE households (
            unit TEXT PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE,
            pin_hash TEXT UNIQUE,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("""
        CREATE TABLE couriers (
            id TEXT PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE,
            pin_hash TEXT NOT NULL UNIQUE,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("""
        CREATE TABLE compartments (
            id TEXT PRIMARY KEY,
            board INTEGER NOT NULL,
            lock INTEGER NOT NULL,
            size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L')),
            in_service INTEGER NOT NULL DEFAULT 1,
            service_note TEXT,
            fault TEXT,
            UNIQUE (board, lock)
        )""")
    db.execute("""
        CREATE TABLE parcels (
            id INTEGER PRIMARY KEY,
            household TEXT NOT NULL REFERENCES households(unit),
            compartment TEXT NOT NULL REFERENCES compartments(id),
            size TEXT NOT NULL,
            outgoing INTEGER NOT NULL DEFAULT 0,
            state TEXT NOT NULL,
            courier TEXT,
            collector TEXT,
            created_ts TEXT NOT NULL,
            stored_ts TEXT,
            done_ts TEXT,
            reminders INTEGER NOT NULL DEFAULT 0,
            last_reminder_ts TEXT,
            note TEXT
        )""")
    # History grows without end; every step's lookups must stay on indexes.
    db.execute("""
        CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels(compartment)
        WHERE state IN ('deposit_pending', 'stored', 'outgoing', 'pickup_pending', 'in_review')
        """)
    # Plain indexes, not partial ones: SQLite uses a partial index only when the query
    # repeats its WHERE clause, and "state = 'stored'" does not.
    db.execute("CREATE INDEX parcels_household ON parcels(household, state)")
    db.execute("CREATE INDEX parcels_state ON parcels(state, stored_ts)")
    db.execute("""
        CREATE TABLE codes (
            hash TEXT PRIMARY KEY,
            household TEXT NOT NULL,
            created_ts TEXT NOT NULL,
            used_ts TEXT
        )""")
    db.execute("CREATE INDEX codes_unused ON codes(household) WHERE used_ts IS NULL")


def _v2(db: sqlite_utils.Database) -> None:
    # What a sender or a courier's scanner says about a parcel, and when a door opened
    # for its pickup: the pickup is complete only once that door is shut on an empty
    # compartment. ``code_held``: a courier's parcel whose code waits for the unit to be
    # confirmed (a wrong unit corrected right after the door shut never gets a code).
    db.execute("ALTER TABLE parcels ADD COLUMN destination TEXT")
    db.execute("ALTER TABLE parcels ADD COLUMN waybill TEXT")
    db.execute("ALTER TABLE parcels ADD COLUMN opened_ts TEXT")
    db.execute("ALTER TABLE parcels ADD COLUMN code_held INTEGER NOT NULL DEFAULT 0")


def _v3(db: sqlite_utils.Database) -> None:
    # One identity per household, for the lockers and parking (kiosk/households.py). A PIN
    # is checked only with its unit, so two households may choose the same one: the old
    # UNIQUE made choosing a PIN another household had fail, telling that it exists.
    # SQLite drops a UNIQUE only by rebuilding the table (foreign keys are off meanwhile,
    # kiosk/store.py).
    db.execute("""
        CREATE TABLE households_v3 (
            unit TEXT PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE,
            pin_hash TEXT,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("INSERT INTO households_v3 (unit, pseudonym, pin_hash, active) "
               "SELECT unit, pseudonym, pin_hash, active FROM households")
    db.execute("DROP TABLE households")
    db.execute("ALTER TABLE households_v3 RENAME TO households")
    # What a household's parking member refers to: its unit and its pseudonym together
    # (kiosk/parking/schema.py, _v3).
    db.execute("CREATE UNIQUE INDEX households_identity ON households(unit, pseudonym)")


def _v4(db: sqlite_utils.Database) -> None:
    # A code sent because the household asked again (a lost code): while wrong codes typed
    # for its unit make the unit wait, this one is still tried, under its own counter, so
    # whoever floods one household's unit cannot keep it from its parcels (service.pickup).
    db.execute("ALTER TABLE codes ADD COLUMN resent INTEGER NOT NULL DEFAULT 0")


def _v5(db: sqlite_utils.Database) -> None:
    # A courier's round, kept past a restart: when it started (and last went on) per
    # courier. Its summary is derived from the parcels the courier stored since the start
    # (LockerService.round_of), so nothing the screen held is needed to count them.
    db.execute("""
        CREATE TABLE courier_rounds (
            courier TEXT PRIMARY KEY REFERENCES couriers(id),
            started_ts TEXT NOT NULL,
            seen_ts TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX parcels_courier ON parcels(courier, created_ts)")


MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4, _v5]
