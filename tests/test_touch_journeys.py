"""Issue 11, items 7-9, on the composition ``kiosk run`` builds (``production_kiosk``: the
real serial driver on the pty board simulator, a real Mosquitto, mock gpiozero pins, the
screen through Pilot with ``build_app``): every journey by taps alone, with a restart in
the middle; an honest residents' line; spoken prompts played through ALSA."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from textual.widgets import Static

from tests import test_locker_journeys as journeys
from tests.test_locker_journeys import (
    COURIER_PIN,
    SIZE,
    Run,
    seeded,
    state,
    stored_for,
    write_config,
)
from tests.tui_setup import pick_maintainer, screen_text, shown, tap_text, until
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.screens.maintenance import MaintenanceScreen
from tui.screens.parking import ParkingScreen
from tui.screens.pickup import PickupScreen
from tui.widgets.entry import EntryDisplay
from tui.widgets.keyboard import KeyboardScreen
from tui.widgets.status_line import StatusLine

MAINTAINER, MAINTAINER_PIN = "v-ana", "24681024"
run = journeys.run  # the fixture: ``kiosk run`` on the pty simulator and a real broker


async def tap(pilot, selector: str) -> None:
    """One tap, as a finger: a button ignores a tap while it still shows the last one
    (Textual's debounce), so a doubled character waits it out."""
    button = pilot.app.screen.query_one(selector)
    await until(pilot, lambda: not button.has_class("-active"), what=f"{selector} released")
    await pilot.click(selector)


async def tap_keys(pilot, within: str, text: str, ok: bool = True) -> None:
    """``text`` tapped on the keypad inside ``within``, then its OK."""
    for ch in text:
        await tap(pilot, f"{within} #key-{ch}")
    if ok:
        await tap(pilot, f"{within} #key-ok")


def on_duty(kiosk) -> None:
    """One maintainer on the shift that starts now (the roster is kept in SQLite)."""
    chair = kiosk.duty.add_role(None, "chair", "70000170", "assembly of 2026-11-28")
    kiosk.duty.register(chair, MAINTAINER, MAINTAINER_PIN, "volunteered")
    kiosk.duty.plan(datetime.now(UTC), 1, actor=chair)
    assert kiosk.duty.on_duty().maintainers == (MAINTAINER,)


async def pickup_by_taps(pilot, unit: str, code: str) -> PickupScreen:
    app = pilot.app
    await until(pilot, lambda: app.ready, what="kiosk ready")
    await tap(pilot, "#home-pickup")
    await until(pilot, lambda: isinstance(app.screen, PickupScreen))
    screen = app.screen
    await tap_keys(pilot, "#pickup-unit", unit)
    await until(pilot, lambda: screen.pane == "pickup-entry", what="the code step")
    await tap_keys(pilot, "#code-keypad", code)
    return screen


async def maintainer_in(pilot) -> MaintenanceScreen:
    """Maintenance by taps: the name among those on duty, then the PIN on the keypad."""
    await tap(pilot, "#home-maintenance")
    await until(pilot, lambda: isinstance(pilot.app.screen, MaintenanceScreen))
    screen = pilot.app.screen
    await pick_maintainer(pilot, MAINTAINER)
    await tap_keys(pilot, "#pin-pane", MAINTAINER_PIN)
    await until(pilot, lambda: screen.overview is not None, what="the overview")
    return screen


def compact(text: str) -> str:
    """The screen's text without its spaces: an entry shows its characters in cells."""
    return "".join(text.split())


def line(app) -> str:
    return shown(app.screen.query_one(StatusLine))


# --- 7. every journey by taps alone -----------------------------------------------------

async def test_a_pickup_then_after_a_restart_a_deposit_and_a_forced_door_by_taps_alone(
        run, sim):
    on_duty(run.kiosk)
    parcel, code, c = stored_for(run, sim, "302")
    app = run.app()
    unlocks = sim.unlock_count(c.board, c.lock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await pickup_by_taps(pilot, "302", code)
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        assert sim.unlock_count(c.board, c.lock) == unlocks + 1  # the board was told
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.t("pickup.done") in shown(
            screen.query_one("#doors-message", Static)), what="done")
        await tap(pilot, "#done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
    assert state(run.kiosk, parcel) == "collected"

    kiosk = run.restart()
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready, what="kiosk ready")
        await tap(pilot, "#home-deposit")
        await until(pilot, lambda: isinstance(app.screen, DepositScreen))
        deposit = app.screen
        # The courier's id on the letter keyboard (letters, then the digits' layer).
        await tap_text(pilot, "#courier-pane", "c-1")
        await tap(pilot, "#courier-pane #kb-ok")
        await until(pilot, lambda: deposit.pane == "pin-pane", what="PIN pane")
        await tap_keys(pilot, "#pin-pane", COURIER_PIN)
        await until(pilot, lambda: deposit.pane == "unit-pane", what="unit pane")
        await tap_keys(pilot, "#unit-pane", "301")
        await until(pilot, lambda: deposit.pane == "size-pane"
                    and deposit.query("#size-S"), what="sizes")
        await tap(pilot, "#size-S")
        await until(pilot, lambda: deposit.pane == "door-pane", what="door open")
        d = deposit.slot.compartment
        assert sim.door_open(d.board, d.lock)
        sim.put_item(d.board, d.lock)
        sim.shut(d.board, d.lock)
        await until(pilot, lambda: deposit.pane == "unit-pane" and deposit.held is not None,
                    what="stored")
        await tap(pilot, "#deposit-finish")
        await until(pilot, lambda: deposit.pane == "round-pane", what="summary")
        await tap(pilot, "#round-done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        assert run.note("301", "pickup_code")["data"]["code"]

        # A maintainer forces a free door, the reason typed on the letter keyboard.
        maint = await maintainer_in(pilot)
        free = next(x for x in kiosk.lockers.compartments() if x.free)
        unlocks = sim.unlock_count()
        await tap(pilot, f"#cell-{free.id}")
        await until(pilot, lambda: maint.pane == "compartment-pane")
        await tap(pilot, "#do-force")
        await until(pilot, lambda: maint.pane == "reason-pane")
        await tap(pilot, "#reason-type")
        await until(pilot, lambda: isinstance(app.screen, KeyboardScreen), what="keyboard")
        await tap_text(pilot, "#keyboard-entry", "Hinge check")
        await tap(pilot, "#kb-ok")
        await until(pilot, lambda: app.screen is maint and maint.pane == "compartment-pane",
                    what="done")
        await until(pilot, lambda: sim.door_open(free.board, free.lock), what="forced open")
        assert sim.unlock_count() == unlocks + 1
        sim.shut(free.board, free.lock)
    [entry] = [e for e in kiosk.audit.entries() if e.action == "door.force"]
    assert (entry.actor, entry.subject, entry.reason) == (MAINTAINER, free.id, "Hinge check")


async def test_large_text_is_one_tap_away(run):
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready)
        assert not app.has_class("large-text")  # control
        await tap(pilot, "#home-large_text")
        await until(pilot, lambda: app.has_class("large-text"), what="large text")
        await tap(pilot, "#home-large_text")
        await until(pilot, lambda: not app.has_class("large-text"), what="normal text")


# --- 8. an honest screen ----------------------------------------------------------------

async def test_a_jammed_door_is_named_to_residents_and_cleared_once_it_opens(run, sim):
    parcel, code, c = stored_for(run, sim, "303")
    app = run.app()
    out_of_order = app.t("public.door_out_of_order", doors=c.id)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.status_updates > 0, what="a first status")
        # Control: nothing said before the jam.
        assert app.t("status.all_well") in line(app) and out_of_order not in line(app)
        sim.jam(c.board, c.lock)
        screen = await pickup_by_taps(pilot, "303", code)
        await until(pilot, lambda: screen.result is not None, what="an answer")
        assert [d.id for d in screen.result.failed] == [c.id]
        # The next status poll names it, in plain words, on every residents' screen.
        await until(pilot, lambda: out_of_order in line(app), what="out of order")
        await tap(pilot, "#done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        await until(pilot, lambda: out_of_order in line(app), what="out of order at home")
        # The lock works again; the resident comes back: no maintainer clears anything.
        sim.unjam(c.board, c.lock)
        screen = await pickup_by_taps(pilot, "303", code)
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: state(run.kiosk, parcel) == "collected")
        seen = app.status_updates
        await until(pilot, lambda: app.status_updates > seen and out_of_order not in line(app)
                    and app.t("status.all_well") in line(app), what="the line cleared")
    assert next(x for x in run.kiosk.lockers.compartments() if x.id == c.id).fault is None


