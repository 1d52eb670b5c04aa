"""What the maintenance screen shows and does, as plain Python over the core services.

``gather`` reads everything a maintainer looks at in one go, from a worker thread: each
compartment with the one state that matters most, the boards with their error counts,
the GPIO peripherals, the uplink and every active fault. ``perform`` carries out one
action through the audited services. Adapters are read only through two accessors they
may offer — ``counters`` on a board bus, ``readings()`` on the peripherals — and never
imported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kiosk.doors import POLARITY
from kiosk.hardware import BoardError, BoardStatus
from kiosk.lockers.model import SIZES, Compartment, compartment_label
from kiosk.maintenance import Maintenance, Mismatch

if TYPE_CHECKING:
    from kiosk.duty import DutyRoster
    from kiosk.health import HealthMonitor
    from kiosk.lockers.service import LockerService
    from kiosk.parking.register import ParkingRegister

# The state a compartment shows in the grid, most urgent first when several apply.
GRID_STATES = ("offline", "jammed", "left_in", "open", "in_review", "out_of_service",
               "occupied", "free")
# The faults of something the sensor sees inside that must not be there (an item in a
# free compartment, a parcel left behind at pickup or collection: kiosk/lockers/service.py):
# the grid's "left in", not a jam, so the maintainer knows to look inside, not at the lock.
LEFT_IN_FAULTS = ("item_inside", "left_inside")
# What the serial driver counts that means trouble on the line (not requests or unlocks).
ERROR_COUNTERS = ("timeouts", "bad_frames", "retries", "dropped_bytes")
# Events waiting for the broker past this many: the uplink is not keeping up.
BACKLOG_ALERT = 100
# Pickup codes no receipt has confirmed this long after they were queued: the notifier or
# its channels are failing (docs/notify.md).
UNDELIVERED_ALERT_S = 600
ACTIONS = ("force_door", "out_of_service", "in_service", "clear_fault", "resolve_review",
           "reconcile", "spot_out", "spot_in", "handover")


@dataclass
class MaintenanceParts:
    """What the maintenance screen runs on; the command line builds it (wiring.py)."""

    maintenance: Maintenance
    duty: DutyRoster
    health: HealthMonitor
    parking: ParkingRegister | None = None

    @property
    def lockers(self) -> LockerService:
        return self.maintenance.lockers


@dataclass(frozen=True)
class CompartmentView:
    id: str
    board: int
    lock: int
    size: str
    state: str  # one of GRID_STATES
    in_service: bool
    fault: str | None
    parcel_state: str | None
    door_open: bool | None  # None: the board did not answer just now
    item_inside: bool | None
    review_parcel: int | None = None
    review_note: str | None = None


@dataclass(frozen=True)
class BoardView:
    board: int
    label: str  # the letter on the cabinet
    online: bool
    errors: int  # failed polls since the kiosk started
    last_error: str | None


@dataclass(frozen=True)
class FaultView:
    kind: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        for key in ("compartment", "board", "size", "parcel"):
            if key in self.details:
                return str(self.details[key])
        return ""


@dataclass(frozen=True)
class Overview:
    compartments: list[CompartmentView]
    boards: list[BoardView]
    bus_counters: dict[str, int] | None  # None: the board driver keeps no counters
    peripherals: dict[str, str]
    uplink: bool | None  # None: no uplink configured
    backlog: int
    faults: list[FaultView]
    free: dict[str, int]
    in_review: list[dict[str, Any]]
    on_duty: tuple[str, ...]

    def compartment(self, compartment_id: str) -> CompartmentView | None:
        return next((c for c in self.compartments if c.id == compartment_id), None)


def grid_state(c: Compartment, door_open: bool | None, board_online: bool) -> str:
    if not board_online or c.fault == "board_offline":
        return "offline"
    if c.fault == POLARITY:
        # Out of service until the board's readings look right; the fault list says why.
        return "out_of_service"
    if c.fault in LEFT_IN_FAULTS:
        # Open again (someone is taking it out): the door is what matters just now.
        return "open" if door_open else "left_in"
    if c.fault is not None:
        # The only other fault a compartment gets is a lock that did not open.
        return "jammed"
    if door_open:
        return "open"
    if c.parcel_state == "in_review":
        return "in_review"
    if not c.in_service:
        return "out_of_service"
    if c.parcel_state is not None:
        return "occupied"
    return "free"


def is_full(compartments: list[Compartment], size: str) -> bool:
    """Every compartment of ``size`` (at least one) holds a parcel."""
    mine = [c for c in compartments if c.size == size]
    return bool(mine) and all(c.parcel_state is not None for c in mine)


def bus_counters(board: object) -> dict[str, int] | None:
    """The board driver's line counters, if it keeps any (the serial driver does)."""
    counters = getattr(board, "counters", None)
    if counters is None:
        return None
    if dataclasses.is_dataclass(counters) and not isinstance(counters, type):
        counters = dataclasses.asdict(counters)
    return {k: int(v) for k, v in dict(counters).items()}


def peripheral_readings(peripherals: object, cabinet_open: bool) -> dict[str, str]:
    if peripherals is None:
        return {}
    readings = getattr(peripherals, "readings", None)
    if callable(readings):
        return dict(readings())
    return {"tamper": "open" if cabinet_open else "closed"}


