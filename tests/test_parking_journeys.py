"""The parking journeys of issue 11 (items 10 and 11), by touch and keys, on the
composition ``kiosk run`` builds (``production_kiosk``): the real serial driver on the pty
board simulator, a real broker, gpiozero's mock pins, the screen driven with Pilot, and a
restart in the middle of each.

Members and spots come in as a community's chair brings them in (``kiosk duty role``,
``kiosk parking import-members`` / ``import-spots``, docs/parking.md) before the kiosk
first starts. The domain's clock starts on a fixed morning and runs with real time (the
back-off's waits and the kiosk-wide cap's refill need time to pass); a test moves it on
where a journey spans an hour. Local time is UTC (``utc_zone``), so the times on screen
are the same on every machine.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import Button

from kiosk.backoff import TooManyAttempts
from kiosk.cli.main import main
from kiosk.parking.model import ParkingError
from tests.test_locker_journeys import SIZE, Run, write_config
from tests.test_tui_parking import (  # noqa: F401 (utc_zone: autouse, for this module too)
    enter_login,
    fresh_view,
    log_in,
    message,
    open_parking,
    press,
    utc_zone,
)
from tests.tui_setup import screen_text, type_text, until
from tui.screens.parking import ParkingScreen
from tui.screens.parking.member import MEMBER_ACTIONS

MORNING = datetime(2026, 11, 30, 8, 5, tzinfo=UTC)
CHAIR_PIN = "70000170"
# Households with their one PIN (the lockers' too), and the car park's two short spots.
MEMBERS_CSV = """member,unit,kind,accessible_need,pin
ash,301,household,no,30103010
birch,302,household,no,30203020
cedar,303,household,no,30303030
"""
PINS = {"301": "30103010", "302": "30203020", "303": "30303030"}
SPOTS_CSV = """spot,type,pool
V1,standard,short
L1,loading,short
"""


class KioskClock:
    """From ``start`` on, running with real time, moved on by ``advance``."""

    def __init__(self, start: datetime = MORNING):
        self.start = start
        self.began = time.monotonic()
        self.moved = timedelta()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began) + self.moved

    def advance(self, **delta: float) -> None:
        self.moved += timedelta(**delta)


@pytest.fixture
def clock() -> KioskClock:
    return KioskClock()


@pytest.fixture
def run(tmp_path, sim, broker, mock_factory, clock, monkeypatch, capsys):
    """``kiosk run`` on a config with parking: its settings in ``[parking]``; members and
    spots imported by the chair from CSV files before the first start."""
    path = write_config(tmp_path, sim.port, broker.port, kiosk_gap_s=0.5)
    with path.open("a", encoding="utf-8") as config:
        config.write("[parking]\ngrace_minutes = 15\nearly_checkin_minutes = 30\n")
    (tmp_path / "members.csv").write_text(MEMBERS_CSV, encoding="utf-8")
    (tmp_path / "spots.csv").write_text(SPOTS_CSV, encoding="utf-8")
    monkeypatch.delenv("KIOSK_ACTOR", raising=False)
    monkeypatch.delenv("KIOSK_PIN", raising=False)
    assert main(["duty", "role", "chair", "--pin", CHAIR_PIN, "--reason",
                 "assembly of 2026-11-01", "--config", str(path)]) == 0
    monkeypatch.setenv("KIOSK_ACTOR", "role:chair")
    monkeypatch.setenv("KIOSK_PIN", CHAIR_PIN)
    assert main(["parking", "import-members", str(tmp_path / "members.csv"),
                 "--config", str(path)]) == 0
    assert main(["parking", "import-spots", str(tmp_path / "spots.csv"),
                 "--config", str(path)]) == 0
    capsys.readouterr()
    r = Run(path, mock_factory, broker.port, clock=clock)
    yield r
    r.close()


def at(hour: int, minutes: int = 0) -> datetime:
    return MORNING.replace(hour=hour, minute=minutes)


def today(app, start: int, end: int) -> str:
    """A slot of today as the screen words it: "today 10:00–12:00"."""
    return app.t("parking.today_at", hm=f"{start:02d}:00") + f"–{end:02d}:00"


async def reserve_on_screen(pilot, screen: ParkingScreen, hour: int, hours: int = 2) -> None:
    """From the member page: a standard visitor slot today from ``hour``, booked."""
    await pilot.click("#act-reserve")
    await until(pilot, lambda: screen.pane == "park-reserve", what="reserve pane")
    for button in ("res-type-standard", "res-day-0", f"res-hour-{hour}", f"res-dur-{hours}",
                   "res-kind-visitor"):
        await pilot.click(f"#{button}")
    await press(pilot, "res-go")
    assert screen.pane == "park-member"


def booked(run, member: str) -> list[tuple[str, int]]:
    return [(r.spot, r.start.hour) for r in run.kiosk.parking.reservations(member)
            if r.status == "booked"]


def places(screen: ParkingScreen) -> list[tuple[str, object]]:
    """The member actions in the grid's order, each with the region it takes."""
    grid = screen.query_one("#park-actions")
    return [(b.id, b.region) for b in grid.query(Button)]


