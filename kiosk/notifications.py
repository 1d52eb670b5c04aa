"""The notification contract between the kiosk and the community notifier (docs/notify.md).

One place builds and reads both messages of the round trip:

- a **notification**, the kiosk's private message to one household (published on
  ``…/kiosk/{k}/notify/{household}``): ``wire_payload`` builds it from the outbox's row,
  ``parse_notification`` reads it in the notifier;
- a **receipt**, the notifier's word that a notification reached its household (published
  on ``…/kiosk/{k}/receipt``): ``receipt_payload`` builds it, ``parse_receipt`` reads it in
  the kiosk. A receipt names one notification by its random id and says how it went; the
  kiosk can do exactly one thing with it: consider that notification done.

Both parsers take bytes from the network: sizes and every field are bounded, anything else
is refused with ``None`` (a receipt) or ``BadNotification`` (a notification).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

VERSION = 1

# The kinds the kiosk sends today; the notifier renders unknown kinds with a plain text
# that still carries the code, so a kiosk newer than its notifier loses nothing.
PICKUP_CODE = "pickup_code"  # a parcel was put in: the household's code
REMINDER = "reminder"  # parcels still waiting: a fresh code
RESEND = "resend"  # the resident asked at the kiosk for a new code
PARCEL_LEFT = "parcel_left"  # the household's outgoing parcel was taken by the courier
KINDS = (PICKUP_CODE, REMINDER, RESEND, PARCEL_LEFT)

# How a receipt says it went.
DELIVERED = "delivered"  # on every contact's channel (at least one contact)
NO_CONTACT = "no_contact"  # the household has no contact: the kiosk prints a slip
OUTCOMES = (DELIVERED, NO_CONTACT)

MAX_NOTIFICATION_BYTES = 16 * 1024
MAX_RECEIPT_BYTES = 512
MAX_FIELD = 256
_UID = re.compile(r"^[0-9a-f]{32}$")
_CODE = re.compile(r"^[0-9A-Za-z]{1,32}$")


class BadNotification(ValueError):
    """A notify message the notifier cannot read; it says why (without its content)."""


@dataclass(frozen=True)
class Note:
    """A notification as the notifier reads it."""

    id: str  # random, 32 hex digits: the same message re-sent keeps its id
    seq: int  # the kiosk's row number, for ordering only
    ts: str
    kind: str
    household: str
    community: str
    kiosk: str
    code: str | None
    parcels: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    id: str
    outcome: str


def wire_payload(*, uid: str, seq: int, ts: str, kind: str, household: str, community: str,
                 kiosk: str, data: dict[str, Any]) -> dict[str, Any]:
    """The notification as published. ``data`` is what the locker service queued:
    ``code`` (absent for kinds without one), ``parcels`` (doors waiting), more by kind."""
    return {"v": VERSION, "id": uid, "seq": seq, "ts": ts, "kind": kind,
            "household": household, "community": community, "kiosk": kiosk, "data": data}


def _text(value: Any, name: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > MAX_FIELD or (not value and not empty):
        raise BadNotification(f"field {name} must be a short string")
    return value


def parse_notification(payload: bytes) -> Note:
    if len(payload) > MAX_NOTIFICATION_BYTES:
        raise BadNotification(f"larger than {MAX_NOTIFICATION_BYTES} bytes")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise BadNotification("not JSON") from None
    if not isinstance(body, dict):
        raise BadNotification("not a JSON object")
    if body.get("v") != VERSION:
        raise BadNotification(f"version {body.get('v')!r}, this notifier reads {VERSION}")
    uid = body.get("id")
    if not isinstance(uid, str) or not _UID.match(uid):
        raise BadNotification("field id must be 32 hex digits")
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**63:
        raise BadNotification("field seq must be a positive integer")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadNotification("field data must be an object")
    code = data.get("code")
    if code is not None and (not isinstance(code, str) or not _CODE.match(code)):
        raise BadNotification("field data.code must be letters and digits")
    parcels = data.get("parcels", 0)
    if not isinstance(parcels, int) or isinstance(parcels, bool) or not 0 <= parcels <= 10_000:
        raise BadNotification("field data.parcels must be 0-10000")
    return Note(id=uid, seq=seq, ts=_text(body.get("ts"), "ts"),
                kind=_text(body.get("kind"), "kind"),
                household=_text(body.get("household"), "household"),
                community=_text(body.get("community"), "community"),
                kiosk=_text(body.get("kiosk"), "kiosk"), code=code, parcels=parcels, data=data)


def receipt_payload(uid: str, outcome: str) -> str:
    if outcome not in OUTCOMES or not _UID.match(uid):
        raise ValueError(f"not a receipt: {uid!r} {outcome!r}")
    return json.dumps({"v": VERSION, "id": uid, "outcome": outcome}, separators=(",", ":"),
                      sort_keys=True)


def parse_receipt(payload: bytes) -> Receipt | None:
    """A receipt, or None for anything that is not exactly one."""
    if len(payload) > MAX_RECEIPT_BYTES:
        return None
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or set(body) != {"v", "id", "outcome"}:
        return None
    uid, outcome = body["id"], body["outcome"]
    if body["v"] != VERSION or not isinstance(uid, str) or not _UID.match(uid) \
            or outcome not in OUTCOMES:
        return None
    return Receipt(uid, outcome)


def printer_spec(spec: str) -> tuple[str, str, int]:
    """(kind, path, baud) of ``[notify] printer``: ``("", "", 0)`` for none, ``simulated``,
    a device path (``/dev/usb/lp0``) or ``serial:PATH[:BAUD]``. ValueError names the forms."""
    forms = 'expected "", "simulated", /dev/usb/lp0 or serial:/dev/PATH[:BAUD 1200-921600]'
    if not spec:
        return "", "", 0
    if spec == "simulated":
        return "simulated", "", 0
    if spec.startswith("serial:"):
        path, _, baud = spec[len("serial:"):].partition(":")
        if not path.startswith("/") or (baud and not (baud.isdigit()
                                                      and 1200 <= int(baud) <= 921600)):
            raise ValueError(forms)
        return "serial", path, int(baud) if baud else 19200
    if spec.startswith("/") and len(spec) <= 256:
        return "device", spec, 0
    raise ValueError(forms)
