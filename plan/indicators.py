"""The community plan's indicators: kept up to date event by event (``Rules.apply``, in
the transaction that stores the event) and read into the report model (``report``).

Cost grows with new events, not with history: each event changes a handful of aggregate
rows (``tallies``, ``occupancy``, ``slots``, ``open_faults``, ``parking_asks``), and a
report reads only those. ``PlanStore.rebuild`` replays the history through the same rules
(after the settings changed).

Honest figures:
- Occupancy is counted by compartment: a compartment is full from the event that filled
  it to the one that emptied it (whichever arrives first), and its size is the
  compartment's (``compartment_size``), not the parcel's. Never above 100 %.
- Scarcity is a planning signal: full banks (``locker.full``) are unmet demand. An outage
  is not scarcity: a deposit refused because compartments were out of order
  (``locker.unavailable``) is an outage, never demand, since building more would not help.
- Time to repair: from the event that raised a fault to the one that cleared it
  (``RAISES``/``CLEARS``), per fault type and device; faults still open are listed.
- Courier hours: per courier and day, first to last deposit, with deposits outside the
  agreed hours (a plan setting) flagged.
- Parking: per round and per type, all on the basis of the type asked for.

Event data comes from the network (cleaned by ``mqtt.contract``), so every field is read
leniently: a missing or odd value is skipped, never fatal.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kiosk.events import iso, parse_iso, utc_now
from mqtt.contract import CleanEvent
from plan.model import (
    INDICATORS,
    CommunityReport,
    CourierDay,
    DutyLoad,
    FaultCount,
    Intake,
    KioskGap,
    Occupancy,
    Parking,
    ParkingRound,
    ParkingTypeRow,
    Refusals,
    Repair,
    Security,
    Trend,
    WaitTime,
)

if TYPE_CHECKING:
    from plan.db import PlanDB, Tx
    from plan.store import PlanStore

__all__ = ["INDICATORS", "PlanSettings", "Rules", "compute", "envelope", "report"]

# Bump when a rule changes: stores built with another version rebuild their aggregates.
RULES_VERSION = 2

# Families of event types the kiosk writes; a type outside them is listed as unknown (kept).
KNOWN_FAMILIES = frozenset({"parcel", "locker", "door", "board", "sensor", "cabinet",
                            "security", "parking", "kiosk", "audit", "duty", "need",
                            "proposal"})
FAULT_TYPES = ("door.jammed", "door.not_opened", "door.left_open", "door.tamper",
               "board.offline", "sensor.mismatch", "cabinet.tamper", "sensor.item_inside")
# Parcels that take a compartment, and those that give it back.
INTO_COMPARTMENT = ("parcel.deposited", "parcel.sent")
OUT_OF_COMPARTMENT = ("parcel.collected", "parcel.returned", "parcel.outgoing_collected",
                      "parcel.send_cancelled", "parcel.to_desk")
WAIT_BUCKETS = ((10, "<1h"), (60, "1-6h"), (240, "6-24h"), (720, "1-3d"), (None, ">3d"))

# Fault raised by an event: type -> the data key naming the subject (None: the kiosk).
RAISES: dict[str, str | None] = {
    "door.jammed": "compartment", "door.left_open": "compartment",
    "door.tamper": "compartment", "sensor.mismatch": "compartment",
    "sensor.item_inside": "compartment",
    "board.offline": "board", "board.polarity_suspect": "board",
    "cabinet.tamper": None, "kiosk.worker_failed": "where",
}
# Clearing event -> the fault type it ends, for the same subject.
CLEARS: dict[str, str] = {
    "door.shut": "door.left_open", "door.tamper_cleared": "door.tamper",
    "sensor.mismatch_cleared": "sensor.mismatch", "board.online": "board.offline",
    "board.polarity_cleared": "board.polarity_suspect",
    "kiosk.worker_recovered": "kiosk.worker_failed",
}
# A maintainer's audited action (``audit.entry``) that ends a fault of its subject.
CLEARS_BY_ACTION = {"compartment.fault_cleared": "door.jammed"}
# Measures followed week by week.
TREND_MEASURES = ("parcels", "unmet_demand", "outages", "faults", "repairs", "repair_hours",
                  "parking_refused", "wrong_codes")
# Courier days shown (newest first).
COURIER_DAYS = 62
_COMPARTMENT_KINDS = frozenset({"door.jammed", "door.left_open", "door.tamper",
                                "sensor.mismatch", "sensor.item_inside"})


@dataclass(frozen=True)
class PlanSettings:
    """The plan's settings; the aggregates depend on them (days and hours are local)."""

    timezone: str = "UTC"
    agreed_hours: tuple[str, str] = ("08:00", "20:00")  # couriers' agreed hours, local

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        for t in self.agreed_hours:
            _minutes(t)

    @classmethod
    def from_stamp(cls, stamp: str | None) -> PlanSettings:
        """The settings a store's aggregates were built with; the defaults if none."""
        try:
            kept = json.loads(stamp or "{}")
            return cls(timezone=str(kept["timezone"]),
                       agreed_hours=(str(kept["agreed_hours"][0]),
                                     str(kept["agreed_hours"][1])))
        except (ValueError, KeyError, IndexError, TypeError):
            return cls()

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def outside(self, minute: int) -> bool:
        start, end = (_minutes(t) for t in self.agreed_hours)
        if start <= end:
            return not start <= minute < end
        return end <= minute < start  # agreed hours across midnight


