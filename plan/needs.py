"""The plan's side of needs, skills, draws and alarms: read from the stored events.

Needs arrive as ``need.raised`` / ``need.supported`` / ``need.support_withdrawn`` /
``need.withdrawn`` events; each carries the support count after it, so the latest event
of a need (by its kiosk's seq) says its support, and redelivery changes nothing. Who
raised or supported a need is never in them (kiosk/needs.py).

Everything here comes from the network: each field is checked and bounded, the text is
cleaned of control and bidi characters again (a forged event is not cleaned by a kiosk).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from kiosk.events import iso, parse_iso
from kiosk.needs import KINDS, MAX_TEXT, SIZES, TOPICS, clean_text
from kiosk.practice import ACTION_TASKS, TASKS
from plan.model import CommunityReport, percent
from plan.store import PlanStore

MAX_NEEDS = 500  # listed per community; the most supported first
MAX_SUPPORT = 10**6
SKILL_MONTHS = 6

def events_of(store: PlanStore, community: str, family: str = "",
              since: str = "", types: tuple[str, ...] = ()) -> Iterable[dict[str, Any]]:
    """The community's events of one family (``need`` → ``need.*``) or of the given
    ``types``, per kiosk in seq order, from ``since`` (a UTC ISO time) on. Only these
    events are read, never the rest of the history: each is a range on the
    (community, type) index. Written as ranges and sorted here, because SQLite's planner
    (no statistics) otherwise walks the primary key through every event of the community
    for ``type IN (…)`` or an ORDER BY (measured: bench/bench_page.py)."""
    ranges = ([(t, t, "<=") for t in types] if types
              else [(family + ".", family + "/", "<")])
    rows: list[dict[str, Any]] = []
    for low, high, op in ranges:
        rows += store.store.query(
            "SELECT kiosk, seq, ts, type, data FROM events WHERE community = ? AND "
            f"type >= ? AND type {op} ? AND ts >= ?", (community, low, high, since))
    rows.sort(key=lambda r: (r["kiosk"], int(r["seq"])))
    for row in rows:
        try:
            row["data"] = json.loads(row["data"])
        except ValueError:
            continue
        if isinstance(row["data"], dict):
            yield row


def _int(value: Any, top: int) -> int | None:
    return value if type(value) is int and 0 <= value <= top else None


def needs_of(store: PlanStore, community: str) -> list[dict[str, Any]]:
    """Open needs of a community, most supported first."""
    needs: dict[tuple[str, int], dict[str, Any]] = {}
    for e in events_of(store, community, "need"):
        data = e["data"]
        need_id = _int(data.get("need"), 10**9)
        if need_id is None:
            continue
        key = (e["kiosk"], need_id)
        support = _int(data.get("support"), MAX_SUPPORT)
        if e["type"] == "need.raised":
            text = data.get("text")
            kind, topic, size = data.get("kind"), data.get("topic"), data.get("size")
            if (not isinstance(text, str) or kind not in KINDS or topic not in TOPICS
                    or (size is not None and size not in SIZES)):
                continue
            cleaned = clean_text(text[:4 * MAX_TEXT], MAX_TEXT)
            if not cleaned or key in needs:
                continue  # the first raise stands; a second under the same number is forged
            needs[key] = {"kiosk": e["kiosk"], "need": need_id, "kind": kind, "topic": topic,
                          "size": size, "text": cleaned, "support": support or 0,
                          "raised": e["ts"], "open": True}
        elif key in needs and support is not None:
            needs[key]["support"] = support
            if e["type"] == "need.withdrawn":
                needs[key]["open"] = False
    listed = [n for n in needs.values() if n["open"]]
    listed.sort(key=lambda n: (-n["support"], n["raised"], n["kiosk"], n["need"]))
    return listed[:MAX_NEEDS]


def evidence(need: dict[str, Any], report: CommunityReport) -> dict[str, Any]:
    """What the devices say about a need's topic: for lockers of a size, how often that
    size was full and its peak occupancy; for doors, the faults; for parking, refusals."""
    topic, size = need["topic"], need.get("size")
    out: dict[str, Any] = {}
    if topic == "lockers":
        unmet, outages = report.unmet_demand, report.outages
        out["full"] = unmet.by_size.get(size, 0) if size else unmet.total
        peaks = [percent(o.peak_ratio) for o in report.occupancy
                 if (size is None or o.size == size) and o.peak_ratio is not None]
        if peaks:
            out["peak_pct"] = max(p for p in peaks if p is not None)
        out["outages"] = outages.by_size.get(size, 0) if size else outages.total
    elif topic == "doors":
        out["faults"] = sum(n for t, n in report.fault_totals.items() if t.startswith("door."))
    elif topic == "parking":
        out["refused"] = report.parking.refused
        out["requested"] = report.parking.requested
    return out


def skills_of(store: PlanStore, community: str, now: datetime,
              months: int = SKILL_MONTHS) -> list[dict[str, Any]]:
    """Per maintenance task, how many distinct people did it (or practised it) in the
    last ``months``; a task only one person can do is flagged."""
    since = now - timedelta(days=31 * months)
    done: dict[str, set[str]] = defaultdict(set)
    practised: dict[str, set[str]] = defaultdict(set)
    for e in events_of(store, community, since=iso(since),
                       types=("audit.entry", "maintenance.practiced")):
        try:
            when = parse_iso(e["ts"])
        except ValueError:
            continue
        if when < since:
            continue
        data = e["data"]
        if e["type"] == "audit.entry":
            task = ACTION_TASKS.get(str(data.get("action")))
            who = data.get("actor")
            if task and isinstance(who, str) and 0 < len(who) <= 64:
                done[task].add(who)
        elif e["type"] == "maintenance.practiced":
            task, who = data.get("task"), data.get("by")
            if (isinstance(task, str) and task in TASKS
                    and isinstance(who, str) and 0 < len(who) <= 64):
                practised[task].add(who)
    rows = []
    for task in TASKS:
        people = done[task] | practised[task]
        rows.append({"task": task, "did": len(done[task]), "practised": len(practised[task]),
                     "people": len(people), "single": len(people) <= 1})
    return rows


def draws_of(store: PlanStore, community: str) -> list[dict[str, Any]]:
    """Each parking round's published draw: what anyone needs to re-check it."""
    rounds: dict[str, dict[str, Any]] = {}
    for e in events_of(store, community,
                       types=("parking.draw_committed", "parking.draw_published")):
        data = e["data"]
        round_id = data.get("round")
        if not isinstance(round_id, str) or not 0 < len(round_id) <= 40:
            continue
        if e["type"] == "parking.draw_committed":
            r = rounds.setdefault(round_id, {"round": round_id})
            r["public_random"] = _short(data.get("public_random"), 256)
            r["inputs_hash"] = _hex(data.get("inputs_hash"))
            r["committed"] = e["ts"]
        elif e["type"] == "parking.draw_published":
            r = rounds.setdefault(round_id, {"round": round_id})
            r["results_hash"] = _hex(data.get("results_hash"))
            r["inputs_hash"] = r.get("inputs_hash") or _hex(data.get("inputs_hash"))
            r["drawn"] = e["ts"]
    return [rounds[k] for k in sorted(rounds)][-12:]


def alarms_of(store: PlanStore, community: str, limit: int = 50) -> list[dict[str, Any]]:
    """The witnesses' alarms the aggregator stored (``plan/store.py``), newest first."""
    return store.witness_alarms(community, limit)


def _short(value: Any, limit: int) -> str:
    return clean_text(value, limit) if isinstance(value, str) else ""


def _hex(value: Any) -> str:
    if isinstance(value, str) and len(value) <= 128 and all(
            c in "0123456789abcdef" for c in value):
        return value
    return ""
