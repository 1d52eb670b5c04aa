"""What a consumer accepts as a kiosk event: the contract of docs/mqtt.md, checked.

Everything that arrives from a broker is untrusted. The plan aggregator and the monitor
both take events apart here, so both refuse exactly the same things.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.events import iso
from mqtt import topics

MAX_PAYLOAD = 64 * 1024
MAX_SEQ = 2**62
_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class CleanEvent:
    community: str
    kiosk: str
    seq: int
    id: str
    ts: str
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    reason: str


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(payload: bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused, as the contract's JSON has none."""
    return json.loads(payload.decode("utf-8"), parse_constant=_no_constants)


def check_event_body(community: str, kiosk: str, type_segment: str,
                     body: Any) -> CleanEvent | Refused:
    if not isinstance(body, dict):
        return Refused("not_object")
    seq = body.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        return Refused("bad_seq")
    type_ = body.get("type")
    if not isinstance(type_, str) or not _TYPE.match(type_):
        return Refused("bad_type")
    event_id = body.get("id")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 100:
        return Refused("bad_id")
    ts = body.get("ts")
    if not isinstance(ts, str) or len(ts) > 40:
        return Refused("bad_ts")
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return Refused("bad_ts")
    if moment.tzinfo is None:
        return Refused("bad_ts")
    data = body.get("data", {})
    if not isinstance(data, dict):
        return Refused("bad_data")
    # The payload must say what its topic says: no kiosk speaks for another.
    if (body.get("community") != community or body.get("kiosk") != kiosk
            or topics.type_segment(type_) != type_segment):
        return Refused("topic_mismatch")
    return CleanEvent(community, kiosk, seq, event_id, iso(moment), type_, data)


_VERSION = re.compile(r"^[A-Za-z0-9.+_-]{1,40}$")


def parse_status(payload: bytes) -> tuple[bool, str] | None:
    """A kiosk's ``…/status``: (online, version). ``offline`` (the last will), the JSON
    ``{"state": "online", "version": …}`` a kiosk sends once connected, or the plain
    ``online`` of older kiosks (version ""). None for anything else."""
    if payload == b"offline":
        return False, ""
    if payload == b"online":
        return True, ""
    if len(payload) > 200:
        return None
    try:
        body = load_json(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("state") not in ("online", "offline"):
        return None
    version = body.get("version", "")
    if not isinstance(version, str) or (version and not _VERSION.match(version)):
        return None
    return body["state"] == "online", version
