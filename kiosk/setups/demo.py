"""The demo kiosk: simulated boards and pins, a seeded community, the residents' phones.

The boards are the pty simulator spoken to by the real serial driver; the GPIO pins are
gpiozero's mock pins (spot sensors and the car-park barrier too). Everything else is the
production kiosk. The car park starts with two drawn rounds, an open one with requests,
and a visitor's booking about to start.

Pickup codes only ever go out as private notifications. With a broker (``--broker``) the
demo runs the community notifier in-process (notify/), each household's contact on a
simulated inbox, and F1 shows that inbox: a code takes the real path, outbox, broker,
notifier, Apprise, receipt. Household 304 has no contact: its code goes onto a slip from
the simulated receipt printer. Without ``--broker``, ``kiosk demo`` starts a private
Mosquitto of its own (``kiosk/setups/demo_broker.py``) and takes the same path through
it; only on a machine without a mosquitto binary does the demo keep a copy of each code
as it is queued and show that, and F1 says so.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.config import CompartmentGroup, Config, GpioConfig
from kiosk.events import Clock, Outbox, utc_now
from kiosk.lockers.model import compartment_label

log = logging.getLogger(__name__)

BOARDS = (0, 1)
# Two boards of 16 in mixed sizes, as a real cabinet pair might be fitted.
COMPARTMENTS = [
    CompartmentGroup(0, "1-8", "S"), CompartmentGroup(0, "9-13", "M"),
    CompartmentGroup(0, "14-16", "L"),
    CompartmentGroup(1, "1-6", "S"), CompartmentGroup(1, "7-12", "M"),
    CompartmentGroup(1, "13-16", "L"),
]
UNITS = [f"{floor}0{door}" for floor in (1, 2, 3) for door in (1, 2, 3, 4)]
COURIERS = [("courier-a", "24682468"), ("courier-b", "13571357")]
# (unit, size) of the parcels waiting when the demo first starts.
WAITING = [("101", "S"), ("101", "M"), ("202", "S"), ("303", "L"), ("304", "M")]
# On-duty volunteers (pseudonym, duty PIN). The first is on duty when the demo starts.
VOLUNTEERS = [("v-amber", "24681024"), ("v-birch", "13579113"), ("v-cedar", "97531097")]
SETUP = "demo-setup"  # the actor of the demo's own administrative changes
TAMPER_PIN = 27
NO_CONTACT_UNIT = "304"  # a household without any contact: its codes go onto slips
BARRIER_PIN = 26
# The car park: (spot, type, pool, state) and the sensor pin of each spot that has one.
SPOTS = [("S1", "standard", "rounds", "in_service"), ("S2", "standard", "rounds", "in_service"),
         ("S3", "standard", "rounds", "in_service"), ("S4", "standard", "rounds", "in_service"),
         ("S5", "standard", "rounds", "out_of_service"),
         ("A1", "accessible", "rounds", "in_service"), ("E1", "ev", "rounds", "in_service"),
         ("M1", "motorcycle", "rounds", "in_service"), ("V1", "standard", "short", "in_service"),
         ("V2", "standard", "short", "in_service"), ("L1", "loading", "short", "in_service")]
SPOT_PINS = {"S1": 12, "S2": 13, "S3": 16, "S4": 19, "A1": 20, "E1": 21, "M1": 23, "V1": 24,
             "V2": 25, "L1": 18}
# Parking members: pseudonyms say nothing about who or where. (pseudonym, unit, kind, need)
# A worker has no unit: they log in with their pseudonym.
PARKING_MEMBERS: list[tuple[str, str | None, str, bool]] = [
                   ("ash", "101", "household", False), ("birch", "102", "household", True),
                   ("cedar", "103", "household", False), ("elm", "104", "household", False),
                   ("fir", "201", "household", False), ("hazel", "202", "household", False),
                   ("larch", "203", "household", False), ("maple", "204", "household", False),
                   ("oak", "301", "household", False), ("pine", "302", "household", False),
                   ("rowan", "303", "household", False), ("yew", "304", "household", False),
                   ("linden", None, "worker", False)]
WORKER_PIN = "90909090"
# What each asks for in the two drawn rounds, and who has asked in the open one.
PARKING_ASKS = {"birch": "accessible", "oak": "ev", "pine": "ev", "yew": "motorcycle"}
OPEN_ROUND_ASKS = {"birch": "accessible", "cedar": "standard", "fir": "standard",
                   "oak": "ev", "linden": "standard"}
GPIO = GpioConfig(pin_factory="mock", buzzer=17, led_ok=5, led_fault=6, tamper=TAMPER_PIN,
                  motion=22, barrier=BARRIER_PIN, spot_sensors=dict(SPOT_PINS))


def household_pin(unit: str) -> str:
    """8 digits, the shortest a PIN is (kiosk/pins.py), and easy to read off: 10101010."""
    return (unit + "0") * 2


def parking_pin(unit: str | None) -> str:
    """The household's one PIN serves parking too; the community worker has their own."""
    return WORKER_PIN if unit is None else household_pin(unit)


