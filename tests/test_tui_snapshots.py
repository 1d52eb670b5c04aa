"""Snapshots of the main screens at 80×24, in Chinese and in English.

The clock on the status line is frozen; the demo community is seeded the same way every
time, so the screens are the same on every run. Update with ``--snapshot-update`` after
looking at the report.
"""

from __future__ import annotations

import pytest

from tests.tui_setup import (
    courier_id_typed,
    demo_kiosk,
    latest_code,
    type_text,
    type_unit,
    until,
)
from tui.screens.deposit import DepositScreen
from tui.screens.pickup import PickupScreen
from tui.widgets.entry import EntryDisplay

LANGUAGES = ["zh", "en"]


async def settled(pilot) -> None:
    """The status worker has reported and the screen has drawn it; a masked entry shows
    dots only (the last character typed shows for a moment first)."""
    await until(pilot, lambda: pilot.app.status_updates > 0 and not any(
        w.is_running for w in pilot.app.workers if w.group in ("status", "free", "units"))
        and not any(d.revealing for d in pilot.app.screen.query(EntryDisplay)))
    await pilot.pause(0.1)


class TestHome:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_home(self, snap_compare, tmp_path, language):
        with demo_kiosk(tmp_path / "demo", language) as demo:
            assert snap_compare(demo.app, run_before=settled)


class TestPickup:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_code_entry(self, snap_compare, tmp_path, language):
        async def run_before(pilot):
            await pilot.press("1")
            await until(pilot, lambda: isinstance(pilot.app.screen, PickupScreen))
            await type_unit(pilot, "101")
            await type_text(pilot, "K7P")
            await settled(pilot)

        with demo_kiosk(tmp_path / "demo", language) as demo:
            assert snap_compare(demo.app, run_before=run_before)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_doors_opened(self, snap_compare, tmp_path, language):
        with demo_kiosk(tmp_path / "demo", language) as demo:
            code = latest_code(demo, "101")

            async def run_before(pilot):
                await pilot.press("1")
                await until(pilot, lambda: isinstance(pilot.app.screen, PickupScreen))
                await type_unit(pilot, "101")
                await type_text(pilot, code)
                await pilot.press("enter")
                await until(pilot, lambda: pilot.app.screen.result is not None)
                demo.sim.shut(0, 1)  # one of the two doors shut, one still open
                await until(pilot, lambda: "A01" in str(pilot.app.screen.query_one(
                    "#doors-list").render()) and pilot.app.t("door.shut") in str(
                    pilot.app.screen.query_one("#doors-list").render()))
                await settled(pilot)

            assert snap_compare(demo.app, run_before=run_before)


class TestDeposit:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_courier_pin(self, snap_compare, tmp_path, language):
        async def run_before(pilot):
            await pilot.press("2")
            await until(pilot, lambda: isinstance(pilot.app.screen, DepositScreen))
            await courier_id_typed(pilot)
            await type_text(pilot, "24")
            await settled(pilot)

        with demo_kiosk(tmp_path / "demo", language) as demo:
            assert snap_compare(demo.app, run_before=run_before)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_unit_with_matches(self, snap_compare, tmp_path, language):
        async def run_before(pilot):
            await pilot.press("2")
            await until(pilot, lambda: isinstance(pilot.app.screen, DepositScreen))
            await courier_id_typed(pilot)
            await type_text(pilot, "24682468")
            await pilot.press("enter")
            await until(pilot, lambda: pilot.app.screen.pane == "unit-pane")
            # The count of parcels to take away comes from a worker: wait for it.
            await until(pilot, lambda: "(" in str(pilot.app.screen.query_one(
                "#deposit-collect").label) or "（" in str(pilot.app.screen.query_one(
                "#deposit-collect").label))
            await type_text(pilot, "30")
            await settled(pilot)

        with demo_kiosk(tmp_path / "demo", language) as demo:
            assert snap_compare(demo.app, run_before=run_before)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_size_choice(self, snap_compare, tmp_path, language):
        async def run_before(pilot):
            await pilot.press("2")
            await until(pilot, lambda: isinstance(pilot.app.screen, DepositScreen))
            await courier_id_typed(pilot)
            await type_text(pilot, "24682468")
            await pilot.press("enter")
            await until(pilot, lambda: pilot.app.screen.pane == "unit-pane")
            await type_text(pilot, "302")
            await pilot.press("enter")
            await until(pilot, lambda: pilot.app.screen.pane == "size-pane")
            await settled(pilot)

        with demo_kiosk(tmp_path / "demo", language) as demo:
            assert snap_compare(demo.app, run_before=run_before)