def gather(parts: MaintenanceParts, uplink: bool | None, backlog: int) -> Overview:
    """Everything the maintenance screen shows. Blocks on the boards: call from a worker.

    ``uplink`` and ``backlog`` come from the status probe the status line already runs.
    """
    lockers = parts.lockers
    health = parts.health
    compartments = lockers.compartments()
    statuses: dict[int, BoardStatus | None] = {}
    for board in sorted({c.board for c in compartments}):
        try:
            statuses[board] = lockers.board.status(board)
        except BoardError:
            statuses[board] = None
    online = {number: h.online for number, h in health.boards.items()}
    review = {r["compartment"]: r for r in parts.maintenance.in_review()}
    views = []
    for c in compartments:
        status = statuses.get(c.board)
        door_open = None if status is None else not status.is_locked(c.lock)
        inside = None if status is None else status.is_occupied(c.lock)
        board_online = status is not None and online.get(c.board, True)
        r = review.get(c.id)
        views.append(CompartmentView(
            c.id, c.board, c.lock, c.size, grid_state(c, door_open, board_online),
            c.in_service, c.fault, c.parcel_state, door_open, inside,
            r["id"] if r else None, r["note"] if r else None))
    boards = [BoardView(h.board, compartment_label(h.board, 1)[0], h.online, h.errors,
                        h.last_error) for h in sorted(health.boards.values(),
                                                      key=lambda h: h.board)]
    free = lockers.free_counts()
    faults = [FaultView(kind, details) for kind, details in health.faults()]
    faults += [FaultView("parcel.in_review", {"parcel": r["id"], "compartment": r["compartment"]})
               for r in review.values()]
    if uplink is False:
        faults.append(FaultView("uplink.down"))
    if backlog >= BACKLOG_ALERT:
        faults.append(FaultView("uplink.backlog", {"backlog": backlog}))
    # Without an uplink nothing is delivered by design (the demo without a broker).
    late = (lockers.outbox.undelivered_count(older_than_s=UNDELIVERED_ALERT_S)
            if lockers.config.mqtt.enabled else 0)
    if late:
        faults.append(FaultView("notify.undelivered", {"n": late}))
    # Full only when every compartment of a size holds a parcel its household knows of:
    # one empty but out of order (an offline board, a jam) or a parcel whose code the
    # uplink outage holds back is the outage, already listed as its own fault.
    unavailable = lockers.unavailable_sizes()
    faults += [FaultView("locker.full", {"size": s}) for s in SIZES
               if s not in unavailable and not free[s] and is_full(compartments, s)]
    shift = parts.duty.on_duty()
    return Overview(views, boards, bus_counters(lockers.board),
                    peripheral_readings(health.peripherals, health.cabinet_open),
                    uplink, backlog, faults, free, list(review.values()),
                    shift.maintainers if shift else ())


# --- actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One maintainer action. ``subject``: a compartment, parcel id, spot or volunteer."""

    kind: str  # one of ACTIONS
    subject: str = ""
    outcome: str = ""  # how an in-review parcel is settled


@dataclass(frozen=True)
class ActionResult:
    action: Action
    done: bool
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str = ""  # why it was not done, as the core said it
    off_duty: bool = False  # the actor's shift is over: the session must end


def perform(parts: MaintenanceParts, actor: str, action: Action, reason: str) -> ActionResult:
    """Carry out ``action`` through the audited services. Blocks: call from a worker.

    Refusals (no reason, a rule, a board that does not answer) come back as a result that
    is not done; nothing was changed then, except that a forced door is logged before the
    lock moves, whether it opens or not.
    """
    from kiosk.duty import DutyError
    from kiosk.lockers.model import LockerError
    from kiosk.parking.model import ParkingError

    reason = reason.strip()
    if not reason:
        return ActionResult(action, False, error="a reason is required")
    shift = parts.duty.on_duty()
    if shift is None or actor not in shift.maintainers:
        # The PIN opened a session during the shift; the shift has ended (or was handed
        # over) since. Nothing more is done in its name.
        return ActionResult(action, False, error=f"{actor} is not on duty now", off_duty=True)
    m = parts.maintenance
    try:
        if action.kind == "force_door":
            return ActionResult(action, m.force_door(actor, action.subject, reason))
        if action.kind in ("out_of_service", "in_service"):
            m.set_in_service(actor, action.subject, action.kind == "in_service", reason)
        elif action.kind == "clear_fault":
            m.clear_fault(actor, action.subject, reason)
        elif action.kind == "resolve_review":
            m.resolve_review(actor, int(action.subject), action.outcome, reason)
        elif action.kind == "reconcile":
            return ActionResult(action, True, m.reconcile_all(actor, reason))
        elif action.kind in ("spot_out", "spot_in"):
            if parts.parking is None:
                return ActionResult(action, False, error="no car park at this kiosk")
            state = "in_service" if action.kind == "spot_in" else "out_of_service"
            parts.parking.set_spot_state(actor, action.subject, state, reason)
        elif action.kind == "handover":
            parts.duty.handover(actor, action.subject, reason)
        else:
            raise ValueError(f"unknown action {action.kind!r}")
    except (LockerError, DutyError, ParkingError, BoardError, ValueError) as exc:
        return ActionResult(action, False, error=str(exc))
    return ActionResult(action, True)
