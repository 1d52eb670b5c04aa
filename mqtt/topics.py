"""The topic contract (docs/mqtt.md): every topic the kiosk, the plan and the monitor use is
built and taken apart here, and nowhere else (tests/test_topic_contract.py holds that).

A kiosk publishes under ``community/{community}/kiosk/{kiosk}/``; the plan aggregator
writes ``community/{community}/plan/{indicator}``; Home Assistant reads its discovery
configs under ``homeassistant/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROOT = "community"
DISCOVERY_PREFIX = "homeassistant"
# In a subscription filter, in place of a community id: every community.
ANY = "+"

# A topic of ours is well under 200 characters. Anything far longer comes from someone
# else's client and is refused before it is split (a broker allows 65,535 bytes).
MAX_TOPIC = 1024
MAX_LEVEL = 256

_BAD_SEGMENT = re.compile(r"[/+#\x00]")
_BAD_LEVEL = re.compile(r"[+#\x00]")  # '/' cannot occur in a level that came from split


def segment(value: str) -> str:
    """A topic level built from one of our ids. Wildcards or '/' would change its meaning."""
    if not value or len(value) > MAX_LEVEL or _BAD_SEGMENT.search(value):
        raise ValueError(f"not usable as an MQTT topic level: {value!r}")
    return value


def check_community(community: str) -> str:
    """A community id, or ``+`` for every community: the first level of a filter."""
    if community != ANY and (not community or _BAD_SEGMENT.search(community)
                             or len(community) > MAX_LEVEL):
        raise ValueError(f"bad community id {community!r}: give one topic level, or + for all")
    return community


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

_BOARD_DEVICE = re.compile(r"board-(\d{1,4})")


def board_device(board: int) -> str:
    return f"board-{board}"


def board_of(device: str) -> int | None:
    """The board address in a ``board-{n}`` device name; None for any other device."""
    match = _BOARD_DEVICE.fullmatch(device)
    return int(match.group(1)) if match else None


# --- building a kiosk's topics -----------------------------------------------------------


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


def household_of(segment_text: str) -> str:
    """The household a notify topic's last level names (``household_segment`` undone)."""
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), segment_text)


def receipt_topic(community: str, kiosk: str) -> str:
    """Where the notifier tells one kiosk that a notification reached its household
    (kiosk/notifications.py). The kiosk's only subscription; a receipt can mark a
    notification done and nothing else."""
    return f"{kiosk_prefix(community, kiosk)}/receipt"


def notifier_prefix(community: str, notifier: str) -> str:
    return f"{ROOT}/{segment(community)}/notifier/{segment(notifier)}"


def notifier_event_topic(community: str, notifier: str, event_type: str) -> str:
    """A public event of the community's notifier (no household, no contact in it)."""
    return f"{notifier_prefix(community, notifier)}/event/{type_segment(event_type)}"


def notifier_state_topic(community: str, notifier: str) -> str:
    """The notifier's retained public state: which kinds of channel are failing."""
    return f"{notifier_prefix(community, notifier)}/state"
# What a kiosk publishes retained under …/public/{name} so anyone can re-check it without
# its disk (docs/witness.md): its public key, the signed heads of its two chains, the
# live allocations, the latest draw record and the duty roster.
PUBLIC_KEY = "key"
PUBLIC_ALLOCATIONS = "allocations"
PUBLIC_DRAW_RECORD = "draw-record"
PUBLIC_ROSTER = "roster"
PUBLIC_DUTY_LOAD = "duty-load"


def head_name(chain: str) -> str:
    """The public name of a chain's signed head: ``head-audit``, ``head-draws``."""
    return f"head-{segment(chain)}"


def chain_of_head(name: str) -> str | None:
    """The chain a ``head-{chain}`` public name is the head of; None for other names."""
    if not name.startswith("head-") or name == "head-":
        return None
    return name[len("head-"):]


def public_topic(community: str, kiosk: str, name: str) -> str:
    return f"{kiosk_prefix(community, kiosk)}/public/{segment(name)}"


def witness_prefix(community: str, witness: str) -> str:
    return f"{ROOT}/{segment(community)}/witness/{segment(witness)}"


def witness_alarm_topic(community: str, witness: str, kiosk: str, chain: str,
                        kind: str) -> str:
    """Where a witness raises one kind of alarm about one chain of one kiosk, retained:
    one topic per kiosk, chain and kind, so a newer alarm never hides another kind (the
    newest of one kind replaces the one before it)."""
    return (f"{witness_prefix(community, witness)}/alarm/{segment(kiosk)}/{segment(chain)}/"
            f"{segment(kind)}")


def plan_topic(community: str, indicator: str) -> str:
    return f"{ROOT}/{segment(community)}/plan/{segment(indicator)}"


def discovery_topic(component: str, node: str, object_id: str) -> str:
    """Where Home Assistant reads one entity's discovery config."""
    return f"{DISCOVERY_PREFIX}/{segment(component)}/{segment(node)}/{segment(object_id)}/config"


