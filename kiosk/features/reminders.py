"""Overdue reminders: free, on the community's schedule (``[lockers] overdue_days``,
``reminder_every_hours``). Checked every few minutes; a reminder carries a fresh code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature, Periodic

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

CHECK_EVERY_S = 300.0


def build(kiosk: Kiosk) -> None:
    return None


def periodic(kiosk: Kiosk) -> list[Periodic]:
    return [Periodic("reminders", CHECK_EVERY_S, kiosk.lockers.remind_overdue)]


FEATURE = Feature("reminders", build, periodic=periodic)
