"""The parking screen driven like a person would, through the real parking register, real
SQLite and gpiozero's mock pins (the demo's composition): login, requests, the public
board, reservations, the spot sensors, the gate; and snapshots at 80×24 in both languages.

The register's clock is a test clock (the demo community is seeded at 2026-11-29 02:00
UTC: rounds 2026-10 and 2026-11 drawn, 2026-12 open, ash's visitor booking on V1 at
03:00-05:00); times are shown in the kiosk's local zone, UTC here.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.setups.demo import BARRIER_PIN, SPOT_PINS
from tests.parking_support import close_round, commit_round
from tests.tui_setup import demo_kiosk, screen_text, tap_text, type_text, until
from tui.screens.home import HomeScreen
from tui.screens.parking import ParkingScreen
from tui.widgets.entry import EntryPane

SIZE = (80, 24)
SEEDED = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
LANGUAGES = ["zh", "en"]


class Clock:
    def __init__(self, now: datetime = SEEDED):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def utc_zone(monkeypatch):
    """Local time is UTC, so the times on screen are the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def parking_demo(tmp_path, clock: Clock, language: str = "en"):
    return demo_kiosk(tmp_path / "demo", language, core_clock=clock, parking_sample=True)


def events(demo, kind: str) -> list[dict]:
    return [e.data for e in demo.kiosk.outbox.events(limit=100_000) if e.type == kind]


async def open_parking(pilot) -> ParkingScreen:
    app = pilot.app
    await until(pilot, lambda: app.ready, what="kiosk ready")
    await pilot.press("4")
    await until(pilot, lambda: isinstance(app.screen, ParkingScreen), what="parking screen")
    return app.screen


async def enter_login(pilot, unit: str, pin: str) -> ParkingScreen:
    screen = pilot.app.screen
    if screen.pane == "park-menu":
        await pilot.press("1")
    await until(pilot, lambda: screen.pane == "park-unit", what="unit pane")
    await type_text(pilot, unit)
    await pilot.press("enter")
    await until(pilot, lambda: screen.pane == "park-pin", what="PIN pane")
    await type_text(pilot, pin)
    await pilot.press("enter")
    await until(pilot, lambda: not screen._busy, what="login answered")
    return screen


async def log_in(pilot, unit: str, pin: str) -> ParkingScreen:
    screen = await enter_login(pilot, unit, pin)
    await until(pilot, lambda: screen.view is not None, what="member view")
    await pilot.pause(0.05)
    return screen


async def press(pilot, action: str) -> None:
    """Tap a member action (or another button) and let its worker answer."""
    screen = pilot.app.screen
    # A button ignores taps while it still shows the last one (0.2 s): a double tap is
    # one press, so a confirmation needs a second, deliberate one.
    await until(pilot, lambda: not screen.query_one(f"#{action}").has_class("-active"))
    await pilot.click(f"#{action}")
    await pilot.pause()  # the press is handled: a worker runs, if the action has one
    await until(pilot, lambda: not screen._busy, what=f"{action} answered")
    await pilot.pause(0.05)


async def fresh_view(pilot, screen: ParkingScreen, condition) -> None:
    await until(pilot, lambda: screen.view is not None and condition(screen.view),
                what="member view updated")
    await pilot.pause(0.05)


def message(screen: ParkingScreen) -> str:
    return screen._message


# --- login ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_wrong_pin_is_explained_and_the_right_one_logs_in(tmp_path, clock, language):
    with parking_demo(tmp_path, clock, language) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await enter_login(pilot, "101", "99999999")
            assert screen.pane == "park-unit" and screen.member is None
            text = screen_text(pilot)
            assert app.t("parking.login_wrong") in text
            assert app.t("parking.login_hint") in text
            wrong = events(demo, "security.wrong_pin")
            # Counted where the household's codes count (one budget: kiosk/households.py).
            assert wrong and wrong[-1]["scope"] == "pickup"
            assert "101" not in str(wrong) and "99999999" not in str(wrong)

            await log_in(pilot, "101", "10101010")
            assert screen.pane == "park-member"
            # The pseudonym only: nobody looking on learns where the member lives.
            note = str(app.screen.query_one("#title-bar").note)
            assert "ash" in note and "101" not in note
            assert "101" not in screen_text(pilot)
            text = screen_text(pilot)
            assert app.t("parking.my_spot", spot="S4", type=app.t("parking.type_standard"),
                         round="2026-11") in text
            assert "2026-10" in text  # the history: refused in the round before


