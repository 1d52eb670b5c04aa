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
    from kiosk.needs import NeedsBook
    from kiosk.parking.desk import ParkingDesk
    from kiosk.practice import PracticeCabinet, PracticeLog
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
    # Households' needs and proposals (kiosk/needs.py); None: built without them.
    needs: NeedsBook | None = None
    # Practising runbooks (kiosk/practice.py): the log, and how to open a simulated
    # cabinet of its own (never the kiosk's boards).
    practice: PracticeLog | None = None
    practice_cabinet: Callable[[], PracticeCabinet] | None = None
    # Spoken prompts (devices/speech.py, ``say(text, language)``); None: a silent kiosk.
    speech: Speaker | None = None
