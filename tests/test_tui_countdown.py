"""The back-off wait after wrong PINs counts down on every entry that has one: the courier's
PIN (deposit) and the resident's login (send), as the pickup code always did. Real app,
real locker service, pty board simulator."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.tui_setup import courier_id_typed, demo_kiosk, shown, type_text, until
from tui.screens.deposit import DepositScreen
from tui.screens.send import SendScreen
from tui.widgets.entry import EntryPane

SIZE = (80, 24)


@pytest.fixture
def demo(tmp_path):
    with demo_kiosk(tmp_path / "demo") as kiosk:
        yield kiosk


def message(app, pane_id: str) -> str:
    return shown(app.screen.query_one(f"#{pane_id}", EntryPane).query_one(".message", Static))


def seconds_shown(app, text: str) -> int | None:
    """The seconds the wait line names, if one is shown."""
    for s in range(1, 400):
        if app.t("pickup.wait", s=s) in text:
            return s
    return None


async def counts_down(pilot, pane_id: str) -> None:
    """The wait shown goes down by itself, to "try again"."""
    app = pilot.app
    first = seconds_shown(app, message(app, pane_id))
    assert first is not None and first >= 2
    await until(pilot, lambda: (seconds_shown(app, message(app, pane_id)) or first) < first,
                timeout_s=3, what="the wait counting down")
    await until(pilot, lambda: app.t("pickup.try_again") in message(app, pane_id),
                timeout_s=first + 3, what="the wait over")


async def stays(pilot, pane_id: str, seconds: float = 1.3) -> str:
    before = message(pilot.app, pane_id)
    await pilot.pause(seconds)
    assert message(pilot.app, pane_id) == before
    return before


async def test_the_couriers_pin_wait_counts_down(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DepositScreen))
        await courier_id_typed(pilot)
        for attempt in range(3):
            await type_text(pilot, "99999999")
            await pilot.press("enter")
            await until(pilot, lambda: app.t("deposit.pin_wrong") in message(app, "pin-pane")
                        and not app.screen._busy, what="wrong PIN answered")
            if attempt == 0:
                # Control: a wrong PIN that earns no wait shows no count, and nothing moves.
                said = await stays(pilot, "pin-pane")
                assert seconds_shown(app, said) is None
        await counts_down(pilot, "pin-pane")


async def test_the_residents_login_wait_counts_down(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, SendScreen))
        for attempt in range(3):
            await type_text(pilot, "204")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.pane == "send-pin-pane")
            await type_text(pilot, "99999999")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.pane == "send-unit-pane"
                        and not app.screen._busy, what="wrong login answered")
            if attempt == 0:
                said = await stays(pilot, "send-unit-pane")
                assert said == app.t("send.login_wrong")
        await counts_down(pilot, "send-unit-pane")
