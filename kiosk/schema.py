"""Every migration of the kiosk's own database, by feature."""

from __future__ import annotations

from pathlib import Path

from kiosk import audit, backoff, duty, events, needs
from kiosk.lockers import schema as lockers
from kiosk.parking import schema as parking
from kiosk.store import Migrations, Store

KIOSK_MIGRATIONS: Migrations = {
    "events": events.MIGRATIONS,
    "backoff": backoff.MIGRATIONS,
    "lockers": lockers.MIGRATIONS,
    "audit": audit.MIGRATIONS,
    "parking": parking.MIGRATIONS,
    "duty": duty.MIGRATIONS,
    "needs": needs.MIGRATIONS,
}


def open_kiosk_store(path: str | Path) -> Store:
    return Store(path, KIOSK_MIGRATIONS)
