"""The locker journeys of issue 11, by touch and keys, on the composition ``kiosk run``
builds (``production_kiosk``): the real serial driver on the pty board simulator, a real
broker, the screen driven with Pilot, and a restart in the middle of each."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from kiosk.admin import Admin
from kiosk.backoff import TooManyAttempts
from kiosk.config import load_config
from kiosk.lockers.model import WrongCode, WrongPin
from kiosk.setups.production import production_kiosk
from kiosk.setups.screen import build_app
from tests.mqtt_broker import Collector, wait_until
from tests.tui_setup import courier_id_typed, shown, tap, type_text, type_unit, until
from tui.screens.collect import CollectScreen
from tui.screens.deposit import DepositScreen
from tui.screens.home import HomeScreen
from tui.screens.parking import ParkingScreen
from tui.screens.pickup import PickupScreen
from tui.screens.send import SendScreen
from tui.widgets.keyboard import KeyboardScreen

SIZE = (100, 32)
COURIER_PIN = "12341234"
PINS = {"301": "24612461", "302": "24622462", "303": "24632463"}  # a household's PIN is its own


def write_config(tmp_path: Path, port: str, broker_port: int, more_compartments: str = "",
                 **lockers: object) -> Path:
    """A production config as an installer writes it: board 0, eight small doors (and
    ``more_compartments``, TOML ``[[compartments]]`` tables)."""
    path = tmp_path / "kiosk.toml"
    extra = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in lockers.items())
    path.write_text(f"""
community_id = "maple-court"
kiosk_id = "gate-east"
data_dir = "{tmp_path / 'state'}"
[board]
port = "{port}"
timeout_s = 0.1
confirm_s = 0.5
heartbeat_s = 0.2
[[compartments]]
board = 0
locks = "1-8"
size = "S"
[gpio]
pin_factory = "mock"
led_ok = 5
led_fault = 6
tamper = 27
[mqtt]
host = "127.0.0.1"
port = {broker_port}
[lockers]
free_attempts = 3
backoff_base_s = 5
{extra}{more_compartments}""", encoding="utf-8")
    return path


class Run:
    """``kiosk run`` on one data directory, stopped and started again as a restart is."""

    def __init__(self, config_path: Path, pins, broker_port: int, clock=None):
        self.config = load_config(config_path)
        self.pins = pins
        self.clock = clock  # the domain's time (None: the real one, as ``kiosk run``)
        # What the households' phones receive: their private topics on the real broker.
        self.seen = Collector(broker_port, ["community/#"])
        self.seen.wait_subscribed()
        self.kiosk = production_kiosk(self.config, pins, clock=clock)

    def notes(self, unit: str, kind: str | None = None) -> list[dict]:
        return [m.json() for m in self.seen.messages(f"/notify/{unit}")
                if kind is None or m.json()["kind"] == kind]

    def note(self, unit: str, kind: str, n: int = 1) -> dict:
        """The household's ``n``-th message of ``kind``, once the broker has it."""
        assert wait_until(lambda: len(self.notes(unit, kind)) >= n, timeout=15), \
            f"no {kind} for {unit}"
        return self.notes(unit, kind)[n - 1]

    def restart(self):
        self.kiosk.close()
        self.kiosk = production_kiosk(self.config, self.pins, clock=self.clock)
        return self.kiosk

    def app(self):
        return build_app(self.kiosk, idle_s=600.0, done_s=600.0, door_poll_s=0.02)

    def close(self):
        self.kiosk.close()
        self.seen.stop()


def seeded(r: Run) -> Run:
    """The households and the courier every journey here starts with."""
    lockers = r.kiosk.lockers
    for unit in ("301", "302", "303"):
        lockers.add_household(unit, pseudonym=f"h-{unit}", pin=PINS[unit])
    lockers.add_courier("c-1", COURIER_PIN, pseudonym="c-one")
    return r


def started(tmp_path: Path, sim, broker, mock_factory, more_compartments: str = "",
            **lockers: object) -> Run:
    """``kiosk run`` with households 301-303 (each with its PIN) and courier c-1."""
    return seeded(Run(write_config(tmp_path, sim.port, broker.port, more_compartments,
                                   **{"kiosk_gap_s": 0.5, **lockers}),
                      mock_factory, broker.port))


@pytest.fixture
def run(tmp_path, sim, broker, mock_factory):
    r = started(tmp_path, sim, broker, mock_factory)
    yield r
    r.close()


def state(kiosk, parcel_id: int) -> str:
    return kiosk.lockers.parcel(parcel_id)["state"]


