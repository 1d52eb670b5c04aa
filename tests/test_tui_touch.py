"""Every journey by touch alone, and every button by keyboard too, on the demo composition
(real services, the real driver on the pty board simulator).

The walk visits each screen and pane a person can reach and checks that every button on
it can take the focus and that Tab reaches it; Enter then presses the focused button.
"""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import Button

from kiosk.setups.demo import household_pin
from tests.tui_setup import (
    courier_id_typed,
    demo_kiosk,
    latest_code,
    pick_maintainer,
    tap_text,
    type_text,
    type_unit,
    until,
)
from tui.screens.collect import CollectScreen
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.screens.maintenance import MaintenanceScreen
from tui.screens.maintenance.practice import PracticeScreen
from tui.screens.needs import NeedsScreen
from tui.screens.parking import ParkingScreen
from tui.screens.pickup import PickupScreen
from tui.screens.send import SendScreen
from tui.widgets.compartment_grid import PickLine
from tui.widgets.keyboard import KeyboardScreen

SIZE = (80, 24)
ON_DUTY_PIN = "24681024"


def shown_targets(pilot) -> list:
    """The buttons (and tappable list lines) on screen now that a person could press."""
    screen = pilot.app.screen
    return [w for w in screen.query("Button, PickLine")
            if w.region.area > 0 and not w.disabled]


async def unreachable(pilot) -> list[str]:
    """The shown buttons that cannot take the focus or that Tab does not reach.

    Tab walks ``screen.focus_chain`` (Textual's ``focus_next``); pressing it for real is
    in the test below, here the chain itself is read, which is the same and much faster.
    """
    app = pilot.app
    targets = shown_targets(pilot)
    assert targets, "a screen without a button to walk"
    chain = {id(w) for w in app.screen.focus_chain}
    return [f"{type(app.screen).__name__} #{w.id or w.name or w}" for w in targets
            if not w.can_focus or id(w) not in chain]


async def walk(pilot, where: str, missed: dict[str, list[str]]) -> None:
    missed[where] = await unreachable(pilot)



async def size_and_door(pilot, demo, screen, what: str, missed: dict[str, list[str]]) -> None:
    """On ``screen``'s size pane: walk it, pick S, walk the open door, put a parcel in and
    shut it."""
    await until(pilot, lambda: screen.pane == "size-pane"
                and screen.query_one("#sizes").query("Button"), what="sizes")
    await pilot.pause()
    await walk(pilot, f"{what} size", missed)
    await pilot.press("s")
    await until(pilot, lambda: screen.pane == "door-pane", what="door open")
    await walk(pilot, f"{what} door open", missed)
    c = screen.slot.compartment
    demo.sim.put_item(c.board, c.lock)
    demo.sim.shut(c.board, c.lock)

async def test_every_button_on_every_screen_is_reachable_by_tab(tmp_path):
    with demo_kiosk(tmp_path / "demo", "en", parking_sample=True) as demo:
        app = demo.app
        missed: dict[str, list[str]] = {}
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await walk(pilot, "home", missed)

            # Control: a button that takes no focus is found (the walk could fail).
            class Untouchable(Button, can_focus=False):
                pass

            await app.screen.mount(Untouchable("x", id="untouchable"))
            await pilot.pause()
            assert await unreachable(pilot) == ["HomeScreen #untouchable"]
            await app.screen.query_one("#untouchable").remove()

            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await walk(pilot, "pickup", missed)
            await pilot.press("escape")

            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, DepositScreen))
            await walk(pilot, "deposit courier id", missed)
            await courier_id_typed(pilot)
            await walk(pilot, "deposit pin", missed)
            await pilot.press("escape")  # back to the id, then home
            await until(pilot, lambda: app.screen.pane == "courier-pane")
            await pilot.press("escape")

            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, SendScreen))
            await walk(pilot, "send", missed)
            await pilot.press("escape")

            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, ParkingScreen))
            parking = app.screen
            await walk(pilot, "parking menu", missed)
            await pilot.press("1")
            await until(pilot, lambda: parking.pane == "park-unit")
            await walk(pilot, "parking unit", missed)
            await type_text(pilot, "101")
            await pilot.press("enter")
            await until(pilot, lambda: parking.pane == "park-pin")
            await walk(pilot, "parking pin", missed)
            await type_text(pilot, "10101010")
            await pilot.press("enter")
            await until(pilot, lambda: parking.view is not None)
            await pilot.pause()
            await walk(pilot, "parking member", missed)
            await pilot.click("#act-reserve")
            await until(pilot, lambda: parking.pane == "park-reserve")
            await walk(pilot, "parking reserve", missed)
            await pilot.press("escape", "escape", "escape")

            await until(pilot, lambda: isinstance(app.screen, HomeScreen))
            await pilot.press("5")
            await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
            maint = app.screen
            await until(pilot, lambda: maint.query(".who"), what="the names on duty")
            await walk(pilot, "maintenance names", missed)
            await pick_maintainer(pilot, "v-amber")
            await walk(pilot, "maintenance pin", missed)
            await type_text(pilot, ON_DUTY_PIN)
            await pilot.press("enter")
            await until(pilot, lambda: maint.overview is not None)
            await pilot.pause()
            await walk(pilot, "maintenance overview", missed)
            await pilot.click("#cell-A02")
            await until(pilot, lambda: maint.pane == "compartment-pane")
            await pilot.click("#do-force")
            await until(pilot, lambda: maint.pane == "reason-pane"
                        and maint.query("#reason-0"))
            await walk(pilot, "reason", missed)
            await pilot.click("#reason-type")
            await until(pilot, lambda: isinstance(app.screen, KeyboardScreen))
            await walk(pilot, "keyboard", missed)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is maint)
            await pilot.press("escape", "escape")

            await pilot.press("f2")
            await until(pilot, lambda: app.screen.query("#door-grid"))
            await walk(pilot, "demo hardware", missed)
        assert {where: names for where, names in missed.items() if names} == {}
        assert len(missed) >= 12


