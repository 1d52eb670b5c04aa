"""BASELINE for bench/bench_plan.py: the first build's plan/indicators.py, unchanged but
for this paragraph. It recomputed every indicator from every stored event at every
publish; the bench measures it beside the incremental aggregates in the same run. Not
used by the plan.

The community plan's indicators, computed from the aggregator's events.

Scarcity is a planning signal: full locker banks, refused parking requests and long waits
are counted here so the community can plan to build more. An outage is not scarcity: a
deposit refused because compartments were out of order (``locker.unavailable``) is counted
under ``outages``, never as unmet demand, since building more would not have helped.
Event data comes from the network, so every field is read leniently: a missing or odd
value is skipped, never fatal.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from kiosk.events import iso, parse_iso, utc_now
from plan.store import PlanStore, finite_number

INDICATORS = ("parcels_per_day", "parcels_per_hour", "wait_time", "occupancy",
              "unmet_demand", "outages", "courier_load", "faults", "security", "parking",
              "gaps", "intake")

# Families of event types the kiosk writes; a type outside them is listed as unknown (kept).
KNOWN_FAMILIES = frozenset({"parcel", "locker", "door", "board", "sensor", "cabinet",
                            "security", "parking", "kiosk", "audit", "duty"})
FAULT_TYPES = ("door.jammed", "door.not_opened", "door.left_open", "door.tamper",
               "board.offline", "sensor.mismatch", "cabinet.tamper")
# Parcels that take a compartment, and those that give it back.
INTO_COMPARTMENT = ("parcel.deposited", "parcel.sent")
OUT_OF_COMPARTMENT = ("parcel.collected", "parcel.returned", "parcel.outgoing_collected")
PARKING = ("requested", "refused", "allocated", "released", "no_show", "reserved",
           "checked_in", "waitlisted", "unreserved_occupancy")
WAIT_BUCKETS = ((3600, "<1h"), (6 * 3600, "1-6h"), (24 * 3600, "6-24h"),
                (3 * 24 * 3600, "1-3d"), (None, ">3d"))


def _text(value: Any, limit: int = 64) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    if type(value) is int:
        return str(value)
    return None


def _device(kiosk: str, data: dict[str, Any]) -> str:
    compartment, board = _text(data.get("compartment")), _text(data.get("board"))
    if compartment is not None:
        return f"{kiosk} compartment {compartment}"
    if board is not None:
        return f"{kiosk} board {board}"
    return kiosk


def _counts(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:32]: v for k, v in value.items() if type(v) is int and 0 <= v < 10**6}


def _spot_type(data: dict[str, Any]) -> str:
    return _text(data.get("spot_type")) or _text(data.get("type")) or "any"


class _Pass:
    """One walk over a community's events, per kiosk in seq order."""

    def __init__(self, tz: tzinfo):
        self.tz = tz
        self.per_day: Counter[str] = Counter()
        self.per_hour = [0] * 24
        self.couriers_by_hour: list[set[str]] = [set() for _ in range(24)]
        self.waits: list[float] = []
        self.overdue = 0
        self.full_by_size: Counter[str] = Counter()
        self.full_by_day: Counter[str] = Counter()
        self.outage_by_size: Counter[str] = Counter()
        self.outage_by_cause: Counter[str] = Counter()
        self.outage_by_day: Counter[str] = Counter()
        self.faults: dict[str, Counter[str]] = defaultdict(Counter)
        self.fault_totals: Counter[str] = Counter()
        self.security_by_day: Counter[str] = Counter()
        self.wrong_codes = 0
        self.tampers = 0
        self.parking: Counter[str] = Counter()
        self.parking_by_type: dict[str, Counter[str]] = defaultdict(Counter)
        self.rounds: list[dict[str, Any]] = []
        self.sent = 0
        self.types: Counter[str] = Counter()
        # occupancy per kiosk and size
        self.stored: dict[tuple[str, str], int] = defaultdict(int)
        self.peak: dict[tuple[str, str], int] = defaultdict(int)
        self.size_of: dict[tuple[str, str], str] = {}

    def local(self, ts: str) -> datetime | None:
        try:
            return parse_iso(ts).astimezone(self.tz)
        except (ValueError, OverflowError):
            return None

    def add(self, e: dict[str, Any]) -> None:
        kiosk, type_, data = e["kiosk"], e["type"], e["data"]
        self.types[type_] += 1
        when = self.local(e["ts"])
        day = when.date().isoformat() if when else None
        if type_ in INTO_COMPARTMENT:
            if type_ == "parcel.sent":
                self.sent += 1
            else:
                if day:
                    self.per_day[day] += 1
                if when:
                    self.per_hour[when.hour] += 1
                    courier = _text(data.get("courier"))
                    if courier:
                        self.couriers_by_hour[when.hour].add(courier)
            size, parcel = _text(data.get("size"), 8), _text(data.get("parcel"))
            if size:
                if parcel:
                    self.size_of[(kiosk, parcel)] = size
                key = (kiosk, size)
                self.stored[key] += 1
                self.peak[key] = max(self.peak[key], self.stored[key])
        elif type_ in OUT_OF_COMPARTMENT:
            if type_ == "parcel.collected":
                waited = finite_number(data.get("waited_s"))
                if waited is not None and waited >= 0:
                    self.waits.append(waited)
            parcel = _text(data.get("parcel"))
            size = _text(data.get("size"), 8) or (parcel and self.size_of.pop((kiosk, parcel),
                                                                              None))
            if size and self.stored[(kiosk, size)] > 0:
                self.stored[(kiosk, size)] -= 1
        elif type_ == "parcel.overdue":
            self.overdue += 1
        elif type_ == "locker.full":
            self.full_by_size[_text(data.get("size"), 8) or "?"] += 1
            if day:
                self.full_by_day[day] += 1
        elif type_ == "locker.unavailable":
            self.outage_by_size[_text(data.get("size"), 8) or "?"] += 1
            for cause in _counts(data.get("causes")):
                self.outage_by_cause[cause] += 1
            if day:
                self.outage_by_day[day] += 1
        elif type_ in FAULT_TYPES:
            self.faults[_device(kiosk, data)][type_] += 1
            self.fault_totals[type_] += 1
            if type_ == "door.tamper":
                self.tampers += 1
                if day:
                    self.security_by_day[day] += 1
        elif type_ == "security.wrong_code":
            self.wrong_codes += 1
            if day:
                self.security_by_day[day] += 1
        elif type_ == "parking.round_closed":
            askers, spots = _counts(data.get("askers")), _counts(data.get("spots"))
            self.rounds.append({"round": _text(data.get("round")) or "?", "askers": askers,
                                "spots": spots})
        elif type_.startswith("parking."):
            what = type_.removeprefix("parking.")
            if what in PARKING:
                self.parking[what] += 1
                self.parking_by_type[_spot_type(data)][what] += 1


