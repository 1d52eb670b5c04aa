"""PINs are 8-12 digits (kiosk/pins.py); one typed shorter at any login is refused before
any lookup and not counted, whatever PIN was stored before the rule. Real SQLite, the real
locker service, parking register and duty roster (no board: a login moves no lock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from kiosk import backoff, households, pins
from kiosk.admin import Admin
from kiosk.audit import AuditLog
from kiosk.backoff import TooManyAttempts
from kiosk.duty import DutyError, DutyRoster, DutySettings
from kiosk.lockers.model import LockerError
from kiosk.parking.model import ParkingError
from kiosk.refusals import Refusal
from kiosk.schema import open_kiosk_store
from tests.parking_support import Clock
from tests.test_identity import services

FULL = "24682468"  # the one right PIN of every identity below
WRONG = "13571357"  # a wrong PIN of full length
OLD = "2468"  # a PIN set before the rule: stored as a hash, its length unknown


@pytest.fixture
def kiosk(tmp_path):
    clock = Clock()
    store = open_kiosk_store(tmp_path / "kiosk.db")
    lockers, parking = services(store, clock)
    roster = DutyRoster(store, lockers.outbox, AuditLog(store, lockers.outbox, clock),
                        "secret", DutySettings(shift_hours=8784), clock)
    roster.register("assembly", "v-ana", FULL, "volunteered")
    roster.plan(clock() - timedelta(hours=1), 1)
    lockers.add_household("101", pin=FULL)
    parking.add_member("m-duty", "joined", "", "101", "household")
    parking.add_member("m-duty", "joined", "w-1", None, "worker", pin=FULL)
    lockers.add_courier("courier-a", FULL)
    yield lockers, parking, roster
    store.close()


# Each door a PIN is typed at: how to try a PIN there, and the counter it counts under.
DOORS: dict[str, tuple[Callable, str]] = {
    "lockers, lost code": (lambda k, pin: k[0].open_with_pin("101", pin),
                           households.attempts_key("101")),
    "lockers, send": (lambda k, pin: k[0].resident_login("101", pin),
                      households.attempts_key("101")),
    "parking, household": (lambda k, pin: k[1].authenticate("101", pin),
                           households.attempts_key("101")),
    "parking, worker": (lambda k, pin: k[1].authenticate("w-1", pin), "parking-login:W-1"),
    "courier": (lambda k, pin: k[0].courier_login("courier-a", pin), "courier:courier-a"),
    "maintainer": (lambda k, pin: k[2].login("v-ana", pin), "duty:v-ana"),
}


def failures(kiosk, key: str) -> int:
    with kiosk[0].store.step() as db:
        return backoff.failures(db, key)


def refusal(try_pin: Callable[[], object]) -> Refusal:
    with pytest.raises(Refusal) as refused:
        try_pin()
    return refused.value


@pytest.mark.parametrize("door", DOORS)
def test_a_short_pin_is_refused_without_counting(kiosk, door):
    try_pin, key = DOORS[door]
    household = door.startswith(("lockers", "parking, household"))
    for _ in range(12):  # past the free tries and the kiosk-wide cap's burst alike
        refused = refusal(lambda: try_pin(kiosk, OLD))
        assert refused.reason == ("short_household_pin" if household else "short_pin")
        assert refused.details == {"digits": pins.MIN_DIGITS} and refused.wait_s == 0
    assert failures(kiosk, key) == 0
    assert "security.wrong_pin" not in {e.type for e in kiosk[0].outbox.events()}
    try_pin(kiosk, FULL)  # the right PIN at once: no wait was earned
    # Control: wrong PINs of full length are counted, each one, until they earn a wait.
    for n in range(1, 20):
        refused = refusal(lambda: try_pin(kiosk, WRONG))
        if isinstance(refused, TooManyAttempts):
            break
        assert failures(kiosk, key) == n
    assert n > 1 and failures(kiosk, key) == n - 1
    with pytest.raises(TooManyAttempts):
        try_pin(kiosk, FULL)


def test_an_old_short_pin_tells_nothing_and_opens_nothing(kiosk):
    lockers, parking, _ = kiosk
    lockers.add_household("102", pin=OLD)  # as the kiosk stored it before the rule
    parking.add_member("m-duty", "joined", "", "102", "household")
    # The old PIN and a wrong one as short are answered alike: nothing was looked up.
    for door in (lambda pin: lockers.resident_login("102", pin),
                 lambda pin: parking.authenticate("102", pin)):
        right, wrong = refusal(lambda d=door: d(OLD)), refusal(lambda d=door: d("1357"))
        assert (right.reason, right.message) == (wrong.reason, wrong.message)
        assert "ask a maintainer for a new one" in right.message
        assert "re-sent" in right.message
    assert failures(kiosk, households.attempts_key("102")) == 0
    # Control: a maintainer sets a new PIN, and it logs in.
    admin = Admin(lockers, AuditLog(lockers.store, lockers.outbox))
    admin.add_household("m-duty", "forgot PIN", "102", pin="97531097")
    assert lockers.resident_login("102", "97531097").unit == "102"


def test_no_pin_shorter_or_longer_than_the_rule_is_set(kiosk):
    lockers, parking, roster = kiosk
    admin = Admin(lockers, AuditLog(lockers.store, lockers.outbox))
    for pin in ("1234567", "1234567890123", "1234567a"):
        with pytest.raises(LockerError, match="8-12 digits"):
            admin.add_household("m-duty", "moved in", "103", pin=pin)
        with pytest.raises(LockerError, match="8-12 digits"):
            lockers.add_courier("courier-b", pin)
        with pytest.raises(DutyError, match="8-12 digits"):
            roster.register("assembly", "v-bo", pin, "volunteered")
        with pytest.raises(DutyError, match="8-12 digits"):
            roster.add_role("assembly", "chair", pin, "assembly")
        with pytest.raises(ParkingError, match="8-12 digits"):
            parking.add_member("m-duty", "joined", "w-2", None, "worker", pin=pin)
    # Control: 8 and 12 digits are both set.
    for pin in ("12345678", "123456789012"):
        admin.add_household("m-duty", "moved in", "103", pin=pin)
        assert lockers.resident_login("103", pin).unit == "103"


def test_codes_and_pins_of_a_household_are_one_budget(kiosk):
    lockers, parking, _ = kiosk
    # A wrong code, a wrong PIN at the lockers and one at parking: one count, not three.
    with pytest.raises(LockerError):
        lockers.pickup("ZZZZZZ", "101")
    with pytest.raises(LockerError):
        lockers.resident_login("101", WRONG)
    with pytest.raises(Refusal):
        parking.authenticate("101", WRONG)
    assert failures(kiosk, households.attempts_key("101")) == 3
    # So the wait the third earned holds at every door, the right PIN included.
    with pytest.raises(TooManyAttempts):
        parking.authenticate("101", FULL)
    # Control: another household is not held back by it.
    lockers.add_household("104", pin=FULL)
    assert lockers.resident_login("104", FULL).unit == "104"