def bridge_topic(community: str, kiosk: str) -> str:
    """Where the kiosk's Mosquitto bridge says ``1``/``0`` (retained, ``0`` as its last
    will on the community's broker): whether the kiosk's uplink to the community is up.
    It is the ``notification_topic`` of the shipped bridge (bridge.conf.example)."""
    return f"{kiosk_prefix(community, kiosk)}/bridge"


def discovery_node_filter(node: str) -> str:
    """Every discovery config of one node: what a kiosk's ACL lets it write and its
    bridge carries."""
    return f"{DISCOVERY_PREFIX}/+/{segment(node)}/#"


# --- subscription filters ----------------------------------------------------------------


def _every_kiosk(community: str) -> str:
    return f"{ROOT}/{check_community(community)}/kiosk/+"


def events_of(community: str) -> str:
    """Every kiosk event of one community (``+``: of every community)."""
    return f"{_every_kiosk(community)}/event/#"


def states_of(community: str, device: str) -> str:
    """One device's snapshot of every kiosk of one community (``+``: of every community)."""
    return f"{_every_kiosk(community)}/state/{segment(device)}"


def events_of_kiosk(community: str, kiosk: str) -> str:
    """Every event of one kiosk (Home Assistant's fault ``event`` entity reads these)."""
    return f"{kiosk_prefix(community, kiosk)}/event/+"


def event_of(community: str, event_type: str) -> str:
    """One event type of every kiosk of a community (``+``: of every community)."""
    return f"{_every_kiosk(community)}/event/{type_segment(event_type)}"


def publics_of(community: str) -> str:
    """Every kiosk's retained public record (key, heads, allocations, roster)."""
    return f"{_every_kiosk(community)}/public/+"


def witness_alarms_of(community: str) -> str:
    """Every witness's alarms about every kiosk of a community (``…/alarm/{kiosk}/{chain}/
    {kind}``, and ``…/alarm/{kiosk}`` of witnesses from before)."""
    return f"{ROOT}/{check_community(community)}/witness/+/alarm/#"


def parse_witness_alarm(topic: str) -> tuple[str, str, str, str | None, str | None] | None:
    """(community, witness, kiosk, chain, kind) of a witness alarm topic; chain and kind
    are None on the one topic per kiosk of witnesses from before. None for anything else."""
    levels = _levels(topic)
    if (levels is None or len(levels) not in (6, 8) or levels[0] != ROOT
            or levels[2] != "witness" or levels[4] != "alarm"
            or not all(levels[i] for i in (1, 3, *range(5, len(levels))))):
        return None
    if len(levels) == 6:
        return levels[1], levels[3], levels[5], None, None
    return levels[1], levels[3], levels[5], levels[6], levels[7]


# Everything the plan aggregator reads: all kiosks of all communities, every event type.
ALL_EVENTS = events_of(ANY)


def public_of(community: str) -> list[str]:
    """Every public topic of every kiosk of a community: status, snapshots and events.
    Exact at the kiosk level (no ``#`` there), so the private notify topics stay out."""
    base = _every_kiosk(community)
    return [f"{base}/status", f"{base}/state/#", f"{base}/event/#"]


def notify_of(community: str, kiosk: str) -> str:
    """A kiosk's private notifications to every household: the notifier's filter."""
    return f"{kiosk_prefix(community, kiosk)}/notify/+"


def notify_all(community: str) -> str:
    """Every kiosk's private notifications of a community: ``kiosk notify``'s only filter."""
    return f"{_every_kiosk(community)}/notify/+"


def notifier_events_of(community: str) -> str:
    """Every public event of the community's notifiers (``+``: of every community)."""
    return f"{ROOT}/{check_community(community)}/notifier/+/event/#"


# --- taking a topic apart ----------------------------------------------------------------


@dataclass(frozen=True)
class KioskTopic:
    """A topic under a kiosk's prefix, taken apart: ``kind`` is
    status/event/state/notify/receipt or public."""

    community: str
    kiosk: str
    kind: str
    name: str  # event type segment, device, household; "" for status


def _levels(topic: str) -> list[str] | None:
    if len(topic) > MAX_TOPIC:
        return None
    levels = topic.split("/")
    if any(len(level) > MAX_LEVEL or _BAD_LEVEL.search(level) for level in levels):
        return None
    return levels


def kiosk_of(topic: str) -> tuple[str, str] | None:
    """(community, kiosk) of any topic under a kiosk's prefix, on the contract or not: a
    consumer counts a stray message against the kiosk it came from."""
    levels = _levels(topic)
    if (levels is None or len(levels) < 5 or levels[0] != ROOT or levels[2] != "kiosk"
            or not levels[1] or not levels[3]):
        return None
    return levels[1], levels[3]


def parse(topic: str) -> KioskTopic | None:
    """Take a kiosk topic apart; None if it is not one of the contract's."""
    where = kiosk_of(topic)
    if where is None:
        return None
    levels = topic.split("/")
    kind = levels[4]
    if kind in ("status", "receipt") and len(levels) == 5:
        return KioskTopic(*where, kind, "")
    if kind in ("event", "state", "notify", "public") and len(levels) == 6 and levels[5]:
        return KioskTopic(*where, kind, levels[5])
    return None
