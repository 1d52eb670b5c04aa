"""Tables of the parking feature."""

from __future__ import annotations

import json

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


MEMBERS_V3 = """
    CREATE TABLE parking_members (
        member TEXT PRIMARY KEY,
        -- A household's member is its pseudonym and refers to its identity (unit,
        -- pseudonym, PIN: kiosk/households.py); a worker has no unit, logs in with the
        -- member name and has a PIN of their own here.
        unit TEXT,
        kind TEXT NOT NULL CHECK (kind IN ('household', 'worker')),
        need INTEGER NOT NULL DEFAULT 0,
        pin_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        CHECK (kind = 'household' OR (unit IS NULL)),
        CHECK (kind = 'worker' OR pin_hash IS NULL),
        CHECK (kind = 'worker' OR active = 0 OR unit IS NOT NULL),
        FOREIGN KEY (unit, member) REFERENCES households(unit, pseudonym)
    )"""


class IdentityConflict(RuntimeError):
    """Existing data the identity migration cannot join without a person's choice."""


def _v3(db: sqlite_utils.Database) -> None:
    """One identity per household across lockers and parking; workers without a unit.

    A household member and its household (same unit) become one: the lockers' pseudonym,
    unless the parking pseudonym is already in the parking record (the member asked in a
    round: a request, an eligible list or the draw memory names it). Renaming it there
    would make the next round's memory differ from the one the last draw published, and
    the gate and the live check read the record. The household's PIN is the lockers'; a
    household with none keeps its parking PIN (``CARRIED_PARKING_PIN``). A parking-only
    household gets its identity from its member. A worker drops the made-up unit.
    """
    from kiosk.households import CARRIED_PARKING_PIN

    asked = {r[0] for r in db.execute("SELECT DISTINCT member FROM parking_requests")}
    for (closed,) in db.execute("SELECT closed FROM parking_rounds WHERE closed IS NOT NULL"):
        asked |= {e["member"] for e in json.loads(closed)["eligible"]}
    state = db.execute("SELECT state FROM parking_state WHERE id = 1").fetchone()
    if state:
        asked |= {m for members in json.loads(state[0])["types"].values() for m in members}
    households = {r[0]: {"pseudonym": r[1], "pin_hash": r[2]} for r in
                  db.execute("SELECT unit, pseudonym, pin_hash FROM households")}
    taken = {h["pseudonym"]: unit for unit, h in households.items()}
    old = list(db.query("SELECT * FROM parking_members ORDER BY active DESC, member"))
    names = {r["member"] for r in old}
    rows, renames, units = [], {}, set()

    def claim(name: str, unit: str) -> None:
        if taken.get(name, unit) != unit:
            raise IdentityConflict(f"parking member {name} of unit {unit}: that pseudonym "
                                   f"is the household of unit {taken[name]}")
        taken[name] = unit

    for r in old:
        row = {**r, "pin_hash": r["pin_hash"] if r["kind"] == "worker" else None}
        carried = CARRIED_PARKING_PIN + r["pin_hash"] if r["pin_hash"] else None
        if r["kind"] == "worker" or r["unit"] in units:
            # A worker's unit was made up; an older member of a unit that has another
            # (one who left) keeps the pseudonym and its history, with no login.
            row["unit"] = None
            if r["kind"] == "household":
                row["active"] = 0
            rows.append(row)
            continue
        unit = r["unit"]
        units.add(unit)
        household = households.get(unit)
        if household is None:
            claim(r["member"], unit)
            db.execute("INSERT INTO households (unit, pseudonym, pin_hash, active) "
                       "VALUES (?, ?, ?, 1)", (unit, r["member"], carried))
        else:
            name = household["pseudonym"]
            if name != r["member"] and (r["member"] in asked or name in names):
                claim(r["member"], unit)
                taken.pop(name, None)
                name = r["member"]
            if name != r["member"]:
                renames[r["member"]] = name
                row["member"] = name
            db.execute("UPDATE households SET pseudonym = ?, pin_hash = COALESCE(pin_hash, ?) "
                       "WHERE unit = ?", (name, carried, unit))
        rows.append(row)
    db.execute("DROP TABLE parking_members")
    db.execute(MEMBERS_V3)
    db.execute("CREATE UNIQUE INDEX parking_members_unit ON parking_members(unit) "
               "WHERE unit IS NOT NULL")
    if rows:
        db.table("parking_members").insert_all(rows)
    for before, after in renames.items():
        # Never in a request, an eligible list or the memory (see above): only bookings.
        for table in ("parking_reservations", "parking_waitlist", "parking_allocations"):
            db.execute(f"UPDATE {table} SET member = ? WHERE member = ?", (after, before))


MIGRATIONS: list[Migration] = [_v1, _v2, _v3]
