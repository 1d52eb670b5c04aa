"""The community plan's report model: what ``plan/indicators.py`` produces and every view
renders (the terminal report, the public page, the retained MQTT indicators).

Plain frozen dataclasses, nothing but numbers and already-sanitised strings (every string
from the network went through ``mqtt.contract.clean_text``: no control or bidi
characters; a view must still escape for its own format, e.g. HTML). A view never
recomputes a figure: what it shows is here, with the basis it was counted on.

Conventions:
- ``ratio`` fields are 0.0–1.0 and never above 1.0; ``percent(ratio)`` gives 0–100.
- Hours are floats rounded to 2 places; days are ISO dates (``2026-11-29``) in the plan's
  time zone (``CommunityReport.timezone``); weeks are ISO weeks (``2026-W48``).
- ``None`` means "not known" (e.g. no capacity snapshot yet), never zero.

``CommunityReport.indicators()`` gives the JSON-ready dicts published, retained, under
``community/{id}/plan/{indicator}`` (names in ``INDICATORS``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

INDICATORS = ("parcels_per_day", "parcels_per_hour", "wait_time", "occupancy",
              "unmet_demand", "outages", "repairs", "courier_hours", "duty_load", "parking",
              "trends", "faults", "security", "gaps", "intake")


def percent(ratio: float | None) -> float | None:
    """A ratio (0–1) as a percentage to one decimal, capped at 100."""
    if ratio is None:
        return None
    return round(100 * min(1.0, max(0.0, ratio)), 1)


@dataclass(frozen=True)
class WaitTime:
    """How long collected parcels waited. Median and p90 are read from a histogram of
    0.1 h steps (to 72 h, then whole hours): exact to 6 minutes."""

    count: int
    overdue: int
    buckets: dict[str, int]  # "<1h", "1-6h", "6-24h", "1-3d", ">3d"
    mean_h: float | None
    median_h: float | None
    p90_h: float | None
    max_h: float | None


@dataclass(frozen=True)
class Occupancy:
    """One kiosk's compartments of one size. Counted by compartment (a compartment holds
    at most one parcel; an S parcel in an M compartment takes an M), so ``peak`` never
    exceeds ``compartments`` once the kiosk's capacity snapshot is known.
    ``basis`` is "compartment", or "parcel" for events of kiosks too old to name the
    compartment's size (then the count is of parcel sizes, capped at capacity)."""

    kiosk: str
    size: str
    compartments: int | None  # capacity from the kiosk's ``state/lockers`` snapshot
    peak: int
    now: int
    peak_ratio: float | None  # peak / compartments, ≤ 1.0
    basis: str = "compartment"
    over_capacity: int = 0  # occupied compartments seen beyond capacity (lost events?)


@dataclass(frozen=True)
class Refusals:
    """Deposits refused. ``unmet_demand``: the bank was full (scarcity: build more).
    ``outages``: compartments were out of order (repair, not build): never demand."""

    total: int
    by_size: dict[str, int]
    by_day: dict[str, int]
    by_cause: dict[str, int] = field(default_factory=dict)  # outages only


@dataclass(frozen=True)
class Repair:
    """Time to repair one fault type on one device: from the event that raised the fault
    to the one that cleared it (``REPAIRED_BY`` in plan/indicators.py)."""

    kind: str  # the raising event type, e.g. "door.jammed"
    device: str  # "gate-2 compartment A3", "gate-2 board 1", "gate-2"
    kiosk: str
    repaired: int
    mean_h: float | None
    max_h: float | None
    total_h: float
    open_now: int
    open_since: str | None  # oldest still-open fault's raising time (UTC ISO)


@dataclass(frozen=True)
class CourierDay:
    """One courier's day at the lockers: first to last deposit (the time seen at this
    kiosk, not a working day measured), with deposits outside the agreed hours."""

    courier: str
    day: str
    parcels: int
    first: str  # local time "HH:MM"
    last: str
    hours: float
    outside_hours: int  # deposits outside ``CommunityReport.agreed_hours``
    flagged: bool


@dataclass(frozen=True)
class DutyLoad:
    """One maintainer's rostered duty and public actions (``audit.entry`` by them)."""

    volunteer: str
    shifts: int
    hours: float
    actions: int


@dataclass(frozen=True)
class ParkingTypeRow:
    """One spot type within a round. Basis: the type ASKED for. ``requested`` counts each
    member's latest request (a changed request moves, a withdrawn one goes);
    ``allocated``/``refused`` count outcomes by the type the member asked for;
    ``substituted`` of the allocated got a spot of another type; ``spots`` is the supply
    of that spot type in the round (from ``parking.round_closed``)."""

    type: str
    requested: int
    allocated: int
    refused: int
    substituted: int
    spots: int | None

    @property
    def served_ratio(self) -> float | None:
        return min(1.0, self.allocated / self.requested) if self.requested else None


