"""One identity per household across the lockers and parking (kiosk/households.py), workers
as parking members without a unit, and the migration of a database the schema before
made: real SQLite, the real register and locker service, no board (none of this moves a
lock)."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.admin import Admin
from kiosk.audit import AuditLog
from kiosk.codes import keyed_hash
from kiosk.events import Outbox
from kiosk.lockers import schema as lockers_schema
from kiosk.lockers.model import WrongPin
from kiosk.lockers.service import LockerService
from kiosk.parking import schema as parking_schema
from kiosk.parking.csvimport import CsvImportError
from kiosk.parking.model import ParkingError
from kiosk.parking.register import ParkingRegister
from kiosk.schema import KIOSK_MIGRATIONS, open_kiosk_store
from kiosk.store import Store
from tests.lockers_setup import locker_config
from tests.parking_support import Clock, commit_round


def services(store: Store, clock: Clock) -> tuple[LockerService, ParkingRegister]:
    outbox = Outbox(store, clock)
    # No board: logins and people never move a lock.
    lockers = LockerService(store, outbox, board=None,  # type: ignore[arg-type]
                            config=locker_config("unused"), clock=clock)
    return lockers, ParkingRegister(store, outbox, clock=clock)


@pytest.fixture
def kiosk(tmp_path):
    clock = Clock()
    store = open_kiosk_store(tmp_path / "kiosk.db")
    yield (*services(store, clock), clock)
    store.close()


def test_two_households_may_choose_the_same_pin(kiosk):
    lockers, parking, _ = kiosk
    admin = Admin(lockers, AuditLog(lockers.store, lockers.outbox))
    admin.add_household("m-duty", "moved in", "101", pin="24682468")
    # Before, UNIQUE refused this: the second household learnt that PIN was in use.
    admin.add_household("m-duty", "moved in", "102", pin="24682468")
    assert lockers.resident_login("101", "24682468").unit == "101"
    assert lockers.resident_login("102", "24682468").unit == "102"
    parking.add_member("m-duty", "joined", "", "101", "household")
    parking.add_member("m-duty", "joined", "", "102", "household")
    assert parking.authenticate("102", "24682468").member == lockers.household("102").pseudonym
    # Control: the PIN counts only with its unit; a wrong one is refused in both places.
    with pytest.raises(WrongPin):
        lockers.resident_login("101", "13571357")
    with pytest.raises(ParkingError, match="wrong unit or PIN"):
        parking.authenticate("101", "13571357")


def test_a_household_has_one_pseudonym_and_one_pin(kiosk):
    lockers, parking, _ = kiosk
    household = lockers.add_household("101", pin="24682468")
    member = parking.add_member("m-duty", "joined", "", "101", "household")
    assert member.member == household.pseudonym and member.has_pin
    # A PIN set from parking is the household's: the lockers take it too, the old goes.
    parking.update_member("m-duty", "new PIN", member.member, pin="86428642")
    assert lockers.resident_login("101", "86428642").pseudonym == household.pseudonym
    with pytest.raises(WrongPin):
        lockers.resident_login("101", "24682468")
    # Adding the household again (a new PIN, or none) keeps its pseudonym and its PIN.
    assert lockers.add_household("101").pseudonym == household.pseudonym
    assert parking.authenticate("101", "86428642").member == household.pseudonym
    with pytest.raises(ParkingError, match="is the household"):
        parking.add_member("m-duty", "typo", "someone-else", "101", "household")


def test_a_worker_imported_without_a_unit_requests_and_gets_a_spot(kiosk):
    lockers, parking, _ = kiosk
    lockers.add_household("101", "h-1", pin="11111111")
    parking.import_members("member,unit,kind,pin\n"
                           ",101,household,\n"
                           "canteen,,worker,44444444\n", "m-duty")
    parking.import_spots("spot,type\nS1,standard\n", "m-duty")
    assert parking.member("canteen").unit is None
    # The worker logs in with the member name (any case: the login pane types capitals).
    worker = parking.authenticate("CANTEEN", "44444444")
    assert worker.member == "canteen"
    parking.request(worker.member, "2026-03", "standard")
    commit_round(parking, "2026-03", "lottery 2026-03-31: 01 02 03")
    record = parking.draw("2026-03")
    assert record["results"]["assignments"] == [
        {"member": "canteen", "spot": "S1", "type": "standard", "asked": "standard"}]
    assert parking.verify_draw_chain() == []
    # Control: a wrong PIN for the worker is refused like a household's.
    with pytest.raises(ParkingError, match="wrong unit or PIN"):
        parking.authenticate("canteen", "11111111")


def test_bad_member_rows_are_refused_whole_with_a_reason_each(kiosk):
    lockers, parking, _ = kiosk
    lockers.add_household("101", "h-1")
    text = ("member,unit,kind,pin\n"
            "canteen,W1,worker,44444444\n"       # a made-up unit
            ",,worker,44444444\n"                # a worker needs a name
            "cook_2,,worker,44444444\n"          # not typeable on the login pane
            "h-1,,worker,44444444\n"             # a household's pseudonym
            ",102,household,\n"              # no household there to take a name from
            "x-9,101,household,\n"           # unit 101 is h-1
            "courier,,worker,44444444\n")        # fine, but the file is refused whole
    with pytest.raises(CsvImportError) as caught:
        parking.import_members(text, "m-duty")
    assert caught.value.problems == [
        "line 2: unit W1: a worker has no unit (leave it empty: they log in with their "
        "member name)",
        "line 3: a worker needs a member name",
        "line 4: member 'cook_2': a worker logs in with it at the kiosk: 1-8 letters, "
        "digits or '-'",
        "line 5: member h-1: a household's unit or pseudonym (a worker logs in with the "
        "member name)",
        "line 6: unit 102 has no household yet: name its member",
        "line 7: unit 101 is the household h-1: its member is that pseudonym (write it, or "
        "leave member empty)",
    ]
    assert parking.members() == []
    # Control: the one good row alone imports.
    assert parking.import_members("member,unit,kind,pin\ncourier,,worker,44444444\n",
                                  "m-duty").added == 1


def old_store(path) -> Store:
    """A database as the schema before this change made it (lockers v2, parking v2)."""
    old = dict(KIOSK_MIGRATIONS)
    old["lockers"] = lockers_schema.MIGRATIONS[:2]
    old["parking"] = parking_schema.MIGRATIONS[:2]
    return Store(path, old)


def test_the_migration_keeps_households_and_members(tmp_path):
    path = tmp_path / "kiosk.db"
    store = old_store(path)
    secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")

    def household_pin(pin: str) -> str:
        return keyed_hash(secret, "household-pin", pin)

    def parking_pin(pin: str) -> str:
        return keyed_hash(secret, "parking-pin", pin)

    with store.step() as db:
        db.conn.executemany("INSERT INTO households (unit, pseudonym, pin_hash) VALUES (?, ?, ?)",
                       [("101", "h-aaa", household_pin("10101010")), ("102", "h-bbb", None),
                        ("104", "h-ddd", household_pin("40404040"))])
        db.conn.executemany(
            "INSERT INTO parking_members (member, unit, kind, pin_hash, active) "
            "VALUES (?, ?, ?, ?, ?)",
            [("ash", "101", "household", parking_pin("11111111"), 1),    # asked in a round
             ("birch", "102", "household", parking_pin("22222222"), 1),  # never asked
             ("cedar", "103", "household", parking_pin("33333333"), 1),  # parking only
             ("old-101", "101", "household", None, 0),               # left unit 101
             ("linden", "W1", "worker", parking_pin("90909090"), 1)])
        db.execute("INSERT INTO parking_rounds (round, status, opened_ts) "
                   "VALUES ('2026-12', 'open', '2026-11-01T00:00:00.000000Z')")
        db.execute("INSERT INTO parking_requests (round, member, type, requested_ts) "
                   "VALUES ('2026-12', 'ash', 'standard', '2026-11-02T00:00:00.000000Z')")
        db.execute("INSERT INTO parking_spots (spot, type, pool, state) "
                   "VALUES ('V1', 'standard', 'short', 'in_service')")
        db.execute("INSERT INTO parking_reservations (member, spot, type, kind, start_ts, "
                   "end_ts, status, created_ts) VALUES ('birch', 'V1', 'standard', "
                   "'visitor', 'a', 'b', 'booked', 'c')")
        db.execute("INSERT INTO compartments (id, board, lock, size) VALUES ('A01', 0, 1, 'S')")
        db.execute("INSERT INTO parcels (household, compartment, size, state, created_ts) "
                   "VALUES ('104', 'A01', 'S', 'stored', 'now')")
    # The schema before refused a second household with the same PIN.
    with pytest.raises(sqlite3.IntegrityError), store.step() as db:
        db.execute("UPDATE households SET pin_hash = ? WHERE unit = '102'",
                   (household_pin("10101010"),))
    store.close()

    store = open_kiosk_store(path)
    lockers, parking = services(store, Clock())
    assert store.query("SELECT unit, pseudonym FROM households ORDER BY unit") == [
        {"unit": "101", "pseudonym": "ash"},    # the pseudonym the round's request names
        {"unit": "102", "pseudonym": "h-bbb"},  # the lockers' pseudonym
        {"unit": "103", "pseudonym": "cedar"},  # made from its parking member
        {"unit": "104", "pseudonym": "h-ddd"}]
    assert [(m.member, m.unit, m.kind, m.active) for m in parking.members()] == [
        ("ash", "101", "household", True), ("cedar", "103", "household", True),
        ("h-bbb", "102", "household", True), ("linden", None, "worker", True),
        ("old-101", None, "household", False)]
    assert parking.requests("2026-12")[0].member == "ash"
    assert store.scalar("SELECT member FROM parking_reservations") == "h-bbb"
    assert store.scalar("SELECT household FROM parcels") == "104"
    # 101 had both PINs: the lockers' is kept, the parking one that differed stops.
    assert parking.authenticate("101", "10101010").member == "ash"
    with pytest.raises(ParkingError, match="wrong unit or PIN"):
        parking.authenticate("101", "11111111")
    # 102 had no lockers PIN: its parking PIN carries over, for the lockers too.
    assert lockers.resident_login("102", "22222222").pseudonym == "h-bbb"
    assert parking.authenticate("102", "22222222").member == "h-bbb"
    assert parking.authenticate("103", "33333333").member == "cedar"
    assert parking.authenticate("linden", "90909090").member == "linden"
    with pytest.raises(ParkingError, match="wrong unit or PIN"):
        parking.authenticate("W1", "90909090")  # the made-up unit is gone
    # Now two households may share a PIN; the references still hold.
    lockers.add_household("104", pin="10101010")
    assert lockers.resident_login("104", "10101010").pseudonym == "h-ddd"
    with pytest.raises(sqlite3.IntegrityError), store.step() as db:
        db.execute("INSERT INTO parcels (household, compartment, size, state, created_ts) "
                   "VALUES ('999', 'A01', 'S', 'collected', 'now')")
    store.close()
