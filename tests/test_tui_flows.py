"""The kiosk screen driven like a person would: keys and taps, through the real services,
the real serial driver and the pty board simulator (the demo's composition)."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Static

from kiosk.lockers.model import ParcelState
from tests.mqtt_broker import wait_until
from tests.tui_setup import (
    FROZEN,
    courier_id_typed,
    demo_kiosk,
    latest_code,
    screen_text,
    shown,
    type_text,
    type_unit,
    until,
)
from tui.app import KioskApp
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.screens.pickup import PickupScreen
from tui.widgets.entry import EntryDisplay, EntryPane
from tui.widgets.status_line import StatusLine

SIZE = (80, 24)


@pytest.fixture
def demo(tmp_path):
    with demo_kiosk(tmp_path / "demo") as kiosk:
        yield kiosk


def parcel_states(demo) -> dict[int, str]:
    return {r["id"]: r["state"] for r in demo.kiosk.store.query("SELECT id, state FROM parcels")}


def events(demo) -> list[str]:
    return [e.type for e in demo.kiosk.outbox.events()]


async def says_where_it_goes(pilot) -> None:
    """The send screen's step after the PIN: a destination, typed, then Continue."""
    from tui.widgets.keyboard import KeyboardScreen

    await until(pilot, lambda: pilot.app.screen.pane == "send-what-pane", what="where to")
    await pilot.click("#send-destination")
    await until(pilot, lambda: isinstance(pilot.app.screen, KeyboardScreen))
    await type_text(pilot, "Beijing")
    await pilot.press("enter")
    await until(pilot, lambda: getattr(pilot.app.screen, "pane", "") == "send-what-pane")
    await pilot.click("#send-continue")


async def courier_logs_in(pilot, pin: str = "24682468") -> None:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, DepositScreen))
    await courier_id_typed(pilot)
    await type_text(pilot, pin)
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.pane == "unit-pane", what="unit pane")


async def test_deposit_then_pickup_with_the_code_from_the_notification(demo):
    app: KioskApp = demo.app
    sim = demo.sim
    async with app.run_test(size=SIZE) as pilot:
        await courier_logs_in(pilot)
        # The unit by taps on the on-screen keypad, the size by a tap too.
        for key in "302":
            await pilot.click(f"#unit-pane #key-{key}")
        await pilot.click("#unit-pane #key-ok")
        await until(pilot, lambda: app.screen.pane == "size-pane", what="size pane")
        await until(pilot, lambda: "12" in str(app.screen.query_one("#size-S").label))
        await pilot.click("#size-S")
        await until(pilot, lambda: app.screen.pane == "door-pane", what="door open")
        slot = app.screen.slot
        c = slot.compartment
        assert sim.door_open(c.board, c.lock)
        assert c.id in shown(app.screen.query_one("#door-where", Static))
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.screen.pane == "unit-pane", what="next parcel")
        assert app.screen.count == 1
        assert "1" in app.screen.query_one("#title-bar").note
        assert parcel_states(demo)[slot.parcel_id] == ParcelState.STORED
        await pilot.click("#deposit-finish")
        # The round's summary: one small parcel, for 302.
        await until(pilot, lambda: app.screen.pane == "round-pane", what="summary")
        summary = shown(app.screen.query_one("#round-summary", Static))
        assert app.t("deposit.round", n=1) in summary and "302" in summary
        await pilot.click("#round-done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))

        code = latest_code(demo, "302")
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await type_unit(pilot, "302")
        await type_text(pilot, code)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.result is not None, what="pickup answer")
        assert [d.id for d in app.screen.result.opened] == [c.id]
        assert sim.door_open(c.board, c.lock)
        assert f"{c.id}" in shown(app.screen.query_one("#doors-list", Static))
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.t("pickup.done") in shown(
            app.screen.query_one("#doors-message", Static)), what="done")
        assert parcel_states(demo)[slot.parcel_id] == ParcelState.COLLECTED
    assert "parcel.deposited" in events(demo) and "parcel.collected" in events(demo)