# One identity a household: its parking member is its pseudonym (kiosk/households.py).
PSEUDONYMS = {unit: member for member, unit, _, _ in PARKING_MEMBERS if unit}


class PhoneOutbox(Outbox):
    """The outbox, plus a copy of every private notification for the demo's F1 panel."""

    def notify(self, db: sqlite_utils.Database, household: str, kind: str,
               data: dict[str, Any]) -> None:
        super().notify(db, household, kind, data)
        if "code" in data:
            db.execute("CREATE TABLE IF NOT EXISTS demo_phone (id INTEGER PRIMARY KEY, "
                       "unit TEXT NOT NULL, code TEXT NOT NULL)")
            db.execute("INSERT INTO demo_phone (unit, code) VALUES (?, ?)",
                       (household, data["code"]))


def demo_config(data: Path, port: str, broker: tuple[str, int] | None) -> Config:
    config = Config(community_id="demo-community", kiosk_id="demo-kiosk",
                    data_dir=str(data), compartments=list(COMPARTMENTS), gpio=GPIO)
    config.board.port = port
    config.board.timeout_s = 0.2
    config.board.confirm_s = 0.5
    config.mqtt.enabled = broker is not None
    if broker is not None:
        config.mqtt.host, config.mqtt.port = broker
        # The demo's notifier starts with the kiosk: a code it missed comes again soon.
        config.notify.receipt_timeout_s = 5.0
        config.notify.receipt_timeout_max_s = 60.0
        config.notify.printer = "simulated"
    config.source = "<demo>"
    return config


