"""``kiosk demo``: the kiosk on simulated hardware, with a sample community to try it on.

The boards are the pty simulator spoken to by the real serial driver; the GPIO pins are
gpiozero's mock pins. Everything else is the production kiosk. State lives in a data
directory and survives restarts; ``--reset`` starts over.

Pickup codes only ever go out as private notifications. The demo keeps a copy of each
one as it is queued — that copy is the residents' phones — and shows it on F1.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.cli.common import CommandError
from kiosk.config import CompartmentGroup, Config, GpioConfig
from kiosk.events import Outbox
from kiosk.lockers.model import compartment_label

log = logging.getLogger(__name__)

DEFAULT_DATA = Path(".kiosk-data") / "demo"
BOARDS = (0, 1)
# Two boards of 16 in mixed sizes, as a real cabinet pair might be fitted.
COMPARTMENTS = [
    CompartmentGroup(0, "1-8", "S"), CompartmentGroup(0, "9-13", "M"),
    CompartmentGroup(0, "14-16", "L"),
    CompartmentGroup(1, "1-6", "S"), CompartmentGroup(1, "7-12", "M"),
    CompartmentGroup(1, "13-16", "L"),
]
UNITS = [f"{floor}0{door}" for floor in (1, 2, 3) for door in (1, 2, 3, 4)]
COURIERS = [("courier-a", "2468"), ("courier-b", "1357")]
# (unit, size) of the parcels waiting when the demo first starts.
WAITING = [("101", "S"), ("101", "M"), ("202", "S"), ("303", "L"), ("304", "M")]
TAMPER_PIN = 27
GPIO = GpioConfig(pin_factory="mock", buzzer=17, led_ok=5, led_fault=6, tamper=TAMPER_PIN,
                  motion=22)


def household_pin(unit: str) -> str:
    return unit + "0"


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
    config.source = "<demo>"
    return config


class SimulatedWorld:
    """``tui.demo.DemoWorld`` over the board simulator and the mock tamper pin."""

    def __init__(self, sim: Any, config: Config, pin_factory: Any, kiosk: Any):
        self.sim = sim
        self.kiosk = kiosk
        self._compartments = config.compartment_list()
        self._tamper = pin_factory.pin(TAMPER_PIN)
        self._jammed: set[tuple[int, int]] = set()

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

    def help(self) -> Any:
        from tui.demo import DemoHelp

        store = self.kiosk.store
        codes = []
        for unit in UNITS:
            waiting = store.scalar("SELECT COUNT(*) FROM parcels WHERE household = ? AND "
                                   "state = 'stored'", (unit,))
            if not waiting:
                continue
            code = store.scalar("SELECT code FROM demo_phone WHERE unit = ? "
                                "ORDER BY id DESC LIMIT 1", (unit,))
            if code:
                codes.append((unit, code, waiting))
        return DemoHelp(couriers=list(COURIERS),
                        households=[(u, household_pin(u)) for u in UNITS], codes=codes)


def seed(kiosk: Any, sim: Any) -> None:
    """A fresh community: households, couriers, and parcels already waiting."""
    lockers = kiosk.lockers
    for unit in UNITS:
        lockers.add_household(unit, pin=household_pin(unit))
    couriers = [lockers.add_courier(name, pin) for name, pin in COURIERS]
    for unit, size in WAITING:
        slot = lockers.deposit(couriers[0], unit, size)
        c = slot.compartment
        sim.put_item(c.board, c.lock)
        sim.shut(c.board, c.lock)
        lockers.finish(slot)


def restore(kiosk: Any, sim: Any) -> None:
    """The simulator starts empty: put back what the database says is inside."""
    for c in kiosk.lockers.compartments():
        if c.parcel_state is not None:
            sim.put_item(c.board, c.lock)


def parse_broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="open the kiosk on simulated hardware with a sample community",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="DIR", type=Path, default=DEFAULT_DATA,
                        help=f"where the demo keeps its state (default: ./{DEFAULT_DATA})")
    parser.add_argument("--reset", action="store_true", help="forget the state, start fresh")
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--broker", metavar="HOST:PORT", type=parse_broker,
                        help="publish events to this MQTT broker (default: no uplink)")
    parser.add_argument("--idle", metavar="SECONDS", type=float, default=60.0,
                        help="return home after this long without input (default: 60)")
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    data: Path = args.data
    if args.reset and data.exists():
        if not (data / "kiosk.db").exists() and any(data.iterdir()):
            raise CommandError(f"{data} does not look like demo data; not deleting it")
        shutil.rmtree(data)
    data.mkdir(parents=True, exist_ok=True)
    from kiosk.logging_setup import setup_logging

    setup_logging(args.log_level, terminal_owned=True, log_file=data / "kiosk.log")
    with DemoKiosk(data, args.broker, args.language, args.idle) as demo:
        demo.app.run()
    return 0


class DemoKiosk:
    """The demo's parts, opened and closed together (also used by tests and bench)."""

    def __init__(self, data: Path, broker: tuple[str, int] | None = None,
                 language: str = "zh", idle_s: float = 60.0, **app_options: Any):
        from gpiozero.pins.mock import MockFactory

        from devices.board_sim import BoardSimulator
        from kiosk.cli import wiring

        self.sim = BoardSimulator(boards=BOARDS, seed=0).start()
        self.pin_factory = MockFactory()
        self.kiosk = None
        try:
            self.config = demo_config(data, self.sim.port, broker)
            self.config.language = language
            board = wiring.open_board(self.config)
            peripherals = wiring.open_peripherals(self.config, self.pin_factory)
            # The tamper switch starts closed: the cabinet is shut.
            self.pin_factory.pin(TAMPER_PIN).drive_low()
            kiosk = wiring.assemble(self.config, board, outbox_class=PhoneOutbox,
                                    peripherals=peripherals)
            self.kiosk = kiosk
            kiosk.closers[:0] = [board.close, peripherals.close]
            fresh = not kiosk.lockers.units()
            if fresh:
                seed(kiosk, self.sim)
            else:
                restore(kiosk, self.sim)
                kiosk.lockers.reconcile()
            self.world = SimulatedWorld(self.sim, self.config, self.pin_factory, kiosk)
            self.app = wiring.build_app(kiosk, demo=self.world, idle_s=idle_s,
                                        **app_options)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.kiosk is not None:
            self.kiosk.close()
        self.pin_factory.close()
        self.sim.close()

    def __enter__(self) -> DemoKiosk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