def test_every_button_class_of_the_screens_takes_the_focus():
    """The walk above sees the main panes; every button class of every screen and widget
    (also those on panes it does not visit) is focusable, and a tap does not move the
    focus (a scanner's Enter would press the last key tapped)."""
    import importlib
    import pkgutil

    import tui

    for module in pkgutil.walk_packages(tui.__path__, "tui."):
        importlib.import_module(module.name)
    seen = []
    pending = [Button, PickLine]
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending += cls.__subclasses__()
    ours = [c for c in seen if c.__module__.startswith("tui.")]
    assert len(ours) >= 5
    assert [c.__name__ for c in ours if not c.can_focus] == []
    assert [c.__name__ for c in ours if c.FOCUS_ON_CLICK] == []
    # Control: Textual's own Button would be caught.
    assert Button.FOCUS_ON_CLICK


async def test_enter_presses_the_button_tab_reached_and_a_tap_takes_no_focus(tmp_path):
    with demo_kiosk(tmp_path / "demo", "en", parking_sample=True) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            assert app.focused is None  # nothing focused: keys go to the screen
            while app.focused is None or app.focused.id != "home-parking":
                await pilot.press("tab")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ParkingScreen))
            parking = app.screen
            await pilot.click("#park-login")
            await until(pilot, lambda: parking.pane == "park-unit")
            assert app.focused is None
            # The community worker logs in with their pseudonym: letters, typed by taps.
            await tap_text(pilot, "#park-unit", "LINDEN")
            await pilot.click("#park-unit #kb-ok")
            await until(pilot, lambda: parking.pane == "park-pin")
            for key in "90909090":
                await until(pilot, lambda key=key: not parking.query_one(
                    f"#park-pin #key-{key}").has_class("-active"))
                await pilot.click(f"#park-pin #key-{key}")
            await pilot.click("#park-pin #key-ok")
            await until(pilot, lambda: parking.member is not None)
            assert parking.member.member == "linden"
            assert app.focused is None


async def test_the_idle_reset_is_announced_and_a_tap_keeps_the_screen(tmp_path):
    from tui.widgets.idle_warning import IdleWarning

    with demo_kiosk(tmp_path / "demo", "en", idle_s=2.0) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, ParkingScreen))
            parking = app.screen
            warning = parking.query_one(IdleWarning)
            assert not warning.display
            await until(pilot, lambda: warning.display, what="the warning")
            assert warning.seconds == 1  # ceil of the last second of the warning
            assert app.t("idle.warning", s=warning.seconds) in str(warning.render())
            # Someone is there: the warning goes and the screen stays.
            await pilot.click("#park-menu")
            assert not warning.display and app.screen is parking
            # Left alone, it is announced again, then the kiosk goes home.
            await until(pilot, lambda: warning.display, what="the warning again")
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="reset")
            assert not app.screen.query_one(IdleWarning).display