class SimulatedWorld:
    """``tui.demo.DemoWorld`` over the board simulator and the mock tamper pin."""

    def __init__(self, sim: Any, config: Config, pin_factory: Any, kiosk: Any):
        self.sim = sim
        self.kiosk = kiosk
        self._compartments = config.compartment_list()
        self._tamper = pin_factory.pin(TAMPER_PIN)
        self._barrier = pin_factory.pin(BARRIER_PIN)
        self._spot_pins = {spot: pin_factory.pin(n)
                           for spot, n in config.gpio.spot_sensors.items()}
        self._jammed: set[tuple[int, int]] = set()
        self.inbox: Any = None  # the notifier's simulated inbox, with a broker

    def doors(self) -> list:
        from tui.demo import DoorView

        return [DoorView(b, n, compartment_label(b, n), size, self.sim.door_open(b, n),
                         self.sim.is_occupied(b, n), (b, n) in self._jammed)
                for b, n, size in self._compartments]

    def shut(self, board: int, lock: int) -> None:
        self.sim.shut(board, lock)

    def put_item(self, board: int, lock: int) -> None:
        self.sim.put_item(board, lock)

    def take_item(self, board: int, lock: int) -> None:
        self.sim.take_item(board, lock)

    def set_jammed(self, board: int, lock: int, jammed: bool) -> None:
        if jammed:
            self.sim.jam(board, lock)
            self._jammed.add((board, lock))
        else:
            self.sim.unjam(board, lock)
            self._jammed.discard((board, lock))

    def force_open(self, board: int, lock: int) -> None:
        self.sim.force_open(board, lock)

    def tamper_open(self) -> bool:
        # The switch is held closed (pin pulled low) by the shut cabinet door.
        return bool(self._tamper.state)

    def set_tamper(self, opened: bool) -> None:
        if opened:
            self._tamper.drive_high()
        else:
            self._tamper.drive_low()

    def spots(self) -> list:
        from tui.demo import SpotView

        # A spot sensor is a contact to ground: a car on the spot pulls its pin low.
        return [SpotView(spot, not pin.state) for spot, pin in self._spot_pins.items()]

    def set_spot(self, spot: str, occupied: bool) -> None:
        """Drive the mock pin: gpiozero calls the kiosk back as a real sensor would."""
        pin = self._spot_pins[spot]
        if occupied:
            pin.drive_low()
        else:
            pin.drive_high()

    def barrier_raised(self) -> bool:
        return bool(self._barrier.state)

    def help(self) -> Any:
        from tui.demo import DemoHelp

        store = self.kiosk.store
        inbox = self.inbox
        slips = getattr(self.kiosk, "slips", None)
        slip_codes = dict(slips.printed_for) if slips is not None else {}
        codes = []
        for unit in UNITS:
            waiting = store.scalar("SELECT COUNT(*) FROM parcels WHERE household = ? AND "
                                   "state = 'stored'", (unit,))
            if not waiting:
                continue
            if inbox is not None:
                # Only what reached the household: its inbox, or the slip in its letterbox.
                code = inbox.latest_code(unit) or slip_codes.get(unit)
            else:
                code = store.scalar("SELECT code FROM demo_phone WHERE unit = ? "
                                    "ORDER BY id DESC LIMIT 1", (unit,))
            if code:
                codes.append((unit, code, waiting))
        parking = self.kiosk.parking
        holders = {r["member"]: r["spot"] for r in store.query(
            "SELECT member, spot FROM parking_allocations WHERE round = ? AND "
            "released_ts IS NULL", (parking.current_round() or "",))}
        members = [(m.unit or m.member, parking_pin(m.unit), holders.get(m.member, ""), m.need,
                    m.kind == "worker") for m in parking.members() if m.active]
        shift = self.kiosk.duty.on_duty()
        pins = dict(VOLUNTEERS)
        on_duty = [(v, pins[v]) for v in (shift.maintainers if shift else ()) if v in pins]
        received = [] if inbox is None else [(m.unit, m.title)
                                              for m in reversed(inbox.messages())]
        return DemoHelp(couriers=list(COURIERS),
                        households=[(u, household_pin(u)) for u in UNITS], codes=codes,
                        parking=members, duty=on_duty, inbox=received,
                        slips=list(dict.fromkeys(u for u, _ in slip_codes.items())),
                        live=inbox is not None)


def seed(kiosk: Any, sim: Any) -> None:
    """A fresh community: households, couriers, and parcels already waiting."""
    lockers = kiosk.lockers
    for unit in UNITS:
        lockers.add_household(unit, PSEUDONYMS.get(unit), pin=household_pin(unit))
    couriers = [lockers.add_courier(name, pin) for name, pin in COURIERS]
    for unit, size in WAITING:
        slot = lockers.deposit(couriers[0], unit, size)
        c = slot.compartment
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        lockers.finish(slot)


