"""One kiosk from its parts: store, outbox, board, locker service, peripherals, uplink,
and the maintainers' tools (audit log, maintenance actions, duty roster, parking register).

``kiosk run`` (real hardware from the config) and ``kiosk demo`` (simulated hardware)
build the same thing here; only where the board and the pins come from differs.
Adapters (devices/, mqtt/, tui/) are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.audit import AuditLog
from kiosk.config import Config
from kiosk.duty import DutyRoster, DutySettings
from kiosk.events import Clock, Outbox, utc_now
from kiosk.hardware import LockBoard, Peripherals
from kiosk.health import HealthMonitor
from kiosk.lockers.service import LockerService
from kiosk.maintenance import Maintenance
from kiosk.maintenance_view import MaintenanceParts
from kiosk.parking.register import ParkingRegister
from kiosk.parking.settings import ParkingSettings
from kiosk.schema import open_kiosk_store
from kiosk.status import StatusProbe, Uplink
from kiosk.store import Store

if TYPE_CHECKING:
    from tui.app import KioskApp, KioskParts

log = logging.getLogger(__name__)


@dataclass
class Kiosk:
    config: Config
    store: Store
    outbox: Outbox
    board: LockBoard
    lockers: LockerService
    health: HealthMonitor
    status: StatusProbe
    peripherals: Peripherals | None = None
    publisher: Any = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    audit: AuditLog | None = None
    maintenance: Maintenance | None = None
    duty: DutyRoster | None = None
    parking: ParkingRegister | None = None

    def maintenance_parts(self) -> MaintenanceParts | None:
        if self.maintenance is None or self.duty is None:
            return None
        return MaintenanceParts(self.maintenance, self.duty, self.health, self.parking)

    def close(self) -> None:
        """Close everything opened for this kiosk, newest first; keep going on errors."""
        while self.closers:
            closer = self.closers.pop()
            try:
                closer()
            except Exception:  # one part failing to close must not keep others open
                log.exception("closing %r failed", closer)


def assemble(config: Config, board: LockBoard, *, store: Store | None = None,
             outbox_class: type[Outbox] = Outbox, peripherals: Peripherals | None = None,
             clock: Clock = utc_now) -> Kiosk:
    """Wire the core around a board that is already open; start the uplink if configured.

    Raises ``ConfigError`` for bad ``[duty]`` or ``[parking]`` settings, before anything
    is opened.
    """
    duty_settings = DutySettings.from_config(config)
    parking_settings = ParkingSettings.from_config(config)
    if store is None:
        store = open_kiosk_store(Path(config.data_dir) / "kiosk.db")
    outbox = outbox_class(store, clock)
    try:
        publisher = start_publisher(config, outbox)
    except BaseException:
        store.close()
        raise
    lockers = LockerService(store, outbox, board, config, clock=clock)
    audit = AuditLog(store, outbox, clock)
    # The same keyed secret as the locker service's PINs and codes (the meta table).
    secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")
    parking = ParkingRegister(store, outbox, clock=clock, settings=parking_settings,
                              audit=audit)
    health = HealthMonitor(lockers, peripherals, clock=clock)
    if peripherals is not None:
        health.cabinet_open = bool(getattr(peripherals, "cabinet_open", False))
    probe = StatusProbe(health, uplink_of(outbox, publisher), config.board.heartbeat_s,
                        on_snapshot=snapshots_to(publisher, parking))
    kiosk = Kiosk(config, store, outbox, board, lockers, health, probe, peripherals,
                  publisher, audit=audit, maintenance=Maintenance(lockers, audit),
                  duty=DutyRoster(store, outbox, audit, secret, duty_settings, clock=clock),
                  parking=parking)
    kiosk.closers.append(store.close)
    if publisher is not None:
        kiosk.closers.append(publisher.stop)
    return kiosk


def check_settings(config: Config) -> None:
    """Raise ``ConfigError`` for bad ``[duty]`` or ``[parking]`` settings."""
    DutySettings.from_config(config)
    ParkingSettings.from_config(config)


def uplink_of(outbox: Outbox, publisher: Any) -> Uplink:
    """The status line's uplink: the publisher's view, or just the queue without one."""
    if publisher is None:
        return lambda: (None, outbox.pending_count())

    def uplink() -> tuple[bool | None, int]:
        state = publisher.uplink()
        return state.connected, state.backlog

    return uplink


def snapshots_to(publisher: Any, parking: ParkingRegister | None = None
                 ) -> Callable[[dict[str, dict]], None] | None:
    """Retained device states go to the broker with each health round; the car park's
    counts per spot type (``parking``) feed the plan's supply of spots."""
    if publisher is None:
        return None

    def publish(states: dict[str, dict]) -> None:
        if parking is not None:
            states = {**states, "parking": parking.spot_summary()}
        for device, state in states.items():
            publisher.publish_state(device, state)

    return publish


