"""The public page of the community plan, in Chinese and English, for people to read.

Made for a phone, a noticeboard screen and paper alike: no script, no external asset, every
value written as text beside its bar (a printed page has no hover), one chart row per
label so dates never overlap, percentages out of 100 %, device names in full. Everything
shown comes from the network: each string is cleaned of control and bidi characters and
then HTML-escaped (``_e``), numbers are formatted by us.

``page_data`` gathers one community's figures from the plan's store; ``render_page``
turns the communities' figures into one page in one language. plan/web.py serves the
pages over HTTP and writes them as static files.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from kiosk.events import parse_iso
from kiosk.needs import clean_text
from plan import indicators
from plan.model import CommunityReport, percent
from plan.needs import SKILL_MONTHS, alarms_of, draws_of, evidence, needs_of, skills_of
from plan.page_text import LANGUAGES, TEXT
from plan.store import PlanStore
from witness.export import commitment_file, round_file

Bars = list[tuple[str, float]]


def page_data(store: PlanStore, community: str, now: datetime) -> dict[str, Any]:
    """Everything the page shows of one community: the report model (plan/model.py) and
    what the page adds to it (needs with their evidence, skills, draws, alarms)."""
    report = indicators.report(store, community)
    needs = needs_of(store, community)
    for need in needs:
        need["evidence"] = evidence(need, report)
    return {"report": report, "needs": needs, "skills": skills_of(store, community, now),
            "draws": draws_of(store, community), "alarms": alarms_of(store, community)}


def _e(value: object, limit: int = 300) -> str:
    """Text from anywhere, as it may reach the page: cleaned, bounded, escaped."""
    return html.escape(clean_text(str(value), limit), quote=True)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


class _Page:
    def __init__(self, language: str):
        self.language = language
        self.words = TEXT[language]

    def t(self, key: str, **values: object) -> str:
        """A catalogue string with escaped values (the catalogue itself is ours)."""
        text = self.words.get(key, key)
        return html.escape(text).format(**{k: v if isinstance(v, _Safe) else _e(v)
                                           for k, v in values.items()})

    def day(self, iso_day: str) -> str:
        try:
            d = date.fromisoformat(iso_day)
        except ValueError:
            return _e(iso_day)
        weekday = self.words["weekdays"].split()[d.weekday()]
        return self.t("day", month=f"{d.month:02d}", day=f"{d.day:02d}", weekday=weekday)

    def size_word(self, size: str) -> str:
        """Unescaped, for a label the bars escape."""
        return self.words["size." + size] if size in ("S", "M", "L") else size

    def size(self, size: str | None) -> str:
        return self.t(f"size.{size}") if size in ("S", "M", "L") else _e(size or "")

    # -- pieces ---------------------------------------------------------------------------

    def bars(self, rows: list[tuple[str, float]], *, percent: bool = False,
             cls: str = "", escaped_labels: bool = False) -> str:
        """One row per bar: label, bar, the value as text. Counts scale to the largest
        value; percentages to 100 %, never past it."""
        if not rows:
            return f'<p class="empty">{self.t("no_data")}</p>'
        top = 100.0 if percent else (max(v for _, v in rows) or 1.0)
        out = [f'<div class="bars {cls}">']
        for label, value in rows:
            share = 0.0 if value <= 0 else min(100.0, 100.0 * value / top)
            shown = f"{_fmt(min(value, 100.0))} %" if percent else _fmt(value)
            text = label if escaped_labels else _e(label)
            out.append(f'<div class="row"><span class="label">{text}</span>'
                       f'<span class="track"><span class="bar" style="width:{share:.1f}%">'
                       f'</span></span><span class="value">{shown}</span></div>')
        out.append("</div>")
        return "".join(out)

    def figure(self, title: str, body: str, note: str = "", fid: str = "") -> str:
        ident = f' id="{fid}"' if fid else ""
        return (f"<figure{ident}><figcaption>{title}</figcaption>{body}"
                + (f'<p class="note">{note}</p>' if note else "") + "</figure>")

    # -- sections ------------------------------------------------------------------------

    def needs(self, data: dict[str, Any]) -> str:
        needs = data["needs"]
        if not needs:
            return f'<p class="empty">{self.t("needs_none")}</p>'
        items = []
        for n in needs:
            tags = self.t(f"topic.{n['topic']}") + (f" · {self.size(n['size'])}"
                                                     if n.get("size") else "")
            ev = self.evidence(n)
            items.append(
                f'<li class="need"><p class="need-head"><span class="kind">'
                f'{self.t("kind." + n["kind"])}</span> <span class="tags">{tags}</span> '
                f'<span class="support">{self.t("support", n=n["support"])}</span></p>'
                f'<p class="need-text">{_e(n["text"])}</p>'
                + (f'<p class="evidence"><b>{self.t("evidence")}:</b> {ev}</p>' if ev else "")
                + "</li>")
        return '<ol class="needs">' + "".join(items) + "</ol>"

    def evidence(self, need: dict[str, Any]) -> str:
        ev, parts = need.get("evidence", {}), []
        if "full" in ev:
            parts.append(self.t("ev.full", size=_Safe(self.size(need["size"])), n=ev["full"])
                         if need.get("size") else self.t("ev.full_any", n=ev["full"]))
        if "peak_pct" in ev:
            parts.append(self.t("ev.peak", pct=_fmt(round(ev["peak_pct"], 1))))
        if ev.get("outages"):
            parts.append(self.t("ev.outages", n=ev["outages"]))
        if "faults" in ev:
            parts.append(self.t("ev.faults", n=ev["faults"]))
        if "refused" in ev:
            parts.append(self.t("ev.parking", refused=ev["refused"],
                                requested=ev["requested"]))
        return "; ".join(parts)

    def trends(self, r: CommunityReport) -> str:
        if not r.trends:
            return f'<p class="empty">{self.t("no_data")}</p>'
        rows = []
        for trend in r.trends:
            before = trend.weeks[-3][1] if len(trend.weeks) >= 3 else 0.0
            last = trend.last_week
            arrow = "↑" if last > before else "↓" if last < before else "="
            change = ("" if trend.change_ratio is None
                      else f" ({'+' if trend.change_ratio >= 0 else ''}"
                           f"{_fmt(round(100 * trend.change_ratio, 1))} %)")
            rows.append(f'<li><span class="arrow">{arrow}</span> ' + self.t(
                "trend.row", what=_Safe(self.t("trend." + trend.measure)),
                last=_fmt(last), before=_fmt(before), change=_Safe(change),
                now=_fmt(trend.this_week)) + "</li>")
        return '<ul class="trends">' + "".join(rows) + "</ul>"

    def skills(self, data: dict[str, Any]) -> str:
        rows = []
        for s in data["skills"]:
            word = self.t("skill.single") if s["people"] else self.t("skill.none")
            flag = f' <span class="flag">{word}</span>' if s["single"] else ""
            rows.append(f'<tr class="{"single" if s["single"] else ""}"><td>'
                        f'{self.t("task." + s["task"])}{flag}</td><td>{s["people"]}</td>'
                        f'<td>{s["did"]}</td><td>{s["practised"]}</td></tr>')
        head = "".join(f"<th>{self.t(k)}</th>" for k in
                       ("skill.task", "skill.people", "skill.did", "skill.practised"))
        return f'<table class="skills"><tr>{head}</tr>{"".join(rows)}</table>'

    def rounds(self, r: CommunityReport) -> str:
        if not r.parking.rounds:
            return f'<p class="empty">{self.t("rounds_none")}</p>'
        out = []
        for round_ in r.parking.rounds[-6:]:
            rows = [(f"{_e(ty.type)} ({ty.allocated}/{ty.requested})",
                     percent(ty.served_ratio) or 0.0) for ty in round_.types if ty.requested]
            out.append(self.figure(self.t("draw.round", round=round_.round),
                                   self.bars(rows, percent=True, escaped_labels=True,
                                             cls="served"), self.t("rounds_note")))
        return "".join(out)

    def draws(self, community: str, data: dict[str, Any]) -> str:
        draws = data["draws"]
        downloads: dict[str, list[str]] = data.get("downloads", {})
        if not draws:
            return f'<p class="empty">{self.t("rounds_none")}</p>'
        items = []
        for d in draws:
            record, commitment = round_file(d["round"]), commitment_file(d["round"])
            # The round's files, from each kiosk whose draw chain the plan's witness holds
            # with this round in it (one kiosk draws a car park's rounds).
            links = [self.link(community, k, name) for k, names in downloads.items()
                     for name in (record, commitment) if name in names]
            items.append(
                f'<li><b>{self.t("draw.round", round=d["round"])}</b><dl>'
                f'<dt>{self.t("draw.random")}</dt><dd><code>{_e(d.get("public_random", ""))}'
                f'</code></dd><dt>{self.t("draw.inputs")}</dt><dd><code>'
                f'{_e(d.get("inputs_hash", ""))}</code></dd><dt>{self.t("draw.results")}</dt>'
                f'<dd><code>{_e(d.get("results_hash", ""))}</code></dd></dl>'
                + (f'<p>{self.t("draw.how")}</p><ul class="files">{"".join(links)}</ul>'
                   if links else f'<p class="empty">{self.t("draw.no_files")}</p>')
                + f'<pre>kiosk parking verify {_e(record, 60)} --commitment '
                  f'{_e(commitment, 60)}</pre></li>')
        return '<ul class="draws">' + "".join(items) + "</ul>"

    def link(self, community: str, kiosk: str, name: str) -> str:
        """A download, by the relative path the server and the noticeboard files share."""
        href = f"export/{quote(community)}/{quote(kiosk)}/{quote(name)}"
        return (f'<li><a href="{_e(href, 400)}" download="{_e(name, 100)}">'
                f'<code>{_e(name, 100)}</code></a> — {self.file_word(name)}</li>')

    def file_word(self, name: str) -> str:
        """What a download is, in words."""
        for chain in ("audit", "draws"):
            if name == f"{chain}.jsonl":
                return self.t(f"dl.{chain}")
            if name == f"{chain}-signed.json":
                return self.t("dl.signed")
        if name == "roster.json":
            return self.t("dl.roster")
        for prefix, key in (("round-", "dl.round"), ("commitment-", "dl.commitment")):
            if name.startswith(prefix) and name.endswith(".json"):
                return self.t(key, round=name[len(prefix):-len(".json")])
        return ""

    def downloads(self, community: str, data: dict[str, Any]) -> str:
        """Per kiosk, every file a resident re-checks it with, and the commands."""
        downloads: dict[str, list[str]] = data.get("downloads", {})
        if not downloads:
            return f'<p class="empty">{self.t("dl.none")}</p>'
        out = [f'<p class="note">{self.t("dl.from")}</p>']
        for kiosk, names in sorted(downloads.items()):
            links = "".join(self.link(community, kiosk, n) for n in names)
            commands = []
            if "draws.jsonl" in names:
                commands.append("kiosk parking verify --chain draws.jsonl"
                                + (" --signed draws-signed.json"
                                   if "draws-signed.json" in names else ""))
            if "audit.jsonl" in names:
                commands.append("kiosk audit verify --file audit.jsonl"
                                + (" --signed audit-signed.json"
                                   if "audit-signed.json" in names else ""))
            signed = [c for c in ("audit", "draws") if f"{c}-signed.json" in names]
            if signed:
                commands.append("kiosk witness --broker HOST:PORT --data DIR "
                                + " ".join(f"--from {c}.jsonl --signed {c}-signed.json"
                                           for c in signed))
            out.append(f'<h4>{self.t("dl.kiosk", kiosk=kiosk)}</h4>'
                       f'<ul class="files">{links}</ul>'
                       f'<p>{self.t("dl.how")}</p><pre>{_e(chr(10).join(commands), 2000)}'
                       "</pre>")
        return "".join(out)

    def alarms(self, data: dict[str, Any]) -> str:
        if not data["alarms"]:
            return f'<p class="empty">{self.t("alarms_none")}</p>'
        head = "".join(f"<th>{self.t(k)}</th>" for k in
                       ("alarm.when", "alarm.witness", "alarm.kiosk", "alarm.kind",
                        "alarm.detail"))
        rows = []
        for a in data["alarms"]:
            # The kind is a short code the contract checked; a known one is explained.
            label = f"alarm.kind.{a['kind']}"
            kind = (f'{self.t(label)} (<code>{_e(a["kind"])}</code>)' if label in self.words
                    else f'<code>{_e(a["kind"])}</code>')
            rows.append(
                f'<tr><td><time>{_e(_when(a["ts"], data["report"].timezone))}</time></td>'
                f'<td>{_e(a["witness"])}</td><td>{_e(a["kiosk"])}</td>'
                f'<td>{kind} · {_e(a["chain"])}</td><td>{_e(a["detail"])}</td></tr>')
        return f'<table class="alarms"><tr>{head}</tr>{"".join(rows)}</table>'

    def repairs(self, r: CommunityReport) -> str:
        rows = [r_ for r_ in r.repairs if r_.repaired or r_.open_now][:30]
        if not rows:
            return f'<p class="empty">{self.t("no_data")}</p>'
        head = "".join(f"<th>{self.t(k)}</th>" for k in
                       ("repair.device", "repair.kind", "repair.repaired", "repair.mean",
                        "repair.open"))
        body = "".join(
            f"<tr><td>{_e(x.device)}</td><td>{_e(x.kind)}</td><td>{x.repaired}</td>"
            f"<td>{'' if x.mean_h is None else _fmt(x.mean_h) + ' h'}</td>"
            f"<td>{x.open_now}</td></tr>" for x in rows)
        return f'<table class="repairs"><tr>{head}</tr>{body}</table>'

    def couriers(self, r: CommunityReport) -> str:
        flagged = [d for d in r.couriers if d.flagged][:14]
        note = self.t("courier_hours_note", start=r.agreed_hours[0], end=r.agreed_hours[1])
        if not flagged:
            return f'<p class="note">{note}</p><p class="empty">{self.t("courier_none")}</p>'
        items = "".join(
            f"<li>{self.day(d.day)}: {_e(d.courier)} " + self.t(
                "courier_day", first=d.first, last=d.last, hours=_fmt(d.hours),
                outside=d.outside_hours, parcels=d.parcels) + "</li>" for d in flagged)
        return f'<p class="note">{note}</p><ul class="couriers">{items}</ul>'

    def where_from(self, r: CommunityReport) -> str:
        intake = r.intake
        lines = [self.t("data.intake", events=intake.events, kiosks=intake.kiosks,
                        dup=intake.duplicates, conflicts=intake.conflicts, held=intake.held)]
        for g in r.gaps:
            lines.append(self.t("data.gap", kiosk=g.kiosk, missing=g.missing,
                                behind=g.behind) if g.missing or g.behind
                         else self.t("data.complete", kiosk=g.kiosk, top=g.max_seq))
        return "<ul>" + "".join(f"<li>{line}</li>" for line in lines) + "</ul>"

    def community(self, community: str, data: dict[str, Any]) -> str:
        r: CommunityReport = data["report"]
        t = self.t
        days = list(r.parcels_per_day.items())[-31:]
        wait = r.wait
        wait_note = (t("wait_note", median=_fmt(wait.median_h or 0), p90=_fmt(wait.p90_h or 0),
                       overdue=wait.overdue) if wait.count else t("wait_none"))
        occ = [(f"{o.kiosk} · {self.size_word(o.size)} ({o.peak}/{o.compartments})",
                percent(o.peak_ratio) or 0.0) for o in r.occupancy if o.compartments]
        park = r.parking
        park_rows = [(self.words["park.requested"], float(park.requested)),
                     (self.words["park.allocated"], float(park.allocated)),
                     (self.words["park.refused"], float(park.refused)),
                     (self.words["park.no_show"], float(park.no_show)),
                     (self.words["park.spots"], float(sum(park.supply.values())))]
        parts = [
            f'<section class="community"><h2>{t("community", id=community)}</h2>',
            f'<section id="needs"><h3>{t("needs")}</h3>{self.needs(data)}</section>',
            f'<section id="trends"><h3>{t("trends")}</h3>{self.trends(r)}</section>',
            self.figure(t("per_day"), self.bars([(self.day(d), n) for d, n in days],
                                                escaped_labels=True, cls="days"),
                        t("per_day_note", n=r.parcels_total, sent=r.parcels_sent), "per-day"),
            self.figure(t("per_hour", tz=r.timezone),
                        self.bars([(f"{h:02d}:00", n) for h, n in
                                   enumerate(r.parcels_per_hour) if n]), fid="per-hour"),
            self.figure(t("wait"), self.bars(list(wait.buckets.items())), wait_note, "wait"),
            self.figure(t("occupancy"), self.bars(occ, percent=True, cls="occupancy"),
                        t("occupancy_note"), "occupancy"),
            self.figure(t("unmet"), self.bars([(self.size_word(s), n) for s, n in
                                               r.unmet_demand.by_size.items()]), fid="unmet"),
            self.figure(t("outages"), self.bars(list(r.outages.by_cause.items())),
                        fid="outages"),
            f'<section id="repairs"><h3>{t("repairs")}</h3>{self.repairs(r)}</section>',
            self.figure(t("faults"), self.bars([(f.device, f.total) for f in r.faults[:30]],
                                               cls="faults"), fid="faults"),
            f'<section id="couriers"><h3>{t("courier_hours")}</h3>{self.couriers(r)}'
            "</section>",
            f'<section id="skills"><h3>{t("skills")}</h3>'
            f'<p class="note">{t("skills_note", months=SKILL_MONTHS)}</p>'
            f'{self.skills(data)}</section>',
            self.figure(t("parking"), self.bars(park_rows), fid="parking"),
            f'<section id="rounds"><h3>{t("rounds")}</h3>{self.rounds(r)}</section>',
            f'<section id="draws"><h3>{t("draws")}</h3>{self.draws(community, data)}'
            "</section>",
            f'<section id="downloads"><h3>{t("downloads")}</h3>'
            f'{self.downloads(community, data)}</section>',
            f'<section id="alarms"><h3>{t("alarms")}</h3>{self.alarms(data)}</section>',
            f'<section id="data"><h3>{t("data")}</h3>{self.where_from(r)}</section>',
            "</section>"]
        return "".join(parts)


class _Safe(str):
    """A piece already escaped by the page (a catalogue phrase put into another)."""


def _when(ts: str, tz: str) -> str:
    try:
        return parse_iso(ts).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    except (ValueError, KeyError):
        return ts[:20]


def page_name(language: str) -> str:
    return f"{language}.html"


CSS = """
:root{--ink:#1d1d1d;--bar:#2f6f9f;--track:#e6edf3;--flag:#a33}
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;color:var(--ink);
 max-width:72rem;margin:0 auto;padding:.5rem 1rem 2rem;line-height:1.45;font-size:1rem}
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:.5rem}
h1{margin:.5rem 0;font-size:1.6rem}h2{font-size:1.35rem;border-bottom:2px solid var(--ink)}
h3,figcaption{font-weight:700;font-size:1.1rem;margin:1.2rem 0 .4rem}
figure{margin:1rem 0;break-inside:avoid}
.bars{display:grid;grid-template-columns:minmax(4rem,max-content) minmax(3rem,1fr) max-content;
 gap:.15rem .6rem;align-items:center}
