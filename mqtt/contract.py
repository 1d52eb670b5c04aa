"""What a consumer accepts as a kiosk event: the contract of docs/mqtt.md, checked.

Everything that arrives from a broker is untrusted. The plan aggregator and the monitor
both take events apart here, so both refuse exactly the same things.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.audit import MAX_CHAIN_EVENT
from kiosk.events import iso
from mqtt import topics

MAX_PAYLOAD = 64 * 1024
# Chain entries (docs/witness.md) are kept whole: a draw record of 10,000 members is about
# 1.2 MB. Their own bound, as the witnesses use it; every other event stays at 64 KiB. The
# kiosk commits no entry whose event would be larger (kiosk/audit.py, MAX_ENTRY_BYTES).
CHAIN_EVENT_TYPES = frozenset({"audit.entry", "parking.draw_entry"})
MAX_CHAIN_PAYLOAD = MAX_CHAIN_EVENT
_CHAIN_SEGMENTS = frozenset(topics.type_segment(t) for t in CHAIN_EVENT_TYPES)
# A device snapshot is a few hundred bytes (docs/mqtt.md); a kiosk of 500 compartments
# with every door open stays under 16 KiB.
MAX_STATE_PAYLOAD = 16 * 1024
MAX_SEQ = 2**62
_TYPE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
# Community and kiosk ids as kiosk.toml allows them: the only ids a consumer tracks.
ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

# Per-consumer bounds, so made-up ids cannot grow a consumer without end. A real
# federation has tens of communities of a few kiosks each.
MAX_COMMUNITIES = 1000
MAX_KIOSKS_PER_COMMUNITY = 500
MAX_DEVICES_PER_KIOSK = 64
# "Announced": the head of a kiosk's outbox, ``last_seq`` of its retained uplink snapshot
# (sent every few seconds while it publishes). An event whose seq is more than this far
# beyond it (or beyond 0 before any announcement) is held apart, not counted, until an
# announcement covers it; at most MAX_HELD_PER_KIOSK are held.
SEQ_SLACK = 10_000
MAX_HELD_PER_KIOSK = 1000
# Nesting and size of an event's data as a consumer keeps it.
MAX_TEXT = 200
MAX_DEPTH = 8
MAX_ITEMS = 200


def valid_id(value: object) -> bool:
    return isinstance(value, str) and ID.match(value) is not None


# Controls (C0, C1, DEL), format characters (bidi embeddings and overrides, isolates,
# zero-width joiners, the BOM), surrogates, private use and unassigned code points: none
# of them is ever part of an honest value, and each can hide or reorder what a reader
# sees. They become U+FFFD, so the tampering stays visible.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
REPLACEMENT = "\ufffd"


def clean_text(value: str, limit: int = MAX_TEXT) -> str:
    """A string from the network, safe to show anywhere (still to be escaped for HTML)."""
    if value.isascii() and value.isprintable():
        return value[:limit]
    return "".join(REPLACEMENT if unicodedata.category(ch) in _HIDDEN else ch
                   for ch in value[:limit])


def clean_value(value: Any, depth: int = 0, *, whole: bool = False) -> Any:
    """Event data as a consumer keeps it: every string (keys too) through ``clean_text``,
    nesting and lengths bounded; numbers, booleans and null unchanged. ``whole``: a chain
    entry, whose hash covers all of it: strings are cleaned but nothing is cut (its
    payload's bound, ``MAX_CHAIN_PAYLOAD``, bounds it)."""
    text, items = (MAX_CHAIN_PAYLOAD, MAX_CHAIN_PAYLOAD) if whole else (MAX_TEXT, MAX_ITEMS)
    if isinstance(value, str):
        return clean_text(value, text)
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return {}
        return {clean_text(str(k), text if whole else 64): clean_value(v, depth + 1,
                                                                       whole=whole)
                for k, v in list(value.items())[:items]}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return []
        return [clean_value(v, depth + 1, whole=whole) for v in value[:items]]
    return value


def max_event_payload(type_segment: str) -> int:
    """The largest event a consumer takes on a topic of this type segment."""
    return MAX_CHAIN_PAYLOAD if type_segment in _CHAIN_SEGMENTS else MAX_PAYLOAD


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
    reason: str  # a short code, counted by consumers (never network-supplied text)
    detail: str = field(default="", compare=False)  # for a maintainer reading one message


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
    return CleanEvent(community, kiosk, seq, clean_text(event_id), iso(moment), type_,
                      clean_value(data, whole=type_ in CHAIN_EVENT_TYPES))


# --- device snapshots ----------------------------------------------------------------------

def _count(value: Any, limit: int = 10**6) -> bool:
    return type(value) is int and 0 <= value <= limit


def _counts(body: dict[str, Any], key: str) -> dict[str, int] | str:
    value = body.get(key)
    if not isinstance(value, dict) or len(value) > 32:
        return f"{key}: expected an object of counts"
    for size, n in value.items():
        if not _count(n, 10**4) or not size or len(size) > 16:
            return f"{key}.{clean_text(str(size), 16)}: expected a count"
    return {clean_text(k, 16): v for k, v in value.items()}


def _names(body: dict[str, Any], key: str) -> tuple[str, ...] | str:
    value = body.get(key, [])
    if (not isinstance(value, list) or len(value) > 1000
            or not all((isinstance(v, str) and 0 < len(v) <= 64) or type(v) is int
                       for v in value)):
        return f"{key}: expected a list of names"
    return tuple(clean_text(str(v), 64) for v in value)


def check_state(device: str, payload: bytes) -> dict[str, Any] | Refused:
    """A device snapshot (``…/state/{device}``), checked against its shape in
    docs/mqtt.md: the clean object, or why it is refused. A refused snapshot must never
    replace a good one. Devices the contract does not describe must still be a JSON
    object of bounded size; their strings are cleaned."""
    if len(payload) > MAX_STATE_PAYLOAD:
        return Refused("too_large")
    try:
        body = load_json(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Refused("bad_json")
    if not isinstance(body, dict):
        return Refused("not_object")
    problem: str | None = None
    if topics.board_of(device) is not None:
        last = body.get("last_error")
        if not isinstance(body.get("online"), bool):
            problem = "online: expected true or false"
        elif not _count(body.get("errors"), 2**62):
            problem = "errors: expected a whole number >= 0"
        elif last is not None and not isinstance(last, str):
            problem = "last_error: expected text"
        else:
            return {"online": body["online"], "errors": body["errors"],
                    "last_error": None if last is None else clean_text(last)}
    elif device == topics.LOCKERS:
        free, capacity = _counts(body, "free"), _counts(body, "capacity")
        lists = {k: _names(body, k) for k in ("doors_open", "out_of_service", "faults")}
        seq = body.get("last_seq")  # the kiosk's last event when the snapshot was made
        for part in (free, capacity, *lists.values()):
            if isinstance(part, str):
                problem = part
                break
        else:
            if seq is not None and not _count(seq, MAX_SEQ):
                problem = "last_seq: expected a whole number >= 0"
            else:
                return {"free": free, "capacity": capacity, "last_seq": seq,
                        **{k: list(v) for k, v in lists.items()}}
    elif device == topics.UPLINK:
        last_seq = body.get("last_seq")
        if not isinstance(body.get("connected"), bool):
            problem = "connected: expected true or false"
        elif not _count(body.get("backlog"), MAX_SEQ):
            problem = "backlog: expected a whole number >= 0"
        elif last_seq is not None and not _count(last_seq, MAX_SEQ):
            problem = "last_seq: expected a whole number >= 0"
        elif "undelivered" in body and not _count(body["undelivered"], MAX_SEQ):
            problem = "undelivered: expected a whole number >= 0"
        else:
            uplink = {"connected": body["connected"], "backlog": body["backlog"],
                      "last_seq": last_seq}
            if "undelivered" in body:
                uplink["undelivered"] = body["undelivered"]
            return uplink
    elif device == topics.PARKING:
        clean: dict[str, Any] = {}
        if len(body) > 16:
            problem = "too many spot types"
        for spot_type, row in body.items():
            if (not isinstance(row, dict) or not spot_type or len(spot_type) > 32
                    or not all(isinstance(k, str) and _count(v) for k, v in row.items())):
                problem = f"{clean_text(str(spot_type), 32)}: expected counts per spot type"
                break
            clean[clean_text(spot_type, 32)] = {clean_text(k, 32): v for k, v in row.items()}
        if problem is None:
            return clean
    else:
        return clean_value(body)
    return Refused("bad_state", problem or "")


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


# --- witnesses' alarms ---------------------------------------------------------------------

# What ``kiosk witness`` publishes (witness/core.py, ``Alarm.to_json``) under
# ``community/{c}/witness/{name}/alarm/{kiosk}``. An alarm is a few hundred bytes.
WITNESS_ALARM_FORMAT = "kiosk-witness-alarm/1"
MAX_ALARM_PAYLOAD = 4 * 1024
# Witness names as ``kiosk witness --name`` allows them.
WITNESS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_ALARM_WORD = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_ALARM_DETAIL = 500


@dataclass(frozen=True)
class WitnessAlarm:
    community: str
    witness: str
    kiosk: str
    chain: str
    kind: str
    detail: str
    ts: str


def check_witness_alarm(topic: str, payload: bytes) -> WitnessAlarm | Refused:
    """A witness's alarm, checked: the payload must say what its topic says (no witness
    speaks for another, nor about another kiosk), its words are short codes, its detail
    is cleaned text."""
    if len(payload) > MAX_ALARM_PAYLOAD:
        return Refused("too_large")
    where = topics.parse_witness_alarm(topic)
    if (where is None or not valid_id(where[0]) or WITNESS_ID.match(where[1]) is None
            or not valid_id(where[2])):
        return Refused("bad_topic")
    community, witness, kiosk, in_chain, in_kind = where
    try:
        body = load_json(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Refused("bad_json")
    if not isinstance(body, dict) or body.get("format") != WITNESS_ALARM_FORMAT:
        return Refused("bad_alarm", "not a witness alarm")
    if (body.get("community"), body.get("witness"), body.get("kiosk")) != where[:3]:
        return Refused("topic_mismatch")
    chain, kind, detail, ts = (body.get(k) for k in ("chain", "kind", "detail", "ts"))
    if not isinstance(chain, str) or _ALARM_WORD.match(chain) is None:
        return Refused("bad_alarm", "chain: expected a short name")
    if not isinstance(kind, str) or _ALARM_WORD.match(kind) is None:
        return Refused("bad_alarm", "kind: expected a short name")
    # The chain and kind the topic names (a witness from before names neither).
    if in_chain is not None and (chain, kind) != (in_chain, in_kind):
        return Refused("topic_mismatch")
    if not isinstance(detail, str) or len(detail) > 2 * MAX_ALARM_DETAIL:
        return Refused("bad_alarm", "detail: expected text")
    if not isinstance(ts, str) or len(ts) > 40:
        return Refused("bad_ts")
    try:
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return Refused("bad_ts")
    if moment.tzinfo is None:
        return Refused("bad_ts")
    return WitnessAlarm(community, witness, kiosk, chain, kind,
                        clean_text(detail, MAX_ALARM_DETAIL), iso(moment))