# --- 1. a cancel names the booking it cancels -------------------------------------------

async def test_two_bookings_of_one_spot_restart_then_the_cancel_names_the_one_it_cancels(run):
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await log_in(pilot, "301", PINS["301"])
        await reserve_on_screen(pilot, screen, 10)
        await reserve_on_screen(pilot, screen, 14)
        assert message(screen) == app.t("parking.done_reserved", spot="V1",
                                        span=today(app, 14, 16))
    assert booked(run, "ash") == [("V1", 10), ("V1", 14)]  # one spot, two times

    run.restart()  # the kiosk stops and starts between the booking and the cancel
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await log_in(pilot, "301", PINS["301"])
        text = screen_text(pilot)
        assert today(app, 10, 12) in text and today(app, 14, 16) in text
        await press(pilot, "act-cancel")
        question = message(screen)
        assert question == app.t("parking.confirm_cancel", spot="V1", span=today(app, 10, 12))
        # Control: the other booking's question differs, so the time is what tells them apart.
        assert question != app.t("parking.confirm_cancel", spot="V1", span=today(app, 14, 16))
        assert booked(run, "ash") == [("V1", 10), ("V1", 14)]  # nothing before the 2nd press
        await press(pilot, "act-cancel")
        assert message(screen) == app.t("parking.done_cancel", spot="V1",
                                        span=today(app, 10, 12))
        assert booked(run, "ash") == [("V1", 14)]  # the other booking remains
        await fresh_view(pilot, screen, lambda v: [r.start.hour for r in v.reservations]
                         == [14])
        assert today(app, 14, 16) in screen_text(pilot)
        await press(pilot, "act-cancel")  # the next question names the one that is left
        assert message(screen) == app.t("parking.confirm_cancel", spot="V1",
                                        span=today(app, 14, 16))
    assert "parking.released" in [e.type for e in run.kiosk.outbox.events(limit=100_000)]


# --- 2. a member leaves the waitlist -----------------------------------------------------

async def test_join_the_waitlist_restart_then_leave_it(run):
    # birch has V1, the only standard spot, from 10:00: cedar can only wait for it.
    run.kiosk.parking.reserve("birch", "standard", at(10), at(12))
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await log_in(pilot, "303", PINS["303"])
        await reserve_on_screen(pilot, screen, 10)
        standard = app.t("parking.type_standard")
        assert message(screen) == app.t("parking.done_waitlisted", n=1, type=standard)
    assert [w["member"] for w in run.kiosk.parking.waitlist("standard")] == ["cedar"]

    kiosk = run.restart()  # the place on the waitlist outlives the restart …
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await log_in(pilot, "303", PINS["303"])
        await fresh_view(pilot, screen, lambda v: v.waiting)
        span = today(app, 10, 12)
        assert app.t("parking.waitlist_line", type=standard, n=1, span=span) \
            in screen_text(pilot)
        leave = screen.query_one("#act-leave")
        assert not leave.disabled
        # … and is left: a second press confirms, the question naming the place.
        await press(pilot, "act-leave")
        assert message(screen) == app.t("parking.confirm_leave", type=standard, span=span)
        assert [w["member"] for w in kiosk.parking.waitlist("standard")] == ["cedar"]
        await press(pilot, "act-leave")
        assert message(screen) == app.t("parking.done_leave", type=standard, span=span)
        assert kiosk.parking.waitlist("standard") == []
        await fresh_view(pilot, screen, lambda v: not v.waiting)
        assert leave.disabled and leave.display
        assert app.t("parking.waitlist_line", type=standard, n=1, span=span) \
            not in screen_text(pilot)
    # birch's booking is untouched; a freed V1 would now be offered to nobody.
    assert booked(run, "birch") == [("V1", 10)]


# --- 3. the buttons keep their places -----------------------------------------------------