def stored_for(run, sim, unit: str, waybill: str = "") -> tuple[int, str, object]:
    """A courier's parcel, put in as a hand on the simulator: (id, code, compartment)."""
    lockers = run.kiosk.lockers
    before = len(run.notes(unit, "pickup_code"))
    slot = lockers.deposit(lockers.courier_login("c-1", COURIER_PIN), unit, "S", waybill=waybill)
    c = slot.compartment
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    lockers.finish(slot)
    return slot.parcel_id, run.note(unit, "pickup_code", before + 1)["data"]["code"], c


async def courier_in(pilot, pin: str = COURIER_PIN) -> None:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, DepositScreen))
    await courier_id_typed(pilot, "c-1")
    await type_text(pilot, pin)
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.pane == "unit-pane", what="unit pane")


async def pickup_with(pilot, unit: str, code: str) -> None:
    await pilot.press("1")
    await until(pilot, lambda: isinstance(pilot.app.screen, PickupScreen))
    await type_unit(pilot, unit)
    await type_text(pilot, code)
    await pilot.press("enter")


# --- 1. send and collect --------------------------------------------------------------

async def test_send_with_a_scanned_waybill_restart_then_a_courier_collects_and_the_sender_is_told(
        run, sim, broker):
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, SendScreen))
        for key in "302":
            await pilot.click(f"#send-unit-pane #key-{key}")
        await pilot.click("#send-unit-pane #key-ok")
        await type_text(pilot, PINS["302"])
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pane == "send-what-pane", what="what pane")
        # Nothing said yet: a courier needs something.
        await pilot.click("#send-continue")
        assert app.t("send.what_needed") in shown(app.screen.query_one("#send-what-message"))
        await pilot.click("#send-waybill")
        await until(pilot, lambda: isinstance(app.screen, KeyboardScreen), what="keyboard")
        await type_text(pilot, "JD0012345")  # a USB scanner types, then Enter
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SendScreen)
                    and app.screen.pane == "send-what-pane", what="back from the keyboard")
        assert "JD0012345" in shown(app.screen.query_one("#send-what"))
        await pilot.click("#send-continue")
        await until(pilot, lambda: app.screen.pane == "size-pane", what="size pane")
        await pilot.press("s")
        await until(pilot, lambda: app.screen.pane == "door-pane", what="door open")
        c = app.screen.slot.compartment
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.screen.pane == "send-done-pane", what="sent")
    [sent] = run.kiosk.lockers.sent_by("302")
    assert sent["waybill"] == "JD0012345"

    kiosk = run.restart()  # the kiosk stops and starts before the courier comes
    app = run.app()
    if True:
        async with app.run_test(size=SIZE) as pilot:
            await courier_in(pilot)
            # The courier's session shows what waits to be taken away.
            await until(pilot, lambda: app.t("deposit.collect_n", n=1) in str(
                app.screen.query_one("#deposit-collect").label), what="one to collect")
            await pilot.click("#deposit-collect")
            await until(pilot, lambda: isinstance(app.screen, CollectScreen))
            await until(pilot, lambda: "JD0012345" in shown(app.screen.query_one(
                "#collect-list")), what="the parcel to take away")
            await pilot.click("#collect-open")
            await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
            assert state(kiosk, sent["id"]) == "pickup_pending"
            sim.take_item(c.board, c.lock)
            sim.shut(c.board, c.lock)
            await until(pilot, lambda: app.t("collect.done", n=1) in shown(
                app.screen.query_one("#collect-message")), what="collected")
            assert state(kiosk, sent["id"]) == "collected"
        # The sender hears that it left, on the household's private topic.
        note = run.note("302", "parcel_left")
        assert note["data"]["waybill"] == "JD0012345"
        assert kiosk.lockers.collectable() == []


async def test_a_sender_takes_a_parcel_back_before_collection(run, sim):
    kiosk = run.kiosk
    slot = kiosk.lockers.send(kiosk.lockers.resident_login("301", PINS["301"]), "S",
                              destination="Aunt Li, 12 Elm Road")
    c = slot.compartment
    sim.put_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    kiosk.lockers.finish(slot)
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, SendScreen))
        await type_text(pilot, "301")
        await pilot.press("enter")
        await type_text(pilot, PINS["301"])
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.pane == "send-what-pane")
        await pilot.click("#send-mine")
        await until(pilot, lambda: app.screen.query(".take-back"), what="the sent parcel")
        await pilot.click(".take-back")
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.t("send.taken_back") in shown(
            app.screen.query_one("#send-mine-message")), what="taken back")
    assert state(kiosk, slot.parcel_id) == "cancelled"
    assert "parcel.send_cancelled" in [e.type for e in kiosk.outbox.events()]
    assert kiosk.lockers.collectable() == []