class Housekeeping:
    """The core's time-driven work, called from the screen's status worker: release
    no-shows and lapse unanswered offers about once a minute (``every_s``)."""

    def __init__(self, parking: ParkingRegister | None, every_s: float = 60.0,
                 monotonic: Callable[[], float] = time.monotonic):
        self.parking = parking
        self.every_s = every_s
        self._monotonic = monotonic
        self._last: float | None = None

    def __call__(self) -> bool:
        """True when something changed that a screen may show."""
        now = self._monotonic()
        if self.parking is None or (self._last is not None
                                    and now - self._last < self.every_s):
            return False
        self._last = now
        try:
            done = self.parking.tick()
        except Exception:  # the next round tries again; the screen must keep running
            log.exception("parking housekeeping failed")
            return False
        return any(done.values())


def open_board(config: Config) -> LockBoard:
    """The real bus of lock boards named in ``[board]``. Raises BoardError/ValueError."""
    from devices.serial_board import open_board as open_serial

    b = config.board
    return open_serial(b.port, protocol=b.protocol, baudrate=b.baudrate,
                       lock_bit_locked=b.lock_bit_locked, timeout_s=b.timeout_s,
                       retries=b.retries)


def open_peripherals(config: Config, pin_factory: object | None = None) -> Peripherals:
    from devices.gpio import GpioPeripherals

    return GpioPeripherals(config.gpio, pin_factory=pin_factory)


def start_publisher(config: Config, outbox: Outbox) -> Any:
    """The MQTT publisher, started; None when ``[mqtt] enabled = false``."""
    if not config.mqtt.enabled:
        return None
    from mqtt.publisher import Publisher

    publisher = Publisher(outbox, config.mqtt, config.community_id, config.kiosk_id)
    publisher.start()
    return publisher


def parts(kiosk: Kiosk, demo: Any = None) -> KioskParts:
    """What the screen runs on."""
    from kiosk.parking.desk import ParkingDesk
    from tui.app import KioskParts

    desk = ParkingDesk(kiosk.parking) if kiosk.parking is not None else None
    return KioskParts(kiosk.lockers, kiosk.status, kiosk.peripherals, demo, parking=desk,
                      housekeeping=Housekeeping(kiosk.parking),
                      maintenance=kiosk.maintenance_parts())


def attach_devices(kiosk: Kiosk, app: KioskApp) -> None:
    """Device callbacks to the screen (as messages) and to the health monitor."""
    peripherals = kiosk.peripherals
    if peripherals is None:
        return

    # gpiozero keeps one callback per input: the health monitor records the alarm,
    # the screen shows it.
    def tamper(opened: bool) -> None:
        kiosk.health.cabinet_tamper(opened)
        app.device_tamper(opened)

    peripherals.on_tamper(tamper)
    peripherals.on_motion(app.device_motion)
    if kiosk.parking is not None:
        peripherals.on_spot(spot_sensor(kiosk.parking, app))


def spot_sensor(parking: ParkingRegister, app: KioskApp) -> Callable[[str, bool], None]:
    """A spot sensor's callback: the register first (check-in, unreserved car), then the
    screen. Runs on gpiozero's thread (the caller's with mock pins); the register is
    plain Python behind the store's lock, so it is called directly."""

    def changed(spot: str, occupied: bool) -> None:
        try:
            outcome = parking.spot_occupancy_changed(spot, occupied)
        except Exception:  # e.g. a sensor wired for a spot the register does not list
            log.exception("spot sensor %s: the register refused the change", spot)
            return
        app.device_spot(spot, occupied, outcome)

    return changed


def build_app(kiosk: Kiosk, *, demo: Any = None, **options: Any) -> KioskApp:
    """The screen over this kiosk; ``options`` go to ``KioskApp`` (idle_s, on_tick…)."""
    from tui.app import KioskApp

    options.setdefault("language", kiosk.config.language)
    app = KioskApp(parts(kiosk, demo), **options)
    attach_devices(kiosk, app)
    return app