def _wait_summary(waits: list[float], overdue: int) -> dict[str, Any]:
    buckets: Counter[str] = Counter()
    for w in waits:
        for limit, label in WAIT_BUCKETS:
            if limit is None or w < limit:
                buckets[label] += 1
                break
    hours = sorted(w / 3600 for w in waits)
    summary: dict[str, Any] = {"count": len(waits), "overdue": overdue,
                               "buckets": {label: buckets[label] for _, label in WAIT_BUCKETS}}
    if hours:
        summary.update({
            "mean_h": round(statistics.fmean(hours), 2),
            "median_h": round(statistics.median(hours), 2),
            "p90_h": round(hours[min(len(hours) - 1, int(0.9 * len(hours)))], 2),
            "max_h": round(hours[-1], 2)})
    return summary


def _capacities(store: PlanStore, community: str) -> dict[str, dict[str, int]]:
    """Compartments per size and kiosk, from the retained ``lockers`` snapshots."""
    return {kiosk: _counts(snap.get("capacity"))
            for kiosk, snap in store.states(community, "lockers").items()}


def _parking_supply(store: PlanStore, community: str) -> Counter[str]:
    """Spots in service per type, from the ``parking`` snapshots: {type: {"in_service": n,
    "spots": n, ...}} as the core's spot summary makes them."""
    supply: Counter[str] = Counter()
    for snap in store.states(community, "parking").values():
        for spot_type, row in snap.items():
            if isinstance(row, dict):
                n = row.get("in_service", row.get("spots"))
                if type(n) is int and 0 <= n < 10**6:
                    supply[str(spot_type)[:32]] += n
    return supply