async def test_wrong_codes_are_explained_with_the_wait(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await type_unit(pilot, "101")
        message = app.screen.query_one("#pickup-message", Static)
        # Three wrong codes: the first two cost nothing, the third earns a wait.
        for attempt in range(3):
            await type_text(pilot, "22222222")
            await pilot.press("enter")
            await until(pilot, lambda n=attempt + 1: events(demo).count(
                "security.wrong_code") == n, what="wrong code recorded")
            await until(pilot, lambda: app.t("pickup.wrong") in shown(message))
            assert app.screen.query_one("#code", EntryDisplay).value == ""
        assert app.t("pickup.wait", s=5) in shown(message)
        # While the wait runs, another try is refused on screen, without a guess counted.
        await type_text(pilot, "33333333")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert events(demo).count("security.wrong_code") == 3
        assert any(app.t("pickup.wait", s=s) in shown(message) for s in range(1, 6))
        # Look-alike characters are explained rather than silently dropped, under the
        # count while it runs (its next second does not wipe the word).
        await pilot.press("delete")
        await pilot.press("o")
        await until(pilot, lambda: app.t("pickup.no_lookalikes") in shown(message),
                    what="look-alikes explained")
        countdown = app.screen.countdown
        if countdown.waiting:  # its next second, as its timer says it
            countdown.tick()
            await pilot.pause()
            assert app.t("pickup.no_lookalikes") in shown(message) or not countdown.waiting


async def test_a_jammed_door_is_explained_and_the_code_stays_valid(demo):
    app = demo.app
    sim = demo.sim
    code = latest_code(demo, "202")
    [parcel] = demo.kiosk.lockers.waiting("202")
    door = next(c for c in demo.kiosk.lockers.compartments() if c.id == parcel["compartment"])
    sim.jam(door.board, door.lock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await type_unit(pilot, "202")
        await type_text(pilot, code)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.result is not None, timeout_s=8, what="answer")
        assert [c.id for c in app.screen.result.failed] == [door.id]
        explained = shown(app.screen.query_one("#doors-message", Static))
        assert app.t("pickup.failed", doors=door.id) in explained
        assert parcel_states(demo)[parcel["id"]] == ParcelState.STORED
        # The status line names the jammed door, in plain words, once it is refreshed.
        app.refresh_status()
        await until(pilot, lambda: app.t("public.door_out_of_order", doors=door.id)
                    in shown(app.screen.query_one(StatusLine)),
                    what="fault on the status line")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))

        # Freed by hand, the same code opens the door.
        sim.unjam(door.board, door.lock)
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await type_unit(pilot, "202")
        await type_text(pilot, code)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.result is not None, what="second answer")
        assert [c.id for c in app.screen.result.opened] == [door.id]
        # The door works again: the residents' line no longer sends them elsewhere.
        app.refresh_status()
        await until(pilot, lambda: door.id not in shown(app.screen.query_one(StatusLine)),
                    what="the jam gone from the status line")
        assert app.t("public.door_out_of_order", doors=door.id) not in screen_text(pilot)
    assert "door.jammed" in events(demo) and "door.jam_cleared" in events(demo)
    assert next(c for c in demo.kiosk.lockers.compartments() if c.id == door.id).fault is None


async def test_a_door_that_does_not_open_for_a_deposit_gets_another(demo):
    app = demo.app
    sim = demo.sim
    first_free_small = next(c for c in demo.kiosk.lockers.compartments()
                            if c.size == "S" and c.free)
    sim.jam(first_free_small.board, first_free_small.lock)
    async with app.run_test(size=SIZE) as pilot:
        await courier_logs_in(pilot)
        await type_text(pilot, "104")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pane == "size-pane")
        await pilot.press("s")
        message = app.screen.query_one("#size-message", Static)
        await until(pilot, lambda: app.t("slot.jammed", door=first_free_small.id)
                    in shown(message), timeout_s=8, what="jam explained")
        assert app.screen.pane == "size-pane"
        await pilot.press("s")
        await until(pilot, lambda: app.screen.pane == "door-pane", what="another door")
        assert app.screen.slot.compartment.id != first_free_small.id


