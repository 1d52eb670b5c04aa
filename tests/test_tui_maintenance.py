"""The maintenance screen driven like a volunteer would, through the real duty roster,
maintenance service, audit log and parking register, the real serial driver and the pty
board simulator (the demo's composition, whose roster has v-amber on duty now)."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from kiosk.lockers.model import Compartment, DoorDidNotOpen, ParcelState
from tests.tui_setup import (
    demo_kiosk,
    latest_code,
    pick_maintainer,
    screen_text,
    shown,
    tap_name,
    type_text,
    type_unit,
    until,
)
from tui.i18n import translate
from tui.screens.home import HomeScreen
from tui.screens.maintenance import MaintenanceScreen
from tui.screens.pickup import PickupScreen
from tui.widgets.entry import EntryPane
from tui.widgets.keyboard import KeyboardScreen

SIZE = (80, 24)
ON_DUTY_PIN, OFF_DUTY_PIN = "24681024", "13579113"  # v-amber, v-birch (kiosk/setups/demo.py)
LANGUAGES = ["zh", "en"]


@pytest.fixture
def demo(tmp_path):
    with demo_kiosk(tmp_path / "demo", "en") as kiosk:
        yield kiosk


# --- setting the scene through the real services ----------------------------------------


def first_free(demo, size: str = "S") -> Compartment:
    return next(c for c in demo.kiosk.lockers.compartments() if c.size == size and c.free)


def jam_a_door(demo) -> Compartment:
    """A courier's deposit meets a lock that does not move: the compartment is jammed."""
    lockers = demo.kiosk.lockers
    c = first_free(demo)
    demo.sim.jam(c.board, c.lock)
    with pytest.raises(DoorDidNotOpen):
        lockers.deposit(lockers.courier_login("courier-a", "24682468"), "104", "S")
    return c


def parcel_in_review(demo) -> tuple[int, Compartment]:
    """A deposit cut short by a restart with the door still open: the kiosk cannot tell
    whether the parcel went in, so a maintainer must decide."""
    lockers = demo.kiosk.lockers
    slot = lockers.deposit(lockers.courier_login("courier-a", "24682468"), "203", "M")
    c = slot.compartment
    demo.sim.put_item(c.board, c.lock)
    report = lockers.reconcile()  # as at the next start-up
    assert str(slot.parcel_id) in report.in_review
    demo.sim.shut(c.board, c.lock)
    return slot.parcel_id, c


def audit_actions(demo) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.subject, e.reason) for e in demo.kiosk.audit.entries()
            if e.actor != "demo-setup"]


def wrong_pins(demo) -> int:
    return sum(1 for e in demo.kiosk.outbox.events()
               if e.type == "security.wrong_pin" and e.data["scope"] == "duty")


# --- driving the screen -------------------------------------------------------------------


def pin_message(app) -> str:
    return shown(app.screen.query_one("#pin-pane", EntryPane).query_one(".message", Static))


def who_message(app) -> str:
    return shown(app.screen.query_one("#who-message", Static))


def names_listed(screen: MaintenanceScreen) -> list[str]:
    return [str(b.label) for b in screen.query(".who")]


async def open_maintenance(pilot) -> MaintenanceScreen:
    await pilot.press("5")
    await until(pilot, lambda: isinstance(pilot.app.screen, MaintenanceScreen))
    return pilot.app.screen


async def enter_pin(pilot, pin: str) -> None:
    await type_text(pilot, pin)
    await pilot.press("enter")


async def log_in(pilot, pin: str = ON_DUTY_PIN, name: str = "v-amber") -> MaintenanceScreen:
    screen = await open_maintenance(pilot)
    await pick_maintainer(pilot, name)
    await enter_pin(pilot, pin)
    await until(pilot, lambda: screen.overview is not None, what="the overview")
    return screen


def cell_classes(screen: MaintenanceScreen, compartment: str) -> set[str]:
    return set(screen.query_one(f"#cell-{compartment}").classes)


async def give_reason(pilot, screen: MaintenanceScreen, choice: int = 0) -> None:
    await until(pilot, lambda: screen.pane == "reason-pane", what="the reason pane")
    await until(pilot, lambda: screen.query(f"#reason-{choice}"), what="common reasons")
    await pilot.click(f"#reason-{choice}")
    await pilot.click("#reason-ok")


# --- logging in ---------------------------------------------------------------------------


