"""Everything needed to re-check is public (issue 14, item 1): the plan's page serves, from
its own witness's copy, each kiosk's draw chain and audit chain with their signed heads,
each round's record and commitment, and the duty roster; a resident downloads them over
HTTP and re-checks with the project's own commands, nothing from the kiosk's disk.

``kiosk plan --http`` runs as systemd runs it (a process, a real Mosquitto) beside a kiosk
composed as ``kiosk run`` composes it (real driver on the pty board simulator) that draws a
round and plans a roster; the page is read in Debian's Chromium (Playwright).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli.main import main
from kiosk.composition import Kiosk
from tests.mqtt_broker import Mosquitto, mosquitto_binary, wait_until
from tests.test_plan_page import browser, get, open_page
from tests.test_plan_witness import Command, now, plan_alarms, witnessed
from tests.test_witness import (
    COMMUNITY,
    KIOSK,
    ROUND,
    Scene,
    history,
    scene,
    start_kiosk,
)
from witness.core import WITNESS_DB

__all__ = ["browser", "history", "scene"]  # fixtures shared with the other tests

pytestmark = pytest.mark.skipif(mosquitto_binary() is None,
                                reason="mosquitto is not installed")

FILES = ("audit.jsonl", "audit-signed.json", "draws.jsonl", "draws-signed.json",
         f"round-{ROUND}.json", f"commitment-{ROUND}.json", "roster.json")


def served_plan(data: Path, broker: int, board: Path) -> tuple[Command, str]:
    """``kiosk plan --http 127.0.0.1:0 --pages BOARD``; its witness keeps DATA/witness.db."""
    plan = Command("plan", "--broker", f"127.0.0.1:{broker}", "--data", str(data),
                   "--interval", "0.3", "--witness-grace", "3", "--http", "127.0.0.1:0",
                   "--pages", str(board), ready="kiosk plan: subscribed")
    found = re.search(r"public page is at (http://\S+/)", "".join(plan.lines))
    assert found, plan.lines
    return plan, found.group(1)


def export_url(base: str, name: str) -> str:
    return f"{base}export/{COMMUNITY}/{KIOSK}/{name}"


def head_served(base: str, chain: str) -> int:
    status, body, _ = get(export_url(base, f"{chain}-signed.json"))
    return json.loads(body)["head"]["seq"] if status == 200 else -1


def download(base: str, into: Path, names: tuple[str, ...] = FILES) -> dict[str, bytes]:
    into.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in names:
        status, body, headers = get(export_url(base, name))
        assert status == 200, name
        assert f'filename="{name}"' in headers["Content-Disposition"]
        (into / name).write_bytes(body)
        files[name] = body
    return files


def cli(capsys: Any, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def draw_a_round_and_plan_a_roster(kiosk: Kiosk) -> None:
    from tests.parking_support import MEMBERS_CSV, SPOTS_CSV

    p = kiosk.parking
    p.import_spots(SPOTS_CSV, "v-ana", "spots of the car park")
    p.import_members(MEMBERS_CSV, "v-ana", "members of the register")
    p.announce(ROUND, "the national lottery of 2026-03-31", "v-ana")
    for member, kind in (("h-1", "standard"), ("h-2", "accessible"), ("h-3", "standard"),
                         ("w-1", "standard")):
        p.request(member, ROUND, kind)
    p.close(ROUND, "v-ana")
    p.commit(ROUND, "lottery 2026-03-31: 04 11 23 35 41", "v-ana")
    p.draw(ROUND, "v-ana")
    kiosk.duty.register("assembly", "v-ana", "90000190", "volunteered")
    kiosk.duty.register("assembly", "v-bo", "90000191", "volunteered")
    kiosk.duty.plan(datetime(2026, 12, 1, tzinfo=UTC), 3, actor="assembly")


def kiosk_export(kiosk: Kiosk, chain: str) -> bytes:
    """What ``kiosk audit export [--chain draws]`` writes on the kiosk (kiosk/cli/audit.py)."""
    log = kiosk.parking.chain if chain == "draws" else kiosk.audit
    return "".join(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) + "\n"
                   for e in log.entries()).encode()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, Any]:
    """A kiosk that drew a round and planned a roster, a plan that witnessed it all from the
    start; what the plan served, downloaded once the plan held both chains whole."""
    from devices.board_sim import BoardSimulator

    root = tmp_path_factory.mktemp("plan-export")
    plan_data, board = root / "plan", root / "board"
    with Mosquitto(root / "broker") as broker, BoardSimulator(boards=(0,), seed=1) as sim:
        plan, base = served_plan(plan_data, broker.port, board)
        since = now()
        kiosk = start_kiosk(root / "kiosk", sim.port, broker.port)
        try:
            draw_a_round_and_plan_a_roster(kiosk)
            assert wait_until(lambda: witnessed(kiosk, plan_data, since), 30), plan.lines
            audit_n, draws_n = kiosk.audit.head()[0], kiosk.parking.chain.head()[0]
            # The page is made every interval: wait for one made since the last head.
            assert wait_until(lambda: head_served(base, "audit") == audit_n
                              and head_served(base, "draws") == draws_n
                              and get(export_url(base, "roster.json"))[0] == 200, 20)
            files = download(base, root / "downloads")
            own = {c: kiosk_export(kiosk, c) for c in ("audit", "draws")}
            roster = [{"start": s.start, "end": s.end, "maintainers": list(s.maintainers),
                       "standing": list(s.standing or ()), "places": s.places,
                       "seed_inputs": s.seed_inputs} for s in kiosk.duty.roster()]
            pages = {lang: get(f"{base}{lang}.html")[1].decode() for lang in ("en", "zh")}
            yield {"base": base, "files": files, "dir": root / "downloads", "own": own,
                   "roster": roster, "audit_n": audit_n, "draws_n": draws_n,
                   "board": board, "plan_data": plan_data, "pages": pages,
                   "alarms": plan_alarms(plan_data)}
        finally:
            kiosk.close()
            plan.stop()


# --- the downloads, re-checked with the project's own commands ------------------------------

def test_the_downloaded_draw_chain_verifies_without_the_kiosk(published, capsys):
    d = published["dir"]
    code, out = cli(capsys, "parking", "verify", "--chain", str(d / "draws.jsonl"),
                    "--signed", str(d / "draws-signed.json"))
    assert code == 0, out
    assert f"draw chain of {published['draws_n']} entries intact, 1 draw(s) recomputed: " \
           f"{ROUND}, ending at the head the kiosk signed" in out
    code, out = cli(capsys, "parking", "verify", str(d / f"round-{ROUND}.json"),
                    "--commitment", str(d / f"commitment-{ROUND}.json"))
    assert code == 0 and f"ok: round {ROUND}" in out, out
    code, out = cli(capsys, "audit", "verify", "--file", str(d / "audit.jsonl"),
                    "--signed", str(d / "audit-signed.json"))
    assert code == 0 and f"ok: {published['audit_n']} entries" in out, out
    assert published["alarms"] == []


def test_the_downloads_are_the_kiosks_own_export_byte_for_byte(published):
    files = published["files"]
    assert files["draws.jsonl"] == published["own"]["draws"]
    assert files["audit.jsonl"] == published["own"]["audit"]
    # The round's record is the draw entry's whole (the kiosk's `parking export` holds
    # the same object); its shifts are the kiosk's roster.
    drawn = [json.loads(line) for line in files["draws.jsonl"].splitlines()
             if json.loads(line)["action"] == "parking.drawn"]
    assert json.loads(files[f"round-{ROUND}.json"]) == drawn[0]["data"]
    roster = json.loads(files["roster.json"])
    assert roster["format"] == "kiosk-duty-roster/1"
    assert roster["shifts"] == published["roster"] and len(roster["shifts"]) == 3


@pytest.mark.parametrize("tamper, command, why", [
    ("record", "round", "results_hash: does not match the results"),
    ("commitment", "round", "commitment: its inputs_hash does not match its inputs"),
    ("chain", "chain", "draw chain: "),
    ("truncated", "chain", "signed head: the kiosk signed"),
])
def test_a_tampered_download_fails_verify(published, tmp_path, capsys, tamper, command,
                                          why):
    """The control of the test above: the same files, one thing changed, fail."""
    files = {name: tmp_path / name for name in FILES}
    for name, path in files.items():
        path.write_bytes(published["files"][name])
    if tamper == "record":
        record = json.loads(files[f"round-{ROUND}.json"].read_text())
        a = record["results"]["assignments"]
        a[0]["member"], a[1]["member"] = a[1]["member"], a[0]["member"]
        files[f"round-{ROUND}.json"].write_text(json.dumps(record))
    elif tamper == "commitment":
        commitment = json.loads(files[f"commitment-{ROUND}.json"].read_text())
        commitment["inputs"]["public_random"] = "a value that suits someone better"
        files[f"commitment-{ROUND}.json"].write_text(json.dumps(commitment))
    elif tamper in ("chain", "truncated"):
        lines = files["draws.jsonl"].read_text().splitlines()
        if tamper == "chain":  # the drawn entry's record: one spot given to another
            i = next(i for i, line in enumerate(lines)
                     if json.loads(line)["action"] == "parking.drawn")
            entry = json.loads(lines[i])
            a = entry["data"]["results"]["assignments"]
            a[0]["spot"], a[1]["spot"] = a[1]["spot"], a[0]["spot"]
            lines[i] = json.dumps(entry, sort_keys=True)
        else:
            lines = lines[:-1]
        files["draws.jsonl"].write_text("\n".join(lines) + "\n")
    if command == "round":
        args = [str(files[f"round-{ROUND}.json"]), "--commitment",
                str(files[f"commitment-{ROUND}.json"])]
    else:
        args = ["--chain", str(files["draws.jsonl"]), "--signed",
                str(files["draws-signed.json"])]
    code, out = cli(capsys, "parking", "verify", *args)
    assert code == 1 and "DIFFERS" in out and why in out, out


def test_a_late_witness_starts_from_the_plans_downloads(published, tmp_path):
    """``kiosk witness --from … --signed …`` takes the plan's files as a kiosk's export."""
    from kiosk.cli.witness import backfill, open_witness

    d = published["dir"]
    w = open_witness(str(tmp_path / "w"))
    try:
        for chain in ("audit", "draws"):
            done = backfill(w, d / f"{chain}.jsonl", d / f"{chain}-signed.json")
            assert done.alarms == [] and done.entries == published[f"{chain}_n"]
        assert len(w.held(COMMUNITY, KIOSK, "draws")) == published["draws_n"]
    finally:
        w.close()


def test_kiosk_witness_export_writes_the_files_the_plan_serves(published, tmp_path, capsys):
    out = tmp_path / "out"
    code, text = cli(capsys, "witness", "export", "--data", str(published["plan_data"]),
                     "--out", str(out))
    assert code == 0 and f"{COMMUNITY}/{KIOSK}: " in text, text
    written = out / COMMUNITY / KIOSK
    for name in FILES:
        assert (written / name).read_bytes() == published["files"][name], name
    # And the noticeboard's copy beside its pages, under the same relative paths.
    for name in FILES:
        assert (published["board"] / "export" / COMMUNITY / KIOSK / name).read_bytes() \
            == published["files"][name], name
    # `kiosk plan report --pages` makes them too, from the witness beside plan.db.
    board = tmp_path / "board"
    code, text = cli(capsys, "plan", "report", "--data", str(published["plan_data"]),
                     "--pages", str(board))
    assert code == 0, text
    for name in FILES:
        assert (board / "export" / COMMUNITY / KIOSK / name).read_bytes() \
            == published["files"][name], name
    assert f'href="export/{COMMUNITY}/{KIOSK}/draws.jsonl"' in (board / "en.html").read_text()
    code, text = cli(capsys, "witness", "export", "--data", str(tmp_path / "none"),
                     "--out", str(out))
    assert code == 2 and "no witness.db there" in text


def test_anything_else_under_export_is_not_found(published):
    base = published["base"]
    for path in (f"export/{COMMUNITY}/{KIOSK}/plan.db", f"export/{COMMUNITY}/{KIOSK}/",
                 f"export/{COMMUNITY}/../../{WITNESS_DB}", "export/"):
        assert get(base + path)[0] == 404, path


# --- the page ------------------------------------------------------------------------------

def test_the_page_links_the_downloads_and_gives_the_commands(published, browser, tmp_path):
    page = open_page(browser, published["base"] + "en.html", 1920)
    try:
        section = page.locator("#downloads").inner_text()
        assert f"Kiosk {KIOSK}" in section and "nothing from the kiosk's disk" in section
        assert "kiosk parking verify --chain draws.jsonl --signed draws-signed.json" in section
        assert "kiosk audit verify --file audit.jsonl --signed audit-signed.json" in section
        assert ("--from audit.jsonl --signed audit-signed.json --from draws.jsonl --signed "
                "draws-signed.json") in section
        draws = page.locator("#draws").inner_text()
        assert (f"kiosk parking verify round-{ROUND}.json --commitment "
                f"commitment-{ROUND}.json") in draws
        assert "kiosk parking export" not in page.locator("body").inner_text()
        # A resident clicks the link: the browser saves the file the command reads.
        link = page.locator(f'#draws a[download="round-{ROUND}.json"]')
        with page.expect_download() as info:
            link.click()
        saved = tmp_path / "saved.json"
        info.value.save_as(saved)
        assert info.value.suggested_filename == f"round-{ROUND}.json"
        assert saved.read_bytes() == published["files"][f"round-{ROUND}.json"]
        names = page.locator("#downloads a").evaluate_all("as => as.map(a => a.download)")
        assert sorted(names) == sorted(FILES)
    finally:
        page.context.close()


def test_the_chinese_page_says_the_same(published, browser):
    page = open_page(browser, published["base"], 390)
    try:
        section = page.locator("#downloads").inner_text()
        assert "可下载的记录" in section and f"终端 {KIOSK}" in section
        assert "不需要终端磁盘上的任何东西" in section
        assert "kiosk parking verify --chain draws.jsonl --signed draws-signed.json" in section
        assert "不经终端重做这次抽签" in page.locator("#draws").inner_text()
        assert page.locator("#downloads a").count() == len(FILES)
    finally:
        page.context.close()


# --- a kiosk that lies later ---------------------------------------------------------------

def test_after_the_kiosk_drops_its_newest_entry_the_download_still_holds_it(
        scene: Scene, history, tmp_path, capsys):
    """Deleted with its outbox copy by a resident with root, the newest audit entry is
    gone from the kiosk's disk; the plan's download still holds it, signed, and verifies."""
    import shutil

    plan_data = tmp_path / "plan"
    plan_data.mkdir()
    shutil.copy(history.witness / WITNESS_DB, plan_data / WITNESS_DB)
    n = history.audit_n
    scene.sql(f"DELETE FROM audit WHERE seq = {n}",
              f"DELETE FROM events WHERE type = 'audit.entry' AND "
              f"json_extract(data, '$.seq') = {n}")
    plan, base = served_plan(plan_data, scene.broker.port, tmp_path / "board")
    kiosk = start_kiosk(scene.data, scene.sim_port, scene.broker.port)
    try:
        assert wait_until(lambda: ("plan", "audit", "truncated") in plan_alarms(plan_data),
                          30), plan.lines
        assert wait_until(lambda: head_served(base, "audit") == n, 10)
        files = download(base, tmp_path / "downloads", ("audit.jsonl", "audit-signed.json"))
    finally:
        kiosk.close()
        plan.stop()
    assert len(files["audit.jsonl"].splitlines()) == n
    d = tmp_path / "downloads"
    code, out = cli(capsys, "audit", "verify", "--file", str(d / "audit.jsonl"), "--signed",
                    str(d / "audit-signed.json"))
    assert code == 0 and f"ok: {n} entries" in out, out
    # Control: the kiosk's own chain now ends one entry short.
    from kiosk.audit import AuditLog
    from kiosk.events import Outbox
    from kiosk.schema import open_kiosk_store

    store = open_kiosk_store(scene.db)
    try:
        assert AuditLog(store, Outbox(store)).head()[0] == n - 1
    finally:
        store.close()


def test_a_witness_from_before_the_export_takes_the_newest_head_it_checked(history, tmp_path):
    """A witness.db made before the export had no ``attested`` table: at its first start
    after the update it takes the newest head it had checked, if its copy contains it
    (control: a head whose signature fails is not taken)."""
    import shutil
    import sqlite3

    from witness.core import Witness

    path = tmp_path / WITNESS_DB
    shutil.copy(history.witness / WITNESS_DB, path)
    db = sqlite3.connect(path)
    with db:
        db.execute("DROP TABLE attested")
        db.execute("DROP TABLE publics")
        db.execute("DELETE FROM schema_versions WHERE feature = 'witness-export'")
        body = json.loads(db.execute("SELECT body FROM heads WHERE chain = 'draws'"
                                     ).fetchone()[0])
        body["sig"] = "00" * 64
        db.execute("UPDATE heads SET body = ? WHERE chain = 'draws'", (json.dumps(body),))
    db.close()
    w = Witness(path)
    try:
        audit = w.attested(COMMUNITY, KIOSK, "audit")
        assert audit is not None and audit["seq"] == history.audit_n
        assert w.attested(COMMUNITY, KIOSK, "draws") is None
    finally:
        w.close()