# --- 3. a compartment is offered only when empty ---------------------------------------

async def test_a_parcel_left_inside_stays_its_households_and_its_door_is_offered_again(
        run, sim):
    kiosk = run.kiosk
    parcel, code, c = stored_for(run, sim, "302")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, PickupScreen))
        await type_unit(pilot, "302")
        await type_text(pilot, code)
        await pilot.press("enter")
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open")
        sim.shut(c.board, c.lock)  # shut without taking the parcel
        message = app.screen.query_one("#doors-message", Static)
        await until(pilot, lambda: app.t("pickup.left_inside", doors=c.id) in shown(message),
                    what="told it is still inside")
        assert app.t("pickup.done") not in shown(message)
        assert state(kiosk, parcel) == "stored"
        assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).fault \
            == "left_inside"
        # The maintainers see it among the faults.
        assert ("sensor.item_inside", {"compartment": c.id, "fault": "left_inside"}) \
            in kiosk.health.faults()
        # A courier is never given that compartment meanwhile.
        other = kiosk.lockers.deposit(kiosk.lockers.courier_login("c-1", COURIER_PIN), "303", "S")
        assert other.compartment.id != c.id
        kiosk.lockers.cancel(other)
        sim.shut(other.compartment.board, other.compartment.lock)
        # The door again, and this time the parcel comes out.
        await tap(pilot, "#pickup-again")
        await until(pilot, lambda: sim.door_open(c.board, c.lock), what="door open again")
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: app.t("pickup.done") in shown(message), what="done")
    assert state(kiosk, parcel) == "collected"
    assert next(x for x in kiosk.lockers.compartments() if x.id == c.id).fault is None
    assert not [f for f in kiosk.health.faults() if f[0] == "sensor.item_inside"]
    # Its code is spent now, and would never open another household's parcel.
    with pytest.raises(WrongCode):
        kiosk.lockers.pickup(code, "302")


def test_an_item_found_in_a_free_compartment_is_never_offered(run, sim):
    kiosk = run.kiosk
    first = next(c for c in kiosk.lockers.compartments() if c.free)
    sim.force_open(first.board, first.lock)  # a forced door; something put in
    sim.put_item(first.board, first.lock)
    sim.shut(first.board, first.lock)
    slot = kiosk.lockers.deposit(kiosk.lockers.courier_login("c-1", COURIER_PIN), "301", "S")
    assert slot.compartment.id != first.id
    assert next(c for c in kiosk.lockers.compartments() if c.id == first.id).fault \
        == "item_inside"
    assert "sensor.item_inside" in [e.type for e in kiosk.outbox.events()]
    # Control: the same compartment, emptied and cleared, is offered again.
    kiosk.lockers.cancel(slot)
    sim.shut(slot.compartment.board, slot.compartment.lock)
    sim.take_item(first.board, first.lock)
    with kiosk.store.step() as db:
        kiosk.doors.clear_fault(db, first.id)
    again = kiosk.lockers.deposit(kiosk.lockers.courier_login("c-1", COURIER_PIN), "301", "S")
    assert again.compartment.id == first.id


def test_a_pickup_open_at_a_restart_is_settled_when_the_door_shuts(run, sim):
    parcel, code, c = stored_for(run, sim, "303")
    run.kiosk.lockers.pickup(code, "303")
    assert sim.door_open(c.board, c.lock)
    kiosk = run.restart()  # the screen is gone; the resident is still at the door
    assert state(kiosk, parcel) == "pickup_pending"
    sim.take_item(c.board, c.lock)
    sim.shut(c.board, c.lock)
    assert wait_until(lambda: state(kiosk, parcel) == "collected", timeout=15)


# --- 4. back-off: a flood of wrong codes, then a valid one ------------------------------