def seed_parking(kiosk: Any) -> None:
    """Members, spots, two drawn rounds, an open round with requests, and a visitor's
    booking that starts soon (check it in at the kiosk or with V1's sensor on F2)."""
    parking = kiosk.parking
    for spot, spot_type, pool, state in SPOTS:
        parking.add_spot(SETUP, "demo car park", spot, spot_type, pool, state)
    for member, unit, kind, need in PARKING_MEMBERS:
        # A household's PIN is its own already (seed); a worker's is set here.
        parking.add_member(SETUP, "demo community", member, unit, kind, need,
                           pin=None if unit else WORKER_PIN)
    now = parking.clock()
    this_month = now.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    for month in (last_month, this_month):
        round_id = month.strftime("%Y-%m")
        parking.announce(round_id, f"the demo lottery drawn after round {round_id} closes",
                         SETUP)
        for member, *_ in PARKING_MEMBERS:
            parking.request(member, round_id, PARKING_ASKS.get(member, "standard"))
        parking.close(round_id, SETUP)
        parking.commit(round_id, f"demo lottery {round_id}: 04 11 23 35 41 + 07", SETUP)
        parking.draw(round_id, SETUP)
    from kiosk.parking.desk import next_round_id

    open_round = next_round_id(now, {last_month.strftime("%Y-%m"),
                                     this_month.strftime("%Y-%m")})
    for member, spot_type in OPEN_ROUND_ASKS.items():
        parking.request(member, open_round, spot_type)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    parking.reserve("ash", "standard", start, start + timedelta(hours=2), "visitor")


def seed_duty(kiosk: Any, now: datetime) -> None:
    """Volunteers and a roster whose first shift, this week, is the first volunteer's."""
    duty = kiosk.duty
    for pseudonym, pin in VOLUNTEERS:
        duty.register(SETUP, pseudonym, pin, "demo community")
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # The others are away for the first shift, so the draw gives it to the first one;
    # the shifts after it are drawn fairly among all three.
    for pseudonym, _ in VOLUNTEERS[1:]:
        duty.unavailable(pseudonym, start, SETUP)
    duty.plan(start, 4, actor=SETUP)


def keep_roster_current(kiosk: Any, now: datetime) -> None:
    """A demo started again weeks later: roster shifts up to now, fairly, as a real
    community would have."""
    for _ in range(1000):
        if kiosk.duty.on_duty(now) is not None:
            return
        kiosk.duty.plan(now, 1, actor=SETUP)


def restore(kiosk: Any, sim: Any) -> None:
    """The simulator starts empty: put back what the database says is inside."""
    for c in kiosk.lockers.compartments():
        if c.parcel_state is not None:
            sim.put_item(c.board, c.lock)


