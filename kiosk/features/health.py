"""Device health: board heartbeats, doors left open, tamper, sensor mismatches.

The poll runs on the scheduler every ``[board] heartbeat_s``, and offline boards are probed
again half a heartbeat after their last request (``board_probe``); each round's device states
go to the uplink as retained snapshots (with the car park's counts for the plan). The
status line reads what the last poll found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature, Periodic
from kiosk.health import PROBE_CHECKS_PER_HEARTBEAT, HealthMonitor
from kiosk.status import StatusProbe

if TYPE_CHECKING:
    from kiosk.composition import Kiosk


def build(kiosk: Kiosk) -> None:
    health = HealthMonitor(kiosk.lockers, kiosk.peripherals, clock=kiosk.clock,
                           wire_tamper=False)
    kiosk.health = health
    kiosk.status = StatusProbe(health, lambda: uplink_state(kiosk))
    if kiosk.peripherals is not None:
        health.cabinet_open = kiosk.peripherals.cabinet_open
    kiosk.signals.connect("tamper", health.cabinet_tamper)


def uplink_state(kiosk: Kiosk) -> tuple[bool | None, int]:
    """(connected, events waiting); connected is None when there is no uplink at all."""
    if kiosk.publisher is None:
        return None, kiosk.outbox.pending_count()
    state = kiosk.publisher.uplink()
    return state.connected, state.backlog


def poll(kiosk: Kiosk) -> None:
    kiosk.health.poll()
    polled(kiosk)


def probe(kiosk: Kiosk) -> None:
    """Offline boards probed between two polls: one back is shown and published now."""
    if kiosk.health.probe_offline():
        polled(kiosk)


def polled(kiosk: Kiosk) -> None:
    if kiosk.publisher is not None:
        states = kiosk.health.snapshot()
        parking = getattr(kiosk, "parking", None)
        if parking is not None:
            states = {**states, "parking": parking.spot_summary()}
        for device, state in states.items():
            kiosk.publisher.publish_state(device, state)
    kiosk.signals.emit("health.polled")


def periodic(kiosk: Kiosk) -> list[Periodic]:
    heartbeat_s = kiosk.config.board.heartbeat_s
    return [Periodic("health", heartbeat_s, lambda: poll(kiosk)),
            Periodic("board_probe", heartbeat_s / PROBE_CHECKS_PER_HEARTBEAT,
                     lambda: probe(kiosk))]


FEATURE = Feature("health", build, periodic=periodic)