@dataclass(frozen=True)
class ParkingRound:
    round: str
    first_seen: str  # UTC ISO of the round's first event
    types: list[ParkingTypeRow]


@dataclass(frozen=True)
class Parking:
    """Totals over all rounds (asked basis for requested/allocated/refused) and the last
    rounds (up to 12), oldest first. ``supply``: spots in service per type now
    (state/parking); in ``by_type`` a row's ``spots`` is that supply now, in a round's rows
    the spots drawn in that round."""

    requested: int
    allocated: int
    refused: int
    substituted: int
    released: int
    no_show: int
    by_type: list[ParkingTypeRow]
    rounds: list[ParkingRound]
    supply: dict[str, int]
    basis: str = "type asked"


@dataclass(frozen=True)
class Trend:
    """One measure per ISO week, oldest first (up to 12 weeks), and the change of the last
    full week against the one before (None if that one was 0)."""

    measure: str  # parcels, unmet_demand, outages, faults, repairs, parking_refused, ...
    weeks: list[tuple[str, float]]
    this_week: float
    last_week: float
    change_ratio: float | None  # (last full week - the week before) / the week before


@dataclass(frozen=True)
class FaultCount:
    device: str
    counts: dict[str, int]  # per fault type
    total: int


@dataclass(frozen=True)
class Security:
    wrong_codes: int
    tampers: int
    by_day: dict[str, int]


@dataclass(frozen=True)
class KioskGap:
    """Loss seen from the plan's side of one kiosk. ``announced_last_seq`` is the head of
    the kiosk's outbox from its retained ``state/uplink`` snapshot; events with a seq far
    beyond it (``SEQ_SLACK``) are ``held`` apart, not counted, not a gap."""

    kiosk: str
    received: int
    max_seq: int
    missing: int
    ranges: list[tuple[int, int]]
    announced_last_seq: int | None
    behind: int
    held: int


@dataclass(frozen=True)
class Intake:
    events: int
    kiosks: int
    duplicates: int
    conflicts: int
    held: int
    by_type: dict[str, int]
    unknown_types: dict[str, int]
    refused_all_communities: dict[str, int]


@dataclass(frozen=True)
class CommunityReport:
    community: str
    generated_at: str  # UTC ISO
    timezone: str
    agreed_hours: tuple[str, str]  # couriers' agreed hours, local "HH:MM", from the settings
    parcels_per_day: dict[str, int]
    parcels_total: int
    parcels_sent: int
    parcels_per_hour: list[int]  # 24 counts, local hour
    wait: WaitTime
    occupancy: list[Occupancy]
    unmet_demand: Refusals
    outages: Refusals
    repairs: list[Repair]
    couriers: list[CourierDay]  # newest days first, at most 62 days
    duty: list[DutyLoad]
    parking: Parking
    trends: list[Trend]
    faults: list[FaultCount]
    fault_totals: dict[str, int]
    security: Security
    gaps: list[KioskGap]
    intake: Intake

    def indicators(self) -> dict[str, dict[str, Any]]:
        """The retained MQTT indicators, JSON-ready, keyed by ``INDICATORS``."""
        def rows(items: list[Any]) -> list[dict[str, Any]]:
            return [asdict(i) for i in items]

        gaps = rows(self.gaps)
        return {
            "parcels_per_day": {"days": self.parcels_per_day, "total": self.parcels_total,
                                "sent": self.parcels_sent},
            "parcels_per_hour": {"hours": self.parcels_per_hour, "timezone": self.timezone},
            "wait_time": asdict(self.wait),
            "occupancy": {"compartments": rows(self.occupancy)},
            "unmet_demand": {k: v for k, v in asdict(self.unmet_demand).items()
                             if k != "by_cause"},
            "outages": asdict(self.outages),
            "repairs": {"devices": rows(self.repairs)},
            "courier_hours": {"days": rows(self.couriers), "timezone": self.timezone,
                              "agreed_hours": list(self.agreed_hours)},
            "duty_load": {"volunteers": rows(self.duty)},
            "parking": asdict(self.parking),
            "trends": {"measures": rows(self.trends)},
            "faults": {"devices": rows(self.faults), "totals": self.fault_totals},
            "security": asdict(self.security),
            "gaps": {"kiosks": gaps, "missing": sum(g.missing for g in self.gaps),
                     "behind": sum(g.behind for g in self.gaps),
                     "held": sum(g.held for g in self.gaps)},
            "intake": asdict(self.intake),
        }
