"""Practice mode on the demo's composition: a resident walks the jammed-door runbook on a
simulated cabinet of its own; the practice is a public event, and the kiosk's own board
never receives an unlock frame (tui/screens/maintenance/practice.py, kiosk/practice.py)."""

from __future__ import annotations

import pytest

from kiosk.practice import PracticeError
from tests.tui_setup import demo_kiosk, screen_text, type_text, until
from tui.screens.maintenance import MaintenanceScreen
from tui.screens.maintenance.practice import PracticeScreen

SIZE = (100, 40)


async def test_a_resident_practises_on_the_simulated_cabinet_and_no_real_door_moves(
        tmp_path):
    with demo_kiosk(tmp_path / "demo", language="en") as demo:
        app = demo.app
        real = demo.sim
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready, what="parts connected")
            real_unlocks = real.unlock_count()
            await pilot.press("5")
            await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
            await pilot.click("#pin-practice")
            await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
            screen = app.screen
            await type_text(pilot, "302")
            await pilot.press("enter")
            await until(pilot, lambda: screen.pane == "practice-pin-pane")
            await type_text(pilot, "30203020")
            await pilot.press("enter")
            await until(pilot, lambda: screen.pane == "practice-tasks-pane", what="tasks")
            await pilot.click("#practice-task-door-jammed")
            await until(pilot, lambda: screen.pane == "practice-step-pane", what="step 1")
            assert "Step 1 of" in screen_text(pilot)
            # While the checks are walked, the practice lock is jammed.
            await pilot.click("#practice-try")
            await until(pilot, lambda: "did not open" in screen_text(pilot), what="jammed")
            practice = screen.cabinet.simulator
            # Control: the try did send unlock frames, to the practice cabinet.
            assert practice.unlock_count() >= 1
            fixing = next(i for i, s in enumerate(screen.steps) if s.fixing)
            # One step a tap, each waited for: a button ignores a tap while it still shows
            # the last one (Textual's active effect), as a finger's double tap would be.
            next_button = screen.query_one("#practice-next")
            for i in range(fixing):
                await until(pilot, lambda: not next_button.has_class("-active"))
                await pilot.click("#practice-next")
                await until(pilot, lambda i=i: screen.step == i + 1, what=f"step {i + 2}")
            await pilot.click("#practice-try")
            await until(pilot, lambda: "opened (simulated)" in screen_text(pilot),
                        what="opened")
            while screen.step < len(screen.steps) - 1:
                was = screen.step
                await until(pilot, lambda: not next_button.has_class("-active"))
                await pilot.click("#practice-next")
                await until(pilot, lambda was=was: screen.step == was + 1, what="next step")
            await until(pilot, lambda: not next_button.has_class("-active"))
            await pilot.click("#practice-next")  # Done
            await until(pilot, lambda: "practice is counted" in screen_text(pilot),
                        what="recorded")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
            assert screen.cabinet is None  # closed with its screen
            # The kiosk's own board got status polls, never an unlock.
            assert real.unlock_count() == real_unlocks
        practised = [e.data for e in demo.kiosk.outbox.events()
                     if e.type == "maintenance.practiced"]
        pseudonym = demo.kiosk.lockers.household("302").pseudonym
        assert practised == [{"task": "door.jammed", "by": pseudonym,
                              "steps": len(screen.steps)}]
        assert not demo.kiosk.store.query("SELECT id FROM compartments WHERE fault IS "
                                          "NOT NULL")


def test_only_a_runbook_task_is_recorded(tmp_path):
    with demo_kiosk(tmp_path / "demo") as demo:
        with pytest.raises(PracticeError):
            demo.kiosk.practice.record("h-1", "door.force", 3)
        with pytest.raises(PracticeError):
            demo.kiosk.practice.record("", "door.jammed", 3)
        assert demo.kiosk.practice.record("h-1", "door.jammed", 3).type == \
            "maintenance.practiced"