async def test_the_idle_warning_counts_its_seconds_down_to_the_reset(tmp_path):
    from tui.widgets.idle_warning import IdleWarning

    # 6 s idle: the warning runs the last 3 s (half the idle time, under IDLE_WARN_S).
    with demo_kiosk(tmp_path / "demo", "en", idle_s=6.0) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            warning = app.screen.query_one(IdleWarning)
            seen: list[int] = []

            def watch() -> bool:
                shown_now = warning.seconds if warning.display else None
                if shown_now is not None and (not seen or seen[-1] != shown_now):
                    seen.append(shown_now)
                    assert app.t("idle.warning", s=shown_now) in str(warning.render())
                return isinstance(app.screen, HomeScreen)

            await until(pilot, watch, what="the reset")
    # Counted down, second by second, never up; the number on screen moved.
    assert len(seen) >= 2 and seen == sorted(seen, reverse=True)
    assert seen[0] <= 3 and seen[-1] == 1


async def test_a_typed_code_shows_its_last_character_a_moment_then_dots(tmp_path):
    from tui.widgets.entry import EntryDisplay

    with demo_kiosk(tmp_path / "demo", "en") as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            code = app.screen.query_one("#code", EntryDisplay)
            await type_unit(pilot, "101")
            await type_text(pilot, "K7")
            assert str(code.render()).startswith("•  7")  # the finger sees what it hit
            await until(pilot, lambda: not code.revealing, what="masked")
            assert str(code.render()).startswith("•  •  _")
            assert "K" not in str(code.render()) and "7" not in str(code.render())


async def test_large_high_contrast_text_is_one_tap_away_and_the_reset_ends_it(tmp_path):
    from textual.color import Color

    with demo_kiosk(tmp_path / "demo", "en", idle_s=2.0) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            pickup = app.screen.query_one("#home-pickup")
            yellow = Color.parse("yellow")
            assert pickup.styles.color != yellow  # control: not so before the tap
            await pilot.click("#home-large_text")
            await until(pilot, lambda: app.has_class("large-text"))
            await pilot.pause()
            assert pickup.styles.color == yellow
            assert str(app.screen.query_one("#home-large_text").label) == app.t(
                "home.large_text_off")
            # Every screen: the class is on the app.
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            assert app.screen.query_one("#back").styles.color == yellow
            # Left alone, the kiosk goes back to the start, in normal text.
            await until(pilot, lambda: isinstance(app.screen, HomeScreen)
                        and not app.has_class("large-text"), what="reset")
            await until(pilot, lambda: [str(b.label) for b in app.screen.query(
                "#home-large_text")] == [app.t("home.large_text")], what="relabelled")


# --- every pane past the first, each journey walked to its end --------------------------


async def home(pilot) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen), what="home")