def _minutes(hhmm: str) -> int:
    hours, sep, minutes = hhmm.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
            and 0 <= int(hours) <= 24 and 0 <= int(minutes) < 60
            and int(hours) * 60 + int(minutes) <= 24 * 60):
        raise ValueError(f"not a time of day HH:MM: {hhmm!r}")
    return int(hours) * 60 + int(minutes)


def parse_hours(text: str) -> tuple[str, str]:
    """``08:00-18:00`` as a pair; ValueError with a message otherwise."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"agreed hours as HH:MM-HH:MM, got {text!r}")
    _minutes(start.strip())
    _minutes(end.strip())
    return start.strip(), end.strip()


def finite_number(value: Any) -> float | None:
    """A number from untrusted data, or None (bools, NaN and strings are not numbers)."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None


def _text(value: Any, limit: int = 64) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    if type(value) is int and abs(value) < 10**12:
        return str(value)
    return None


def _fault_device(kiosk: str, data: dict[str, Any]) -> str:
    compartment, board = _text(data.get("compartment")), _text(data.get("board"))
    if compartment is not None:
        return f"{kiosk} compartment {compartment}"
    if board is not None:
        return f"{kiosk} board {board}"
    return kiosk


def _device(kiosk: str, kind: str, subject: str) -> str:
    if not subject:
        return f"{kiosk} cabinet" if kind == "cabinet.tamper" else kiosk
    if kind in _COMPARTMENT_KINDS:
        return f"{kiosk} compartment {subject}"
    if kind.startswith("board."):
        return f"{kiosk} board {subject}"
    return f"{kiosk} {subject}"