def compute(store: PlanStore, community: str, tz: str | tzinfo = "UTC") -> dict[str, Any]:
    """Every indicator of one community, as JSON-ready dicts keyed by indicator name."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    p = _Pass(zone)
    for event in store.events(community):
        p.add(event)

    capacity = _capacities(store, community)
    occupancy = []
    for (kiosk, size), peak in sorted(p.peak.items()):
        cap = capacity.get(kiosk, {}).get(size)
        occupancy.append({"kiosk": kiosk, "size": size, "peak": peak, "capacity": cap,
                          "peak_ratio": round(peak / cap, 3) if cap else None,
                          "now": p.stored[(kiosk, size)]})
    for kiosk, sizes in sorted(capacity.items()):
        for size, cap in sorted(sizes.items()):
            if (kiosk, size) not in p.peak:
                occupancy.append({"kiosk": kiosk, "size": size, "peak": 0, "capacity": cap,
                                  "peak_ratio": 0.0, "now": 0})

    courier_load = [{"hour": h, "parcels": p.per_hour[h],
                     "couriers": len(p.couriers_by_hour[h]),
                     "per_courier": round(p.per_hour[h] / len(p.couriers_by_hour[h]), 2)
                     if p.couriers_by_hour[h] else None} for h in range(24)]
    faults = [{"device": device, **dict(counts), "total": sum(counts.values())}
              for device, counts in sorted(p.faults.items(),
                                           key=lambda kv: (-sum(kv[1].values()), kv[0]))]
    supply_total = _parking_supply(store, community)
    gaps = store.gaps(community)
    counters = store.kiosk_counters(community)
    unknown = {t: n for t, n in sorted(p.types.items())
               if t.split(".", 1)[0] not in KNOWN_FAMILIES}

    return {
        "parcels_per_day": {"days": dict(sorted(p.per_day.items())),
                            "total": sum(p.per_day.values()), "sent": p.sent},
        "parcels_per_hour": {"hours": p.per_hour, "timezone": str(zone)},
        "wait_time": _wait_summary(p.waits, p.overdue),
        "occupancy": {"compartments": occupancy},
        "unmet_demand": {"total": sum(p.full_by_size.values()),
                         "by_size": dict(sorted(p.full_by_size.items())),
                         "by_day": dict(sorted(p.full_by_day.items()))},
        "outages": {"total": sum(p.outage_by_size.values()),
                    "by_size": dict(sorted(p.outage_by_size.items())),
                    "by_cause": dict(sorted(p.outage_by_cause.items())),
                    "by_day": dict(sorted(p.outage_by_day.items()))},
        "courier_load": {"hours": courier_load, "timezone": str(zone)},
        "faults": {"devices": faults, "totals": dict(sorted(p.fault_totals.items()))},
        "security": {"wrong_codes": p.wrong_codes, "tampers": p.tampers,
                     "by_day": dict(sorted(p.security_by_day.items()))},
        "parking": {**{k: p.parking[k] for k in PARKING},
                    "by_type": {t: {k: c[k] for k in PARKING}
                                for t, c in sorted(p.parking_by_type.items())},
                    "supply": dict(sorted(supply_total.items())),
                    "rounds": p.rounds[-12:]},
        "gaps": {"kiosks": [{"kiosk": g.kiosk, "received": g.received, "max_seq": g.max_seq,
                             "missing": g.missing, "ranges": [list(r) for r in g.ranges],
                             "announced_last_seq": g.announced_last_seq, "behind": g.behind}
                            for g in gaps],
                 "missing": sum(g.missing for g in gaps),
                 "behind": sum(g.behind for g in gaps)},
        "intake": {"events": sum(p.types.values()), "kiosks": len(counters),
                   "duplicates": sum(c["duplicates"] for c in counters),
                   "conflicts": sum(c["conflicts"] for c in counters),
                   "by_type": dict(sorted(p.types.items())), "unknown_types": unknown,
                   "refused_all_communities": store.rejects()},
    }


def envelope(community: str, indicator: str, value: dict[str, Any]) -> dict[str, Any]:
    """The retained payload on ``community/{id}/plan/{indicator}``."""
    return {"community": community, "indicator": indicator, "computed_at": iso(utc_now()),
            "value": value}
