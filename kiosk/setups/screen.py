"""The Textual screen over a composed kiosk: what it runs on (``KioskParts``) and the
signals it listens to (tamper, motion, spot sensors, parking changed by time).

Signals arrive on any thread; the app's ``device_*`` methods only post a message.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from tui.app import KioskApp, KioskParts


def parts(kiosk: Kiosk, demo: Any = None) -> KioskParts:
    """What the screen runs on."""
    from kiosk.maintenance_view import MaintenanceParts
    from kiosk.parking.desk import ParkingDesk
    from tui.app import KioskParts

    return KioskParts(kiosk.lockers, kiosk.status, kiosk.peripherals, demo,
                      parking=ParkingDesk(kiosk.parking),
                      maintenance=MaintenanceParts(kiosk.maintenance, kiosk.duty,
                                                   kiosk.health, kiosk.parking),
                      worker_failed=lambda where, error: worker_failed(kiosk, where, error))


def worker_failed(kiosk: Kiosk, where: str, error: str) -> None:
    """A screen's worker failed: a fault for maintainers. Called on the UI loop, so the
    write (an event in SQLite) goes to a thread of its own. Only the exception's kind is
    kept: its text could carry what a person typed."""
    kind = error.split(":", 1)[0].strip()[:80] or "Exception"
    threading.Thread(target=kiosk.health.worker_failed, args=(where[:80], kind),
                     name="worker-fault", daemon=True).start()


def attach(kiosk: Kiosk, app: KioskApp) -> None:
    """The kiosk's signals to the screen, as messages."""
    kiosk.signals.connect("tamper", app.device_tamper)
    kiosk.signals.connect("motion", app.device_motion)
    kiosk.signals.connect("spot", app.device_spot)
    kiosk.signals.connect("parking.changed", app.device_parking_changed)


def build_app(kiosk: Kiosk, *, demo: Any = None, **options: Any) -> KioskApp:
    """The screen over this kiosk; ``options`` go to ``KioskApp`` (idle_s, on_tick…)."""
    from tui.app import KioskApp

    options.setdefault("language", kiosk.config.language)
    app = KioskApp(parts(kiosk, demo), **options)
    attach(kiosk, app)
    return app