async def test_wrong_pins_make_the_next_tries_wait_even_after_leaving(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            for _ in range(3):
                await enter_login(pilot, "101", "00000000")
            assert app.t("pickup.wait", s=5) in screen_text(pilot)
            # Whoever walks up next, even with the right PIN, waits as well.
            await pilot.press("escape", "escape")
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            screen = await open_parking(pilot)
            await enter_login(pilot, "101", "10101010")
            assert screen.member is None
            assert app.t("parking.login_blocked") in screen_text(pilot)
            await pilot.press("escape", "escape")
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            clock.advance(seconds=6)
            screen = await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            assert screen.member is not None and screen.member.member == "ash"


async def test_the_physical_keypad_and_the_screen_keypad_both_enter_the_login(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await pilot.click("#park-login")
            await tap_text(pilot, "#park-unit", "104")
            await pilot.click("#park-unit #kb-ok")
            await until(pilot, lambda: screen.pane == "park-pin")
            for key in "10401040":
                await pilot.click(f"#park-pin #key-{key}")
            assert screen.query_one("#park-pin", EntryPane).buffer.value == "10401040"
            await pilot.click("#park-pin #key-ok")
            await until(pilot, lambda: screen.view is not None)
            assert screen.member.member == "elm"


# --- the round ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_request_a_spot_in_the_open_round_then_withdraw(tmp_path, clock, language):
    with parking_demo(tmp_path, clock, language) as demo:
        app = demo.app
        register = demo.kiosk.parking
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            assert app.t("parking.round_not_asked", round="2026-12") in screen_text(pilot)
            await pilot.click("#act-request")
            await until(pilot, lambda: screen.pane == "park-request")
            # Accessible spots only for a declared need: ash has none.
            assert not screen.query_one("#req-accessible").display
            assert screen.query_one("#req-standard").display
            await press(pilot, "req-standard")
            assert screen.pane == "park-member"
            assert ("ash", "standard") in [(a.member, a.type)
                                           for a in register.requests("2026-12")]
            assert message(screen) == app.t("parking.done_request", round="2026-12",
                                            type=app.t("parking.type_standard"))
            await fresh_view(pilot, screen, lambda v: v.asked == "standard")
            assert app.t("parking.round_asked", round="2026-12",
                         type=app.t("parking.type_standard")) in screen_text(pilot)
            requested = events(demo, "parking.requested")[-1]
            assert requested == {"round": "2026-12", "member": "ash", "type": "standard"}

            # Withdrawing takes a second press: a slip of the finger loses nothing.
            await pilot.click("#act-withdraw")
            assert message(screen) == app.t("parking.confirm_withdraw", round="2026-12")
            assert "ash" in [a.member for a in register.requests("2026-12")]
            await press(pilot, "act-withdraw")
            assert "ash" not in [a.member for a in register.requests("2026-12")]
            assert events(demo, "parking.request_withdrawn")[-1]["member"] == "ash"


async def test_a_member_with_a_declared_need_may_ask_for_an_accessible_spot(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "102", "10201020")
            await pilot.click("#act-request")
            await until(pilot, lambda: screen.pane == "park-request")
            assert screen.query_one("#req-accessible").display
            assert screen.query_one("#req-accessible").variant == "primary"  # asked already


async def test_requests_wait_while_a_round_is_being_drawn(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        close_round(demo.kiosk.parking, "2026-12")
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            assert app.t("parking.round_busy", round="2026-12") in screen_text(pilot)
            assert screen.query_one("#act-request").disabled


# --- the public board -----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_public_board_shows_the_committed_inputs(tmp_path, clock, language):
    with parking_demo(tmp_path, clock, language) as demo:
        app = demo.app
        commitment = commit_round(demo.kiosk.parking,
            "2026-12", "national lottery 2026-12-05: 02 14 19 33 40 + 11")
        inputs = commitment["inputs"]
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await pilot.press("2")  # no login
            await until(pilot, lambda: screen.board is not None, what="board")
            await pilot.pause(0.05)
            text = screen_text(pilot)
            assert app.t("parking.board_next", round="2026-12", n=5,
                         state=app.t("parking.round_committed")) in text
            assert inputs["eligible_hash"] in text
            assert inputs["algorithm"] in text
            assert inputs["public_random"] in text
            assert commitment["inputs_hash"] in text
            # Current allocations by pseudonym; units and PINs stay off the board.
            assert "ash→S4" in text and "birch→A1" in text
            assert "101" not in text
            free = {c.type: c.free_now for c in screen.board.types}
            assert free["loading"] == 1
            assert {c.type: c.out_of_service for c in screen.board.types}["standard"] == 1


# --- reservations ---------------------------------------------------------------------------


async def test_reserve_a_slot_then_check_in_at_the_kiosk(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "103", "10301030")
            await pilot.click("#act-reserve")
            await until(pilot, lambda: screen.pane == "park-reserve")
            assert screen.query_one("#res-hour-1").disabled  # 01:00 has passed today
            await pilot.click("#res-type-standard")
            await pilot.click("#res-day-0")
            await pilot.click("#res-hour-5")
            await pilot.click("#res-dur-2")
            await pilot.click("#res-kind-moving")
            assert "05:00–07:00" in screen_text(pilot)
            await press(pilot, "res-go")
            assert screen.pane == "park-member"
            (booking,) = register.reservations("cedar")
            assert (booking.spot, booking.kind, booking.status) == ("V1", "moving", "booked")
            assert booking.start == datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
            assert message(screen) == app.t("parking.done_reserved", spot="V1",
                                            span=app.t("parking.today_at", hm="05:00")
                                            + "–07:00")
            await fresh_view(pilot, screen, lambda v: v.reservations)
            assert screen.query_one("#act-checkin").disabled  # not before 04:30

            # Back at the kiosk when check-in is open.
            clock.advance(hours=2, minutes=35)
            await pilot.click("#act-logout")
            await log_in(pilot, "103", "10301030")
            checkin, cancel = screen.query_one("#act-checkin"), screen.query_one("#act-cancel")
            assert not checkin.disabled
            places = (checkin.region, cancel.region)
            await press(pilot, "act-checkin")
            assert register.reservation(booking.id).status == "checked_in"
            assert events(demo, "parking.checked_in")[-1] == {
                "reservation": booking.id, "member": "cedar", "spot": "V1", "via": "kiosk"}
            assert message(screen) == app.t("parking.done_checkin", spot="V1")
            # The buttons keep their places: a second tap where 签到 was lands on nothing
            # (check-in is done), never on "cancel", which slid there before.
            await fresh_view(pilot, screen, lambda v: v.checkable is None)
            assert checkin.disabled and checkin.display
            assert (checkin.region, cancel.region) == places
            await pilot.click("#act-checkin")
            assert register.reservation(booking.id).status == "checked_in"
            assert not screen._confirm


async def test_a_full_slot_puts_you_on_the_waitlist_and_a_freed_spot_is_offered_in_turn(
        tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking

        async def reserve_three_to_five() -> None:
            await pilot.click("#act-reserve")
            await until(pilot, lambda: screen.pane == "park-reserve")
            await pilot.click("#res-hour-3")
            await pilot.click("#res-dur-2")
            await press(pilot, "res-go")

        # V1 is ash's from 03:00; fir takes V2, the last free standard spot then.
        start = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
        register.reserve("fir", "standard", start, start + timedelta(hours=2))
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "103", "10301030")
            await reserve_three_to_five()
            assert message(screen) == app.t("parking.done_waitlisted", n=1,
                                            type=app.t("parking.type_standard"))
            refused = events(demo, "parking.refused")[-1]
            assert refused["kind"] == "reservation" and refused["member"] == "cedar"
            await fresh_view(pilot, screen, lambda v: v.waiting)
            assert app.t("parking.waitlist_line", type=app.t("parking.type_standard"), n=1,
                         span=app.t("parking.today_at", hm="03:00") + "–05:00") \
                in screen_text(pilot)
            await pilot.click("#act-logout")

            # fir cancels: the spot goes to the next in turn, cedar, not to the quickest.
            await log_in(pilot, "201", "20102010")
            await pilot.click("#act-cancel")
            await press(pilot, "act-cancel")
            await pilot.click("#act-logout")
            assert events(demo, "parking.offered")[-1]["member"] == "cedar"

            await log_in(pilot, "103", "10301030")
            assert screen.view.offer is not None
            assert app.t("parking.offer_line", spot="V2",
                         time=app.t("parking.today_at", hm="02:30")) in screen_text(pilot)
            await press(pilot, "act-accept")
            (booking,) = register.reservations("cedar")
            assert (booking.spot, booking.status) == ("V2", "booked")
            assert events(demo, "parking.reserved")[-1]["from_waitlist"] is True


# --- sensors, time, the gate ----------------------------------------------------------------


async def test_a_spot_sensor_checks_in_a_booking_and_flags_an_unreserved_car(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking
        pins = demo.pin_factory
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            (booking,) = register.reservations("ash")
            clock.advance(minutes=45)  # 02:45: within the early check-in
            pins.pin(SPOT_PINS["V1"]).drive_low()  # a car arrives on V1
            assert register.reservation(booking.id).status == "checked_in"
            assert events(demo, "parking.checked_in")[-1]["via"] == "sensor"
            # The member page follows without a new login.
            await fresh_view(pilot, screen, lambda v: v.reservations[0].status == "checked_in")
            assert app.t("parking.status_checked_in") in screen_text(pilot)

            pins.pin(SPOT_PINS["S4"]).drive_low()  # ash's own spot: expected
            assert events(demo, "parking.unreserved_occupancy") == []
            pins.pin(SPOT_PINS["V2"]).drive_low()  # nobody booked V2
            assert events(demo, "parking.unreserved_occupancy") == [
                {"spot": "V2", "type": "standard"}]
            pins.pin(SPOT_PINS["V2"]).drive_high()
            assert register.spot("V2").occupied is False


async def test_the_periodic_tick_releases_a_no_show(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            (booking,) = register.reservations("ash")
            demo.kiosk.scheduler.every("housekeeping", 0.05)  # instead of once a minute
            clock.advance(minutes=80)  # 03:20: 20 minutes past the start, nobody came
            await fresh_view(pilot, screen, lambda v: not v.reservations)
            assert register.reservation(booking.id).status == "no_show"
            assert events(demo, "parking.no_show")[-1]["reservation"] == booking.id
            assert app.t("parking.status_no_show") in screen_text(pilot)


async def test_release_my_spot_and_the_gate_opens_only_for_a_holder(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking
        barrier = demo.pin_factory.pin(BARRIER_PIN)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            screen.gate_open_s = 0.2
            await log_in(pilot, "101", "10101010")
            assert not screen.query_one("#act-gate").disabled
            await pilot.click("#act-gate")
            await until(pilot, lambda: barrier.state, what="barrier up")
            await until(pilot, lambda: not barrier.state, what="barrier down")
            # The pin drops before the screen hears of it (GateMoved): wait for the words.
            await until(pilot, lambda: message(screen) == app.t("parking.gate_down"))

            await pilot.click("#act-release")
            assert register.allocation("ash") == "S4"  # not before the second press
            await press(pilot, "act-release")
            assert register.allocation("ash") is None
            assert message(screen) == app.t("parking.done_release", spot="S4")
            released = events(demo, "parking.released")[-1]
            assert released == {"kind": "allocation", "member": "ash", "spot": "S4",
                                "round": "2026-11", "reason": "released"}
            await fresh_view(pilot, screen, lambda v: v.holding is None)
            assert app.t("parking.no_spot") in screen_text(pilot)
            # No spot and no checked-in booking: no gate.
            assert screen.query_one("#act-gate").disabled
            assert not demo.kiosk.parking.spot("S4").occupied


async def test_idle_logs_the_member_out(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            app.idle_s = 0.3
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
            app.idle_s = 600
            screen = await open_parking(pilot)
            assert screen.member is None and screen.pane == "park-menu"


# --- snapshots ------------------------------------------------------------------------------


async def _settled(pilot) -> None:
    await until(pilot, lambda: pilot.app.status_updates > 0 and not any(
        w.is_running for w in pilot.app.workers))
    await pilot.pause(0.1)


class TestParkingSnapshots:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_public_board(self, snap_compare, tmp_path, language):
        async def run_before(pilot):
            screen = await open_parking(pilot)
            await pilot.press("2")
            await until(pilot, lambda: screen.board is not None)
            await _settled(pilot)

        with parking_demo(tmp_path, Clock(), language) as demo:
            commit_round(demo.kiosk.parking, "2026-12", "lottery 2026-12-05: 02 14 19 33 40 + 11")
            assert snap_compare(demo.app, run_before=run_before)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_member_view(self, snap_compare, tmp_path, language):
        async def run_before(pilot):
            await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            await _settled(pilot)

        with parking_demo(tmp_path, Clock(), language) as demo:
            assert snap_compare(demo.app, run_before=run_before)


async def test_a_cancel_names_the_booking_by_its_time(tmp_path, clock):
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking
        # ash has V1 at 03:00-05:00 (the sample); a second booking of V1, 06:00-08:00.
        start = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
        second = register.reserve("ash", "standard", start, start + timedelta(hours=2))
        assert second.reservation is not None and second.reservation.spot == "V1"
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "101", "10101010")
            first_span = app.t("parking.today_at", hm="03:00") + "–05:00"
            await press(pilot, "act-cancel")
            assert message(screen) == app.t("parking.confirm_cancel", spot="V1",
                                            span=first_span)
            await press(pilot, "act-cancel")
            assert message(screen) == app.t("parking.done_cancel", spot="V1",
                                            span=first_span)
            assert [r.start.hour for r in register.reservations("ash")
                    if r.status == "booked"] == [6]
            await fresh_view(pilot, screen, lambda v: v.cancellable is not None
                             and v.cancellable.start.hour == 6)
            await press(pilot, "act-cancel")
            assert message(screen) == app.t(
                "parking.confirm_cancel", spot="V1",
                span=app.t("parking.today_at", hm="06:00") + "–08:00")


async def test_a_member_leaves_the_waitlist_also_after_a_restart(tmp_path, clock):
    start = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    with parking_demo(tmp_path, clock) as demo:
        register = demo.kiosk.parking
        # V1 is ash's from 03:00; fir takes V2: cedar can only wait for 03:00-05:00.
        register.reserve("fir", "standard", start, start + timedelta(hours=2))
        waiting = register.reserve("cedar", "standard", start, start + timedelta(hours=2))
        assert waiting.waitlist_id is not None
    # The kiosk restarts; the place on the waitlist is still there, and can be left.
    with parking_demo(tmp_path, clock) as demo:
        app = demo.app
        register = demo.kiosk.parking
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_parking(pilot)
            await log_in(pilot, "103", "10301030")
            assert screen.view is not None and [w.id for w in screen.view.waiting] == [
                waiting.waitlist_id]
            span = app.t("parking.today_at", hm="03:00") + "–05:00"
            standard = app.t("parking.type_standard")
            await press(pilot, "act-leave")
            assert message(screen) == app.t("parking.confirm_leave", type=standard, span=span)
            assert [r["member"] for r in register.waitlist("standard")] == ["cedar"]
            await press(pilot, "act-leave")
            assert message(screen) == app.t("parking.done_leave", type=standard, span=span)
            assert register.waitlist("standard") == []
            await fresh_view(pilot, screen, lambda v: not v.waiting)
            assert screen.query_one("#act-leave").disabled