.row{display:contents}
.label{overflow-wrap:anywhere;max-width:22rem}
.track{display:block;background:var(--track);height:1.1rem;border:1px solid #b8c4ce}
.bar{display:block;height:100%;background:var(--bar);max-width:100%;
 -webkit-print-color-adjust:exact;print-color-adjust:exact}
.value{font-variant-numeric:tabular-nums;font-weight:600;text-align:right;min-width:2.5rem}
.note,.empty{color:#444;margin:.3rem 0}
.needs{padding-left:1.4rem}.need{margin:.6rem 0}.need p{margin:.1rem 0}
.kind{font-weight:700}.tags{color:#444}.support{font-weight:600;white-space:nowrap}
.need-text{font-size:1.1rem;overflow-wrap:anywhere}.evidence{color:#333}
.trends{list-style:none;padding:0}.arrow{display:inline-block;width:1.2rem;font-weight:700}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #b8c4ce;padding:.25rem .4rem;
 text-align:left}tr.single td:first-child{color:var(--flag)}.flag{font-weight:700;color:var(--flag)}
code,pre{overflow-wrap:anywhere;white-space:pre-wrap;font-size:.9rem}
pre{background:#f3f3f3;padding:.4rem}
.files{padding-left:1.2rem}.files li{margin:.15rem 0}h4{margin:.8rem 0 .2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:0 .6rem;margin:.3rem 0}
dd{margin:0}
@media (min-width:100rem){body{max-width:110rem;font-size:1.15rem}
 .community{columns:2;column-gap:3rem}.community>h2{column-span:all}
 .community>section,.community>figure{break-inside:avoid}}
@media print{body{max-width:none;font-size:10.5pt;padding:0}.switch{display:none}
 .track{border:1px solid #000}.bar{background:#555 !important}
 section,figure{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""


def render_page(plans: dict[str, dict[str, Any]], language: str, generated_at: datetime
                ) -> str:
    """One page, in ``language`` (zh or en), for every community in ``plans``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    page = _Page(language)
    other = "en" if language == "zh" else "zh"
    tz = next((d["report"].timezone for d in plans.values()), "UTC")
    when = _when(generated_at.isoformat(), tz) + f" ({tz})"
    body = "".join(page.community(c, data) for c, data in plans.items())
    if not plans:
        body = f'<p class="empty">{page.t("no_data")}</p>'
    return (f'<!DOCTYPE html>\n<html lang="{"zh-Hans" if language == "zh" else "en"}"><head>'
            '<meta charset="utf-8"><meta name="viewport" content="width=device-width, '
            f'initial-scale=1"><title>{page.t("title")}</title><style>{CSS}</style></head>'
            f'<body><header><h1>{page.t("title")}</h1><a class="switch" hreflang="{other}" '
            f'href="{page_name(other)}">{page.t("other_language")}</a></header>'
            f'<p>{page.t("intro", when=when)}</p>{body}</body></html>\n')
