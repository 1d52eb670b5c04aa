"""Every journey by touch alone, and every button by keyboard too, on the demo composition
(real services, the real driver on the pty board simulator).

The walk visits each screen and pane a person can reach and checks that every button on
it can take the focus and that Tab reaches it; Enter then presses the focused button.
"""

from __future__ import annotations

from textual.widgets import Button

from tests.tui_setup import (
    courier_id_typed,
    demo_kiosk,
    pick_maintainer,
    tap_text,
    type_text,
    type_unit,
    until,
)
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.screens.maintenance import MaintenanceScreen
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
