"""Needs and proposals: households raise and support them; published without who."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature
from kiosk.needs import NeedsBook

if TYPE_CHECKING:
    from kiosk.composition import Kiosk


def build(kiosk: Kiosk) -> None:
    kiosk.needs = NeedsBook(kiosk.store, kiosk.outbox, clock=kiosk.clock)


FEATURE = Feature("needs", build)
