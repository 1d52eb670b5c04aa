"""The composition root: what a kiosk is made of, in one place.

A kiosk is its config, the devices plugged into it, and the features in ``FEATURES``,
built in that order. ``kiosk run``, ``kiosk demo`` and ``kiosk simulate`` all call
``compose``; they differ only in the devices and people they plug in (``kiosk/setups/``):
real boards and pins, or the pty board simulator and gpiozero's mock pins.

Adding a feature: one module in ``kiosk/features/`` with a ``FEATURE``, and one line in
``FEATURES`` below. tests/test_composition.py fails for a feature module that no command
starts.

Life cycle: ``compose`` builds every part (nothing moves yet); ``Kiosk.start`` settles what
a crash interrupted, connects the uplink and starts the scheduler with each feature's
periodic work; ``Kiosk.close`` stops it all, newest first.

The one object that may open a door is ``kiosk.doors`` (``kiosk/doors.py``,
``DoorController``); no message from the network reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.audit import AuditLog
from kiosk.config import Config
from kiosk.events import Clock, Outbox, utc_now
from kiosk.feature import Feature, Signals
from kiosk.features import (
    config_record,
    discovery,
    duty,
    health,
    housekeeping,
    indicators,
    lockers,
    maintenance,
    needs,
    parking,
    practice,
    public_record,
    reminders,
    slips,
    speech,
    uplink,
)
from kiosk.hardware import LockBoard, Peripherals
from kiosk.scheduler import Scheduler
from kiosk.schema import open_kiosk_store
from kiosk.store import Store

if TYPE_CHECKING:
    import threading

    from devices.speech import Speaker
    from kiosk.doors import DoorController
    from kiosk.duty import DutyRoster
    from kiosk.health import HealthMonitor
    from kiosk.lockers.service import LockerService
    from kiosk.maintenance import Maintenance
    from kiosk.needs import NeedsBook
    from kiosk.parking.register import ParkingRegister
    from kiosk.practice import PracticeLog
    from kiosk.public_record import PublicRecord
    from kiosk.signing import KioskKey
    from kiosk.status import StatusProbe
    from mqtt.publisher import Publisher
    from notify.slips import Slips

log = logging.getLogger(__name__)

# What a kiosk consists of, in the order the parts are built and started.
FEATURES: tuple[Feature, ...] = (
    lockers.FEATURE,        # locker service and the door controller; reconcile at start
    health.FEATURE,         # board heartbeats, doors left open, tamper, sensor mismatches
    parking.FEATURE,        # the fair parking register, spot sensors, barrier
    duty.FEATURE,           # the maintainers' duty roster
    maintenance.FEATURE,    # on-duty maintainers' audited actions
    uplink.FEATURE,         # the outbox publisher (MQTT), kicked on every commit
    discovery.FEATURE,      # Home Assistant discovery, re-sent on every connect
    reminders.FEATURE,      # free overdue reminders on the community's schedule
    housekeeping.FEATURE,   # parking no-shows and lapsed offers; old back-off counters
    indicators.FEATURE,     # status LEDs and the buzzer
    config_record.FEATURE,  # a changed config file is an audited, public change
    slips.FEATURE,          # slips on the receipt printer for households without a contact
    needs.FEATURE,          # households' needs and proposals, and their support
    practice.FEATURE,       # maintenance runbooks practised on a simulated cabinet
    public_record.FEATURE,  # signed chain heads, the live state checked against the record
    speech.FEATURE,         # spoken prompts (espeak-ng, ALSA), when switched on
)


@dataclass
class Devices:
    """What is plugged in: the bus of lock boards, the GPIO peripherals (None: no pins),
    and, for ``kiosk simulate``, a gate the uplink waits on (its notifier listening)."""

    board: LockBoard
    peripherals: Peripherals | None = None
    uplink_gate: threading.Event | None = None
    # Closed with the kiosk, after every feature stopped.
    closers: list[Callable[[], None]] = field(default_factory=list)


class Kiosk:
    """One running kiosk. The features set their parts as attributes (typed below)."""

    lockers: LockerService
    doors: DoorController
    health: HealthMonitor
    status: StatusProbe
    parking: ParkingRegister
    duty: DutyRoster
    maintenance: Maintenance
    needs: NeedsBook
    practice: PracticeLog
    publisher: Publisher | None  # None: this kiosk has no uplink
    slips: Slips  # only with [notify] printer
    key: KioskKey
    public_record: PublicRecord
    speech: Speaker | None = None  # None: no spoken prompts

    def __init__(self, config: Config, devices: Devices, store: Store, outbox: Outbox,
                 clock: Clock):
        self.config = config
        self.devices = devices
        self.board = devices.board
        self.peripherals = devices.peripherals
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.audit = AuditLog(store, outbox, clock)
        self.signals = Signals()
        self.scheduler = Scheduler()
        self.publisher = None
        self.features: list[Feature] = []
        self._started: list[Feature] = []

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def start(self) -> None:
        """Start every feature in order, then the scheduler with their periodic work."""
        for feature in self.features:
            feature.start(self)
            self._started.append(feature)
            for task in feature.periodic(self):
                self.scheduler.add(task)
        self.scheduler.start()

    def close(self) -> None:
        """Stop and close everything, newest first; one part failing does not keep the
        others open."""
        self.signals.emit("closing")
        self._quietly(self.scheduler.stop)
        while self._started:
            feature = self._started.pop()
            self._quietly(partial(feature.stop, self))
        while self.devices.closers:
            self._quietly(self.devices.closers.pop())
        self._quietly(self.store.close)

    @staticmethod
    def _quietly(close: Callable[[], object]) -> None:
        try:
            close()
        except Exception:
            log.exception("closing %r failed", close)


def check_settings(config: Config) -> None:
    """Raise ``ConfigError`` for bad feature settings, before anything is opened."""
    for feature in FEATURES:
        feature.check(config)


def compose(config: Config, devices: Devices, *, store: Store | None = None,
            outbox_class: type[Outbox] = Outbox, clock: Clock = utc_now,
            features: Sequence[Feature] = FEATURES) -> Kiosk:
    """Build a kiosk around devices that are already open. Nothing moves until ``start``.

    Raises ``ConfigError`` for bad settings before the database is opened; on any error
    the devices are closed again.
    """
    try:
        check_settings(config)
        if store is None:
            store = open_kiosk_store(Path(config.data_dir) / "kiosk.db")
    except BaseException:
        for close in reversed(devices.closers):
            Kiosk._quietly(close)
        raise
    kiosk = Kiosk(config, devices, store, outbox_class(store, clock), clock)
    if devices.peripherals is not None:
        # gpiozero keeps one callback per input; the signals fan it out to every listener.
        devices.peripherals.on_tamper(lambda opened: kiosk.signals.emit("tamper", opened))
        devices.peripherals.on_motion(lambda: kiosk.signals.emit("motion"))
    try:
        for feature in features:
            if feature.wanted(config):
                feature.build(kiosk)
                kiosk.features.append(feature)
    except BaseException:
        kiosk.close()
        raise
    health_monitor = getattr(kiosk, "health", None)
    if health_monitor is not None:
        # A full disk is a device fault like any other (kiosk/store.py, DiskFull).
        store.watch_space(health_monitor.disk_full, health_monitor.disk_ok)
    # While the disk is full, no new parcel (a deposit, a send) is begun: the space left
    # is for pickups, and a parcel put in must have room to be recorded as stored.
    store.hold_while_full("parcels")
    return kiosk
