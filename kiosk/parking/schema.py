"""Tables of the parking feature."""

from __future__ import annotations

import sqlite_utils

from kiosk.audit import create_chain_table
from kiosk.store import Migration


def _v1(db: sqlite_utils.Database) -> None:
    # No names, phones or e-mails: a member is a pseudonym, a unit and a kind.
    db.execute("""
        CREATE TABLE parking_members (
            member TEXT PRIMARY KEY,
            unit TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('household', 'worker')),
            need INTEGER NOT NULL DEFAULT 0,
            pin_hash TEXT,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("CREATE UNIQUE INDEX parking_members_unit ON parking_members(unit) "
               "WHERE active = 1")
    # pool: 'rounds' spots are allocated in rounds; 'short' spots are for reservations.
    db.execute("""
        CREATE TABLE parking_spots (
            spot TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            pool TEXT NOT NULL CHECK (pool IN ('rounds', 'short')),
            state TEXT NOT NULL CHECK (state IN ('in_service', 'out_of_service')),
            occupied INTEGER,
            occupied_ts TEXT
        )""")
    db.execute("""
        CREATE TABLE parking_rounds (
            round TEXT PRIMARY KEY,
            status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'committed', 'drawn')),
            round_no INTEGER UNIQUE,
            opened_ts TEXT NOT NULL,
            closed TEXT,
            commitment TEXT,
            record TEXT
        )""")
    db.execute("""
        CREATE TABLE parking_requests (
            round TEXT NOT NULL REFERENCES parking_rounds(round),
            member TEXT NOT NULL REFERENCES parking_members(member),
            type TEXT NOT NULL,
            requested_ts TEXT NOT NULL,
            PRIMARY KEY (round, member)
        )""")
    db.execute("""
        CREATE TABLE parking_allocations (
            round TEXT NOT NULL REFERENCES parking_rounds(round),
            member TEXT NOT NULL,
            spot TEXT NOT NULL,
            type TEXT NOT NULL,
            released_ts TEXT,
            PRIMARY KEY (round, member)
        )""")
    db.execute("CREATE INDEX parking_allocations_spot ON parking_allocations(spot, round)")
    # The algorithm's memory after the last draw (one row).
    db.execute("""
        CREATE TABLE parking_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            state TEXT NOT NULL,
            state_hash TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE parking_waitlist (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            member TEXT NOT NULL,
            type TEXT NOT NULL,
            kind TEXT NOT NULL,
            start_ts TEXT NOT NULL,
            end_ts TEXT NOT NULL,
            joined_ts TEXT NOT NULL,
            status TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX parking_waitlist_waiting ON parking_waitlist(type, id) "
               "WHERE status IN ('waiting', 'offered')")
    db.execute("""
        CREATE TABLE parking_reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            member TEXT NOT NULL,
            spot TEXT NOT NULL REFERENCES parking_spots(spot),
            type TEXT NOT NULL,
            kind TEXT NOT NULL,
            start_ts TEXT NOT NULL,
            end_ts TEXT NOT NULL,
            status TEXT NOT NULL,
            created_ts TEXT NOT NULL,
            offer_expires_ts TEXT,
            waitlist_id INTEGER REFERENCES parking_waitlist(id),
            checked_in_ts TEXT,
            checked_in_via TEXT,
            ended_ts TEXT
        )""")
    db.execute("CREATE INDEX parking_reservations_live ON parking_reservations(spot, start_ts) "
               "WHERE status IN ('held', 'booked', 'checked_in')")


def _v2(db: sqlite_utils.Database) -> None:
    # The draw chain: every announcement, close, commitment and record, whole, hash-chained
    # (kiosk/parking/register.py, DrawChain); its head is signed and witnessed.
    create_chain_table(db, "parking_draw_chain")
    # The announced source of the round's public random value, before the list closes.
    db.execute("ALTER TABLE parking_rounds ADD COLUMN announced TEXT")


MIGRATIONS: list[Migration] = [_v1, _v2]