async def test_the_uplink_and_the_queue_are_for_the_maintenance_screen_only(
        run, sim, broker):
    on_duty(run.kiosk)
    stored_for(run, sim, "301")
    broker.stop()  # the uplink goes down; events queue
    stored_for_later = run.kiosk.lockers.deposit(
        run.kiosk.lockers.courier_login("c-1", COURIER_PIN), "302", "S")
    run.kiosk.lockers.cancel(stored_for_later)
    sim.shut(stored_for_later.compartment.board, stored_for_later.compartment.lock)
    app = run.app()
    down, queued = app.t("status.uplink_down"), app.t("status.queued", n=0).split("0")[0]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready and app.status.uplink is False
                    and app.status.backlog > 0 and app.status_updates > 1,
                    what="the uplink seen down, events queued")
        residents = line(app)
        assert app.t("status.all_well") in residents
        assert down not in residents and queued.strip() not in residents
        # Control: the maintenance screen's line says both.
        await maintainer_in(pilot)
        await until(pilot, lambda: down in line(app) and app.t(
            "status.queued", n=app.status.backlog) in line(app), what="uplink on maintenance")


async def test_a_code_tapped_shows_its_last_character_a_moment_then_dots(run, sim):
    _, code, _ = stored_for(run, sim, "301")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready)
        await tap(pilot, "#home-pickup")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await tap_keys(pilot, "#pickup-unit", "301")
        await until(pilot, lambda: app.screen.pane == "pickup-entry")
        shown_code = app.screen.query_one("#code", EntryDisplay)
        await tap_keys(pilot, "#code-keypad", code[:2], ok=False)
        assert shown(shown_code).startswith(f"•  {code[1]}")  # the finger sees what it hit
        await until(pilot, lambda: not shown_code.revealing, what="masked")
        assert shown(shown_code).startswith("•  •  _")
        assert code[0] not in shown(shown_code) and code[1] not in shown(shown_code)


