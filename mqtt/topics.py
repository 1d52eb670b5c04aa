"""The topic contract (docs/mqtt.md): every topic the kiosk and the plan use, built here.

A kiosk publishes under ``community/{community}/kiosk/{kiosk}/``; the plan aggregator
writes ``community/{community}/plan/{indicator}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "community"
DISCOVERY_PREFIX = "homeassistant"

# Everything the plan aggregator reads: all kiosks of all communities, every event type.
ALL_EVENTS = f"{ROOT}/+/kiosk/+/event/#"

_BAD_SEGMENT = re.compile(r"[/+#\x00]")


def segment(value: str) -> str:
    """A topic level built from one of our ids. Wildcards or '/' would change its meaning."""
    if not value or _BAD_SEGMENT.search(value):
        raise ValueError(f"not usable as an MQTT topic level: {value!r}")
    return value


def type_segment(event_type: str) -> str:
    """The topic level for an event type. Types come from our own code, but an odd one
    must not make an event unpublishable (it would block the outbox), so odd characters
    become '_'. Consumers compare the payload's type through this same function."""
    cleaned = _BAD_SEGMENT.sub("_", event_type)
    return cleaned or "_"


# Devices with a retained snapshot on …/state/{device}; shapes in docs/mqtt.md (the core's
# HealthMonitor.snapshot() makes the board and locker ones, the publisher the uplink one).
LOCKERS = "lockers"
UPLINK = "uplink"
PARKING = "parking"


def board_device(board: int) -> str:
    return f"board-{board}"


def kiosk_prefix(community: str, kiosk: str) -> str:
    return f"{ROOT}/{segment(community)}/kiosk/{segment(kiosk)}"


def status_topic(community: str, kiosk: str) -> str:
    return f"{kiosk_prefix(community, kiosk)}/status"


def event_topic(community: str, kiosk: str, event_type: str) -> str:
    return f"{kiosk_prefix(community, kiosk)}/event/{type_segment(event_type)}"


def state_topic(community: str, kiosk: str, device: str) -> str:
    return f"{kiosk_prefix(community, kiosk)}/state/{segment(device)}"


def household_segment(household: str) -> str:
    """The notify topic level for a household (the core names it by its unit, which may
    hold any character): '%', '/', '+', '#' and NUL are percent-encoded, so every unit has
    exactly one topic and the notifier can decode it."""
    if not household:
        raise ValueError("empty household")
    return "".join(f"%{ord(ch):02X}" if ch in "%/+#\x00" else ch for ch in household)


def notify_topic(community: str, kiosk: str, household: str) -> str:
    return f"{kiosk_prefix(community, kiosk)}/notify/{household_segment(household)}"


def plan_topic(community: str, indicator: str) -> str:
    return f"{ROOT}/{segment(community)}/plan/{segment(indicator)}"


def events_of(community: str) -> str:
    """Subscription for every kiosk event of one community."""
    return f"{ROOT}/{segment(community)}/kiosk/+/event/#"


def states_of(community: str, device: str) -> str:
    return f"{ROOT}/{segment(community)}/kiosk/+/state/{segment(device)}"


@dataclass(frozen=True)
class KioskTopic:
    """A topic under a kiosk's prefix, taken apart: ``kind`` is status/event/state/notify."""

    community: str
    kiosk: str
    kind: str
    name: str  # event type segment, device, household; "" for status


def parse(topic: str) -> KioskTopic | None:
    """Take a kiosk topic apart; None if it is not one of ours."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != ROOT or parts[2] != "kiosk":
        return None
    community, kiosk, kind = parts[1], parts[3], parts[4]
    if not community or not kiosk:
        return None
    if kind == "status" and len(parts) == 5:
        return KioskTopic(community, kiosk, kind, "")
    if kind in ("event", "state", "notify") and len(parts) == 6 and parts[5]:
        return KioskTopic(community, kiosk, kind, parts[5])
    return None
