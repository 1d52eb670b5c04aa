"""The maintainers' login of issue 11 on the composition ``kiosk run`` builds
(``production_kiosk``): the real serial driver on the pty board simulator, a real broker,
the screen driven with Pilot. A flood of wrong PINs for one maintainer earns them the
longest wait, which a restart does not forgive, while the other maintainer on duty logs
in at once: wrong PINs count for the name they were typed for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.backoff import TooManyAttempts, failures
from kiosk.config import load_config
from kiosk.duty import WrongDutyPin
from kiosk.setups.production import production_kiosk
from kiosk.setups.screen import build_app
from tests.test_locker_journeys import SIZE, write_config
from tests.tui_setup import pick_maintainer, shown, type_text, until
from tui.screens.maintenance import MaintenanceScreen
from tui.widgets.entry import EntryPane

PINS = {"v-ana": "24681024", "v-bo": "13579113"}
WRONG = "99999999"


class Clock:
    """The domain's time, moved by the test: a flood needs minutes of waits to grow."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def config(tmp_path, sim, broker):
    path = write_config(tmp_path, sim.port, broker.port)
    path.write_text(path.read_text(encoding="utf-8")
                    + "[duty]\nmaintainers_per_shift = 2\n", encoding="utf-8")
    return load_config(path)


def flood(duty, clock: Clock, name: str, max_s: float) -> int:
    """Wrong PINs for ``name`` as fast as the kiosk lets a script, until the wait is the
    longest there is; returns the failures counted."""
    counted, wait = 0, 0.0
    while True:
        for _ in range(20):  # at once: only the first is looked at, the rest wait
            try:
                duty.login(name, WRONG)
            except WrongDutyPin as wrong:
                counted += 1
                wait = wrong.wait_s
            except TooManyAttempts:
                pass
        if wait >= max_s:
            return counted
        clock.advance(wait)  # the wait over, at once the next guess


def pin_message(app) -> str:
    return shown(app.screen.query_one("#pin-pane", EntryPane).query_one(".message"))


async def test_a_flood_for_one_maintainer_outlives_a_restart_and_never_stops_the_other(
        config, mock_factory):
    clock = Clock()
    kiosk = production_kiosk(config, mock_factory, clock=clock)
    try:
        chair = kiosk.duty.add_role(None, "chair", "70000170", "assembly of 2026-11-28")
        for name, pin in PINS.items():
            kiosk.duty.register(chair, name, pin, "volunteered")
        kiosk.duty.plan(clock(), 1, actor=chair)
        assert kiosk.duty.on_duty().maintainers == ("v-ana", "v-bo")
        max_s = kiosk.duty.policy.max_s
        counted = flood(kiosk.duty, clock, "v-ana", max_s)
        assert counted > kiosk.duty.settings.free_attempts
    finally:
        kiosk.close()

    clock.advance(1)
    kiosk = production_kiosk(config, mock_factory, clock=clock)  # the restart
    try:
        assert failures(kiosk.store.db, "duty:v-ana") == counted  # nothing forgiven
        app = build_app(kiosk, idle_s=600.0, done_s=600.0, door_poll_s=0.02)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            await until(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
            screen = app.screen
            # v-ana's right PIN, during the wait: refused, with the wait counted down.
            await pick_maintainer(pilot, "v-ana")
            await type_text(pilot, PINS["v-ana"])
            await pilot.press("enter")
            await until(pilot, lambda: screen.countdown.waiting, what="v-ana's wait")
            assert screen.maintainer is None
            assert screen.countdown.seconds_left > kiosk.duty.settings.kiosk_gap_s
            assert app.t("pickup.blocked") in pin_message(app)
            # v-bo, on the same shift, at once: the first PIN typed logs in.
            await pilot.press("escape")
            await until(pilot, lambda: screen.pane == "who-pane")
            await pick_maintainer(pilot, "v-bo")
            assert not screen.countdown.waiting  # v-ana's wait is not v-bo's
            await type_text(pilot, PINS["v-bo"])
            await pilot.press("enter")
            await until(pilot, lambda: screen.maintainer == "v-bo", what="v-bo logged in")
            await until(pilot, lambda: screen.overview is not None, what="the overview")
        assert failures(kiosk.store.db, "duty:v-bo") == 0
        assert failures(kiosk.store.db, "duty:v-ana") == counted  # the refusal cost nothing
        # Control: the wait was all that kept v-ana out.
        with pytest.raises(TooManyAttempts):
            kiosk.duty.login("v-ana", PINS["v-ana"])
        clock.advance(max_s)
        assert kiosk.duty.login("v-ana", PINS["v-ana"]) == "v-ana"
    finally:
        kiosk.close()
