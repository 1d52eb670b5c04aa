"""Practice of maintenance runbooks on a simulated cabinet (kiosk/practice.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature
from kiosk.practice import PracticeLog

if TYPE_CHECKING:
    from kiosk.composition import Kiosk


def build(kiosk: Kiosk) -> None:
    kiosk.practice = PracticeLog(kiosk.store, kiosk.outbox, clock=kiosk.clock)


FEATURE = Feature("practice", build)
