"""More locker journeys of issue 11 on the composition ``kiosk run`` builds (see
tests/test_locker_journeys.py, whose ``Run`` and helpers these reuse): a courier's round
across a restart, parcels handed back after their last reminder, a parcel left inside
across a restart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.errors import NoWidget

from kiosk.events import iso, utc_now
from kiosk.lockers.model import WrongCode
from tests.mqtt_broker import wait_until
from tests.test_locker_journeys import (
    PINS,
    SIZE,
    courier_in,
    pickup_with,
    started,
    state,
    stored_for,
)
from tests.tui_setup import shown, type_text, until
from tui.screens.collect import CollectScreen
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.widgets.size_chooser import size_name

# Two medium doors besides the eight small ones, so a round has more than one size.
MEDIUM = '\n[[compartments]]\nboard = 0\nlocks = "9-10"\nsize = "M"\n'


@pytest.fixture
def run(tmp_path, sim, broker, mock_factory):
    r = started(tmp_path, sim, broker, mock_factory)  # the ``run`` of test_locker_journeys
    yield r
    r.close()


@pytest.fixture
def mixed(tmp_path, sim, broker, mock_factory):
    r = started(tmp_path, sim, broker, mock_factory, MEDIUM)
    yield r
    r.close()


async def tap(pilot, selector: str) -> None:
    """A finger on a button that has just been shown: once it is laid out where the
    finger lands (Pilot aims at the region it has now), and it must land on it."""
    widget = pilot.app.screen.query_one(selector)

    def under_the_finger() -> bool:
        if not widget.display or not widget.region.area:
            return False
        try:
            return pilot.app.get_widget_at(*widget.region.center)[0] is widget
        except NoWidget:
            return False

    await until(pilot, under_the_finger, what=f"{selector} laid out")
    assert await pilot.click(widget), f"the tap missed {selector}"


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
    app = mixed.app()
    async with app.run_test(size=SIZE) as pilot:
        await courier_in(pilot)
        first = await deposit_on_screen(pilot, sim, "301", "S", waybill="YT5550001")
        await deposit_on_screen(pilot, sim, "302", "M")
        assert app.t("deposit.count", n=2) in str(app.screen.query_one("#title-bar").note)

    kiosk = mixed.restart()  # mid-round: the screen and everything it held are gone
    app = mixed.app()
    async with app.run_test(size=SIZE) as pilot:
        await courier_in(pilot)
        screen = app.screen
        # The round goes on: its count too.
        assert app.t("deposit.count", n=2) in str(app.screen.query_one("#title-bar").note)
        await deposit_on_screen(pilot, sim, "303", "S")
        await tap(pilot, "#deposit-finish")
        await until(pilot, lambda: screen.pane == "round-pane", what="summary")
        summary = shown(screen.query_one("#round-summary")).splitlines()
        t = app.t
        assert summary[0] == t("deposit.round", n=3)
        assert summary[1] == f"{size_name(t, 'S')} 2  {size_name(t, 'M')} 1  " \
                             f"{size_name(t, 'L')} 0"
        assert summary[2] == t("deposit.round_units", units="301 302 303")
        await tap(pilot, "#round-done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        # The next login starts a new round: nothing counted yet (control: the count
        # above came from the round, not from the courier's parcels ever).
        await courier_in(pilot)
        assert app.t("deposit.count", n=0) in str(app.screen.query_one("#title-bar").note)
        assert isinstance(app.screen, DepositScreen)

        # The resident of 301 sees the waybill the courier scanned before the restart.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        code = mixed.note("301", "pickup_code")["data"]["code"]
        await pickup_with(pilot, "301", code)
        await until(pilot, lambda: app.screen.result is not None, what="doors")
        assert [d.id for d in app.screen.result.opened] == [first.id]
        assert "YT5550001" in shown(app.screen.query_one("#doors-list"))
        sim.take_item(first.board, first.lock)
        sim.shut(first.board, first.lock)
        [parcel] = app.screen.result.ids()
        await until(pilot, lambda: state(kiosk, parcel) == "collected", what="collected")


# --- 1/2. after the last reminder, the community's rule hands the parcel back ------------

def reminded(run, parcel: int, n: int) -> None:
    """The running kiosk's reminders feature sends the parcel's ``n``-th reminder: the
    parcel seeded as stored 20 days ago, its last reminder two days ago (the schedule is
    one a day), then the feature triggered, as test_composition does."""
    kiosk = run.kiosk
    with kiosk.store.step() as db:
        db.execute("UPDATE parcels SET stored_ts = ?, last_reminder_ts = CASE WHEN "
                   "reminders > 0 THEN ? END WHERE id = ?",
                   (iso(utc_now() - timedelta(days=20)), iso(utc_now() - timedelta(days=2)),
                    parcel))
    kiosk.scheduler.trigger("reminders")
    assert wait_until(lambda: kiosk.lockers.parcel(parcel)["reminders"] == n, timeout=15)
    run.note(kiosk.lockers.parcel(parcel)["household"], "reminder", n)


async def collect_screen(pilot, n: int) -> CollectScreen:
    """A courier logged in on the screen sees ``n`` to collect, taps Collect."""
    app = pilot.app
    await courier_in(pilot)
    await until(pilot, lambda: app.t("deposit.collect_n", n=n) in str(
        app.screen.query_one("#deposit-collect").label), what=f"{n} to collect")
    await tap(pilot, "#deposit-collect")
    await until(pilot, lambda: isinstance(app.screen, CollectScreen))
    screen = app.screen
    await until(pilot, lambda: app.t("collect.loading") not in shown(
        screen.query_one("#collect-heading")), what="listed")
    return screen


@pytest.mark.parametrize("rule, done, kind", [("return", "returned", "returned"),
                                              ("desk", "at_desk", "at_desk")])
async def test_a_parcel_past_its_last_reminder_is_handed_back_on_the_collect_screen(
        tmp_path, sim, broker, mock_factory, rule, done, kind):
    r = started(tmp_path, sim, broker, mock_factory, after_last_reminder=rule,
                max_reminders=2)
    try:
        parcel, code, c = stored_for(r, sim, "301", waybill="ZT4200")
        reminded(r, parcel, 1)
        # Control: 20 days stored, past return_after_days, but one reminder still to
        # come: not listed.
        assert r.kiosk.lockers.collectable() == []
        app = r.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await collect_screen(pilot, 0)
            await until(pilot, lambda: app.t("collect.none") in shown(
                screen.query_one("#collect-heading")), what="nothing to collect")
        reminded(r, parcel, 2)  # the last one

        kiosk = r.restart()
        app = r.app()
        async with app.run_test(size=SIZE) as pilot:
            screen = await collect_screen(pilot, 1)
            listed = screen.query_one("#collect-list")
            await until(pilot, lambda: c.id in shown(listed), what="the parcel listed")
            assert app.t(f"collect.why.{rule}") in shown(listed)
            assert "ZT4200" in shown(listed)
            await tap(pilot, "#collect-open")
            await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
            assert state(kiosk, parcel) == "pickup_pending"
            sim.take_item(c.board, c.lock)
            sim.shut(c.board, c.lock)
            await until(pilot, lambda: app.t("collect.done", n=1) in shown(
                screen.query_one("#collect-message")), what="collected")
        assert state(kiosk, parcel) == done
        # The door shut on an empty compartment, offered again; the household told.
        assert not sim.door_open(c.board, c.lock) and not sim.is_occupied(c.board, c.lock)
        assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).free
        note = r.note("301", kind)
        assert note["data"]["parcel"] == parcel and note["data"]["waybill"] == "ZT4200"
        assert kiosk.lockers.collectable() == []
        with pytest.raises(WrongCode):  # its code is spent
            kiosk.lockers.pickup(code, "301")
    finally:
        r.close()


# --- 3. a parcel left inside, across a restart ------------------------------------------

async def test_a_parcel_left_inside_at_a_pickup_stays_its_households_across_a_restart(
        run, sim):
    parcel, code, c = stored_for(run, sim, "302")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await pickup_with(pilot, "302", code)
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        sim.shut(c.board, c.lock)  # shut without taking the parcel
        await until(pilot, lambda: app.t("pickup.left_inside", doors=c.id) in shown(
            app.screen.query_one("#doors-message")), what="told it is still inside")

    kiosk = run.restart()  # the resident walked away; the kiosk restarts
    # Still the household's, with its code; the maintainers see the fault.
    assert state(kiosk, parcel) == "stored"
    assert kiosk.lockers.parcel(parcel)["household"] == "302"
    assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).fault == "left_inside"
    assert ("sensor.item_inside", {"compartment": c.id, "fault": "left_inside"}) \
        in kiosk.health.faults()
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        # A courier's deposit on the screen is never given that compartment.
        await courier_in(pilot)
        other = await deposit_on_screen(pilot, sim, "303", "S")
        assert other.id != c.id
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        # The same code opens the door again, and this time the parcel comes out.
        await pickup_with(pilot, "302", code)
        await until(pilot, lambda: app.screen.result is not None, what="doors")
        assert [d.id for d in app.screen.result.opened] == [c.id]
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.t("pickup.done") in shown(
            app.screen.query_one("#doors-message")), what="done")
    assert state(kiosk, parcel) == "collected"
    assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).fault is None
    assert not [f for f in kiosk.health.faults() if f[0] == "sensor.item_inside"]


async def test_a_collection_left_inside_is_offered_the_door_again_across_a_restart(run, sim):
    lockers = run.kiosk.lockers
    slot = lockers.send(lockers.resident_login("301", PINS["301"]), "S", waybill="SF9001")
    c = slot.compartment
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    lockers.finish(slot)
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await collect_screen(pilot, 1)
        await tap(pilot, "#collect-open")
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        sim.shut(c.board, c.lock)  # shut with the parcel still inside
        await until(pilot, lambda: app.t("collect.left_inside", doors=c.id) in shown(
            screen.query_one("#collect-message")), what="told it is still inside")
        assert screen.query_one("#collect-again").display
    assert state(run.kiosk, slot.parcel_id) == "outgoing"

    kiosk = run.restart()  # the courier is gone; the kiosk restarts
    assert state(kiosk, slot.parcel_id) == "outgoing"  # still waits for a courier
    assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).fault == "left_inside"
    assert run.notes("301", "parcel_left") == []  # its sender was not told it left
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await collect_screen(pilot, 1)
        await until(pilot, lambda: "SF9001" in shown(screen.query_one("#collect-list")),
                    what="listed again")
        await tap(pilot, "#collect-open")
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        sim.shut(c.board, c.lock)  # left inside once more
        await until(pilot, lambda: screen.query_one("#collect-again").display,
                    what="the door offered again")
        await tap(pilot, "#collect-again")
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open again")
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.t("collect.done", n=1) in shown(
            screen.query_one("#collect-message")), what="collected")
    assert state(kiosk, slot.parcel_id) == "collected"
    assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).fault is None
    assert run.note("301", "parcel_left")["data"]["waybill"] == "SF9001"


def test_a_pickup_open_at_a_restart_and_shut_on_its_parcel_keeps_it_its_households(run, sim):
    parcel, code, c = stored_for(run, sim, "303")
    run.kiosk.lockers.pickup(code, "303")
    assert sim.door_open(c.board, c.lock)
    kiosk = run.restart()  # the screen is gone while the door is open
    sim.shut(c.board, c.lock)  # … and it is shut on the parcel
    compartment = lambda: next(x for x in kiosk.lockers.compartments() if x.id == c.id)  # noqa: E731
    assert wait_until(lambda: compartment().fault == "left_inside", timeout=15)
    assert state(kiosk, parcel) == "stored"
    assert ("sensor.item_inside", {"compartment": c.id, "fault": "left_inside"}) \
        in kiosk.health.faults()
    # Its code still opens it (and only it).
    assert [x.id for x in kiosk.lockers.pickup(code, "303").opened] == [c.id]
