"""``kiosk plan report``: the report model (``plan/model.py``) as terminal charts, and as
one self-contained HTML page (inline SVG, no scripts, no external assets).

Terminal charts are horizontal bars drawn here, not by a plotting library: each bar's
length is its value over the chart's scale, and the scale is stated, so a bar and its
axis can never disagree. Counts scale to the largest bar; percentages always to 100 %.
The value is printed at the end of every bar.

Every string shown came from the network already cleaned of control and bidi characters
(``mqtt.contract.clean_text``); the page still escapes it all.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from plan.model import CommunityReport, percent

Bars = list[tuple[str, float]]


@dataclass(frozen=True)
class Chart:
    title: str
    bars: Bars
    note: str = ""
    percent: bool = False  # values are 0–100 and the scale is 100
    unit: str = ""


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def charts(r: CommunityReport) -> list[Chart]:
    """Every chart of one community; shared by the terminal and the page."""
    out: list[Chart] = []
    days = list(r.parcels_per_day.items())[-31:]
    out.append(Chart("Parcels per day", [(d[5:], n) for d, n in days],
                     f"{r.parcels_total} parcels in all"))
    out.append(Chart(f"Parcels by hour of day ({r.timezone})",
                     [(f"{h:02d}", n) for h, n in enumerate(r.parcels_per_hour)]))
    w = r.wait
    note = (f"median {w.median_h} h, 90% within {w.p90_h} h, {w.overdue} overdue"
            if w.count else "no collections yet")
    out.append(Chart("Time parcels wait", list(w.buckets.items()), note))
    known = [o for o in r.occupancy if o.compartments]
    out.append(Chart(
        "Peak occupancy by compartment size (% of compartments)",
        [(f"{o.kiosk} {o.size}", percent(o.peak_ratio) or 0.0) for o in known],
        "; ".join(f"{o.kiosk} {o.size}: peak {o.peak} of {o.compartments}"
                  + (" (by parcel size: kiosk too old to name the compartment's)"
                     if o.basis == "parcel" else "")
                  + (f", {o.over_capacity} more seen than exist (events lost?)"
                     if o.over_capacity else "")
                  for o in known), percent=True))
    out.append(Chart("Full-bank refusals (unmet demand) by size",
                     list(r.unmet_demand.by_size.items()),
                     f"{r.unmet_demand.total} in all; outages are counted apart"))
    out.append(Chart("Outages: deposits refused while compartments were out of order",
                     list(r.outages.by_cause.items()),
                     f"{r.outages.total} refusals, not demand (by cause; one refusal can "
                     "have several)"))
    repaired = [x for x in r.repairs if x.repaired]
    out.append(Chart("Time to repair (mean hours, per fault type and device)",
                     [(f"{x.device} {x.kind}", x.mean_h or 0.0) for x in repaired[:15]],
                     "; ".join(f"{x.device} {x.kind}: {x.repaired} repaired, longest "
                               f"{x.max_h} h" for x in repaired[:5])
                     + "".join(f"; OPEN {x.device} {x.kind} since {x.open_since}"
                               for x in r.repairs if x.open_now), unit="h"))
    if r.couriers:
        latest = r.couriers[0].day
        start, end = r.agreed_hours
        flagged = [c for c in r.couriers if c.flagged]
        out.append(Chart(f"Courier hours on {latest} (first to last deposit)",
                         [(c.courier, c.hours) for c in r.couriers if c.day == latest],
                         f"agreed hours {start}-{end}; {len(flagged)} courier-day(s) with "
                         "deposits outside them"
                         + "".join(f"; {c.courier} {c.day}: {c.outside_hours} outside "
                                   f"({c.first}-{c.last})" for c in flagged[:5]), unit="h"))
    if r.duty:
        out.append(Chart("Duty load per volunteer (rostered hours)",
                         [(d.volunteer, d.hours) for d in r.duty],
                         "; ".join(f"{d.volunteer}: {d.shifts} shifts, {d.actions} actions"
                                   for d in r.duty), unit="h"))
    p = r.parking
    for rnd in p.rounds[-3:]:
        out.append(Chart(f"Parking round {rnd.round}: share of requests allocated (%)",
                         [(t.type, percent(t.served_ratio) or 0.0) for t in rnd.types
                          if t.requested],
                         "; ".join(f"{t.type}: {t.allocated} of {t.requested} asked"
                                   f" ({t.refused} refused, {t.spots} spots"
                                   + (f", {t.substituted} given another type"
                                      if t.substituted else "") + ")" for t in rnd.types)
                         + f"; counted by {p.basis}", percent=True))
    faults = r.faults[:15]
    out.append(Chart("Faults and jams per device", [(f.device, f.total) for f in faults],
                     ", ".join(f"{t}: {n}" for t, n in r.fault_totals.items())))
    return out


def lines(r: CommunityReport) -> list[str]:
    i = r.intake
    out = [f"{i.events} events from {i.kiosks} kiosk(s); {i.duplicates} duplicates dropped, "
           f"{i.conflicts} conflicting replays refused, {i.held} held apart."]
    if i.refused_all_communities:
        out.append("Refused messages (all communities): "
                   + ", ".join(f"{k} {n}" for k, n in i.refused_all_communities.items()))
    if i.unknown_types:
        out.append("Unknown event types (kept): "
                   + ", ".join(f"{t} {n}" for t, n in i.unknown_types.items()))
    for g in r.gaps:
        if g.missing or g.behind:
            ranges = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in g.ranges[:10])
            out.append(f"GAP {g.kiosk}: {g.missing} missing of 1..{g.max_seq}"
                       + (f" ({ranges})" if ranges else "")
                       + (f"; {g.behind} not yet received" if g.behind else ""))
        else:
            out.append(f"{g.kiosk}: seq 1..{g.max_seq} complete")
        if g.held:
            out.append(f"HELD {g.kiosk}: {g.held} event(s) with a seq far beyond what the "
                       f"kiosk announced ({g.announced_last_seq}), not counted")
    for t in r.trends:
        change = ("" if t.change_ratio is None
                  else f", {t.change_ratio * 100:+.0f}% on the week before")
        out.append(f"Trend {t.measure}: {_fmt(t.last_week)} last week{change}; "
                   f"{_fmt(t.this_week)} so far this week")
    s = r.security
    out.append(f"Security: {s.wrong_codes} wrong codes, {s.tampers} tamper alarms.")
    return out


# -- terminal -------------------------------------------------------------------------------

def terminal_chart(chart: Chart, width: int = 80) -> str:
    if not chart.bars:
        return f"{chart.title}\n  (no data yet)"
    label_w = min(max(len(b[0]) for b in chart.bars), max(8, width // 3))
    values = [_fmt(v) + ("%" if chart.percent else chart.unit) for _, v in chart.bars]
    value_w = max(len(v) for v in values)
    room = max(4, width - label_w - value_w - 4)
    scale = 100.0 if chart.percent else max(max(v for _, v in chart.bars), 0) or 1.0
    rows = [chart.title]
    for (label, value), shown in zip(chart.bars, values, strict=True):
        cells = room * min(max(value, 0), scale) / scale
        bar = "█" * int(cells) + ("▌" if cells - int(cells) >= 0.5 else "")
        if value > 0 and not bar:
            bar = "▏"
        name = label if len(label) <= label_w else label[:label_w - 1] + "…"
        rows.append(f"  {name:<{label_w}} {bar:<{room}} {shown:>{value_w}}")
    top = "100%" if chart.percent else _fmt(scale) + chart.unit
    rows.append(f"  {'':<{label_w}} 0{top:>{room - 1}}")
    return "\n".join(rows)


def render_terminal(r: CommunityReport, width: int = 80) -> str:
    parts = [f"Community plan: {r.community}", ""]
    for chart in charts(r):
        parts.append(terminal_chart(chart, width))
        if chart.note:
            parts.append(f"  {chart.note}")
        parts.append("")
    parts.extend(lines(r))
    return "\n".join(parts)


# -- HTML -----------------------------------------------------------------------------------

def svg_bars(bars: Sequence[tuple[str, float]], scale_to: float | None = None,
             width: int = 640, height: int = 220) -> str:
    """A bar chart as inline SVG, values written on the bars. Labels are escaped."""
    if not bars:
        return '<p class="empty">No data yet.</p>'
    e = html.escape
    left, bottom, top = 40, 40, 16
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = scale_to or max((v for _, v in bars), default=0) or 1
    step = plot_w / len(bars)
    bar_w = max(1.0, step * 0.75)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
             'stroke="#333"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="11">'
             f'{e(_fmt(peak))}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>']
    every = max(1, len(bars) // 16)
    for i, (label, value) in enumerate(bars):
        h = plot_h * (min(value, peak) / peak) if value > 0 else 0
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="#2f6f9f"><title>{e(label)}: {e(_fmt(value))}</title></rect>')
        if len(bars) <= 31:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{max(top + 10, y - 2):.1f}" '
                         f'text-anchor="middle" font-size="9">{e(_fmt(value))}</text>')
        if i % every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                         f'text-anchor="middle" font-size="10">{e(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(plans: dict[str, CommunityReport], generated_at: str) -> str:
    e = html.escape
    body = []
    for community, r in plans.items():
        body.append(f"<section><h2>Community {e(community)}</h2>")
        for chart in charts(r):
            svg = svg_bars(chart.bars, 100.0 if chart.percent else None)
            body.append(f"<figure><figcaption>{e(chart.title)}</figcaption>{svg}"
                        + (f"<p>{e(chart.note)}</p>" if chart.note else "") + "</figure>")
        body.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in lines(r))
                    + "</ul></section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Community plan</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;"
            "padding:0 1rem;color:#222}figure{margin:1.5rem 0}"
            "figcaption{font-weight:600;margin-bottom:.3rem}svg{max-width:100%;height:auto}"
            ".empty{color:#777}</style></head><body>"
            "<h1>Community plan</h1>"
            f"<p>Made from the kiosks' public events on {e(generated_at)}. "
            "Full lockers, refused parking requests and long waits are counted here so "
            "the community can plan to build more.</p>"
            + "".join(body) + "</body></html>\n")
