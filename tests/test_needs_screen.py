"""Needs at the kiosk, on the demo's composition (real services, the real driver on the pty
simulator): a household raises a need on the on-screen keyboard, another supports it and
withdraws, across a restart; nothing about who goes into the events."""

from __future__ import annotations

import json

from tests.tui_setup import demo_kiosk, screen_text, tap_text, type_text, until
from tui.screens.home import HomeScreen
from tui.screens.needs import NeedsScreen

SIZE = (100, 40)


def need_events(demo) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in demo.kiosk.outbox.events() if e.type.startswith("need.")]


async def log_in(pilot, unit: str, pin: str) -> None:
    screen = pilot.app.screen
    await until(pilot, lambda: screen.pane == "needs-unit-pane", what="unit pane")
    await type_text(pilot, unit)
    await pilot.press("enter")
    await until(pilot, lambda: screen.pane == "needs-pin-pane", what="PIN pane")
    await type_text(pilot, pin)
    await pilot.press("enter")


async def test_a_household_raises_a_need_another_supports_and_withdraws(tmp_path):
    data = tmp_path / "demo"
    with demo_kiosk(data, language="en") as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready, what="parts connected")
            # The home screen's button, tapped (key 8 does the same, as below).
            assert app.screen.query_one("#home-needs").region.area > 0
            await pilot.click("#home-needs")
            await until(pilot, lambda: isinstance(app.screen, NeedsScreen), what="needs")
            screen = app.screen
            await until(pilot, lambda: "No needs raised yet" in screen_text(pilot))
            await pilot.click("#needs-raise")
            # A wrong PIN changes nothing and says so; then the right one gets in.
            await log_in(pilot, "302", "99999999")
            await until(pilot, lambda: "not right" in screen_text(pilot), what="refused")
            assert screen.household is None
            await log_in(pilot, "302", "30203020")
            await until(pilot, lambda: screen.pane == "needs-kind-pane", what="kind pane")
            await pilot.click("#needs-kind-need")
            await until(pilot, lambda: screen.pane == "needs-text-pane", what="text pane")
            # Too short is refused on the spot; then words by taps and by the keyboard.
            await tap_text(pilot, "#needs-text", "Bi")
            await pilot.press("enter")
            await until(pilot, lambda: "3 to 280" in screen_text(pilot), what="too short")
            assert need_events(demo) == []
            await type_text(pilot, "g lockers")
            await pilot.press("enter")
            await until(pilot, lambda: screen.pane == "needs-list-pane", what="back to list")
            await until(pilot, lambda: "#1 · A need · 1 household supports this ✓"
                        in screen_text(pilot), what="listed")
        assert need_events(demo) == [("need.raised", {
            "need": 1, "kind": "need", "topic": "lockers", "size": "L",
            "text": "Big lockers", "support": 1})]

    # A restart in the middle: the need is still there; another household supports it.
    with demo_kiosk(data, language="en") as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready, what="parts connected")
            await pilot.press("8")
            await until(pilot, lambda: isinstance(app.screen, NeedsScreen), what="needs")
            screen = app.screen
            await until(pilot, lambda: bool(screen.query("#need-1")), what="need listed")
            await pilot.click("#need-1")
            await log_in(pilot, "101", "10101010")
            await until(pilot, lambda: screen.pane == "needs-need-pane", what="need pane")
            await pilot.click("#needs-support")
            await until(pilot, lambda: "supports need #1" in screen_text(pilot))
            assert "2 households support this" in screen_text(pilot)
            await pilot.click("#needs-withdraw")
            await until(pilot, lambda: "support for need #1 is withdrawn" in
                        screen_text(pilot))
            assert "1 household supports this" in screen_text(pilot)
            await pilot.press("escape")
            await until(pilot, lambda: screen.pane == "needs-list-pane")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        events = need_events(demo)
        assert [t for t, _ in events] == ["need.raised", "need.supported",
                                          "need.support_withdrawn"]
        text = json.dumps([d for _, d in events])
        assert "302" not in text and "101" not in text and "household" not in text