class DemoKiosk:
    """The demo's parts, opened and closed together (``kiosk demo``, tests, bench): the
    composed kiosk (``kiosk/composition.py``) over simulated devices, started.

    ``app`` is a screen already running on these parts; ``kiosk demo`` itself starts its
    screen first and connects it with ``parts_for`` once they are open.
    """

    def __init__(self, data: Path, broker: tuple[str, int] | None = None,
                 language: str = "zh", *, core_clock: Clock = utc_now,
                 parking_sample: bool = True, speech: Any = None,
                 private_broker: bool = False, mosquitto_search: str | None = None,
                 **app_options: Any):
        from gpiozero.pins.mock import MockFactory

        from devices.board_sim import BoardSimulator
        from kiosk.composition import compose
        from kiosk.instance_lock import hold
        from kiosk.setups.production import open_devices

        # One demo on a data directory (its own simulated boards are its alone). Raises
        # AlreadyRunning naming the other.
        self._instance = hold(data, "demo")
        try:
            self.sim = BoardSimulator(boards=BOARDS, seed=0).start()
        except BaseException:
            self._instance.release()
            raise
        self.pin_factory = MockFactory()
        self.kiosk: Any = None
        self.notifier: Any = None
        self.inbox: Any = None
        self._notifier_store: Any = None
        # ``private_broker`` (``kiosk demo``): without ``broker``, a Mosquitto of the
        # demo's own, found on ``mosquitto_search`` (default the PATH and /usr/sbin).
        self.private_broker: Any = None
        self.language = language
        self._app_options = app_options
        self._app: Any = None
        try:
            if broker is None and private_broker:
                broker = self._start_private_broker(data, mosquitto_search)
            self.config = demo_config(data, self.sim.port, broker)
            self.config.language = language
            if speech is not None:  # a kiosk.config.SpeechConfig: spoken prompts on
                self.config.speech = speech
            # The same board driver and GPIO classes as ``kiosk run``, on simulated parts.
            if broker is not None:
                self._start_notifier(data)
            devices = open_devices(self.config, self.pin_factory)
            # The tamper switch starts closed: the cabinet is shut.
            self.pin_factory.pin(TAMPER_PIN).drive_low()
            kiosk = compose(self.config, devices, outbox_class=PhoneOutbox, clock=core_clock)
            self.kiosk = kiosk
            now = datetime.now(UTC)
            fresh = not kiosk.lockers.units()
            if not fresh:
                # The simulator starts empty: put back what the database says is inside,
                # before start-up reconciles against it.
                restore(kiosk, self.sim)
            kiosk.start()
            if fresh:
                seed(kiosk, self.sim)
            if parking_sample and not kiosk.parking.members():
                seed_parking(kiosk)
            if not kiosk.duty.volunteers():
                seed_duty(kiosk, now)
            keep_roster_current(kiosk, now)
            self.world = SimulatedWorld(self.sim, self.config, self.pin_factory, kiosk)
            self.world.inbox = self.inbox
        except BaseException:
            self.close()
            raise

    def _start_private_broker(self, data: Path,
                              search: str | None) -> tuple[str, int] | None:
        from kiosk.setups.demo_broker import PrivateBroker, find_mosquitto

        binary = find_mosquitto(search)
        if binary is None:
            log.info("no mosquitto binary: the demo shows codes as the kiosk queues them")
            return None
        self.private_broker = PrivateBroker(binary, data / "broker").start()
        log.info("the demo's private broker listens on 127.0.0.1:%d",
                 self.private_broker.port)
        return self.private_broker.address

    def _start_notifier(self, data: Path) -> None:
        """The community notifier, in-process, with every household but one on the
        simulated inbox. Started before the kiosk, so its session is there for the codes."""
        import uuid

        from notify.contacts import ContactsDirectory
        from notify.inbox import SimulatedInbox
        from notify.service import Notifier, NotifierSettings
        from notify.store import open_notifier_store

        store = self._notifier_store = open_notifier_store(data / "notifier")
        self.inbox = SimulatedInbox(f"demo-{uuid.uuid4().hex[:8]}")
        directory = ContactsDirectory(store, actor=SETUP)
        # The inbox is new at every start: the contacts follow it.
        for contact in directory.all():
            directory.remove(contact.household, contact.id)
        for unit in UNITS:
            if unit != NO_CONTACT_UNIT:
                directory.add(unit, self.inbox.url(unit), self.language)
        settings = NotifierSettings(self.config.community_id, name="demo-notifier",
                                    retry_first_s=1.0, retry_max_s=30.0)
        self.notifier = Notifier(store, self.config.mqtt, settings)
        self.notifier.start()
        if not self.notifier.ready.wait(10):
            log.warning("the demo's notifier has not subscribed yet; codes follow later")

    def parts_for(self, app: Any) -> Any:
        """Connect a running screen to this demo's parts (its devices call it back)."""
        from kiosk.setups import screen

        screen.attach(self.kiosk, app)
        return screen.parts(self.kiosk, demo=self.world)

    @property
    def app(self) -> Any:
        if self._app is None:
            from kiosk.setups.screen import build_app

            self._app = build_app(self.kiosk, demo=self.world, language=self.language,
                                  **self._app_options)
        return self._app

    def close(self) -> None:
        if self.kiosk is not None:
            self.kiosk.close()
            self.kiosk = None
        if self.notifier is not None:
            self.notifier.stop()
            self.notifier = None
        if self._notifier_store is not None:
            self._notifier_store.close()
            self._notifier_store = None
        if self.private_broker is not None:
            self.private_broker.close()
            self.private_broker = None
        self.pin_factory.close()
        self.sim.close()
        self._instance.release()

    def __enter__(self) -> DemoKiosk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