async def test_every_lockers_pane_is_reachable_by_tab(tmp_path):
    """Pickup's code, lost-code, PIN and door panes; the sender's what, sent parcels, size
    and door; the courier's unit, size, door, collection (the parcel just sent) and round:
    each walked."""
    with demo_kiosk(tmp_path / "demo", "en") as demo:
        app = demo.app
        missed: dict[str, list[str]] = {}
        code = latest_code(demo, "202")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)

            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            pickup = app.screen
            await type_text(pilot, "202")
            await pilot.click("#pickup-lost")
            await until(pilot, lambda: pickup.pane == "pickup-lost-pane")
            await walk(pilot, "pickup lost code", missed)
            await pilot.click("#pickup-with-pin")
            await until(pilot, lambda: pickup.pane == "pickup-pin")
            await walk(pilot, "pickup household PIN", missed)
            await pilot.press("escape")  # back to the unit, still typed
            await until(pilot, lambda: pickup.pane == "pickup-unit")
            await pilot.press("enter")
            await until(pilot, lambda: pickup.pane == "pickup-entry", what="the code step")
            await walk(pilot, "pickup code", missed)
            await type_text(pilot, code)
            await pilot.press("enter")
            await until(pilot, lambda: pickup.result is not None, what="doors open")
            await walk(pilot, "pickup doors open", missed)
            door = pickup.result.opened[0]
            demo.sim.shut(door.board, door.lock)  # the parcel left inside
            await until(pilot, lambda: pickup.left, what="left inside")
            await pilot.pause()
            await walk(pilot, "pickup left inside", missed)
            assert pickup.query_one("#pickup-again") in shown_targets(pilot)
            await pilot.press("escape")
            await home(pilot)

            await pilot.press("3")
            await until(pilot, lambda: isinstance(app.screen, SendScreen))
            send = app.screen
            await type_text(pilot, "204")
            await pilot.press("enter")
            await until(pilot, lambda: send.pane == "send-pin-pane")
            await walk(pilot, "send PIN", missed)
            await type_text(pilot, household_pin("204"))
            await pilot.press("enter")
            await until(pilot, lambda: send.pane == "send-what-pane", what="what pane")
            await walk(pilot, "send what", missed)
            await pilot.click("#send-mine")
            await until(pilot, lambda: send.pane == "send-mine-pane")
            await walk(pilot, "send my parcels", missed)
            await pilot.click("#send-mine-back")
            await pilot.click("#send-destination")
            await until(pilot, lambda: isinstance(app.screen, KeyboardScreen))
            await type_text(pilot, "hall")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is send and send.destination == "hall")
            await pilot.click("#send-continue")
            await size_and_door(pilot, demo, send, "send", missed)
            await until(pilot, lambda: send.pane == "send-done-pane", what="sent")
            await pilot.press("escape")
            await home(pilot)

            await pilot.press("2")
            await until(pilot, lambda: isinstance(app.screen, DepositScreen))
            deposit = app.screen
            await courier_id_typed(pilot)
            await type_text(pilot, "24682468")
            await pilot.press("enter")
            await until(pilot, lambda: deposit.pane == "unit-pane", what="unit pane")
            await type_text(pilot, "20")
            await until(pilot, lambda: deposit.query(".match"), what="unit matches")
            await walk(pilot, "deposit unit with matches", missed)
            await type_text(pilot, "4")
            await pilot.press("enter")
            await size_and_door(pilot, demo, deposit, "deposit", missed)
            await until(pilot, lambda: deposit.pane == "unit-pane" and deposit.held,
                        what="stored")
            await pilot.pause()
            await walk(pilot, "deposit next parcel, correction offered", missed)
            await pilot.click("#deposit-collect")
            await until(pilot, lambda: isinstance(app.screen, CollectScreen))
            collect = app.screen
            # The parcel just sent waits for this courier.
            await until(pilot, lambda: collect.parcels, what="collectable listed")
            await pilot.pause()
            await walk(pilot, "collect list", missed)
            await pilot.click("#collect-open")
            await until(pilot, lambda: collect.result is not None, what="doors open")
            await walk(pilot, "collect doors open", missed)
            for c in collect.result.opened:
                demo.sim.shut(c.board, c.lock)  # not taken: the door is offered again
            await until(pilot, lambda: collect.left, what="left inside")
            await pilot.pause()
            await walk(pilot, "collect left inside", missed)
            assert collect.query_one("#collect-again") in shown_targets(pilot)
            await pilot.click("#collect-done")
            await until(pilot, lambda: app.screen is deposit)
            await pilot.click("#deposit-finish")
            await until(pilot, lambda: deposit.pane == "round-pane")
            await walk(pilot, "deposit round summary", missed)
            await pilot.click("#round-done")
            await home(pilot)

        assert {where: names for where, names in missed.items() if names} == {}
        assert len(missed) == 18


# The seeded car park's own time: a round takes requests (tests/test_tui_parking.py).
PARKING_NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


async def test_every_parking_and_needs_pane_is_reachable_by_tab(tmp_path):
    """The round's request, the public board; the needs list, who raises one, its kind and
    its words: each walked."""
    with demo_kiosk(tmp_path / "demo", "en", parking_sample=True,
                    core_clock=lambda: PARKING_NOW) as demo:
        app = demo.app
        missed: dict[str, list[str]] = {}
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("4")
            await until(pilot, lambda: isinstance(app.screen, ParkingScreen))
            parking = app.screen
            await pilot.click("#park-show-board")
            await until(pilot, lambda: parking.pane == "park-board" and parking.board)
            await pilot.pause()
            await walk(pilot, "parking board", missed)
            await pilot.press("escape")
            await until(pilot, lambda: parking.pane == "park-menu")
            await pilot.press("1")
            await until(pilot, lambda: parking.pane == "park-unit")
            await type_text(pilot, "101")
            await pilot.press("enter")
            await until(pilot, lambda: parking.pane == "park-pin")
            await type_text(pilot, "10101010")
            await pilot.press("enter")
            await until(pilot, lambda: parking.view is not None
                        and parking.query_one("#act-request").display, what="member page")
            await pilot.click("#act-request")
            await until(pilot, lambda: parking.pane == "park-request")
            await pilot.pause()
            await walk(pilot, "parking request", missed)
            await pilot.press("escape", "escape", "escape")
            await home(pilot)

            await pilot.press("8")
            await until(pilot, lambda: isinstance(app.screen, NeedsScreen))
            needs = app.screen
            await until(pilot, lambda: needs.query("#needs-list .pick-line"), what="list")
            await walk(pilot, "needs list", missed)
            await pilot.click("#needs-raise")
            await until(pilot, lambda: needs.pane == "needs-unit-pane")
            await walk(pilot, "needs unit", missed)
            await type_text(pilot, "101")
            await pilot.press("enter")
            await until(pilot, lambda: needs.pane == "needs-pin-pane")
            await walk(pilot, "needs PIN", missed)
            await type_text(pilot, "10101010")
            await pilot.press("enter")
            await until(pilot, lambda: needs.pane == "needs-kind-pane", what="kind pane")
            await walk(pilot, "needs kind", missed)
            await pilot.click("#needs-kind-need")
            await until(pilot, lambda: needs.pane == "needs-text-pane")
            await walk(pilot, "needs text", missed)
        assert {where: names for where, names in missed.items() if names} == {}
        assert len(missed) == 7