async def test_a_flood_of_wrong_codes_for_others_keeps_a_resident_waiting_at_most_the_cap(
        run, sim):
    kiosk = run.kiosk
    _, code, c = stored_for(run, sim, "302")
    _, victim_code, _ = stored_for(run, sim, "303")
    lockers = kiosk.lockers
    waits = []
    for i in range(400):  # as fast as a script can, for other households
        try:
            lockers.pickup("ZZZZZZ", ("301", "303")[i % 2])
        except (WrongCode, TooManyAttempts) as refused:
            waits.append(refused.wait_s)
    assert max(waits) > lockers.rules.kiosk_gap_s  # 303's own wait grew (control)
    kiosk = run.restart()  # counters are in SQLite: the flood is not forgiven
    with pytest.raises(TooManyAttempts) as targeted:
        kiosk.lockers.pickup(victim_code, "303")
    assert targeted.value.wait_s > kiosk.lockers.rules.kiosk_gap_s

    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await pickup_with(pilot, "302", code)
        opened = await past_the_kiosk_cap(pilot, code)
        assert [d.id for d in opened] == [c.id]
    rows = kiosk.store.query("SELECT scope, failures FROM attempts")
    assert {r["scope"] for r in rows} >= {"pickup:303", "pickup:301"}
    assert "pickup:302" not in {r["scope"] for r in rows}


async def past_the_kiosk_cap(pilot, code: str) -> list:
    """A pickup just submitted: typed again after each wait of the kiosk-wide cap (each
    at most its gap, 0.5 s here; ≤ 10 s always) until the doors open; the doors."""
    screen = pilot.app.screen
    while screen.result is None:
        await until(pilot, lambda: not screen._busy, what="an answer")
        if screen.result is not None:
            break
        assert screen.countdown.seconds_left <= 1  # the cap's wait, not a unit's
        await until(pilot, lambda: not screen.countdown.waiting, what="the wait over")
        await type_text(pilot, code)
        await pilot.press("enter")
        await until(pilot, lambda: screen._busy or screen.result is not None)
    return screen.result.opened


async def test_a_flood_of_wrong_pins_for_one_courier_keeps_only_that_courier_waiting(run):
    """Wrong PINs typed for courier c-1 until its own wait passes the kiosk-wide cap's;
    a restart; c-1 is still held out, even with its right PIN, while courier c-2 logs in
    on the screen after at most the cap's wait."""
    lockers = run.kiosk.lockers
    lockers.add_courier("c-2", "56785678")
    wait_s = 0.0
    while wait_s <= lockers.rules.kiosk_gap_s:
        try:
            lockers.courier_login("c-1", "00000000")
        except (WrongPin, TooManyAttempts) as refused:
            wait_s = refused.wait_s
    kiosk = run.restart()
    with pytest.raises(TooManyAttempts) as held:  # control: the flood is not forgiven
        kiosk.lockers.courier_login("C-1", COURIER_PIN)
    assert held.value.wait_s > kiosk.lockers.rules.kiosk_gap_s
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, DepositScreen))
        deposit = app.screen
        await courier_id_typed(pilot, "c-2")
        while deposit.pane != "unit-pane":
            await type_text(pilot, "56785678")
            await pilot.press("enter")
            await until(pilot, lambda: deposit.pane == "unit-pane"
                        or deposit.countdown.waiting, what="an answer")
            if deposit.countdown.waiting:
                assert deposit.countdown.seconds_left <= 1  # the cap's wait, not c-1's
                await until(pilot, lambda: not deposit.countdown.waiting, what="the wait")
    assert deposit.courier is not None and deposit.courier.id == "c-2"


async def test_a_household_flooded_with_wrong_codes_gets_in_with_a_re_sent_code(run, sim):
    """Whoever targets one household with wrong codes makes its unit wait, but cannot
    keep it from its parcels: a code it asks to have re-sent is tried under a counter of
    its own, which the re-send starts afresh."""
    _, code, c = stored_for(run, sim, "303")
    lockers = run.kiosk.lockers
    wait_s = 0.0
    while wait_s <= lockers.rules.kiosk_gap_s:  # until 303's own wait passes the cap's
        try:
            lockers.pickup("ZZZZZZ", "303")
        except (WrongCode, TooManyAttempts) as refused:
            wait_s = refused.wait_s
    kiosk = run.restart()
    with pytest.raises(TooManyAttempts) as waiting:  # the right code waits too (control)
        kiosk.lockers.pickup(code, "303")
    assert waiting.value.wait_s > kiosk.lockers.rules.kiosk_gap_s

    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await resent_on_screen(pilot, app, "303")
        fresh = run.note("303", "resend")["data"]["code"]
        # While the unit waits only the re-sent code is tried: the old one stopped
        # working at the re-send, and each wrong code counts under the re-sent code's own
        # counter (3 free tries there, as anywhere, then its own waits).
        for typed in (code, "ZZZZZZ"):
            with pytest.raises(WrongCode) as wrong:
                kiosk.lockers.pickup(typed, "303")
            assert wrong.value.wait_s == 0
        assert kiosk.store.scalar("SELECT failures FROM attempts WHERE scope = ?",
                                  ("pickup:303:resent",)) == 2
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.pane == "pickup-unit", what="back a step")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pickup_with(pilot, "303", fresh)
        assert [d.id for d in await past_the_kiosk_cap(pilot, fresh)] == [c.id]
    # Its success forgave the unit's count and the re-sent code's.
    assert not kiosk.store.query("SELECT scope FROM attempts WHERE scope LIKE 'pickup:303%'")