def fill_every_free_compartment(demo) -> None:
    unit = demo.kiosk.lockers.units()[0]
    with demo.kiosk.store.step() as db:
        for c in demo.kiosk.lockers.compartments():
            if c.free:
                db["parcels"].insert({"household": unit, "compartment": c.id, "size": c.size,
                                      "state": "stored", "created_ts": "2026-11-29T09:00:00Z",
                                      "stored_ts": "2026-11-29T09:00:00Z"})


def take_every_compartment_out_of_order(demo) -> None:
    """Board A falls silent and the health poll takes it offline; board B's free
    compartments are taken out of service: none is free, but none for lack of room."""
    demo.sim.set_silent(0, True)
    kiosk = demo.kiosk
    kiosk.scheduler.every("health", 0.2)  # the demo's heartbeat, shortened
    assert wait_until(lambda: all(c.fault for c in kiosk.lockers.compartments()
                                  if c.board == 0), 15)
    with kiosk.store.step() as db:
        db.execute("UPDATE compartments SET in_service = 0 WHERE board != 0")


def locker_events(demo) -> list[str]:
    return [e.type for e in demo.kiosk.outbox.events() if e.type.startswith("locker.")]


async def test_lockers_out_of_order_are_explained_as_such_not_as_full(demo):
    take_every_compartment_out_of_order(demo)
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await courier_logs_in(pilot)
        await type_text(pilot, "201")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pane == "size-pane")
        await until(pilot, lambda: app.t("size.out_of_order") in str(
            app.screen.query_one("#size-L").label), what="sizes shown out of order")
        assert app.t("size.full") not in str(app.screen.query_one("#size-S").label)
        await pilot.press("m")
        await until(pilot, lambda: app.screen.pane == "unit-pane", what="back to unit")
        said = shown(app.screen.query_one("#unit-pane .message", Static))
        assert said == app.t("deposit.out_of_order", size=app.t("size.M"))
    assert locker_events(demo) == ["locker.unavailable"]


async def test_a_resident_sending_is_told_out_of_order_too(demo):
    take_every_compartment_out_of_order(demo)
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: app.screen.pane == "send-unit-pane")
        await type_text(pilot, "204")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pane == "send-pin-pane")
        await type_text(pilot, "20402040")
        await pilot.press("enter")
        await says_where_it_goes(pilot)
        await until(pilot, lambda: app.screen.pane == "size-pane", what="resident in")
        await pilot.press("s")
        message = app.screen.query_one("#size-message", Static)
        await until(pilot, lambda: shown(message) == app.t("send.out_of_order",
                                                            size=app.t("size.S")),
                    what="send refused as out of order")
    assert locker_events(demo) == ["locker.unavailable"]


async def test_a_full_bank_is_explained_and_recorded_as_demand(demo):
    # A parcel in every free compartment: nothing left for any parcel. (Taking them out of
    # service instead would be an outage, not a full bank: the next test.)
    fill_every_free_compartment(demo)
    unlocks_before = demo.sim.unlock_count()
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await courier_logs_in(pilot)
        await type_text(pilot, "201")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pane == "size-pane")
        await until(pilot, lambda: app.t("size.full") in str(
            app.screen.query_one("#size-L").label), what="sizes shown full")
        await pilot.press("m")
        await until(pilot, lambda: app.screen.pane == "unit-pane", what="back to unit")
        said = shown(app.screen.query_one("#unit-pane .message", Static))
        assert said == app.t("deposit.full", size=app.t("size.M"))
        assert demo.sim.unlock_count() == unlocks_before
    [full] = [e for e in demo.kiosk.outbox.events() if e.type == "locker.full"]
    assert full.data["size"] == "M" and full.data["free"] == {"S": 0, "M": 0, "L": 0}