async def test_a_maintainer_taps_their_name_then_types_their_pin(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_maintenance(pilot)
        assert screen.pane == "who-pane"
        # Only those on duty are offered (the roster is public): v-birch is not.
        await until(pilot, lambda: names_listed(screen) == ["v-amber"], what="the names")
        await pick_maintainer(pilot, "v-amber")
        assert app.t("maintenance.pin_for", name="v-amber") in shown(
            screen.query_one("#pin-pane .prompt", Static))
        # v-birch's PIN is not v-amber's: checked for the name tapped, nothing else.
        await enter_pin(pilot, OFF_DUTY_PIN)
        await until(pilot, lambda: pin_message(app) == app.t("maintenance.pin_wrong"))
        # Shorter than any PIN set now (an old 4-digit one): refused, not counted.
        await enter_pin(pilot, "1234")
        await until(pilot, lambda: pin_message(app) == app.t("refusal.short_pin", digits=8),
                    what="told PINs are longer now")
        assert wrong_pins(demo) == 1
        await pilot.press("delete")  # start again
        await enter_pin(pilot, ON_DUTY_PIN)
        await until(pilot, lambda: screen.pane == "overview-pane", what="logged in")
        assert screen.maintainer == "v-amber"
        assert "v-amber" in app.screen.query_one("#title-bar").note


async def test_a_name_off_the_shift_is_told_so_before_any_pin(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_maintenance(pilot)
        await until(pilot, lambda: names_listed(screen) == ["v-amber"], what="the names")
        # Meanwhile the shift changes hands (elsewhere, through the same roster).
        demo.kiosk.duty.handover("v-amber", "v-birch", "called away")
        await tap_name(pilot, "v-amber")
        await until(pilot, lambda: app.t("maintenance.off_shift") in who_message(app),
                    what="not on duty explained")
        assert app.t("maintenance.on_duty_now", names="v-birch") in who_message(app)
        assert screen.pane == "who-pane" and screen.candidate is None
        assert wrong_pins(demo) == 0  # no PIN asked for, nothing counted
        await until(pilot, lambda: names_listed(screen) == ["v-birch"], what="names read")
        # Control: the one on duty now gets the PIN pane, by a digit key too.
        await pilot.press("1")
        await until(pilot, lambda: screen.pane == "pin-pane" and screen.candidate == "v-birch")
        await enter_pin(pilot, OFF_DUTY_PIN)
        await until(pilot, lambda: screen.maintainer == "v-birch", what="logged in")


async def test_wrong_pins_earn_a_wait_that_is_counted_down(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_maintenance(pilot)
        await pick_maintainer(pilot, "v-amber")
        for attempt in range(3):
            await enter_pin(pilot, "99999999")
            await until(pilot, lambda n=attempt + 1: wrong_pins(demo) == n)
            await until(pilot, lambda: not screen._busy)
        await until(pilot, lambda: app.t("pickup.wait", s=5) in pin_message(app),
                    what="the wait shown")
        # While it runs, even the right PIN is refused on screen, and no guess is spent.
        await enter_pin(pilot, ON_DUTY_PIN)
        await pilot.pause(0.2)
        assert wrong_pins(demo) == 3
        assert screen.maintainer is None
        assert any(app.t("pickup.wait", s=s) in pin_message(app) for s in range(1, 6))


async def test_the_roster_is_public(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_maintenance(pilot)
        await pilot.click("#pin-roster")
        await until(pilot, lambda: app.t("roster.now") in shown(
            screen.query_one("#roster-text", Static)), what="the roster")
        text = shown(screen.query_one("#roster-text", Static))
        now_line = next(line for line in text.splitlines() if app.t("roster.now") in line)
        assert "v-amber" in now_line
        assert "v-birch" in text and "v-cedar" in text
        # Reading the roster needs no PIN; handing over does.
        assert not screen.query(".handover")
        await pilot.click("#roster-back")
        assert screen.pane == "who-pane"


# --- the overview -------------------------------------------------------------------------


async def test_the_grid_shows_each_state(demo):
    jammed = jam_a_door(demo)
    review_parcel, review = parcel_in_review(demo)
    demo.kiosk.maintenance.set_in_service("v-amber", "A16", False, "hinge broken")
    demo.sim.force_open(1, 16)  # a door opened without a command
    demo.sim.put_item(1, 16)
    occupied = next(c for c in demo.kiosk.lockers.compartments()
                    if c.parcel_state == ParcelState.STORED)
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await until(pilot, lambda: "is-open" in cell_classes(screen, "B16"), what="grid")
        assert "is-jammed" in cell_classes(screen, jammed.id)
        assert "is-in-review" in cell_classes(screen, review.id)
        assert "is-out-of-service" in cell_classes(screen, "A16")
        assert "is-occupied" in cell_classes(screen, occupied.id)
        assert "is-free" in cell_classes(screen, "B02")
        # Not by colour alone: each cell carries its state's mark.
        assert shown(screen.query_one(f"#cell-{jammed.id}", Static)).endswith(
            app.t("mark.jammed"))
        assert shown(screen.query_one("#cell-A16", Static)).endswith(
            app.t("mark.out_of_service"))
        # The compartment in review tells why, in words.
        await pilot.click(f"#cell-{review.id}")
        info = shown(screen.query_one("#comp-info", Static))
        assert app.t("comp.review", parcel=review_parcel,
                     note=app.t("note.open_after_restart")) in info
        assert app.t("comp.sensor", sensor=app.t("comp.item")) in info

        # A board that stops answering: its compartments show offline.
        demo.sim.set_silent(1, True)
        await until(pilot, lambda: "is-offline" in cell_classes(screen, "B02"), timeout_s=8,
                    what="board B offline")
        assert "is-offline" not in cell_classes(screen, "A03")


async def pick_up(pilot, demo, unit: str, *, take: bool) -> list[Compartment]:
    """A resident's pickup at the kiosk, the parcel taken out or left inside when the door
    shuts; back home after. The compartments it opened."""
    app = pilot.app
    code = latest_code(demo, unit)
    await pilot.press("1")
    await until(pilot, lambda: isinstance(app.screen, PickupScreen))
    await type_unit(pilot, unit)
    await type_text(pilot, code)
    await pilot.press("enter")
    await until(pilot, lambda: app.screen.result is not None, what="doors open")
    opened = list(app.screen.result.opened)
    assert opened
    for c in opened:
        if take:
            demo.sim.take_item(c.board, c.lock)
        demo.sim.shut(c.board, c.lock)
    message = app.screen.query_one("#doors-message", Static)
    if take:
        await until(pilot, lambda: app.t("pickup.done") in shown(message), what="done")
    else:
        await until(pilot, lambda: app.screen.left, what="told it is still inside")
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
    return opened


async def test_a_parcel_left_inside_shows_left_in_on_the_grid(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready)
        left = await pick_up(pilot, demo, "202", take=False)
        taken = await pick_up(pilot, demo, "303", take=True)  # control: a normal pickup
        screen = await log_in(pilot)
        for c in left:
            await until(pilot, lambda c=c: "is-left-in" in cell_classes(screen, c.id),
                        what=f"{c.id} left in")
            assert "is-jammed" not in cell_classes(screen, c.id)
            assert shown(screen.query_one(f"#cell-{c.id}", Static)).endswith(
                app.t("mark.left_in"))
        for c in taken:
            assert "is-free" in cell_classes(screen, c.id)
            assert "is-left-in" not in cell_classes(screen, c.id)
        # The legend names it, in the grid's own colour.
        assert screen.query(".chip.is-left-in")
        assert f"{app.t('mark.left_in')} {app.t('grid.left_in')}" in screen_text(pilot)
        # Chosen, the compartment says what it is in words too.
        await pilot.click(f"#cell-{left[0].id}")
        info = shown(screen.query_one("#comp-info", Static))
        assert app.t("comp.state", state=app.t("grid.left_in")) in info


async def test_devices_uplink_and_faults_are_listed(demo):
    jammed = jam_a_door(demo)
    demo.world.set_tamper(True)
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await until(pilot, lambda: len(screen.overview.faults) == 2, what="two faults")
        devices = shown(screen.query_one("#devices", Static))
        assert app.t("maintenance.board", label="A", board=0, errors=0,
                     state=app.t("maintenance.board_online")) in devices
        assert "timeouts 0 · bad frames 0" in devices
        assert "tamper open" in devices and "buzzer" in devices
        assert app.t("maintenance.uplink_none", n=demo.kiosk.outbox.pending_count()) \
            in devices
        titles = [shown(line) for line in screen.query(".fault-line")]
        assert titles == [app.t("runbook.door_jammed.title", door=jammed.id),
                          app.t("runbook.cabinet_tamper.title")]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_each_fault_opens_its_runbook(tmp_path, language):
    with demo_kiosk(tmp_path / "demo", language) as demo:
        jammed = jam_a_door(demo)
        app = demo.app
        t = app.t
        async with app.run_test(size=SIZE) as pilot:
            screen = await log_in(pilot)
            await until(pilot, lambda: screen.query("#fault-0"), what="a fault")
            await pilot.click("#fault-0")
            await until(pilot, lambda: screen.pane == "runbook-pane")
            text = shown(screen.query_one("#runbook-text", Static))
            assert text.startswith(t("runbook.door_jammed.title", door=jammed.id))
            assert t("runbook.check") in text and t("runbook.fix") in text
            assert t("runbook.door_jammed.check") in text
            assert t("runbook.door_jammed.fix") in text
            assert t("runbook.door_jammed.title", door=jammed.id) in screen_text(pilot)
            assert translate(language, "runbook.check") in screen_text(pilot)
            await pilot.click("#runbook-back")
            assert screen.pane == "overview-pane"


# --- actions ------------------------------------------------------------------------------


async def test_force_door_needs_a_reason_then_opens_and_is_audited(demo):
    app = demo.app
    sim = demo.sim
    c = first_free(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click(f"#cell-{c.id}")
        await until(pilot, lambda: screen.pane == "compartment-pane")
        unlocks = sim.unlock_count()
        await pilot.click("#do-force")
        await until(pilot, lambda: screen.pane == "reason-pane")
        assert shown(screen.query_one("#reason-action", Static)) == app.t(
            "action.force_door", subject=c.id)
        # No reason, no action: nothing logged, no lock pulsed.
        await pilot.click("#reason-ok")
        assert shown(screen.query_one("#reason-message", Static)) == app.t("reason.required")
        await type_text(pilot, "   ")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert sim.unlock_count() == unlocks and audit_actions(demo) == []
        # A reason typed on a physical keyboard: the typing goes on in the keyboard
        # screen, whose OK is the action's.
        await type_text(pilot, "hinge check")
        await until(pilot, lambda: isinstance(app.screen, KeyboardScreen))
        await pilot.press("enter")
        await until(pilot, lambda: screen.pane == "compartment-pane", what="done")
        assert sim.door_open(c.board, c.lock)
        assert sim.unlock_count() == unlocks + 1
        assert audit_actions(demo) == [("v-amber", "door.force", c.id, "hinge check")]
        assert shown(screen.query_one("#comp-message", Static)) == app.t(
            "done.force_door", subject=c.id)
        await until(pilot, lambda: app.t("door.open") in shown(
            screen.query_one("#comp-info", Static)), what="the door shown open")
        # Shut again by hand: no tamper alarm, the kiosk opened it on purpose.
        sim.shut(c.board, c.lock)
    assert "door.tamper" not in [e.type for e in demo.kiosk.outbox.events()]


async def test_a_forced_door_that_does_not_open_is_said_so(demo):
    app = demo.app
    c = first_free(demo)
    demo.sim.jam(c.board, c.lock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click(f"#cell-{c.id}")
        await pilot.click("#do-force")
        await give_reason(pilot, screen, 1)
        await until(pilot, lambda: shown(screen.query_one("#comp-message", Static)) == app.t(
            "failed.force_door", subject=c.id), timeout_s=8, what="failure explained")
    [(_, action, subject, reason)] = audit_actions(demo)
    assert (action, subject, reason) == ("door.force", c.id, app.t("reason.door_repair"))


async def test_out_of_service_and_back_updates_the_grid_and_free_counts(demo):
    app = demo.app
    lockers = demo.kiosk.lockers
    c = first_free(demo, "L")
    free_before = lockers.free_counts()["L"]
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click(f"#cell-{c.id}")
        await pilot.click("#do-service")
        await give_reason(pilot, screen, 1)
        await until(pilot, lambda: "is-out-of-service" in cell_classes(screen, c.id),
                    what="grid updated")
        assert lockers.free_counts()["L"] == free_before - 1
        free_line = shown(screen.query_one("#free-line", Static))
        assert f"{app.t('size.L')} {free_before - 1}" in free_line
        assert str(screen.query_one("#do-service").label) == app.t("comp.in_service")
        await pilot.click("#do-service")
        await give_reason(pilot, screen, 3)
        await until(pilot, lambda: "is-free" in cell_classes(screen, c.id))
        assert lockers.free_counts()["L"] == free_before
    assert [a[1] for a in audit_actions(demo)] == ["compartment.out_of_service",
                                                   "compartment.in_service"]


async def test_clear_a_jammed_fault(demo):
    app = demo.app
    c = jam_a_door(demo)
    demo.sim.unjam(c.board, c.lock)  # the lock was repaired
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click(f"#cell-{c.id}")
        assert screen.query_one("#do-clear").display
        await pilot.click("#do-clear")
        await give_reason(pilot, screen)
        await until(pilot, lambda: "is-free" in cell_classes(screen, c.id), what="cleared")
        assert not screen.query_one("#do-clear").display
    assert next(x for x in demo.kiosk.lockers.compartments() if x.id == c.id).free
    assert audit_actions(demo)[-1][:3] == ("v-amber", "compartment.fault_cleared", c.id)


async def test_resolve_a_parcel_in_review(demo):
    app = demo.app
    parcel, c = parcel_in_review(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        assert str(screen.query_one("#to-review").label) == app.t("maintenance.review", n=1)
        await pilot.click("#to-review")
        await until(pilot, lambda: screen.query(f"#review-{parcel}"), what="the list")
        assert not screen.query_one("#review-outcomes").display
        await pilot.click(f"#review-{parcel}")
        assert screen.query_one("#review-outcomes").display
        await pilot.click("#outcome-stored")
        assert shown(screen.query_one("#reason-action", Static)) == app.t(
            "action.resolve_review", subject=parcel, outcome=app.t("review.stored"))
        await give_reason(pilot, screen)
        await until(pilot, lambda: shown(screen.query_one("#review-message", Static)) ==
                    app.t("done.resolve_review", subject=parcel), what="settled")
        await until(pilot, lambda: not screen.query(f"#review-{parcel}"))
        await pilot.click("#review-back")
        await until(pilot, lambda: "is-occupied" in cell_classes(screen, c.id))
    assert demo.kiosk.lockers.parcel(parcel)["state"] == ParcelState.STORED
    assert audit_actions(demo)[-1][1:3] == ("parcel.review_resolved", str(parcel))


async def test_reconcile_shows_the_mismatches(demo):
    app = demo.app
    stray = first_free(demo, "M")
    demo.sim.put_item(stray.board, stray.lock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click("#to-reconcile")
        await give_reason(pilot, screen)
        await until(pilot, lambda: screen.pane == "reconcile-pane", what="reconciled")
        text = shown(screen.query_one("#reconcile-text", Static))
        assert app.t("reconcile.found", n=1) in text
        assert app.t("reconcile.item_in_free", door=stray.id) in text
    entry = demo.kiosk.audit.entries()[-1]
    assert (entry.actor, entry.action, entry.reason) == (
        "v-amber", "lockers.reconcile", app.t("reason.reconcile_routine"))
    assert entry.data["mismatches"] == [{"compartment": stray.id,
                                         "problem": "item in a free compartment"}]


async def test_a_parking_spot_out_of_service_and_back(tmp_path):
    with demo_kiosk(tmp_path / "demo", "en", parking_sample=True) as demo:
        await _spot_out_of_service_and_back(demo)


async def _spot_out_of_service_and_back(demo):
    app = demo.app
    parking = demo.kiosk.parking
    second = parking.spots()[1].spot
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click("#to-spots")
        await until(pilot, lambda: screen.query("#spot-1"), what="the spots")
        await pilot.click("#spot-1")
        assert shown(screen.query_one("#reason-action", Static)) == app.t(
            "action.spot_out", subject=second)
        await give_reason(pilot, screen, 1)
        await until(pilot, lambda: parking.spot(second).state == "out_of_service")
        await until(pilot, lambda: app.t("maintenance.spot_out_of_service") in shown(
            screen.query_one("#spot-1", Static)), what="the list updated")
        await pilot.click("#spot-1")
        await give_reason(pilot, screen, 3)
        await until(pilot, lambda: parking.spot(second).state == "in_service")
    assert [a[1:3] for a in audit_actions(demo) if a[0] == "v-amber"] == [
        ("parking.spot_changed", second)] * 2


async def test_handover_ends_the_session_and_the_next_volunteer_takes_over(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click("#to-roster")
        await until(pilot, lambda: screen.query(".handover"), what="handover choices")
        names = [str(b.label) for b in screen.query(".handover")]
        assert names == ["v-birch", "v-cedar"]
        await pilot.click("#handover-0")
        await give_reason(pilot, screen, 2)
        await until(pilot, lambda: screen.pane == "who-pane", what="logged out")
        assert screen.maintainer is None
        assert who_message(app) == app.t("done.handover", subject="v-birch")
        await until(pilot, lambda: names_listed(screen) == ["v-birch"], what="names read")
        await pick_maintainer(pilot, "v-birch")
        await enter_pin(pilot, OFF_DUTY_PIN)
        await until(pilot, lambda: screen.maintainer == "v-birch")
    assert demo.kiosk.duty.on_duty().maintainers == ("v-birch",)
    assert audit_actions(demo)[-1][:3] == ("v-amber", "duty.handover", "v-birch")


async def test_an_action_after_the_shift_was_handed_over_is_refused(demo):
    app = demo.app
    c = first_free(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await log_in(pilot)
        await pilot.click(f"#cell-{c.id}")
        await pilot.click("#do-force")
        await until(pilot, lambda: screen.query("#reason-0"))
        await pilot.click("#reason-0")
        # Meanwhile the shift changes hands (elsewhere, through the same roster).
        demo.kiosk.duty.handover("v-amber", "v-cedar", "called away")
        unlocks = demo.sim.unlock_count()
        await pilot.click("#reason-ok")
        await until(pilot, lambda: screen.pane == "who-pane", what="logged out")
        assert who_message(app) == app.t("maintenance.session_ended")
        assert demo.sim.unlock_count() == unlocks
    assert "door.force" not in [a[1] for a in audit_actions(demo)]


async def test_the_demo_help_shows_the_on_duty_pin(demo):
    app = demo.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await until(pilot, lambda: ON_DUTY_PIN in screen_text(pilot), what="help")
        line = next(x for x in screen_text(pilot).splitlines() if ON_DUTY_PIN in x)
        assert app.t("demo.on_duty", name="v-amber") in line
        assert OFF_DUTY_PIN not in screen_text(pilot)


async def test_the_session_ends_on_idle_like_the_rest(tmp_path):
    with demo_kiosk(tmp_path / "demo", "en", idle_s=1.5) as demo:
        app = demo.app
        async with app.run_test(size=SIZE) as pilot:
            screen = await log_in(pilot)
            assert screen.maintainer == "v-amber"
            await until(pilot, lambda: isinstance(app.screen, HomeScreen), timeout_s=5,
                        what="idle reset")
            again = await open_maintenance(pilot)
            assert again.pane == "who-pane" and again.maintainer is None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_overview_speaks_both_languages(tmp_path, language):
    with demo_kiosk(tmp_path / "demo", language) as demo:
        app = demo.app
        t = app.t
        async with app.run_test(size=SIZE) as pilot:
            await log_in(pilot)
            await until(pilot, lambda: t("maintenance.no_faults") in screen_text(pilot))
            text = screen_text(pilot)
            for words in (t("maintenance.logged_in", name="v-amber"), t("grid.free"),
                          t("maintenance.reconcile"), t("maintenance.logout"),
                          t("maintenance.board_online")):
                assert words in text, words
            await pilot.click("#logout")
            await until(pilot, lambda: isinstance(app.screen, HomeScreen))


# --- snapshots ----------------------------------------------------------------------------


class TestMaintenanceSnapshots:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_overview(self, snap_compare, tmp_path, language):
        with demo_kiosk(tmp_path / "demo", language) as demo:
            jam_a_door(demo)
            parcel_in_review(demo)
            demo.kiosk.maintenance.set_in_service("v-amber", "A16", False, "hinge broken")
            demo.sim.force_open(1, 16)

            async def run_before(pilot):
                screen = await log_in(pilot)
                await until(pilot, lambda: len(screen.overview.faults) == 3
                            and pilot.app.status_updates > 0
                            and "B16" in shown(pilot.app.screen.query_one("StatusLine"))
                            # The status LEDs follow the health poll that found B16.
                            and screen.overview.peripherals.get("led_fault") == "on",
                            what="settled")
                await until(pilot, lambda: not any(
                    w.is_running for w in pilot.app.workers
                    if w.group in ("status", "overview")))
                # The line's queue is the outbox's as it is now, not a probe's from before
                # the last event (the health poll's, say) was written.
                await until(pilot, lambda: pilot.app.status.backlog
                            == demo.kiosk.outbox.pending_count(), what="queue settled")
                await pilot.pause(0.1)

            assert snap_compare(demo.app, terminal_size=SIZE, run_before=run_before)
