"""The machinery of ``kiosk simulate`` (imported only when that command runs).

One thread of simulated people drives the real services, as the touchscreen would: a
courier deposits (the simulated hand puts the parcel in and shuts the door), residents
come with the codes their phones received and take their parcels. The publisher and the
community's notifier (notify/, delivering to the simulated phones through Apprise) run
on their own threads, as they would beside a kiosk.

After a crash the physical world has moved on without the kiosk: a parcel whose deposit
was under way is in its compartment, one being picked up has been taken. The simulated
cabinet starts from that, and the locker service's own start-up reconciliation settles
those steps, as it would on a real kiosk.
"""

from __future__ import annotations

import hashlib
import logging
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from devices.board_sim import BoardSimulator
from kiosk.backoff import TooManyAttempts
from kiosk.cli.common import CommandError
from kiosk.config import Config, MqttConfig, config_from_dict
from kiosk.events import iso, utc_now
from kiosk.features.uplink import publisher_of
from kiosk.instance_lock import AlreadyRunning, hold
from kiosk.lockers.model import DoorDidNotOpen, NoFreeCompartment, WrongCode
from kiosk.lockers.service import LockerService
from kiosk.schema import open_kiosk_store
from kiosk.setups.production import open_board
from kiosk.store import Store

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

log = logging.getLogger(__name__)

# Two boards: 32 compartments, most of them small, as in a typical bank.
COMPARTMENTS = [
    {"board": 0, "locks": "1-8", "size": "S"},
    {"board": 0, "locks": "9-13", "size": "M"},
    {"board": 0, "locks": "14-16", "size": "L"},
    {"board": 1, "locks": "1-8", "size": "S"},
    {"board": 1, "locks": "9-14", "size": "M"},
    {"board": 1, "locks": "15-16", "size": "L"},
]
SIZE_PATTERN = "SSMSSLSMSM"
COURIER_PIN = "24680246"
HEALTH_EVERY_S = 1.0
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class SimulationOptions:
    host: str
    port: int
    data: str
    parcels: int
    rate: float = 20.0
    community: str = "sim"
    kiosk: str = "sim-1"
    households: int = 24
    seed: int = 1
    reconnect_max_s: int = 30


def unit_name(n: int) -> str:
    return f"U{n + 1:03d}"


def pseudonym(unit: str) -> str:
    # Stable across restarts (households are registered again at every start).
    return "h-" + hashlib.sha256(unit.encode()).hexdigest()[:6]


# -- the residents' phones ------------------------------------------------------------------

