"""The plan's public page in a real headless browser (Playwright driving Debian's Chromium):
values readable as text, dates that never overlap, percentages out of 100 %, the needs
beside the devices' evidence, no script needed, printable; served over HTTP and written as
static files (plan/page.py, plan/web.py)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mqtt import topics
from plan.indicators import PlanSettings
from plan.page import page_data
from plan.page_text import TEXT
from plan.store import PlanStore
from plan.web import PageServer, PlanPages
from tests.plan_support import BACKENDS, plan_location

CHROMIUM = os.environ.get("KIOSK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOSTILE = "evil\u202e<script>alert(1)</script>\x00 \u2066text\u2069"
WIDTHS = {"phone": 390, "noticeboard": 1920}


def _event(seq: int, type_: str, data: dict[str, Any], ts: datetime,
           kiosk: str = "k1") -> tuple[str, bytes]:
    body = {"seq": seq, "id": str(uuid.uuid4()), "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "type": type_, "community": "maple", "kiosk": kiosk, "data": data}
    return topics.event_topic("maple", kiosk, type_), json.dumps(body).encode()


def seed(store: PlanStore) -> None:
    """A month of one kiosk: parcels every day, full large lockers, jams, needs (one of them
    forged with control and bidi characters), maintenance done and practised, a draw."""
    events: list[tuple[str, bytes]] = []
    seq = 0

    def add(type_: str, data: dict[str, Any], ts: datetime) -> None:
        nonlocal seq
        seq += 1
        events.append(_event(seq, type_, data, ts))

    start = NOW - timedelta(days=30)
    for day in range(31):
        when = start + timedelta(days=day, hours=8)
        for i in range(day % 7 + 1):
            size = "SML"[i % 3]
            parcel = f"p{day}-{i}"
            add("parcel.deposited", {"parcel": parcel, "size": size, "courier": "c-1",
                                     "compartment": f"A0{i % 7 + 1}"}, when)
            add("parcel.collected", {"parcel": parcel, "size": size, "waited_s": 3600 * i},
                when + timedelta(hours=i + 1))
    for days_ago in (1, 2, 2, 3, 5, 9, 12):
        add("locker.full", {"size": "L"}, NOW - timedelta(days=days_ago))
    for days_ago in (4, 6):
        add("door.jammed", {"compartment": "A03"}, NOW - timedelta(days=days_ago))
    add("board.offline", {"board": 1}, NOW - timedelta(days=8))
    raised = NOW - timedelta(days=3)
    add("need.raised", {"need": 1, "kind": "need", "topic": "lockers", "size": "L",
                        "text": "More large lockers, please", "support": 1}, raised)
    add("need.supported", {"need": 1, "support": 2}, raised)
    add("need.supported", {"need": 1, "support": 3}, raised)
    add("need.raised", {"need": 2, "kind": "fault", "topic": "doors",
                        "text": "The gate is broken", "support": 1}, raised)
    add("need.raised", {"need": 3, "kind": "proposal", "topic": "other", "text": HOSTILE,
                        "support": 1}, raised)
    add("need.raised", {"need": 4, "kind": "need", "topic": "other",
                        "text": "Withdrawn idea", "support": 1}, raised)
    add("need.withdrawn", {"need": 4, "support": 0}, raised)
    for actor, action in (("m-ash", "compartment.fault_cleared"),
                          ("m-birch", "compartment.fault_cleared"),
                          ("m-ash", "lockers.reconcile"), ("m-ash", "door.force")):
        add("audit.entry", {"actor": actor, "action": action, "subject": "A03",
                            "reason": "fixed"}, NOW - timedelta(days=10))
    add("maintenance.practiced", {"task": "sensor.mismatch", "by": "h-cedar"},
        NOW - timedelta(days=2))
    add("audit.entry", {"actor": "m-old", "action": "parcel.review_resolved"},
        NOW - timedelta(days=400))  # older than the skills window: not counted
    asks = {f"m{i}": "standard" for i in range(6)} | {"m9": "ev"}
    for member, spot_type in asks.items():
        add("parking.requested", {"round": "2026-11", "member": member, "type": spot_type},
            NOW - timedelta(days=25))
    add("parking.round_closed", {"round": "2026-11", "askers": {"standard": 6, "ev": 1},
                                 "spots": {"standard": 4, "ev": 2}}, NOW - timedelta(days=21))
    for i, member in enumerate(asks):
        kind = "allocated" if i < 4 or member == "m9" else "refused"
        data = {"round": "2026-11", "member": member, "type": asks[member]}
        add(f"parking.{kind}", {**data, "kind": "round"} if kind == "refused" else
            {**data, "spot": f"P{i}"}, NOW - timedelta(days=20))
    add("parking.draw_committed", {"round": "2026-11", "public_random": "lottery 2026-11-01",
                                   "inputs_hash": "ab" * 32}, NOW - timedelta(days=20))
    add("parking.draw_published", {
        "round": "2026-11", "inputs_hash": "ab" * 32, "results_hash": "cd" * 32,
        "allocated": 5, "refused": 3,
        "summary": {"standard": {"spots": 4, "askers": 6, "allocated": 4, "lent": 0},
                    "ev": {"spots": 2, "askers": 1, "allocated": 1, "lent": 0}}},
        NOW - timedelta(days=20))
    events.append((topics.state_topic("maple", "k1", "lockers"),
                   json.dumps({"capacity": {"S": 8, "M": 4, "L": 2},
                               "free": {"S": 8, "M": 4, "L": 2}, "doors_open": [],
                               "out_of_service": [], "faults": []}).encode()))
    result = store.ingest(events)
    assert result.stored == seq and not result.refused, result


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("plan-page")
    store = PlanStore(root / "plan.db", PlanSettings(timezone="Asia/Shanghai"))
    seed(store)
    pages = PlanPages(store, out_dir=root / "board")
    pages.refresh(now=NOW)
    server = PageServer(pages, ("127.0.0.1", 0))
    server.start()
    host, port = server.address
    try:
        # KIOSK_PAGE_SHOTS keeps the screenshots where a person can look at them.
        shots = Path(os.environ.get("KIOSK_PAGE_SHOTS") or root / "shots")
        yield {"url": f"http://{host}:{port}", "dir": root / "board", "shots": shots}
    finally:
        server.stop()
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Never a silent skip: without the browser the page is untested, so the run fails.
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the page tests need the python package playwright "
                    "(pip install -e '.[test]')")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(f"the page tests need Chromium at {CHROMIUM} "
                    "(apt-get install -y chromium; .ci/run installs it)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


BOXES = ("els => els.map(e => { const r = e.getBoundingClientRect(); "
         "return {x: r.x, y: r.y, width: r.width, height: r.height}; })")


def boxes(page: Any, selector: str) -> list[dict[str, float]]:
    """Every match's box in one round trip (Playwright's own world: no page script)."""
    return page.locator(selector).evaluate_all(BOXES)


def apart(a: dict[str, float], b: dict[str, float]) -> bool:
    """The next label starts below or right of this one: they do not overlap."""
    return a["y"] + a["height"] <= b["y"] + 0.5 or a["x"] + a["width"] <= b["x"]


def open_page(browser: Any, url: str, width: int, javascript: bool = False) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  java_script_enabled=javascript)
    page = context.new_page()
    page.goto(url)
    return page


def get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


# --- HTTP and the static files ----------------------------------------------------------

def test_the_server_and_the_noticeboard_files_hold_the_same_pages(site):
    status, zh, headers = get(site["url"] + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]
    assert zh == (site["dir"] / "zh.html").read_bytes() == (site["dir"] / "index.html"
                                                           ).read_bytes()
    assert get(site["url"] + "/en.html")[1] == (site["dir"] / "en.html").read_bytes()
    assert '<html lang="zh-Hans">' in zh.decode() and "需求与提议" in zh.decode()
    assert get(site["url"] + "/secret.db")[0] == 404
    assert not [p.name for p in site["dir"].iterdir() if p.name.startswith(".")]


def test_both_languages_have_every_phrase():
    assert set(TEXT["zh"]) == set(TEXT["en"])


def test_no_control_or_bidi_character_reaches_the_page(site):
    for name in ("zh.html", "en.html"):
        text = (site["dir"] / name).read_text(encoding="utf-8")
        assert not re.search("[\x00-\x08\x0b-\x1f\u200e\u200f\u202a-\u202e\u2066-\u2069]",
                             text)
        assert "<script" not in text
        # Control: the forged need is on the page, as harmless text.
        # (the plan's intake marks each removed character with U+FFFD)
        assert re.search("evil\ufffd?&lt;script&gt;alert\\(1\\)&lt;/script&gt;", text)


# --- in the browser ---------------------------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_values_are_written_on_the_bars_and_bars_stay_within_100_percent(
        site, browser, width):
    page = open_page(browser, site["url"] + "/en.html", width)
    try:
        values = boxes(page, "#per-day .row .value")
        assert len(values) == 31 and all(v["width"] > 0 and v["height"] > 0 for v in values)
        assert page.locator("#per-day .row .value").all_inner_texts()[-3:] == ["1", "2", "3"]
        tracks, bars = boxes(page, ".bars .row .track"), boxes(page, ".bars .row .bar")
        assert len(tracks) == len(bars) > 40
        assert all(b["width"] <= t["width"] + 0.5 for t, b in zip(tracks, bars, strict=True))
        assert max(b["width"] for b in bars) > 0.9 * max(t["width"] for t in tracks)
        occupancy = page.locator("#occupancy .value").all_inner_texts()
        assert occupancy and all(float(v.rstrip(" %")) <= 100 for v in occupancy)
        assert "%" in occupancy[0]
        # A device's name in full, never cut.
        assert "k1 compartment A03" in page.locator("#faults").inner_text()
    finally:
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_date_labels_never_overlap(site, browser, width):
    page = open_page(browser, site["url"] + "/", width)
    try:
        site["shots"].mkdir(parents=True, exist_ok=True)
        shot = site["shots"] / f"plan-zh-{width}px.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        labels = boxes(page, "#per-day .label")
        assert len(labels) == 31
        assert all(apart(a, b) for a, b in itertools.pairwise(labels))
        assert "11月30日 周一" in page.locator("#per-day").inner_text()
    finally:
        page.context.close()


def test_the_control_of_the_overlap_check_catches_overlapping_labels(browser):
    # The same assertion on labels that do overlap (the old SVG axis) must fail.
    page = browser.new_page()
    try:
        page.set_content('<div style="position:relative">'
                         + "".join(f'<span class="label" style="position:absolute;left:{i * 8}px;'
                                   f'top:0">2026-11-{i:02d}</span>' for i in range(1, 4))
                         + "</div>")
        labels = boxes(page, ".label")
        assert len(labels) == 3
        assert not any(apart(a, b) for a, b in itertools.pairwise(labels))
    finally:
        page.close()


def test_needs_are_listed_with_their_support_beside_the_evidence(site, browser):
    page = open_page(browser, site["url"] + "/en.html", 390)
    try:
        needs = page.locator("#needs li.need")
        assert needs.count() == 3  # the withdrawn one is gone
        first = needs.nth(0).inner_text()
        assert "More large lockers, please" in first
        assert "households supporting: 3" in first
        assert "large compartments full: 7 times" in first
        assert "door faults: 2" in needs.nth(1).inner_text()
        assert "Withdrawn idea" not in page.locator("#needs").inner_text()
    finally:
        page.context.close()


def test_skills_rounds_draws_and_alarms(site, browser):
    page = open_page(browser, site["url"] + "/en.html", 1920)
    try:
        cells = page.locator("#skills tr").evaluate_all(
            "rows => rows.slice(1).map(r => [...r.cells].map(c => c.innerText))")
        rows = {r[0]: r for r in cells}
        jammed = rows["Free a jammed door"]
        assert jammed[1:] == ["2", "2", "0"]
        # Reconcile: one did it, one practised: two people, not flagged.
        assert rows["Reconcile the sensors"][1:] == ["2", "1", "1"]
        assert "only one person" in next(k for k in rows if k.startswith("Open a door"))
        assert "nobody yet" in next(k for k in rows if k.startswith("Settle a parcel"))
        rounds = page.locator("#rounds").inner_text()
        assert "standard (4/6)" in rounds and "66.7 %" in rounds and "ev (1/1)" in rounds
        draws = page.locator("#draws").inner_text()
        assert "lottery 2026-11-01" in draws and "cd" * 32 in draws
        assert ("kiosk parking verify round-2026-11.json --commitment "
                "commitment-2026-11.json") in draws
        # No witness copy behind this page: nothing to download, and it says so.
        assert "holds no record of this round to download yet" in draws
        assert page.locator("#downloads").inner_text().endswith(
            "No records to download yet: the plan's witness holds none.")
        assert page.locator("#draws a, #downloads a").count() == 0
        assert page.locator("#alarms").inner_text().endswith("No alarms.")
    finally:
        page.context.close()


def test_the_page_reads_the_same_without_javascript_and_in_print(site, browser):
    with_js = open_page(browser, site["url"] + "/en.html", 1920, javascript=True)
    without = open_page(browser, site["url"] + "/en.html", 1920)
    try:
        text = without.locator("body").inner_text()
        assert text == with_js.locator("body").inner_text()
        assert "More large lockers" in text and "Parcels per day" in text
        without.emulate_media(media="print")
        printed = boxes(without, "#per-day .value")
        assert len(printed) == 31 and all(v["width"] > 0 for v in printed)
        assert not without.locator(".switch").is_visible()
    finally:
        with_js.context.close()
        without.context.close()


def test_the_language_switch_leads_to_the_other_page(site, browser):
    page = open_page(browser, site["url"] + "/", 390)
    try:
        page.click("a.switch")
        page.wait_for_url("**/en.html")
        assert page.locator("h1").inner_text() == "Community plan"
        assert page.locator("html").get_attribute("lang") == "en"
    finally:
        page.context.close()


# --- the page's figures on both stores (no browser) -------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_needs_skills_and_draws_read_the_same_from_both_stores(backend, tmp_path):
    with plan_location(backend, tmp_path) as where:
        store = PlanStore(where, PlanSettings(timezone="Asia/Shanghai"))
        try:
            seed(store)
            data = page_data(store, "maple", NOW)
        finally:
            store.close()
    assert [(n["need"], n["support"], n["kind"]) for n in data["needs"]] == [
        (1, 3, "need"), (2, 1, "fault"), (3, 1, "proposal")]
    assert data["needs"][0]["evidence"] == {"full": 7, "peak_pct": 100.0, "outages": 0}
    skills = {s["task"]: (s["people"], s["single"]) for s in data["skills"]}
    assert skills == {"compartment.service": (0, True), "door.force": (1, True),
                      "door.jammed": (2, False), "parcel.in_review": (0, True),
                      "sensor.mismatch": (2, False)}
    assert [(d["round"], d["results_hash"]) for d in data["draws"]] == [("2026-11", "cd" * 32)]
    assert data["alarms"] == []


def test_kiosk_plan_report_writes_the_noticeboard_pages(tmp_path, capsys):
    from kiosk.cli.main import main

    store = PlanStore(tmp_path / "plan.db")
    seed(store)
    store.close()
    assert main(["plan", "report", "--data", str(tmp_path), "--pages",
                 str(tmp_path / "board")]) == 0
    assert "Wrote the public page" in capsys.readouterr().out
    for name in ("index.html", "zh.html", "en.html"):
        assert "More large lockers, please" in (tmp_path / "board" / name).read_text()
    # A place that cannot be written is one line and exit code 2, not a traceback.
    (tmp_path / "file").write_text("x")
    assert main(["plan", "report", "--data", str(tmp_path), "--pages",
                 str(tmp_path / "file" / "board")]) == 2
    assert "--pages" in capsys.readouterr().err