async def test_wrong_courier_pin_is_refused(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DepositScreen))
        await courier_id_typed(pilot)
        await type_text(pilot, "99999999")
        await pilot.press("enter")
        pane = app.screen.query_one("#pin-pane", EntryPane)
        await until(pilot, lambda: app.t("deposit.pin_wrong") in shown(
            pane.query_one(".message", Static)))
        assert app.screen.pane == "pin-pane"
        assert pane.buffer.value == ""
        # Back: the id again, to type another one.
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.pane == "courier-pane", what="id pane")


async def test_idle_reset_goes_home_clears_input_and_language(tmp_path):
    with demo_kiosk(tmp_path / "demo", idle_s=0.4) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            await until(pilot, lambda: app.language == "en")
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            # What was typed so far (the unit comes first) is held until the reset.
            await type_text(pilot, "K7PX")
            assert app.screen.query_one("#pickup-unit", EntryPane).buffer.value == "K7PX"
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), timeout_s=5,
                        what="idle reset")
            assert app.language == "zh"
            await until(pilot, lambda: app.t("home.pickup") in screen_text(pilot))
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            assert app.screen.query_one("#pickup-unit", EntryPane).buffer.value == ""
            assert app.screen.query_one("#code", EntryDisplay).value == ""


async def test_idle_reset_waits_while_a_deposit_door_is_open(tmp_path):
    with demo_kiosk(tmp_path / "demo", idle_s=0.3) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await courier_logs_in(pilot)
            await type_text(pilot, "103")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.pane == "size-pane")
            await pilot.press("l")
            await until(pilot, lambda: app.screen.pane == "door-pane")
            c = app.screen.slot.compartment
            await pilot.pause(0.8)
            assert isinstance(app.screen, DepositScreen)
            demo.sim.put_item(c.board, c.lock)
            demo.sim.shut(c.board, c.lock)
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="reset")
        assert "parcel.deposited" in [e.type for e in demo.kiosk.outbox.events()][-1:]


async def test_language_switch_by_tap_and_status_line(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        assert app.t("home.pickup") == "取件"
        await pilot.click("#home-language")
        await until(pilot, lambda: "Pick up" in screen_text(pilot))
        text = screen_text(pilot)
        assert "Deposit" in text and "中文" in text
        # The uplink and its queue are the maintainers' business, not on the home screen.
        assert "queued" not in text and "uplink" not in text
        await pilot.click("#home-language")
        await until(pilot, lambda: "取件" in screen_text(pilot))


async def test_tamper_switch_reaches_the_screen_as_a_message(demo):
    app = demo.app
    seen: list[str] = []

    async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(
            type(m).__name__)) as pilot:
        await until(pilot, lambda: app.ready)
        await pilot.press("5")  # the maintainers' status line, even before the PIN
        await until(pilot, lambda: app.screen.query_one(StatusLine).maintainers)
        demo.world.set_tamper(True)
        await until(pilot, lambda: app.t("fault.cabinet_tamper") in shown(
            app.screen.query_one(StatusLine)), what="tamper on the status line")
        assert "TamperChanged" in seen
        # Not on the residents' line: nothing they can act on.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        probes = app.status_updates
        app.refresh_status()
        await until(pilot, lambda: app.status_updates > probes)
        await pilot.pause()
        assert "cabinet.tamper" in [f.kind for f in app.status.faults]  # control
        assert app.t("fault.cabinet_tamper") not in shown(app.screen.query_one(StatusLine))
        await pilot.press("5")
        await until(pilot, lambda: app.screen.query_one(StatusLine).maintainers)
        demo.world.set_tamper(False)
        await until(pilot, lambda: app.t("fault.cabinet_tamper") not in shown(
            app.screen.query_one(StatusLine)), what="tamper cleared")
    assert "cabinet.tamper" in events(demo)