def _phones_v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE codes (
            code TEXT PRIMARY KEY,
            unit TEXT NOT NULL,
            kind TEXT NOT NULL,
            note_id INTEGER NOT NULL,
            received_at TEXT NOT NULL,
            used INTEGER NOT NULL DEFAULT 0
        )""")


class Phones:
    """The codes the notifier delivered to each household, kept in DIR/phones.db."""

    def __init__(self, path: Path):
        self.store = Store(path, {"phones": [_phones_v1]})

    def add(self, unit: str, code: str, kind: str, note_id: int) -> None:
        with self.store.step() as db:
            db.execute("INSERT OR IGNORE INTO codes (code, unit, kind, note_id, received_at) "
                       "VALUES (?, ?, ?, ?, ?)", (code, unit, kind, note_id, iso(utc_now())))

    def units(self) -> list[str]:
        return [r["unit"] for r in self.store.query(
            "SELECT DISTINCT unit FROM codes WHERE used = 0 ORDER BY unit")]

    def newest(self, unit: str) -> str | None:
        return self.store.scalar("SELECT code FROM codes WHERE unit = ? AND used = 0 "
                                 "ORDER BY note_id DESC LIMIT 1", (unit,))

    def used(self, unit: str, code: str | None = None) -> None:
        with self.store.step() as db:
            if code is None:
                db.execute("UPDATE codes SET used = 1 WHERE unit = ?", (unit,))
            else:
                db.execute("UPDATE codes SET used = 1 WHERE code = ?", (code,))


def start_notifier(config: MqttConfig, community: str, data: Path, phones: Phones,
                   units: list[str]) -> Any:
    """The community's notifier (notify/), for real, with every household's contact on
    its simulated phone: an Apprise plugin that puts the delivered code into phones.db."""
    from notify.contacts import ContactsDirectory
    from notify.inbox import Delivered, SimulatedInbox
    from notify.messages import kind_of
    from notify.service import Notifier, NotifierSettings
    from notify.store import open_notifier_store

    class PhoneInbox(SimulatedInbox):
        def add(self, message: Delivered) -> None:
            super().add(message)
            if message.code:
                phones.add(message.unit, message.code, kind_of(message.title),
                           time.monotonic_ns())

    inbox = PhoneInbox(f"sim-{community}")
    store = open_notifier_store(data / "notifier")
    directory = ContactsDirectory(store, actor="simulate")
    have = {c.household for c in directory.all()}
    for unit in units:
        if unit not in have:
            directory.add(unit, inbox.url(unit), "en")
    notifier = Notifier(store, config, NotifierSettings(community, name="sim-notifier",
                                                        retry_first_s=0.5, retry_max_s=5.0))
    notifier.start()
    return notifier


# -- the simulation -------------------------------------------------------------------------

class Simulation:
    def __init__(self, options: SimulationOptions):
        self.o = options
        self.data = Path(options.data)
        self.rng = random.Random(options.seed)
        self.stopping = threading.Event()
        self.units = [unit_name(n) for n in range(options.households)]

    def kiosk_config(self, port: str) -> Config:
        return config_from_dict({
            "community_id": self.o.community, "kiosk_id": self.o.kiosk,
            "board": {"port": port, "timeout_s": 0.1, "confirm_s": 0.3, "retries": 2,
                      "heartbeat_s": HEALTH_EVERY_S},
            "compartments": COMPARTMENTS,
            # Residents may try an old code now and then; don't lock them out for long.
            "lockers": {"free_attempts": 10, "backoff_base_s": 0.2, "backoff_max_s": 1.0},
            "mqtt": {"host": self.o.host, "port": self.o.port,
                     "reconnect_max_s": self.o.reconnect_max_s},
            # The notifier runs beside the kiosk: a code it missed comes again soon.
            "notify": {"receipt_timeout_s": 5.0, "receipt_timeout_max_s": 30.0},
        }, "<simulate>")

    def run(self) -> int:
        # Two simulated kiosks on one DIR would be two cabinets for one database: the
        # same lock as ``kiosk run`` and ``kiosk demo`` (kiosk/instance_lock.py).
        try:
            lock = hold(self.data, "simulate")
        except AlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        with lock:
            return self._run()

    def compose(self, config: Config, cabinet: BoardSimulator, store: Store,
                gate: threading.Event) -> Kiosk:
        """The kiosk composed over the simulated cabinet, as ``kiosk run`` composes it
        over the real one; the uplink waits for ``gate`` (the notifier listening)."""
        from kiosk.composition import Devices, compose

        # The driver exactly as ``kiosk run`` opens it, on the simulated cabinet's port.
        bus = open_board(config)
        return compose(config, Devices(bus, uplink_gate=gate,
                                       closers=[cabinet.close, bus.close]), store=store)

    def _run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        phones = Phones(self.data / "phones.db")
        cabinet = BoardSimulator(boards=(0, 1), seed=self.o.seed).start()
        config = self.kiosk_config(cabinet.port)
        store = open_kiosk_store(self.data / "kiosk.db")
        # After a crash the physical world moved on: the cabinet starts from the database.
        self._restore_cabinet(store, cabinet)
        # Codes go out only once the notifier is listening for them.
        notifier_listening = threading.Event()
        kiosk = self.compose(config, cabinet, store, notifier_listening)
        notifier: Any = None
        done = False
        try:
            pending = store.scalar("SELECT COUNT(*) FROM parcels WHERE state IN "
                                   "('deposit_pending', 'pickup_pending')")
            kiosk.start()
            if pending:
                print(f"kiosk simulate: carried on after a stop: {pending} interrupted "
                      "step(s) settled or put up for review", file=sys.stderr)
            service = kiosk.lockers
            courier = service.add_courier("sim-courier", COURIER_PIN, pseudonym="c-sim")
            for unit in self.units:
                service.add_household(unit, pseudonym=pseudonym(unit))
            notifier = start_notifier(config.mqtt, self.o.community, self.data, phones,
                                      self.units)
            done = self._loop(kiosk, courier, cabinet, notifier, notifier_listening, phones)
        finally:
            if notifier is not None:
                notifier.stop()
                notifier.store.close()
            kiosk.close()
            phones.store.close()
        return 0 if done else 130

    def _restore_cabinet(self, store: Store, cabinet: BoardSimulator) -> None:
        rows = store.query(
            "SELECT p.state, c.board, c.lock FROM parcels p JOIN compartments c "
            "ON c.id = p.compartment WHERE p.state IN "
            "('deposit_pending', 'stored', 'outgoing', 'in_review')")
        for r in rows:
            cabinet.put_item(r["board"], r["lock"])

    def _counts(self, service: LockerService) -> dict[str, int]:
        return {r["state"]: r["n"] for r in service.store.query(
            "SELECT state, COUNT(*) AS n FROM parcels GROUP BY state")}

    def _loop(self, kiosk: Kiosk, courier: Any, cabinet: BoardSimulator,
              notifier: Any, notifier_listening: threading.Event,
              phones: Phones) -> bool:
        service, outbox, publisher = kiosk.lockers, kiosk.outbox, publisher_of(kiosk)
        n = self.o.parcels
        next_deposit = next_progress = 0.0
        pickups_from = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if notifier.ready.is_set():
                notifier_listening.set()
            counts = self._counts(service)
            deposited = sum(v for k, v in counts.items() if k != "cancelled")
            collected = counts.get("collected", 0)
            busy = False
            if deposited < n and now >= next_deposit:
                next_deposit = now + (1 / self.o.rate if self.o.rate else 0)
                if not self._deposit(service, courier, cabinet, deposited):
                    next_deposit = now + 1.0  # full, or a door did not open: later
                busy = True
            if now >= pickups_from:
                try:
                    busy |= self._pickups(service, cabinet, phones)
                except TooManyAttempts as exc:
                    pickups_from = now + exc.wait_s
            if now >= next_progress:
                next_progress = now + PROGRESS_EVERY_S
                up = publisher.uplink()
                print(f"kiosk simulate: {deposited}/{n} deposited, {collected}/{n} collected, "
                      f"backlog {up.backlog}, {'online' if up.connected else 'offline'}"
                      + (f" ({up.last_error})" if up.last_error else ""),
                      file=sys.stderr, flush=True)
            through = collected >= n and deposited >= n and publisher.started
            if through and not outbox.pending(limit=1) \
                    and not outbox.pending_notifications(limit=1):
                print(f"kiosk simulate: done: {n} parcels through, events up to seq "
                      f"{outbox.last_seq()} acknowledged", file=sys.stderr)
                return True
            if not busy:
                self.stopping.wait(0.02)
        return False

    def _deposit(self, service: LockerService, courier: Any, cabinet: BoardSimulator,
                 index: int) -> bool:
        unit = self.units[(index * 7) % len(self.units)]
        size = SIZE_PATTERN[index % len(SIZE_PATTERN)]
        try:
            slot = service.deposit(courier, unit, size)
        except (NoFreeCompartment, DoorDidNotOpen):
            return False
        c = slot.compartment
        cabinet.put_item(c.board, c.lock)
        cabinet.shut(c.board, c.lock)
        service.finish(slot)
        return True

    def _pickups(self, service: LockerService, cabinet: BoardSimulator, phones: Phones) -> bool:
        """Residents with a code come by, some now, some later."""
        came = False
        for unit in phones.units():
            if self.rng.random() < 0.6:
                continue
            if not any(p["state"] == "stored" for p in service.waiting(unit)):
                phones.used(unit)  # nothing waits: the codes on the phone are spent
                continue
            code = phones.newest(unit)
            if code is None:
                continue
            came = True
            try:
                result = service.pickup(code, unit)
            except WrongCode:
                phones.used(unit, code)
                continue
            for c in result.opened:
                cabinet.take_item(c.board, c.lock)
                cabinet.shut(c.board, c.lock)
            service.settle_shut(result)
            if not any(p["state"] == "stored" for p in service.waiting(unit)):
                phones.used(unit)
        return came
