"""The app-level messages: what devices and the app's own workers tell the screens.

Device callbacks post these from any thread (``post_message`` is thread-safe); the app
handles them on its loop and passes on to each screen what the screens need to know.
Messages that belong to one screen stay beside that screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from kiosk.status import KioskStatus
    from tui.parts import KioskParts


@dataclass
class StatusUpdated(Message):
    """A fresh status from the probe (uplink, queue, faults)."""

    status: KioskStatus


@dataclass
class TamperChanged(Message):
    """The cabinet's tamper switch moved; ``open`` = the cabinet is open."""

    open: bool


@dataclass
class MotionSeen(Message):
    """Someone walked up to the kiosk."""


@dataclass
class SpotSensed(Message):
    """A parking spot's sensor changed; ``outcome`` is what the register made of it."""

    spot: str
    occupied: bool
    outcome: str


@dataclass
class ParkingChanged(Message, bubble=False):
    """To each screen: the parking register changed behind its back (sensor, time)."""


@dataclass
class LanguageChanged(Message, bubble=False):
    """To each screen: the language changed (not bubbling back up to the app)."""

    language: str


@dataclass
class KioskReady(Message, bubble=False):
    """To each screen: the services are connected."""


@dataclass
class Connected(Message):
    """The parts are open: the screens may use the service."""

    parts: KioskParts


@dataclass
class ConnectFailed(Message):
    """The parts could not be opened; ``error`` is the line to leave on the terminal."""

    error: str