def _counts(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {str(k)[:32]: v for k, v in list(value.items())[:32]
            if type(v) is int and 0 <= v < 10**6}


def _week(day: datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _wait_bucket(seconds: float) -> int:
    hours = seconds / 3600
    if hours < 72:
        return int(hours * 10)
    return 720 + min(int(hours - 72), 24 * 60)


def _bucket_hours(index: int) -> float:
    return index / 10 if index < 720 else 72.0 + (index - 720)


_Key = tuple[str, str, str, str, str]  # community, metric, k1, k2, k3


class Rules:
    """Per-event updates of the aggregates. Counters are merged in memory for a batch and
    written with one statement per row at ``flush`` (inside the same transaction); the
    tables whose next step depends on the last (compartments, open faults, parking asks)
    are updated at once."""

    def __init__(self, settings: PlanSettings, db: PlanDB):
        self.settings = settings
        self.zone = settings.zone
        self.db = db
        self._pending: dict[_Key, list[float]] = {}
        g = db.greatest
        self._upsert = (
            "INSERT INTO tallies (community, metric, k1, k2, k3, n, s, lo, hi) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (community, metric, k1, k2, k3) DO UPDATE "
            "SET n = tallies.n + excluded.n, s = tallies.s + excluded.s, "
            f"lo = {db.least}(tallies.lo, excluded.lo), hi = {g}(tallies.hi, excluded.hi)")
        self._fill = (
            "INSERT INTO occupancy (community, kiosk, size, basis, now, peak) VALUES "
            "(?, ?, ?, ?, 1, 1) ON CONFLICT (community, kiosk, size) DO UPDATE SET "
            f"now = occupancy.now + 1, peak = {g}(occupancy.peak, occupancy.now + 1), "
            "basis = excluded.basis")

    def stamp(self) -> str:
        return json.dumps({"rules": RULES_VERSION, "timezone": self.settings.timezone,
                           "agreed_hours": list(self.settings.agreed_hours)})

    # -- the counters ---------------------------------------------------------------------

    def add(self, community: str, metric: str, k1: str = "", k2: str = "", k3: str = "",
            n: float = 1, s: float = 0, lo: float = 0, hi: float = 0) -> None:
        key = (community, metric, k1, k2, k3)
        row = self._pending.get(key)
        if row is None:
            self._pending[key] = [n, s, lo, hi]
        else:
            row[0] += n
            row[1] += s
            row[2] = min(row[2], lo)
            row[3] = max(row[3], hi)

    def flush(self, tx: Tx) -> None:
        if self._pending:
            tx.executemany(self._upsert, [(*k, *v) for k, v in self._pending.items()])
            self._pending.clear()

    def discard(self) -> None:
        self._pending.clear()

    def clear(self, tx: Tx) -> None:
        self._pending.clear()
        for table in ("tallies", "slots", "occupancy", "open_faults", "parking_asks"):
            tx.execute(f"DELETE FROM {table}")

    # -- one event ------------------------------------------------------------------------

    def apply(self, tx: Tx, e: CleanEvent) -> None:
        c, t, d = e.community, e.type, e.data
        self.add(c, "type", t)
        try:
            when = parse_iso(e.ts).astimezone(self.zone)
        except (ValueError, OverflowError):
            return
        day, week = when.date().isoformat(), _week(when)
        if t in INTO_COMPARTMENT:
            if t == "parcel.sent":
                self.add(c, "count", "sent")
            else:
                self.add(c, "day", "parcels", day)
                self.add(c, "hour", str(when.hour))
                self.add(c, "week", "parcels", week)
                courier = _text(d.get("courier"))
                if courier:
                    minute = when.hour * 60 + when.minute
                    self.add(c, "courier", courier, day, n=1, lo=minute, hi=minute)
                    if self.settings.outside(minute):
                        self.add(c, "courier_out", courier, day)
            self._fill_slot(tx, e)
        elif t in OUT_OF_COMPARTMENT:
            if t == "parcel.collected":
                waited = finite_number(d.get("waited_s"))
                if waited is not None and 0 <= waited < 10**9:
                    self.add(c, "wait", n=1, s=waited, lo=waited, hi=waited)
                    self.add(c, "wait_hist", str(_wait_bucket(waited)))
            self._empty_slot(tx, e)
        elif t == "parcel.overdue":
            self.add(c, "count", "overdue")
        elif t == "locker.full":
            size = _text(d.get("size"), 8) or "?"
            self.add(c, "full", "size", size)
            self.add(c, "full", "day", day)
            self.add(c, "week", "unmet_demand", week)
        elif t == "locker.unavailable":
            self.add(c, "outage", "size", _text(d.get("size"), 8) or "?")
            self.add(c, "outage", "day", day)
            for cause in _counts(d.get("causes")):
                self.add(c, "outage", "cause", cause)
            self.add(c, "week", "outages", week)
        elif t == "security.wrong_code":
            self.add(c, "count", "wrong_codes")
            self.add(c, "security_day", day)
            self.add(c, "week", "wrong_codes", week)
        elif t == "duty.rostered":
            self._duty(c, d)
        elif t == "audit.entry":
            actor = _text(d.get("actor"))
            if actor:
                self.add(c, "duty_actions", actor)
            cleared = CLEARS_BY_ACTION.get(str(d.get("action")))
            subject = _text(d.get("subject"))
            if cleared and subject:
                self._clear(tx, e, cleared, subject, week)
        elif t.startswith("parking."):
            self._parking(tx, e, week)
        if t in FAULT_TYPES and not (t == "cabinet.tamper" and d.get("opened") is False):
            self.add(c, "fault", _fault_device(e.kiosk, d), t)
            self.add(c, "fault_total", t)
            self.add(c, "week", "faults", week)
            if t == "door.tamper":
                self.add(c, "count", "tampers")
                self.add(c, "security_day", day)
        if t in RAISES:
            subject_key = RAISES[t]
            subject = _text(d.get(subject_key)) if subject_key else ""
            if t == "cabinet.tamper" and d.get("opened") is False:
                self._clear(tx, e, t, "", week)
            elif subject is not None:
                tx.execute("INSERT INTO open_faults (community, kiosk, kind, subject, "
                           "raised_seq, raised_ts) VALUES (?, ?, ?, ?, ?, ?) "
                           "ON CONFLICT DO NOTHING", (c, e.kiosk, t, subject, e.seq, e.ts))
        elif t in CLEARS:
            subject_key = RAISES[CLEARS[t]]
            subject = _text(d.get(subject_key)) if subject_key else ""
            if subject is not None:
                self._clear(tx, e, CLEARS[t], subject, week)

    def _clear(self, tx: Tx, e: CleanEvent, kind: str, subject: str, week: str) -> None:
        key = (e.community, e.kiosk, kind, subject)
        rows = tx.query("SELECT raised_seq, raised_ts FROM open_faults WHERE community = ? "
                        "AND kiosk = ? AND kind = ? AND subject = ?", key)
        if not rows or int(rows[0]["raised_seq"]) > e.seq:
            return
        tx.execute("DELETE FROM open_faults WHERE community = ? AND kiosk = ? AND kind = ? "
                   "AND subject = ?", key)
        took = max(0.0, (parse_iso(e.ts) - parse_iso(rows[0]["raised_ts"])).total_seconds())
        self.add(e.community, "repair", e.kiosk, kind, subject, n=1, s=took, lo=took, hi=took)
        self.add(e.community, "week", "repairs", week)
        self.add(e.community, "week", "repair_hours", week, n=took / 3600)

    def _slot(self, e: CleanEvent) -> tuple[str, str, str] | None:
        """(slot, size, basis): the compartment and its size, or for an older kiosk's
        events without ``compartment_size`` the parcel's size."""
        d = e.data
        compartment, parcel = _text(d.get("compartment")), _text(d.get("parcel"))
        slot = f"c:{compartment}" if compartment else (f"p:{parcel}" if parcel else None)
        if slot is None:
            return None
        size = _text(d.get("compartment_size"), 8)
        if size is not None:
            return slot, size, "compartment"
        return slot, _text(d.get("size"), 8) or "?", "parcel"

    def _fill_slot(self, tx: Tx, e: CleanEvent) -> None:
        found = self._slot(e)
        if found is None:
            return
        slot, size, basis = found
        key = (e.community, e.kiosk, slot)
        rows = tx.query("SELECT size, in_seq, out_seq FROM slots WHERE community = ? AND "
                        "kiosk = ? AND slot = ?", key)
        if not rows:
            tx.execute("INSERT INTO slots (community, kiosk, slot, size, basis, in_seq, "
                       "out_seq) VALUES (?, ?, ?, ?, ?, ?, 0)", (*key, size, basis, e.seq))
            was_full = False
        else:
            r = rows[0]
            was_full = int(r["in_seq"]) > int(r["out_seq"])
            if e.seq <= int(r["in_seq"]):
                return
            if was_full and r["size"] != size:
                self._emptied(tx, e.community, e.kiosk, r["size"])
                was_full = False
            tx.execute("UPDATE slots SET in_seq = ?, size = ?, basis = ? WHERE community = ? "
                       "AND kiosk = ? AND slot = ?", (e.seq, size, basis, *key))
            if e.seq < int(r["out_seq"]):
                return  # emptied later than this filling: it arrived late
        if not was_full:
            tx.execute(self._fill, (e.community, e.kiosk, size, basis))

    def _empty_slot(self, tx: Tx, e: CleanEvent) -> None:
        found = self._slot(e)
        if found is None:
            return
        slot, size, basis = found
        key = (e.community, e.kiosk, slot)
        rows = tx.query("SELECT size, in_seq, out_seq FROM slots WHERE community = ? AND "
                        "kiosk = ? AND slot = ?", key)
        if not rows:
            # Emptied before we saw it filled (a history that began before the plan did,
            # or a late arrival): remember it, so the late filling does not count.
            tx.execute("INSERT INTO slots (community, kiosk, slot, size, basis, in_seq, "
                       "out_seq) VALUES (?, ?, ?, ?, ?, 0, ?)", (*key, size, basis, e.seq))
            return
        r = rows[0]
        if e.seq <= int(r["out_seq"]):
            return
        tx.execute("UPDATE slots SET out_seq = ? WHERE community = ? AND kiosk = ? AND "
                   "slot = ?", (e.seq, *key))
        if int(r["in_seq"]) > int(r["out_seq"]) and e.seq > int(r["in_seq"]):
            self._emptied(tx, e.community, e.kiosk, r["size"])

    @staticmethod
    def _emptied(tx: Tx, community: str, kiosk: str, size: str) -> None:
        tx.execute("UPDATE occupancy SET now = now - 1 WHERE community = ? AND kiosk = ? AND "
                   "size = ? AND now > 0", (community, kiosk, size))

    def _duty(self, c: str, d: dict[str, Any]) -> None:
        try:
            hours = (parse_iso(str(d.get("start"))) - parse_iso(str(d.get("end")))
                     ).total_seconds() / -3600
        except (ValueError, OverflowError):
            return
        if not 0 < hours <= 24 * 7:
            return
        people = d.get("maintainers")
        if not isinstance(people, list):
            return
        for person in {p for p in (_text(m) for m in people[:20]) if p}:
            self.add(c, "duty", person, n=1, s=hours)

    def _parking(self, tx: Tx, e: CleanEvent, week: str) -> None:
        c, d, what = e.community, e.data, e.type.removeprefix("parking.")
        round_ = _text(d.get("round"))
        if round_:
            epoch = parse_iso(e.ts).timestamp()
            self.add(c, "park_round_seen", round_, n=0, lo=epoch, hi=epoch)
        if what == "requested":
            member, asked = _text(d.get("member")), _text(d.get("type"), 32)
            if not (round_ and member and asked):
                return
            key = (c, e.kiosk, round_, member)
            rows = tx.query("SELECT type, seq FROM parking_asks WHERE community = ? AND "
                            "kiosk = ? AND round = ? AND member = ?", key)
            if rows:
                if int(rows[0]["seq"]) > e.seq:
                    return
                if rows[0]["type"] == asked:
                    return
                self._asked(c, round_, rows[0]["type"], -1)
                tx.execute("UPDATE parking_asks SET type = ?, seq = ? WHERE community = ? AND "
                           "kiosk = ? AND round = ? AND member = ?", (asked, e.seq, *key))
            else:
                tx.execute("INSERT INTO parking_asks (community, kiosk, round, member, type, "
                           "seq) VALUES (?, ?, ?, ?, ?, ?)", (*key, asked, e.seq))
            self._asked(c, round_, asked, 1)
        elif what == "request_withdrawn":
            member = _text(d.get("member"))
            if not (round_ and member):
                return
            key = (c, e.kiosk, round_, member)
            rows = tx.query("SELECT type FROM parking_asks WHERE community = ? AND kiosk = ? "
                            "AND round = ? AND member = ?", key)
            if rows:
                tx.execute("DELETE FROM parking_asks WHERE community = ? AND kiosk = ? AND "
                           "round = ? AND member = ?", key)
                self._asked(c, round_, rows[0]["type"], -1)
        elif what == "allocated":
            got = _text(d.get("type"), 32) or "?"
            asked = _text(d.get("asked"), 32) or got
            self._outcome(c, round_, asked, "allocated")
            if got != asked:
                self._outcome(c, round_, asked, "substituted")
        elif what == "refused":
            asked = _text(d.get("type"), 32) or "?"
            self._outcome(c, round_ if d.get("kind") == "round" else None, asked, "refused")
            self.add(c, "week", "parking_refused", week)
        elif what == "round_closed" and round_:
            for spot_type, n in _counts(d.get("spots")).items():
                self.add(c, "park_spots", round_, spot_type, n=n)
        elif what in ("released", "no_show"):
            self.add(c, "park", what)

    def _asked(self, c: str, round_: str, asked: str, n: int) -> None:
        self.add(c, "park", "requested", asked, n=n)
        self.add(c, "park_round", round_, asked, "requested", n=n)

    def _outcome(self, c: str, round_: str | None, asked: str, what: str) -> None:
        self.add(c, "park", what, asked)
        if round_:
            self.add(c, "park_round", round_, asked, what)


# -- the report -----------------------------------------------------------------------------

def _h(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _wait(t: dict[tuple[str, str, str, str], list[float]]) -> WaitTime:
    total = t.get(("wait", "", "", ""))
    hist = sorted((int(k1), int(row[0])) for (m, k1, _, _), row in t.items()
                  if m == "wait_hist" and k1.isdigit() and row[0] > 0)
    overdue = int(t.get(("count", "overdue", "", ""), [0])[0])
    buckets = {label: 0 for _, label in WAIT_BUCKETS}
    for index, n in hist:
        for limit, label in WAIT_BUCKETS:
            if limit is None or index < limit:
                buckets[label] += n
                break
    count = int(total[0]) if total else 0
    if total is None or not count:
        return WaitTime(0, overdue, buckets, None, None, None, None)

    def quantile(q: float) -> float:
        target, seen = q * count, 0
        for index, n in hist:
            seen += n
            if seen >= target:
                return round(_bucket_hours(index), 2)
        return round(_bucket_hours(hist[-1][0]), 2)

    return WaitTime(count, overdue, buckets, round(total[1] / count / 3600, 2),
                    quantile(0.5), quantile(0.9), _h(total[3]))


def _ordered(rows: dict[str, float]) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(rows.items()) if v}


def report(store: PlanStore, community: str) -> CommunityReport:
    """Every indicator of one community, read from the aggregates (never the events)."""
    db = store.db
    settings = store.settings
    t: dict[tuple[str, str, str, str], list[float]] = {}
    rows = db.query("SELECT metric, k1, k2, k3, n, s, lo, hi FROM tallies WHERE community = ? "
                    "AND metric NOT IN ('courier', 'courier_out')", (community,))
    # Courier days: only the latest ones are shown, so only those are read.
    days = [r["k2"] for r in rows if r["metric"] == "day"]
    if days:
        since = (datetime.fromisoformat(max(days)) - timedelta(days=COURIER_DAYS)).date()
        rows += db.query("SELECT metric, k1, k2, k3, n, s, lo, hi FROM tallies WHERE "
                         "community = ? AND metric IN ('courier', 'courier_out') AND k2 > ?",
                         (community, since.isoformat()))
    for r in rows:
        t[(r["metric"], r["k1"], r["k2"], r["k3"])] = [r["n"], r["s"], r["lo"], r["hi"]]
    by: dict[str, list[tuple[tuple[str, str, str], list[float]]]] = defaultdict(list)
    for (metric, k1, k2, k3), row in t.items():
        by[metric].append(((k1, k2, k3), row))

    def count(name: str) -> int:
        return int(t.get(("count", name, "", ""), [0])[0])

    def table(metric: str, k1: str | None = None) -> dict[str, float]:
        """A metric's counts keyed by its next key, after ``k1`` if given."""
        out: dict[str, float] = {}
        for (a, b, _), row in by.get(metric, []):
            if k1 is None:
                out[a] = out.get(a, 0) + row[0]
            elif a == k1:
                out[b] = out.get(b, 0) + row[0]
        return out

    per_day = _ordered(table("day", "parcels"))
    hours = table("hour")
    per_hour = [int(hours.get(str(h), 0)) for h in range(24)]

    capacity: dict[str, dict[str, int]] = {
        kiosk: {k: v for k, v in snap.get("capacity", {}).items() if type(v) is int}
        for kiosk, snap in store.states(community, "lockers").items()}
    occupancy: list[Occupancy] = []
    seen: set[tuple[str, str]] = set()
    for r in db.query("SELECT kiosk, size, basis, now, peak FROM occupancy WHERE community = ? "
                      "ORDER BY kiosk, size", (community,)):
        kiosk, size = r["kiosk"], r["size"]
        seen.add((kiosk, size))
        cap = capacity.get(kiosk, {}).get(size)
        peak, now = int(r["peak"]), int(r["now"])
        over = max(0, peak - cap) if cap is not None else 0
        if cap is not None:
            peak, now = min(peak, cap), min(now, cap)
        occupancy.append(Occupancy(kiosk, size, cap, peak, now,
                                   round(peak / cap, 3) if cap else None, r["basis"], over))
    for kiosk, sizes in sorted(capacity.items()):
        for size, cap in sorted(sizes.items()):
            if (kiosk, size) not in seen:
                occupancy.append(Occupancy(kiosk, size, cap, 0, 0, 0.0 if cap else None))

    full = Refusals(int(sum(table("full", "size").values())), _ordered(table("full", "size")),
                    _ordered(table("full", "day")))
    outage_sizes = _ordered(table("outage", "size"))
    outages = Refusals(sum(outage_sizes.values()), outage_sizes,
                       _ordered(table("outage", "day")), _ordered(table("outage", "cause")))

    repairs = _repairs(db, community, by.get("repair", []))
    couriers = _couriers(settings, by.get("courier", []), table("courier_out"), t)
    duty_hours = {k[0]: row for k, row in by.get("duty", [])}
    actions = table("duty_actions")
    duty = [DutyLoad(v, int(duty_hours[v][0]) if v in duty_hours else 0,
                     round(duty_hours[v][1], 2) if v in duty_hours else 0.0,
                     int(actions.get(v, 0)))
            for v in sorted(set(duty_hours) | set(actions))]

    faults: dict[str, dict[str, int]] = defaultdict(dict)
    for (device, kind, _), row in by.get("fault", []):
        faults[device][kind] = int(row[0])
    fault_rows = sorted((FaultCount(dev, dict(sorted(c.items())), sum(c.values()))
                         for dev, c in faults.items()), key=lambda f: (-f.total, f.device))

    gaps = [KioskGap(g.kiosk, g.received, g.max_seq, g.missing, g.ranges,
                     g.announced_last_seq, g.behind, g.held) for g in store.gaps(community)]
    counters = store.kiosk_counters(community)
    types = {k: int(v) for k, v in sorted(table("type").items())}
    unknown = {k: v for k, v in types.items() if k.split(".", 1)[0] not in KNOWN_FAMILIES}

    return CommunityReport(
        community=community, generated_at=iso(utc_now()), timezone=settings.timezone,
        agreed_hours=settings.agreed_hours, parcels_per_day=per_day,
        parcels_total=sum(per_day.values()), parcels_sent=count("sent"),
        parcels_per_hour=per_hour, wait=_wait(t), occupancy=occupancy, unmet_demand=full,
        outages=outages, repairs=repairs, couriers=couriers, duty=duty,
        parking=_parking(store, community, by, table, t), trends=_trends(by),
        faults=fault_rows, fault_totals=_ordered(table("fault_total")),
        security=Security(count("wrong_codes"), count("tampers"),
                          _ordered(table("security_day"))),
        gaps=gaps,
        intake=Intake(sum(types.values()), len(counters),
                      sum(int(c["duplicates"]) for c in counters),
                      sum(int(c["conflicts"]) for c in counters),
                      sum(int(c["held"]) for c in counters), types, unknown, store.rejects()))


def _repairs(db: PlanDB, community: str,
             rows: list[tuple[tuple[str, str, str], list[float]]]) -> list[Repair]:
    done = {(k, kind, subject): row for (k, kind, subject), row in rows}
    still: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in db.query("SELECT kiosk, kind, subject, raised_ts FROM open_faults "
                      "WHERE community = ?", (community,)):
        still[(r["kiosk"], r["kind"], r["subject"])].append(r["raised_ts"])
    out = []
    for key in sorted(set(done) | set(still)):
        kiosk, kind, subject = key
        row = done.get(key)
        n = int(row[0]) if row else 0
        out.append(Repair(kind, _device(kiosk, kind, subject), kiosk, n,
                          _h(row[1] / n) if row and n else None,
                          _h(row[3]) if row and n else None, _h(row[1]) if row else 0.0,
                          len(still.get(key, [])), min(still[key]) if key in still else None))
    return out


def _couriers(settings: PlanSettings, rows: list[tuple[tuple[str, str, str], list[float]]],
              outside: dict[str, float], t: dict[tuple[str, str, str, str], list[float]]
              ) -> list[CourierDay]:
    out = []
    by_courier = sorted(rows, key=lambda r: r[0][0])
    for (courier, day, _), row in sorted(by_courier, key=lambda r: r[0][1],
                                         reverse=True)[:COURIER_DAYS * 50]:
        late = int(t.get(("courier_out", courier, day, ""), [0])[0])
        first, last = int(row[2]), int(row[3])
        out.append(CourierDay(courier, day, int(row[0]), f"{first // 60:02d}:{first % 60:02d}",
                              f"{last // 60:02d}:{last % 60:02d}", round((last - first) / 60, 2),
                              late, late > 0))
    days = sorted({c.day for c in out}, reverse=True)[:COURIER_DAYS]
    return [c for c in out if c.day in days]


def _parking(store: PlanStore, community: str,
             by: dict[str, list[tuple[tuple[str, str, str], list[float]]]],
             table: Any, t: dict[tuple[str, str, str, str], list[float]]) -> Parking:
    supply: dict[str, int] = defaultdict(int)
    for snap in store.states(community, "parking").values():
        for spot_type, row in snap.items():
            if isinstance(row, dict):
                n = row.get("in_service", row.get("spots"))
                if type(n) is int and 0 <= n < 10**6:
                    supply[str(spot_type)] += n
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (what, asked, _), row in by.get("park", []):
        if asked:
            totals[asked][what] += int(row[0])
    rounds: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for (round_, asked, what), row in by.get("park_round", []):
        rounds[round_][asked][what] = int(row[0])
    spots: dict[str, dict[str, int]] = defaultdict(dict)
    for (round_, spot_type, _), row in by.get("park_spots", []):
        spots[round_][spot_type] = int(row[0])
    first_seen = {k[0]: row[2] for k, row in by.get("park_round_seen", [])}

    def row_of(kind: str, counts: dict[str, int], supply_n: int | None) -> ParkingTypeRow:
        return ParkingTypeRow(kind, max(0, counts.get("requested", 0)),
                              counts.get("allocated", 0), counts.get("refused", 0),
                              counts.get("substituted", 0), supply_n)

    names = sorted(set(rounds) | set(spots), key=lambda r: (first_seen.get(r, 0), r))[-12:]
    round_rows = []
    for name in names:
        kinds = sorted(set(rounds.get(name, {})) | set(spots.get(name, {})))
        round_rows.append(ParkingRound(
            name, iso(datetime.fromtimestamp(first_seen.get(name, 0), tz=ZoneInfo("UTC"))),
            [row_of(k, rounds.get(name, {}).get(k, {}), spots.get(name, {}).get(k, 0))
             for k in kinds]))
    by_type = [row_of(k, totals[k], supply.get(k)) for k in sorted(totals)]
    total = {what: sum(r.get(what, 0) for r in totals.values())
             for what in ("requested", "allocated", "refused", "substituted")}
    other = {k[0]: int(row[0]) for k, row in by.get("park", []) if not k[1]}
    return Parking(max(0, total["requested"]), total["allocated"], total["refused"],
                   total["substituted"], other.get("released", 0), other.get("no_show", 0),
                   by_type, round_rows, dict(sorted(supply.items())))


def _trends(by: dict[str, list[tuple[tuple[str, str, str], list[float]]]]) -> list[Trend]:
    weeks: dict[str, dict[str, float]] = defaultdict(dict)
    for (measure, week, _), row in by.get("week", []):
        weeks[measure][week] = row[0]
    every = sorted({w for m in weeks.values() for w in m})
    if not every:
        return []
    # The weeks from the first seen to the last, none skipped (a quiet week is a 0).
    span = _week_span(every[0], every[-1])[-12:]
    out = []
    for measure in TREND_MEASURES:
        values = weeks.get(measure, {})
        if not values:
            continue
        series = [(w, round(values.get(w, 0.0), 2)) for w in span]
        this_week = series[-1][1]
        last = series[-2][1] if len(series) >= 2 else 0.0
        before = series[-3][1] if len(series) >= 3 else 0.0
        change = round((last - before) / before, 3) if before else None
        out.append(Trend(measure, series, this_week, last, change))
    return out


def _week_span(first: str, last: str) -> list[str]:
    def monday(w: str) -> datetime:
        return datetime.strptime(w + "-1", "%G-W%V-%u")
    out: list[str] = []
    at, end = monday(first), monday(last)
    while at <= end and len(out) < 1000:
        out.append(_week(at))
        at += timedelta(days=7)
    return out


def compute(store: PlanStore, community: str) -> dict[str, Any]:
    """Every indicator of one community, as JSON-ready dicts keyed by indicator name."""
    return report(store, community).indicators()


def envelope(community: str, indicator: str, value: dict[str, Any]) -> dict[str, Any]:
    """The retained payload on ``community/{id}/plan/{indicator}``."""
    return {"community": community, "indicator": indicator, "computed_at": iso(utc_now()),
            "value": value}
