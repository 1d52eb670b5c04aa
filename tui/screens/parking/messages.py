"""What the parking screen's workers answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from kiosk.parking.desk import MemberView, PublicBoard, Refused
from kiosk.parking.register import Member


@dataclass
class LoginAnswered(Message):
    member: Member | None = None
    refusal: Refused | None = None


@dataclass
class MemberLoaded(Message):
    view: MemberView


@dataclass
class BoardLoaded(Message):
    board: PublicBoard


@dataclass
class ActionDone(Message):
    action: str
    result: Any = None
    refusal: Refused | None = None


@dataclass
class GateMoved(Message):
    raised: bool