async def tap_where(pilot, region) -> None:
    """A tap at the place a button had (``region``), whatever is there now."""
    await pilot.click(offset=(region.x + 1, region.y + region.height // 2))
    await pilot.pause()  # the tap's messages handled: whatever it did is on screen


async def test_after_check_in_and_cancel_the_buttons_keep_their_places(run, clock):
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await log_in(pilot, "301", PINS["301"])
        await reserve_on_screen(pilot, screen, 9)
        await reserve_on_screen(pilot, screen, 14)
        await fresh_view(pilot, screen, lambda v: len(v.reservations) == 2)
        assert screen.query_one("#act-checkin").disabled  # not before 08:30
    first, second = run.kiosk.parking.reservations("ash")

    clock.advance(minutes=30)  # 08:35: check-in for 09:00 is open
    run.restart()
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await log_in(pilot, "301", PINS["301"])
        await fresh_view(pilot, screen, lambda v: v.checkable is not None)
        checkin, cancel = screen.query_one("#act-checkin"), screen.query_one("#act-cancel")
        assert not checkin.disabled and not cancel.disabled
        before = places(screen)
        assert [bid for bid, _ in before] == [f"act-{a}" for a in MEMBER_ACTIONS]

        await press(pilot, "act-checkin")
        assert run.kiosk.parking.reservation(first.id).status == "checked_in"
        await fresh_view(pilot, screen, lambda v: v.checkable is None)
        assert checkin.disabled and checkin.display
        assert places(screen) == before
        # A second tap where 签到 was lands on nothing: not on "cancel", nor anything else.
        await tap_where(pilot, dict(before)["act-checkin"])
        assert message(screen) == app.t("parking.done_checkin", spot="V1")
        assert screen._confirm is None
        assert run.kiosk.parking.reservation(second.id).status == "booked"

        await press(pilot, "act-cancel")
        await press(pilot, "act-cancel")
        assert run.kiosk.parking.reservation(second.id).status == "cancelled"
        await fresh_view(pilot, screen, lambda v: v.cancellable is None)
        assert cancel.disabled and cancel.display
        assert places(screen) == before
        await tap_where(pilot, dict(before)["act-cancel"])
        assert message(screen) == app.t("parking.done_cancel", spot="V1",
                                        span=today(app, 14, 16))
        assert run.kiosk.parking.reservation(first.id).status == "checked_in"

        # Control: were a button removed, those after it would move (the grid reflows).
        checkin.display = False
        await until(pilot, lambda: places(screen) != before, what="the grid reflowed")
        moved = dict(places(screen))
        assert moved["act-cancel"] == dict(before)["act-checkin"]


# --- 4. a flood of wrong member PINs --------------------------------------------------------

async def test_wrong_pins_for_one_member_keep_only_that_member_waiting_across_a_restart(
        run, clock):
    register = run.kiosk.parking
    rules = run.kiosk.lockers.rules
    wait_s = 0.0
    tries = 0
    # As fast as a script can, and as patient as needed: each wait sat out (the clock
    # moved on), until cedar's own wait is the longest there is.
    while wait_s < rules.backoff_max_s:
        tries += 1
        try:
            register.authenticate("303", "99999999")
        except TooManyAttempts as waiting:
            clock.advance(seconds=waiting.wait_s)
        except ParkingError as wrong:
            wait_s = wrong.wait_s
    assert tries > rules.free_attempts

    kiosk = run.restart()  # the counters are in SQLite: the flood is not forgiven
    for _ in range(50):  # and it goes on, still for cedar alone
        with pytest.raises(TooManyAttempts):
            kiosk.parking.authenticate("303", "99999999")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        # cedar, even with the right PIN, waits (control: the wait outlived the restart).
        await enter_login(pilot, "303", PINS["303"])
        assert screen.member is None
        assert screen.countdown.seconds_left > rules.kiosk_gap_s
        assert app.t("parking.login_blocked") in screen_text(pilot)
        # birch, next at the kiosk, gets in at once: at most the kiosk-wide cap's wait.
        await login_past_the_cap(pilot, screen, "302", PINS["302"], rules.kiosk_gap_s)
        assert screen.member.member == "birch"
    rows = {r["scope"]: r["failures"] for r in kiosk.store.query(
        "SELECT scope, failures FROM attempts")}
    assert rows["pickup:303"] > rules.free_attempts
    assert "pickup:302" not in rows and "pickup:301" not in rows
    # Control: cedar is still kept out with the right PIN.
    with pytest.raises(TooManyAttempts):
        kiosk.parking.authenticate("303", PINS["303"])


async def login_past_the_cap(pilot, screen: ParkingScreen, unit: str, pin: str,
                             gap_s: float) -> None:
    """Log in, typed again after each wait of the kiosk-wide cap (never longer than its
    gap) until the member page opens."""
    while True:
        await enter_login(pilot, unit, pin)
        if screen.member is not None:
            break
        assert screen.countdown.seconds_left <= max(1, gap_s), \
            "kept waiting longer than the kiosk-wide cap"
        await until(pilot, lambda: not screen.countdown.waiting, what="the wait over")
    await until(pilot, lambda: screen.view is not None, what="member view")


# --- 5. the pseudonym, never the unit ------------------------------------------------------

async def test_the_member_page_shows_the_pseudonym_and_no_unit(run):
    run.kiosk.parking.reserve("ash", "standard", at(10), at(12))
    run.restart()
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_parking(pilot)
        await pilot.press("1")
        await until(pilot, lambda: screen.pane == "park-unit", what="unit pane")
        await type_text(pilot, "301")
        await pilot.press("enter")
        await until(pilot, lambda: screen.pane == "park-pin", what="PIN pane")
        # Control: the unit on screen is found where it is shown, asking for its PIN.
        assert "301" in screen_text(pilot)
        await type_text(pilot, PINS["301"])
        await pilot.press("enter")
        await fresh_view(pilot, screen, lambda v: v.reservations)
        note = str(app.screen.query_one("#title-bar").note)
        text = screen_text(pilot)
        assert "ash" in note and "ash" in text  # control: the pseudonym is there
        assert today(app, 10, 12) in text  # and the page is filled in
        assert "301" not in note
        assert "301" not in text