async def test_send_a_parcel(demo):
    app = demo.app
    sim = demo.sim
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#home-send")
        await type_text(pilot, "204")
        await pilot.press("enter")
        await type_text(pilot, "20402040")
        await pilot.press("enter")
        await says_where_it_goes(pilot)
        await until(pilot, lambda: app.screen.pane == "size-pane", what="size pane")
        await pilot.press("m")
        await until(pilot, lambda: app.screen.pane == "door-pane")
        c = app.screen.slot.compartment
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.screen.pane == "send-done-pane")
    assert "parcel.sent" in events(demo)


async def test_demo_panels_open_and_act_on_the_simulator(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: latest_code(demo, "101") in screen_text(pilot),
                    what="phone codes")
        # A courier signs in with id and PIN: the panel shows both.
        assert "courier-a" in screen_text(pilot) and "24682468" in screen_text(pilot)
        await pilot.press("escape")
        await pilot.press("f2")
        await until(pilot, lambda: app.screen.query("#door-grid"))
        await pilot.click("#door-1-16")
        await pilot.press("f")  # force the door open: a tamper alarm for the monitor
        await until(pilot, lambda: demo.sim.door_open(1, 16))
        await pilot.press("s")
        await until(pilot, lambda: not demo.sim.door_open(1, 16))


async def test_the_screen_shows_before_the_services_and_waits_for_them(tmp_path):
    """``kiosk demo`` and a slow start: home first, the services connect behind it."""
    gate = threading.Event()
    opened = []

    def connect(app):
        assert gate.wait(10)
        demo = demo_kiosk(tmp_path / "demo")
        opened.append(demo)
        return demo.parts_for(app)

    app = KioskApp(connect=connect, clock=lambda: FROZEN)
    seen: list[str] = []
    try:
        async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(
                type(m).__name__)) as pilot:
            await pilot.pause(0.1)
            assert app.t("status.checking") in shown(app.screen.query_one(StatusLine))
            await pilot.press("1")
            assert isinstance(app.screen, HomeScreen)
            assert shown(app.screen.query_one("#home-welcome", Static)) == app.t(
                "home.starting")
            gate.set()
            await until(pilot, lambda: app.ready and app.status_updates, what="connected")
            assert shown(app.screen.query_one("#home-welcome", Static)) == app.t(
                "home.welcome")
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await pilot.pause(0.3)
    finally:
        for demo in opened:
            demo.close()
    assert seen.count("Connected") == 1 and seen.count("KioskReady") == 1


async def test_status_line_follows_the_real_uplink(tmp_path, broker):
    with demo_kiosk(tmp_path / "demo", broker=("127.0.0.1", broker.port),
                    status_every_s=0.2) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.ready)
            await pilot.press("5")  # the uplink is shown on the maintenance screen

            def line() -> str:
                return shown(app.screen.query_one(StatusLine))

            await until(pilot, lambda: app.t("status.uplink_up") in line()
                        and app.t("status.queued", n=0) in line(), timeout_s=15,
                        what="uplink online and the seeded events delivered")
            broker.stop()
            await until(pilot, lambda: app.t("status.uplink_down") in line(),
                        timeout_s=15, what="uplink shown offline")


async def test_a_blocked_screen_is_not_counted_as_the_person_being_idle(tmp_path):
    import time as clock

    with demo_kiosk(tmp_path / "demo", idle_s=0.3) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await type_text(pilot, "K7")
            # The UI loop is kept busy for longer than the idle time (a slow first frame,
            # a slow import): the person waited for the kiosk, not the other way round.
            clock.sleep(0.6)
            await pilot.pause(0.1)
            assert isinstance(app.screen, PickupScreen)
            # Control: left alone for longer than the idle time, it goes home.
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="idle reset")
