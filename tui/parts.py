"""What the kiosk's screens run on: the services and devices, built by the composition."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devices.speech import Speaker
    from kiosk.hardware import Peripherals
    from kiosk.lockers.service import LockerService
    from kiosk.maintenance_view import MaintenanceParts
    from kiosk.parking.desk import ParkingDesk
    from kiosk.status import KioskStatus
    from tui.demo import DemoWorld


@dataclass
class KioskParts:
    """What the screen runs on; built over a composed kiosk by kiosk/setups/screen.py."""

    lockers: LockerService
    status: Callable[[], KioskStatus]
    peripherals: Peripherals | None = None
    demo: DemoWorld | None = None
    parking: ParkingDesk | None = None
    # The on-duty maintainers' tools; None where the kiosk is built without them.
    maintenance: MaintenanceParts | None = None
    # Told when a screen's background work failed: (where, the error's text), so the
    # maintainers see a fault; the kiosk itself carries on (tui/app.py, worker_failed).
    worker_failed: Callable[[str, str], None] | None = None
    # Spoken prompts (devices/speech.py, ``say(text, language)``); None: a silent kiosk.
    speech: Speaker | None = None
