"""The fleet as the maintainers' monitor sees it: each kiosk's availability, devices, alerts
and latest events, built from the updates that the MQTT feed hands over.

Plain Python on purpose: ``monitor/feed.py`` parses and validates messages into the
update dataclasses below, ``tui/monitor.py`` draws; the rules in between live here so they
are tested without a broker or a terminal.

Alerts are keyed by (kind, subject), e.g. ("door.jammed", "A3"). An alert event raises one;
its clearing event or a state snapshot that no longer shows the fault clears it. A retained
snapshot can also raise an alert whose event was published before the monitor started
(events are not retained); such an alert has no subject until an event names one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mqtt.contract import MAX_DEVICES_PER_KIOSK

KioskKey = tuple[str, str]  # (community, kiosk): kiosk ids are unique within a community
# The most kiosks one monitor tracks: a federation's worth; made-up ids beyond are counted.
MAX_KIOSKS = 2000

# --- updates, as the feed hands them over ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    community: str
    kiosk: str
    online: bool | None  # None: the retained status was deleted
    retained: bool = False


@dataclass(frozen=True, slots=True)
class BoardState:
    board: int
    online: bool
    errors: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class LockerState:
    free: dict[str, int]
    capacity: dict[str, int]
    doors_open: tuple[str, ...]
    out_of_service: tuple[str, ...]
    faults: tuple[str, ...]
    # The kiosk's last event seq when the snapshot was made (None: a kiosk that does not
    # say): an alert whose event came later is not ended by this snapshot's silence.
    last_seq: int | None = None


@dataclass(frozen=True, slots=True)
class UplinkState:
    connected: bool
    backlog: int


# Devices the monitor does not know (spots, barrier, …) are kept as their JSON object.
DeviceState = BoardState | LockerState | UplinkState | dict[str, Any]


@dataclass(frozen=True, slots=True)
class StateUpdate:
    community: str
    kiosk: str
    device: str
    state: DeviceState | None  # None: the retained snapshot was deleted
    retained: bool = False


@dataclass(frozen=True, slots=True)
class EventUpdate:
    community: str
    kiosk: str
    seq: int
    id: str
    ts: str
    type: str
    data: dict[str, Any]
    retained: bool = False


@dataclass(frozen=True, slots=True)
class Malformed:
    topic: str
    reason: str
    community: str | None = None
    kiosk: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionChange:
    connected: bool
    detail: str = ""


Update = StatusUpdate | StateUpdate | EventUpdate | Malformed | ConnectionChange

# --- alert rules ----------------------------------------------------------------------------

# Alert event type -> the data key naming what it is about (None: the kiosk as a whole).
# The order is the order of importance in which a kiosk's alerts are listed.
ALERT_SUBJECT: dict[str, str | None] = {
    "cabinet.tamper": None,
    "door.tamper": "compartment",
    "board.offline": "board",
    "board.polarity_suspect": "board",
    "kiosk.disk_full": None,
    "door.jammed": "compartment",
    "door.left_open": "compartment",
    "sensor.mismatch": "compartment",
    "parcel.in_review": "parcel",
    "locker.unavailable": "size",
    "kiosk.worker_failed": "where",
    "security.wrong_code": None,
    "locker.full": "size",
}
ALERT_ORDER = {kind: i for i, kind in enumerate(ALERT_SUBJECT)}

# Clearing event type -> the alert kind it ends (for the same subject).
CLEARED_BY: dict[str, str] = {
    "board.online": "board.offline",
    "door.shut": "door.left_open",
    "door.tamper_cleared": "door.tamper",
    "sensor.mismatch_cleared": "sensor.mismatch",
    "board.polarity_cleared": "board.polarity_suspect",
    "kiosk.disk_ok": "kiosk.disk_full",
    "kiosk.worker_recovered": "kiosk.worker_failed",
    "door.jam_cleared": "door.jammed",
}

# Maintainer actions (published as ``audit.entry`` events) that end an alert:
# audit action -> the alert kind it ends, for the audit entry's subject.
CLEARED_BY_ACTION: dict[str, str] = {
    "parcel.review_resolved": "parcel.in_review",
    "compartment.fault_cleared": "door.jammed",
}

# Faults that the ``lockers`` snapshot lists by kind: when a kind is gone, so are its alerts.
SNAPSHOT_FAULTS = frozenset({"board.offline", "door.jammed", "door.left_open", "door.tamper",
                             "sensor.mismatch", "cabinet.tamper", "board.polarity_suspect",
                             "kiosk.disk_full", "kiosk.worker_failed"})
# Sizes from small to large: a parcel fits its own size and every larger one.
SIZES = ("S", "M", "L")

# A wrong code has no clearing event; its alert fades this long after the last one.
WRONG_CODE_HOLD_S = 600.0


@dataclass
class Alert:
    kind: str
    subject: str | None
    since: str  # the kiosk's timestamp of the raising event; "" when raised by a snapshot
    data: dict[str, Any]
    expires: float | None = None  # monitor clock
    seq: int = 0  # the raising event's seq; 0 when raised by a snapshot

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.kind, self.subject)


def _subject(kind: str, data: dict[str, Any]) -> str | None:
    name = ALERT_SUBJECT.get(kind)
    if name is None or data.get(name) is None:
        return None
    return str(data[name])


def _room_for(state: LockerState, size: str) -> bool:
    """A parcel of ``size`` fits a free compartment of the snapshot (its size or larger)."""
    fitting = SIZES[SIZES.index(size):] if size in SIZES else (size,)
    return any(state.free.get(s, 0) > 0 for s in fitting)


def is_alert(event: EventUpdate) -> bool:
    if event.type == "security.wrong_code":
        wait = event.data.get("wait_s")
        return isinstance(wait, int | float) and wait > 0
    if event.type == "cabinet.tamper":
        return event.data.get("opened") is not False  # opened=false is the all-clear
    return event.type in ALERT_SUBJECT


# --- loss and duplicate detection -----------------------------------------------------------


class SeqTracker:
    """Which of a kiosk's event numbers have been seen: drops duplicates, counts gaps.

    ``seq`` has no gaps at the source, so ``missing`` (numbers between the first and the
    highest seen that never arrived) is what the monitor lost, e.g. while disconnected.
    Only the last ``WINDOW`` numbers are remembered; a number far below them means the
    kiosk started a new history (a replaced database), and counting starts again.
    """

    WINDOW = 4096

    def __init__(self) -> None:
        self.first: int | None = None
        self.high = 0
        self.accepted = 0
        self.restarts = 0
        self._recent: set[int] = set()

    def accept(self, seq: int) -> bool:
        if self.first is not None and seq <= self.high - self.WINDOW:
            self.restarts += 1
            self.first = None
        if self.first is None:
            self.first, self.high, self.accepted, self._recent = seq, seq, 1, {seq}
            return True
        if seq in self._recent:
            return False
        self._recent.add(seq)
        self.accepted += 1
        if seq > self.high:
            self.high = seq
        elif seq < self.first:
            self.first = seq
        if len(self._recent) > 2 * self.WINDOW:
            floor = self.high - self.WINDOW
            self._recent = {s for s in self._recent if s > floor}
        return True

    @property
    def missing(self) -> int:
        if self.first is None:
            return 0
        return self.high - self.first + 1 - self.accepted


# --- the model ------------------------------------------------------------------------------


@dataclass
class KioskView:
    community: str
    kiosk: str
    events_kept: int = 20
    online: bool | None = None
    last_seen: float | None = None  # monitor clock of the last live (not retained) message
    boards: dict[int, BoardState] = field(default_factory=dict)
    lockers: LockerState | None = None
    uplink: UplinkState | None = None
    other: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[tuple[str, str | None], Alert] = field(default_factory=dict)
    seqs: SeqTracker = field(default_factory=SeqTracker)
    malformed: int = 0
    duplicates: int = 0
    version: int = 0  # grows on every change, so a screen redraws only what changed
    events: deque[EventUpdate] = field(init=False)

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.events_kept)

    @property
    def key(self) -> KioskKey:
        return (self.community, self.kiosk)

    def alert_list(self) -> list[Alert]:
        return sorted(self.alerts.values(),
                      key=lambda a: (ALERT_ORDER.get(a.kind, 99), a.subject or ""))

    # alerts -------------------------------------------------------------------------------

    def raise_alert(self, kind: str, subject: str | None, since: str, data: dict[str, Any],
                    expires: float | None = None, seq: int = 0) -> None:
        if subject is not None:
            # The event names what the snapshot could only count.
            self.alerts.pop((kind, None), None)
        self.alerts[(kind, subject)] = Alert(kind, subject, since, data, expires, seq)

    def clear_alert(self, kind: str, subject: str | None) -> None:
        self.alerts.pop((kind, subject), None)

    def clear_kind(self, kind: str, keep: Callable[[Alert], bool] = lambda a: False) -> None:
        for key in [k for k, a in self.alerts.items() if k[0] == kind and not keep(a)]:
            del self.alerts[key]


class Fleet:
    """Every kiosk seen on the feed. ``apply`` is called on one thread (the UI's).

    Bounded against made-up ids: a kiosk is tracked only from a message that passed the
    contract (a ``Malformed`` one never creates a kiosk), at most ``max_kiosks`` of them
    and ``MAX_DEVICES_PER_KIOSK`` snapshots each; messages beyond are counted in
    ``untracked``."""

    def __init__(self, clock: Callable[[], float] = time.time, events_per_kiosk: int = 20,
                 latest_kept: int = 100, max_kiosks: int = MAX_KIOSKS):
        self.clock = clock
        self.max_kiosks = max_kiosks
        self.untracked = 0
        self.events_per_kiosk = events_per_kiosk
        self.kiosks: dict[KioskKey, KioskView] = {}
        self.latest: deque[EventUpdate] = deque(maxlen=latest_kept)  # newest on the right
        self.connected: bool | None = None
        self.connection_detail = ""
        self.events_applied = 0
        self.duplicates = 0
        self.malformed = 0
        self.last_malformed: Malformed | None = None
        self.version = 0
        self.latest_version = 0

    def kiosk(self, community: str, kiosk: str) -> KioskView:
        view = self.kiosks.get((community, kiosk))
        if view is None:
            view = KioskView(community, kiosk, events_kept=self.events_per_kiosk)
            self.kiosks[(community, kiosk)] = view
        return view

    def _tracked(self, community: str, kiosk: str) -> KioskView | None:
        """The kiosk's view, made if there is room; None (and counted) if not."""
        view = self.kiosks.get((community, kiosk))
        if view is None and len(self.kiosks) >= self.max_kiosks:
            self.untracked += 1
            return None
        return self.kiosk(community, kiosk)

    def sorted_kiosks(self) -> list[KioskView]:
        return [self.kiosks[k] for k in sorted(self.kiosks)]

    def alert_count(self) -> int:
        return sum(len(v.alerts) for v in self.kiosks.values())

    def offline_count(self) -> int:
        return sum(1 for v in self.kiosks.values() if v.online is False)

    def communities(self) -> set[str]:
        return {k[0] for k in self.kiosks}

    # applying updates ---------------------------------------------------------------------

    def apply_all(self, updates: Iterable[Update]) -> None:
        for update in updates:
            self.apply(update)

    def apply(self, update: Update) -> None:
        if isinstance(update, EventUpdate):
            self._event(update)
        elif isinstance(update, StateUpdate):
            self._state(update)
        elif isinstance(update, StatusUpdate):
            view = self._touch(update.community, update.kiosk, update.retained)
            if view is not None:
                view.online = update.online
        elif isinstance(update, Malformed):
            self.malformed += 1
            self.last_malformed = update
            known = self.kiosks.get((update.community or "", update.kiosk or ""))
            if known is not None:  # counted against a kiosk we know, never a new one
                known.malformed += 1
                known.version += 1
        elif isinstance(update, ConnectionChange):
            self.connected = update.connected
            self.connection_detail = update.detail
        self.version += 1

    def expire(self) -> bool:
        """Drop alerts whose hold time is over; True if any was dropped."""
        now = self.clock()
        changed = False
        for view in self.kiosks.values():
            gone = [k for k, a in view.alerts.items() if a.expires is not None
                    and a.expires <= now]
            for key in gone:
                del view.alerts[key]
            if gone:
                view.version += 1
                changed = True
        if changed:
            self.version += 1
        return changed

    def _touch(self, community: str, kiosk: str, retained: bool) -> KioskView | None:
        view = self._tracked(community, kiosk)
        if view is None:
            return None
        if not retained:
            # A retained message may be days old: it says nothing about when we last heard.
            view.last_seen = self.clock()
        view.version += 1
        return view

    def _event(self, event: EventUpdate) -> None:
        view = self._touch(event.community, event.kiosk, event.retained)
        if view is None:
            return
        if not view.seqs.accept(event.seq):
            view.duplicates += 1
            self.duplicates += 1
            return
        self.events_applied += 1
        view.events.append(event)
        self.latest.append(event)
        self.latest_version += 1
        kind, data = event.type, event.data
        if kind in CLEARED_BY:
            view.clear_alert(CLEARED_BY[kind], _subject(CLEARED_BY[kind], data))
        elif kind == "audit.entry" and data.get("action") in CLEARED_BY_ACTION:
            view.clear_alert(CLEARED_BY_ACTION[data["action"]], str(data.get("subject")))
        elif kind == "cabinet.tamper" and data.get("opened") is False:
            view.clear_kind("cabinet.tamper")
        elif is_alert(event):
            expires = (self.clock() + WRONG_CODE_HOLD_S if kind == "security.wrong_code"
                       else None)
            view.raise_alert(kind, _subject(kind, data), event.ts, data, expires, event.seq)

    def _state(self, update: StateUpdate) -> None:
        view = self._touch(update.community, update.kiosk, update.retained)
        if view is None:
            return
        state = update.state
        new_device = (state is not None and isinstance(state, BoardState | dict)
                      and (state.board not in view.boards if isinstance(state, BoardState)
                           else update.device not in view.other))
        if new_device and len(view.boards) + len(view.other) >= MAX_DEVICES_PER_KIOSK:
            self.untracked += 1
            return
        if isinstance(state, BoardState):
            view.boards[state.board] = state
            subject = str(state.board)
            if state.online:
                view.clear_alert("board.offline", subject)
            elif ("board.offline", subject) not in view.alerts:
                view.raise_alert("board.offline", subject, "",
                                 {"board": state.board, "error": state.last_error})
        elif isinstance(state, LockerState):
            view.lockers = state
            self._reconcile_faults(view, state)
        elif isinstance(state, UplinkState):
            view.uplink = state
        elif isinstance(state, dict):
            view.other[update.device] = state
        else:  # the retained snapshot was deleted: forget the device
            if update.device == "lockers":
                view.lockers = None
            elif update.device == "uplink":
                view.uplink = None
            elif update.device.startswith("board-") and update.device[6:].isdigit():
                view.boards.pop(int(update.device[6:]), None)
            else:
                view.other.pop(update.device, None)

    @staticmethod
    def _reconcile_faults(view: KioskView, state: LockerState) -> None:
        def fresh(a: Alert) -> bool:
            # Snapshots and events travel apart: one made before the alert's event may
            # arrive after it, and says nothing about it.
            return state.last_seq is not None and a.seq > state.last_seq

        listed = set(state.faults)
        for kind in SNAPSHOT_FAULTS - listed:
            view.clear_kind(kind, keep=fresh)
        for kind in listed & SNAPSHOT_FAULTS:
            if not any(k[0] == kind for k in view.alerts):
                view.raise_alert(kind, None, "", {})
        # A full size is no longer full once the snapshot shows a free compartment of it;
        # an outage's refusal ends once a parcel of its size fits somewhere again.
        view.clear_kind("locker.full", keep=lambda a: fresh(a) or a.subject is None
                        or state.free.get(a.subject, 0) <= 0)
        view.clear_kind("locker.unavailable", keep=lambda a: fresh(a) or a.subject is None
                        or not _room_for(state, a.subject))


class UpdateBuffer:
    """Hands updates from the network thread to the UI thread in batches.

    ``put`` runs on the network thread: it appends and, if the UI is not already woken,
    calls ``wake`` (e.g. a thread-safe ``post_message``). ``drain()`` takes everything and
    re-arms the wake; the flag is cleared before taking, so an update put meanwhile wakes
    the UI again rather than waiting unseen. ``drain(rearm=False)`` takes everything but
    leaves the wake spent: a UI that also drains on its frame timer uses it so that it is
    woken at most once per frame, not 2,000 times a second. Past ``limit`` pending updates
    the oldest are dropped and counted, so a stalled screen cannot eat the memory.
    """

    def __init__(self, limit: int = 200_000):
        self._items: deque[Update] = deque()
        self._limit = limit
        self._wake: Callable[[], None] | None = None
        self._woken = False
        self.dropped = 0

    def set_wake(self, wake: Callable[[], None] | None) -> None:
        self._wake = wake
        if wake is not None and self._items:
            self._woken = True
            wake()

    def put(self, update: Update) -> None:
        if len(self._items) >= self._limit:
            self._items.popleft()
            self.dropped += 1
        self._items.append(update)
        if not self._woken and self._wake is not None:
            self._woken = True
            self._wake()

    def drain(self, rearm: bool = True) -> list[Update]:
        if rearm:
            self._woken = False
        items = self._items
        out = []
        while items:
            out.append(items.popleft())
        return out

    def __len__(self) -> int:
        return len(self._items)
