"""What the maintenance screen's workers answer."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from kiosk.duty import Shift
from kiosk.maintenance_view import ActionResult, Overview
from kiosk.parking.register import SpotInfo
from kiosk.refusals import Refusal


@dataclass
class DutyAnswered(Message):
    maintainer: str | None = None
    refusal: Refusal | None = None  # wrong PIN, not on shift, or too many tries
    on_duty: tuple[str, ...] = ()


@dataclass
class OnDutyLoaded(Message):
    names: tuple[str, ...]


@dataclass
class NamePicked(Message):
    """A name tapped, and who the roster has on duty now."""

    name: str
    on_duty: tuple[str, ...]


@dataclass
class OverviewLoaded(Message):
    overview: Overview


@dataclass
class ReviewLoaded(Message):
    """A fresh overview, read to list the parcels in review."""

    overview: Overview


@dataclass
class ActionFinished(Message):
    result: ActionResult


@dataclass
class RosterLoaded(Message):
    shifts: list[Shift]
    current: Shift | None
    counts: dict[str, int]
    volunteers: list[str]


@dataclass
class SpotsLoaded(Message):
    spots: list[SpotInfo]
