"""More locker journeys of issue 11 on the composition ``kiosk run`` builds (see
tests/test_locker_journeys.py, whose ``Run`` and helpers these reuse): a courier's round
across a restart, parcels handed back after their last reminder, a parcel left inside
across a restart."""

from __future__ import annotations

import pytest

from tests.test_locker_journeys import (
    SIZE,
    courier_in,
    pickup_with,
    started,
    state,
)
from tests.tui_setup import shown, type_text, until
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.widgets.size_chooser import size_name

# Two medium doors besides the eight small ones, so a round has more than one size.
MEDIUM = '\n[[compartments]]\nboard = 0\nlocks = "9-10"\nsize = "M"\n'


@pytest.fixture
def mixed(tmp_path, sim, broker, mock_factory):
    r = started(tmp_path, sim, broker, mock_factory, MEDIUM)
    yield r
    r.close()


async def deposit_on_screen(pilot, sim, unit: str, size: str, waybill: str = ""):
    """On a courier's unit pane: one parcel for ``unit`` in, its waybill scanned while
    the door is open (a USB scanner types, then Enter), the door shut; its compartment."""
    screen = pilot.app.screen
    await type_text(pilot, unit)
    await pilot.press("enter")
    await until(pilot, lambda: screen.pane == "size-pane", what="size pane")
    await pilot.press(size.lower())
    await until(pilot, lambda: screen.pane == "door-pane", what="door open")
    c = screen.slot.compartment
    if waybill:
        await type_text(pilot, waybill)
        await pilot.press("enter")
        await until(pilot, lambda: waybill in shown(screen.query_one("#door-waybill")),
                    what="waybill recorded")
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    await until(pilot, lambda: screen.pane == "unit-pane" and screen.held is not None,
                what="stored")
    return c


# --- 6. a courier's round, across a restart --------------------------------------------

async def test_a_round_restarted_in_the_middle_still_counts_every_parcel_in_its_summary(
        mixed, sim):
    run = mixed
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await courier_in(pilot)
        first = await deposit_on_screen(pilot, sim, "301", "S", waybill="YT5550001")
        await deposit_on_screen(pilot, sim, "302", "M")
        assert app.t("deposit.count", n=2) in str(app.screen.query_one("#title-bar").note)

    kiosk = run.restart()  # mid-round: the screen and everything it held are gone
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await courier_in(pilot)
        screen = app.screen
        # The round goes on: its count too.
        assert app.t("deposit.count", n=2) in str(app.screen.query_one("#title-bar").note)
        await deposit_on_screen(pilot, sim, "303", "S")
        await pilot.click("#deposit-finish")
        await until(pilot, lambda: screen.pane == "round-pane", what="summary")
        summary = shown(screen.query_one("#round-summary")).splitlines()
        t = app.t
        assert summary[0] == t("deposit.round", n=3)
        assert summary[1] == f"{size_name(t, 'S')} 2  {size_name(t, 'M')} 1  " \
                             f"{size_name(t, 'L')} 0"
        assert summary[2] == t("deposit.round_units", units="301 302 303")
        await pilot.click("#round-done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        # The next login starts a new round: nothing counted yet (control: the count
        # above came from the round, not from the courier's parcels ever).
        await courier_in(pilot)
        assert app.t("deposit.count", n=0) in str(app.screen.query_one("#title-bar").note)
        assert isinstance(app.screen, DepositScreen)

        # The resident of 301 sees the waybill the courier scanned before the restart.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        code = run.note("301", "pickup_code")["data"]["code"]
        await pickup_with(pilot, "301", code)
        await until(pilot, lambda: app.screen.result is not None, what="doors")
        assert [d.id for d in app.screen.result.opened] == [first.id]
        assert "YT5550001" in shown(app.screen.query_one("#doors-list"))
        sim.take_item(first.board, first.lock)
        sim.shut(first.board, first.lock)
        [parcel] = app.screen.result.ids()
        await until(pilot, lambda: state(kiosk, parcel) == "collected", what="collected")
