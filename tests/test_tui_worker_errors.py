"""A worker that fails is handled in one place: logged with its traceback, a calm word on
screen, a fault for the maintainers (``KioskParts.worker_failed``), and the kiosk carries
on. Real app on the demo's composition; the screen is a real ``KioskScreen``."""

from __future__ import annotations

import logging

import pytest
from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from tests.tui_setup import courier_id_typed, demo_kiosk, until
from tui.screens.base import KioskScreen
from tui.screens.home import HomeScreen
from tui.screens.pickup import PickupScreen

SIZE = (80, 24)


class CountingScreen(KioskScreen):
    """Counts the free compartments through the real locker service, or fails trying."""

    def __init__(self, fail: bool) -> None:
        super().__init__()
        self.fail = fail
        self.free: dict[str, int] | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="free")

    def on_mount(self) -> None:
        self._busy = True
        self.count()

    @work(thread=True, exit_on_error=False)
    def count(self) -> None:
        free = self.app.lockers.free_counts()
        if self.fail:
            raise RuntimeError("the count went wrong")
        self.free = free
        self._busy = False


@pytest.fixture
def demo(tmp_path):
    with demo_kiosk(tmp_path / "demo") as kiosk:
        yield kiosk


def notices(app) -> list[str]:
    """The notices on screen now (Textual's toasts)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def run(demo, fail: bool, caplog,
              times: int = 1) -> tuple[list[tuple[str, str]], CountingScreen, list[str]]:
    app = demo.app
    reported: list[tuple[str, str]] = []
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.ready and app.status_updates, what="connected")
        app.parts.worker_failed = lambda where, error: reported.append((where, error))
        screen = CountingScreen(fail)
        with caplog.at_level(logging.ERROR, logger="tui.app"):
            app.push_screen(screen)
            await until(pilot, lambda: screen.free is not None or reported, what="answer")
            await pilot.pause(0.2)
            shown_notices = notices(app)
            for _ in range(times - 1):
                screen.count()
                await pilot.pause(0.3)
        # Still running, and answering: home, and a key opens a screen.
        assert app.is_running and not screen._busy
        screen.go_home()
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen), what="pickup")
        return reported, screen, shown_notices


async def test_a_failing_worker_is_logged_shown_calmly_and_reported(demo, caplog):
    reported, _, shown_notices = await run(demo, True, caplog)
    assert reported == [("CountingScreen.count", "RuntimeError: the count went wrong")]
    assert demo.app.t("error.calm") in shown_notices
    [record] = [r for r in caplog.records if r.name == "tui.app"]
    assert record.levelno == logging.ERROR and "CountingScreen.count" in record.getMessage()
    assert record.exc_info is not None and "the count went wrong" in str(record.exc_info[1])


async def test_the_same_failure_again_soon_is_logged_but_not_reported_again(demo, caplog):
    reported, _, _ = await run(demo, True, caplog, times=2)
    assert len(reported) == 1
    records = [r for r in caplog.records if r.name == "tui.app"]
    assert len(records) == 2 and "again" in records[1].getMessage()


async def test_a_worker_that_succeeds_reports_nothing(demo, caplog):
    reported, screen, shown_notices = await run(demo, False, caplog)
    assert screen.free is not None and sum(screen.free.values()) > 0
    assert reported == []
    assert demo.app.t("error.calm") not in shown_notices
    assert [r for r in caplog.records if r.name == "tui.app"] == []


async def test_a_broken_database_under_a_real_screen_becomes_a_maintainers_fault(demo):
    """The composition's wiring, end to end: the courier PIN screen's worker hits a broken
    table, the person sees the calm word, the health monitor lists the fault (by the
    error's kind only) and publishes it once; the kiosk carries on."""
    from tui.screens.deposit import DepositScreen

    app, health = demo.app, demo.kiosk.health
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.ready and app.status_updates, what="connected")
        assert [k for k, _ in health.faults()] == []  # control: no fault before
        demo.kiosk.store.db.execute("ALTER TABLE couriers RENAME TO couriers_gone")
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DepositScreen))
        await courier_id_typed(pilot)
        for key in "24682468":
            await pilot.press(key)
        await pilot.press("enter")
        await until(pilot, lambda: any(k == "kiosk.worker_failed" for k, _ in health.faults()),
                    what="the fault")
        [(_, details)] = [f for f in health.faults() if f[0] == "kiosk.worker_failed"]
        assert details["error"] == "OperationalError" and "Deposit" in details["where"]
        await until(pilot, lambda: app.t("error.calm") in notices(app), what="calm word")
        events = [e for e in demo.kiosk.outbox.events() if e.type == "kiosk.worker_failed"]
        assert len(events) == 1 and "24682468" not in str(events[0].data)
        assert app.is_running