async def lost_code_pane(pilot, app, unit: str) -> None:
    """Pickup, the unit typed, "lost code" tapped: the pane offering re-send or the PIN."""
    await pilot.press("1")
    await until(pilot, lambda: isinstance(app.screen, PickupScreen))
    await type_text(pilot, unit)
    await pilot.click("#pickup-lost")
    await until(pilot, lambda: app.screen.pane == "pickup-lost-pane")

# --- 5. a lost code ---------------------------------------------------------------------

async def resent_on_screen(pilot, app, unit: str) -> None:
    """Pickup, the unit, "lost code", "send a new code": the screen says it was sent."""
    await lost_code_pane(pilot, app, unit)
    await pilot.click("#pickup-resend")
    await until(pilot, lambda: app.t("pickup.resent", unit=unit) in shown(
        app.screen.query_one("#lost-message")), what="re-sent")


async def test_a_lost_code_is_re_sent_and_the_old_one_stops_working(run, sim):
    kiosk = run.kiosk
    _, old, c = stored_for(run, sim, "301")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await resent_on_screen(pilot, app, "301")
    note = run.note("301", "resend")
    with pytest.raises(WrongCode):
        kiosk.lockers.pickup(old, "301")
    kiosk = run.restart()
    # Asking again at once is refused (no flood of messages to a household) …
    with pytest.raises(TooManyAttempts):
        kiosk.lockers.resend_code("301")
    # … and the new code opens the door.
    assert [x.id for x in kiosk.lockers.pickup(note["data"]["code"], "301").opened] == [c.id]


async def test_a_lost_code_household_opens_with_its_pin(run, sim):
    kiosk = run.kiosk
    parcel, _, c = stored_for(run, sim, "303", waybill="SF-778")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await lost_code_pane(pilot, app, "303")
        await pilot.click("#pickup-with-pin")
        await until(pilot, lambda: app.screen.pane == "pickup-pin")
        await type_text(pilot, "11111111")  # wrong first: refused, nothing opens
        await pilot.press("enter")
        await until(pilot, lambda: app.t("pickup.pin_wrong") in shown(
            app.screen.query_one("#pickup-pin .message")), what="wrong PIN")
        assert not sim.door_open(c.board, c.lock)
        await type_text(pilot, PINS["303"])
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.result is not None, what="doors")
        assert [d.id for d in app.screen.result.opened] == [c.id]
        # The waybill the courier scanned is shown to the resident.
        assert "SF-778" in shown(app.screen.query_one("#doors-list"))
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: state(kiosk, parcel) == "collected", what="collected")


async def test_one_household_pin_opens_a_lost_codes_parcels_and_logs_in_to_parking(run, sim):
    """The household's one PIN (kiosk/households.py), set once like ``kiosk people
    household --pin`` does: the lockers' second factor for a lost code and, after a
    restart, the parking login, by touch and keys on the kiosk run builds."""
    kiosk = run.kiosk
    Admin(kiosk.lockers, kiosk.audit).add_household("m-duty", "forgot PIN", "303", pin="75317531")
    member = kiosk.parking.add_member("m-duty", "joined parking", "", "303", "household")
    assert member.member == "h-303"  # the household's pseudonym, nothing made up
    parcel, _, c = stored_for(run, sim, "303")
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await lost_code_pane(pilot, app, "303")
        await pilot.click("#pickup-with-pin")
        await until(pilot, lambda: app.screen.pane == "pickup-pin")
        await type_text(pilot, PINS["303"])  # the PIN before: replaced, refused
        await pilot.press("enter")
        await until(pilot, lambda: app.t("pickup.pin_wrong") in shown(
            app.screen.query_one("#pickup-pin .message")), what="old PIN refused")
        assert not sim.door_open(c.board, c.lock)
        await type_text(pilot, "75317531")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.result is not None, what="doors")
        assert [d.id for d in app.screen.result.opened] == [c.id]
        sim.take_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: state(kiosk, parcel) == "collected", what="collected")
    kiosk = run.restart()
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.ready, what="kiosk ready")
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, ParkingScreen), what="parking")
        screen = app.screen
        for pin in ("24632463", "75317531"):  # the old PIN first (control), then the one PIN
            if screen.pane == "park-menu":
                await pilot.press("1")
            await until(pilot, lambda: screen.pane == "park-unit", what="unit pane")
            await type_text(pilot, "303")
            await pilot.press("enter")
            await until(pilot, lambda: screen.pane == "park-pin", what="PIN pane")
            await type_text(pilot, pin)
            await pilot.press("enter")
            await until(pilot, lambda: not screen._busy, what="login answered")
        await until(pilot, lambda: screen.view is not None, what="member view")
        assert screen.member.member == "h-303"
        assert "h-303" in str(app.screen.query_one("#title-bar").note)
    assert [e.data["scope"] for e in kiosk.outbox.events(limit=100_000)
            if e.type == "security.wrong_pin"] == ["pickup", "pickup"]  # one budget


