"""The maintainers' duty roster: fair rotation, on-duty PINs valid only in their shift."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.duty import DutyRoster, DutySettings
from kiosk.feature import Feature

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config


def check(config: Config) -> None:
    DutySettings.from_config(config)


def build(kiosk: Kiosk) -> None:
    # The same keyed secret as the locker service's PINs and codes (the meta table).
    secret = kiosk.store.scalar("SELECT value FROM meta WHERE key = 'secret'")
    kiosk.duty = DutyRoster(kiosk.store, kiosk.outbox, kiosk.audit, secret,
                            DutySettings.from_config(kiosk.config), clock=kiosk.clock)


FEATURE = Feature("duty", build, check=check)