# --- 9. spoken prompts through ALSA -----------------------------------------------------

def speaking_run(tmp_path: Path, sim, broker, mock_factory, device: str) -> Run:
    path = write_config(tmp_path, sim.port, broker.port)
    path.write_text(path.read_text(encoding="utf-8")
                    + f'[speech]\nenabled = true\ndevice = "{device}"\n', encoding="utf-8")
    return seeded(Run(path, mock_factory, broker.port))


async def spoken_pickup(r: Run, sim) -> None:
    """A pickup by taps, each step's prompt waited for until aplay has ended (so none is
    cut short by the next)."""
    speaker = r.kiosk.speech
    parcel, code, c = stored_for(r, sim, "302")
    app = r.app()

    def ended(n: int):
        return lambda: speaker.played + speaker.failed >= n

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready)
        await tap(pilot, "#home-pickup")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await until(pilot, ended(1), what="the pickup prompt")
        await tap_keys(pilot, "#pickup-unit", "302")
        await until(pilot, ended(2), what="the code prompt")
        await tap_keys(pilot, "#code-keypad", code)
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        await until(pilot, ended(3), what="the door-open prompt")
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, ended(4), what="the done prompt")
    assert state(r.kiosk, parcel) == "collected"


async def test_a_pickups_prompts_are_played_through_alsa(tmp_path, sim, broker, mock_factory):
    r = speaking_run(tmp_path, sim, broker, mock_factory, "null")
    try:
        assert r.kiosk.speech is not None and r.kiosk.speech.device == "null"
        await spoken_pickup(r, sim)
        speaker = r.kiosk.speech
        assert speaker.spoken == 4 and speaker.played == 4 and speaker.failed == 0
    finally:
        r.close()


async def test_a_sound_device_that_does_not_exist_is_logged_and_the_kiosk_carries_on(
        tmp_path, sim, broker, mock_factory, caplog):
    r = speaking_run(tmp_path, sim, broker, mock_factory, "nosuchcard")
    try:
        await spoken_pickup(r, sim)  # the door opened, the parcel came out all the same
        speaker = r.kiosk.speech
        assert speaker.spoken == 4 and speaker.played == 0 and speaker.failed == 4
        assert "aplay -D nosuchcard exited 1" in caplog.text
    finally:
        r.close()


async def test_parking_names_the_member_by_pseudonym_never_by_unit(run):
    kiosk = run.kiosk
    kiosk.lockers.add_household("304", pseudonym="maple-fox", pin="75317531")
    kiosk.parking.add_member("m-duty", "joined parking", "", "304", "household")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready)
        await tap(pilot, "#home-parking")
        await until(pilot, lambda: isinstance(app.screen, ParkingScreen), what="parking")
        parking = app.screen
        await tap(pilot, "#park-login")
        await until(pilot, lambda: parking.pane == "park-unit")
        await tap_text(pilot, "#park-unit", "304")
        # Control: a unit on screen is seen (the unit typed, in its cells, before the login).
        assert "304" in compact(screen_text(pilot))
        await tap(pilot, "#park-unit #kb-ok")
        await until(pilot, lambda: parking.pane == "park-pin", what="PIN pane")
        await tap_keys(pilot, "#park-pin", "75317531")
        await until(pilot, lambda: parking.member is not None and parking.view is not None,
                    what="the member's page")
        await pilot.pause()
        note = str(app.screen.query_one("#title-bar").note)
        assert "maple-fox" in note and "304" not in note
        assert "304" not in compact(screen_text(pilot))