# --- 6. a courier's round ---------------------------------------------------------------

async def test_a_round_with_a_scanned_waybill_a_corrected_unit_and_a_summary(run, sim):
    kiosk = run.kiosk
    app = run.app()
    async with app.run_test(size=SIZE) as pilot:
        await courier_in(pilot)
        screen = app.screen
        # First parcel: typed for 301 by mistake; the waybill scanned while the door is open.
        await type_text(pilot, "301")
        await pilot.press("enter")
        await until(pilot, lambda: screen.pane == "size-pane")
        await pilot.press("s")
        await until(pilot, lambda: screen.pane == "door-pane", what="door open")
        first = screen.slot
        await type_text(pilot, "YT99001")
        await pilot.press("enter")
        await until(pilot, lambda: "YT99001" in shown(screen.query_one("#door-waybill")),
                    what="waybill recorded")
        c = first.compartment
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        await until(pilot, lambda: screen.pane == "unit-pane" and screen.held is not None,
                    what="stored, code held")
        assert kiosk.outbox.pending_notifications() == []  # nobody told yet
        correct = screen.query_one("#deposit-correct")
        await until(pilot, lambda: correct.display and not correct.has_class("-active"),
                    what="the correction offered")
        await pilot.click("#deposit-correct")
        await type_text(pilot, "302")
        await pilot.press("enter")
        await until(pilot, lambda: screen.held is None and kiosk.lockers.parcel(
            first.parcel_id)["household"] == "302", what="corrected")
        # Second parcel, for 303.
        await type_text(pilot, "303")
        await pilot.press("enter")
        await until(pilot, lambda: screen.pane == "size-pane")
        await pilot.press("s")
        await until(pilot, lambda: screen.pane == "door-pane", what="door open")
        second = screen.slot.compartment
        sim.put_item(second.board, second.lock)
        sim.shut(second.board, second.lock)
        await until(pilot, lambda: screen.pane == "unit-pane" and screen.held is not None)
        await pilot.click("#deposit-finish")
        await until(pilot, lambda: screen.pane == "round-pane", what="summary")
        summary = shown(screen.query_one("#round-summary"))
        assert app.t("deposit.round", n=2) in summary
        assert "302 303" in summary and "301" not in summary
        await pilot.click("#round-done")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
    # Only the corrected household was ever told; the wrong one never (the messages go
    # out in order: 303's came after 301's would have).
    note = run.note("302", "pickup_code")
    run.note("303", "pickup_code")
    assert run.notes("301") == []
    assert kiosk.lockers.parcel(first.parcel_id)["waybill"] == "YT99001"
    assert "parcel.unit_corrected" in [e.type for e in kiosk.outbox.events()]
    assert [x.id for x in kiosk.lockers.pickup(note["data"]["code"], "302").opened] == [c.id]


def test_a_code_held_for_a_correction_goes_out_after_a_restart(run, sim):
    lockers = run.kiosk.lockers
    slot = lockers.deposit(lockers.courier_login("c-1", COURIER_PIN), "301", "S", hold_code=True)
    sim.put_item(slot.compartment.board, slot.compartment.lock)
    sim.shut(slot.compartment.board, slot.compartment.lock)
    lockers.finish(slot)
    assert run.kiosk.outbox.pending_notifications() == []
    run.restart()  # no courier session survives: nobody is left to correct it
    assert run.note("301", "pickup_code")["data"]["code"]
