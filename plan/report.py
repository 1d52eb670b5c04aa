"""``kiosk plan report``: the indicators as terminal charts, and as one self-contained HTML
page (inline SVG, no scripts, no external assets) for the public noticeboard.

Everything shown comes from the network (kiosk ids, event types): the page escapes it all.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotext

Bars = list[tuple[str, float]]


def _charts(community: str, ind: dict[str, Any]) -> list[tuple[str, Bars, str]]:
    """(title, bars, note) for every chart; shared by the terminal and the page."""
    charts: list[tuple[str, Bars, str]] = []
    days = ind["parcels_per_day"]["days"]
    charts.append(("Parcels per day", [(d[5:], n) for d, n in list(days.items())[-31:]],
                   f"{ind['parcels_per_day']['total']} parcels in all"))
    hours = ind["parcels_per_hour"]["hours"]
    charts.append((f"Parcels by hour of day ({ind['parcels_per_hour']['timezone']})",
                   [(f"{h:02d}", n) for h, n in enumerate(hours)], ""))
    wait = ind["wait_time"]
    note = (f"median {wait.get('median_h', 0)} h, 90% within {wait.get('p90_h', 0)} h, "
            f"{wait['overdue']} overdue") if wait["count"] else "no collections yet"
    charts.append(("Time parcels wait", list(wait["buckets"].items()), note))
    occ = ind["occupancy"]["compartments"]
    charts.append(("Peak occupancy against capacity (%)",
                   [(f"{o['kiosk']} {o['size']}", round(100 * (o["peak_ratio"] or 0), 1))
                    for o in occ if o["capacity"]],
                   "; ".join(f"{o['kiosk']} {o['size']}: peak {o['peak']}"
                             f"{' of ' + str(o['capacity']) if o['capacity'] else ''}"
                             for o in occ)))
    unmet = ind["unmet_demand"]
    charts.append(("Full-bank refusals (unmet demand) by size",
                   list(unmet["by_size"].items()), f"{unmet['total']} refusals in all"))
    load = ind["courier_load"]["hours"]
    charts.append(("Courier load: parcels by hour", [(f"{h['hour']:02d}", h["parcels"])
                                                     for h in load],
                   "busiest hours: " + ", ".join(
                       f"{h['hour']:02d}h ({h['parcels']} by {h['couriers']} courier(s))"
                       for h in sorted(load, key=lambda h: -h["parcels"])[:3]
                       if h["parcels"])))
    faults = ind["faults"]["devices"][:15]
    charts.append(("Faults and jams per device", [(f["device"], f["total"]) for f in faults],
                   ", ".join(f"{t}: {n}" for t, n in ind["faults"]["totals"].items())))
    park = ind["parking"]
    if any(park[k] for k in ("requested", "refused", "allocated")) or park["supply"]:
        supply = sum(park["supply"].values())
        charts.append(("Parking demand against supply",
                       [("requested", park["requested"]), ("allocated", park["allocated"]),
                        ("refused", park["refused"]), ("no-show", park["no_show"]),
                        ("spots", supply)], ""))
    return charts


def _lines(community: str, ind: dict[str, Any]) -> list[str]:
    intake, gaps = ind["intake"], ind["gaps"]
    lines = [f"{intake['events']} events from {intake['kiosks']} kiosk(s); "
             f"{intake['duplicates']} duplicates dropped, {intake['conflicts']} conflicting "
             "replays refused."]
    refused = intake["refused_all_communities"]
    if refused:
        lines.append("Refused messages (all communities): "
                     + ", ".join(f"{r} {n}" for r, n in refused.items()))
    if intake["unknown_types"]:
        lines.append("Unknown event types (kept): "
                     + ", ".join(f"{t} {n}" for t, n in intake["unknown_types"].items()))
    for g in gaps["kiosks"]:
        if g["missing"] or g["behind"]:
            ranges = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in g["ranges"][:10])
            lines.append(f"GAP {g['kiosk']}: {g['missing']} missing of 1..{g['max_seq']}"
                         + (f" ({ranges})" if ranges else "")
                         + (f"; {g['behind']} not yet received" if g["behind"] else ""))
        else:
            lines.append(f"{g['kiosk']}: seq 1..{g['max_seq']} complete")
    outages = ind.get("outages", {})
    if outages.get("total"):
        lines.append(f"Outages: {outages['total']} deposit(s) refused while compartments were "
                     "out of order (not counted as demand): "
                     + ", ".join(f"{c} {n}" for c, n in outages["by_cause"].items()))
    sec = ind["security"]
    lines.append(f"Security: {sec['wrong_codes']} wrong codes, {sec['tampers']} tamper alarms.")
    return lines


# -- terminal -------------------------------------------------------------------------------

def terminal_chart(title: str, bars: Bars, width: int = 80, height: int = 14,
                   color: bool = False) -> str:
    if not bars:
        return f"{title}\n  (no data yet)"
    fig = plotext.figure
    fig.clear()
    fig.plot_size(width, height)
    fig.title(title)
    labels = [b[0] for b in bars]
    values = [b[1] for b in bars]
    orientation = "horizontal" if len(bars) > 0 and max(len(x) for x in labels) > 6 else "vertical"
    fig.draw(fig.bar(labels, values, orientation=orientation))
    text = fig.build().string(colorless=not color)
    fig.clear()
    return text


def render_terminal(community: str, ind: dict[str, Any], width: int = 80,
                    color: bool = False) -> str:
    parts = [f"Community plan: {community}", ""]
    for title, bars, note in _charts(community, ind):
        parts.append(terminal_chart(title, bars, width, color=color))
        if note:
            parts.append(f"  {note}")
        parts.append("")
    parts.extend(_lines(community, ind))
    return "\n".join(parts)


# -- HTML -----------------------------------------------------------------------------------

def svg_bars(bars: Sequence[tuple[str, float]], width: int = 640, height: int = 220) -> str:
    """A bar chart as inline SVG. Labels are escaped; values scale to the tallest bar."""
    if not bars:
        return '<p class="empty">No data yet.</p>'
    e = html.escape
    left, bottom, top = 40, 40, 16
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max((v for _, v in bars), default=0) or 1
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
        h = plot_h * (value / peak) if value > 0 else 0
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                     f'fill="#2f6f9f"><title>{e(label)}: {e(_fmt(value))}</title></rect>')
        if i % every == 0:
            short = label if len(label) <= 12 else label[:11] + "…"
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" '
                         f'text-anchor="middle" font-size="10">{e(short)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def render_html(plans: dict[str, dict[str, Any]], generated_at: str) -> str:
    e = html.escape
    body = []
    for community, ind in plans.items():
        body.append(f"<section><h2>Community {e(community)}</h2>")
        for title, bars, note in _charts(community, ind):
            body.append(f"<figure><figcaption>{e(title)}</figcaption>{svg_bars(bars)}"
                        + (f"<p>{e(note)}</p>" if note else "") + "</figure>")
        body.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in _lines(community, ind))
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