async def test_every_maintenance_pane_is_reachable_by_tab(tmp_path):
    """A compartment, a fault's runbook, the parcels in review, the spots, the reconcile
    report, the roster and its handover, and practice: each walked."""
    with demo_kiosk(tmp_path / "demo", "en", parking_sample=True) as demo:
        lockers = demo.kiosk.lockers
        # A parcel in review (a deposit cut short by a restart, door open) and a fault.
        slot = lockers.deposit(lockers.courier_login("courier-a", "24682468"), "203", "M")
        demo.sim.put_item(slot.compartment.board, slot.compartment.lock)
        lockers.reconcile()
        demo.sim.shut(slot.compartment.board, slot.compartment.lock)
        demo.sim.force_open(1, 16)
        app = demo.app
        missed: dict[str, list[str]] = {}
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("5")
            await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
            maint = app.screen
            await pilot.click("#pin-practice")
            await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
            practice = app.screen
            await walk(pilot, "practice unit", missed)
            await type_text(pilot, "101")
            await pilot.press("enter")
            await until(pilot, lambda: practice.pane == "practice-pin-pane")
            await type_text(pilot, "10101010")
            await pilot.press("enter")
            await until(pilot, lambda: practice.pane == "practice-tasks-pane", what="tasks")
            await walk(pilot, "practice tasks", missed)
            await pilot.click(".practice-task")
            await until(pilot, lambda: practice.pane == "practice-step-pane")
            await walk(pilot, "practice step", missed)
            practice.dismiss()
            await until(pilot, lambda: app.screen is maint)

            await pick_maintainer(pilot, "v-amber")
            await type_text(pilot, ON_DUTY_PIN)
            await pilot.press("enter")
            await until(pilot, lambda: maint.overview is not None
                        and len(maint.overview.faults) >= 2, what="the overview")
            await pilot.click(f"#cell-{slot.compartment.id}")
            await until(pilot, lambda: maint.pane == "compartment-pane")
            await pilot.pause()
            await walk(pilot, "maintenance compartment", missed)
            await pilot.press("escape")
            await until(pilot, lambda: maint.pane == "overview-pane")
            await pilot.click("#fault-0")
            await until(pilot, lambda: maint.pane == "runbook-pane")
            await walk(pilot, "maintenance runbook", missed)
            await pilot.press("escape")
            await until(pilot, lambda: maint.pane == "overview-pane")
            await pilot.click("#to-review")
            await until(pilot, lambda: maint.pane == "review-pane"
                        and maint.query(".review-line"), what="parcels in review")
            await pilot.click(".review-line")
            await until(pilot, lambda: maint.review_parcel is not None)
            await pilot.pause()
            await walk(pilot, "maintenance review", missed)
            await pilot.press("escape")
            await until(pilot, lambda: maint.pane == "overview-pane")
            await pilot.click("#to-spots")
            await until(pilot, lambda: maint.pane == "spots-pane"
                        and maint.query(".spot-line"), what="spots")
            await walk(pilot, "maintenance spots", missed)
            await pilot.press("escape")
            await until(pilot, lambda: maint.pane == "overview-pane")
            await pilot.click("#to-roster")
            await until(pilot, lambda: maint.pane == "roster-pane"
                        and maint.query(".handover"), what="roster")
            await walk(pilot, "maintenance roster", missed)
            await pilot.press("escape")
            await until(pilot, lambda: maint.pane == "overview-pane")
            await pilot.click("#to-reconcile")
            await until(pilot, lambda: maint.pane == "reason-pane"
                        and maint.query("#reason-0"))
            await pilot.click("#reason-0")
            await pilot.click("#reason-ok")
            await until(pilot, lambda: maint.pane == "reconcile-pane", what="reconcile")
            await walk(pilot, "maintenance reconcile", missed)
        assert {where: names for where, names in missed.items() if names} == {}
        assert len(missed) == 9
