"""The plan aggregator holds a witness of its own, and a witness that joins late starts
from the chain's beginning (issue 14).

``kiosk plan`` runs as systemd runs it (a process of its own, a real Mosquitto) beside a
kiosk composed as ``kiosk run`` composes it (real driver on the pty board simulator). The
kiosk's history and its tampering are tests/test_witness.py's (its fixtures and helpers).
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kiosk.audit import entry_hash
from kiosk.cli.main import main
from kiosk.composition import Kiosk
from mqtt import topics
from tests.mqtt_broker import Collector, Mosquitto, mosquitto_binary, wait_until
from tests.test_witness import (
    COMMUNITY,
    KIOSK,
    ROUND,
    History,
    Scene,
    _rewrite_audit_chain,
    history,
    scene,
    start_kiosk,
    start_witness,
)
from witness.core import WITNESS_DB

__all__ = ["history", "scene"]  # the fixtures, shared with tests/test_witness.py

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(mosquitto_binary() is None,
                                reason="mosquitto is not installed")


class Command:
    """``kiosk …`` as a process, as systemd runs it; its stderr read as it comes."""

    def __init__(self, *args: str, ready: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", *args], cwd=ROOT,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # Stopped before it has subscribed, its session would keep nothing for it.
        assert wait_until(lambda: any(ready in x for x in self.lines), 20), \
            "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(20) == 0, "".join(self.lines)
        self._reader.join(5)


def Plan(data: Path, broker: int) -> Command:
    """``kiosk plan --broker … --data DIR``: its witness keeps DIR/witness.db."""
    return Command("plan", "--broker", f"127.0.0.1:{broker}", "--data", str(data),
                   "--interval", "1", "--witness-grace", "3", ready="kiosk plan: subscribed")


def read_only(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """A database of a running process, read without taking its write lock."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # its tables are not made yet
        return []
    finally:
        db.close()


def held(wdir: Path, chain: str) -> int:
    rows = read_only(wdir / WITNESS_DB, "SELECT COUNT(*) FROM entries WHERE community = ? "
                     "AND kiosk = ? AND chain = ?", (COMMUNITY, KIOSK, chain))
    return int(rows[0][0]) if rows else 0


def witness_alarms(wdir: Path) -> list[tuple[str, str, str]]:
    return read_only(wdir / WITNESS_DB, "SELECT chain, kind, detail FROM alarms ORDER BY id")


def plan_alarms(data: Path) -> list[tuple[str, str, str]]:
    return read_only(data / "plan.db", "SELECT witness, chain, kind FROM witness_alarms")


def witnessed(kiosk: Kiosk, wdir: Path, since: str) -> bool:
    """The witness in ``wdir`` holds both of the kiosk's chains whole and has checked the
    heads it presented ``since`` then."""
    heads = {chain: json.loads(body)["seq"] for chain, body in read_only(
        wdir / WITNESS_DB, "SELECT chain, body FROM heads WHERE seen >= ?", (since,))}
    audit_n, draws_n = kiosk.audit.head()[0], kiosk.parking.chain.head()[0]
    return (kiosk.outbox.pending_count() == 0 and held(wdir, "audit") == audit_n
            and held(wdir, "draws") == draws_n
            and heads == {"audit": audit_n, "draws": draws_n})


def now() -> str:
    from kiosk.events import iso, utc_now

    return iso(utc_now())


@pytest.fixture
def plan_dir(history: History, tmp_path: Path) -> Path:
    """A plan whose witness has held the kiosk's history: the copy any witness took."""
    data = tmp_path / "plan"
    data.mkdir()
    shutil.copy(history.witness / WITNESS_DB, data / WITNESS_DB)
    return data


def run_plan_and_kiosk(scene: Scene, plan_dir: Path, until) -> Kiosk:
    plan = Plan(plan_dir, scene.broker.port)
    kiosk = start_kiosk(scene.data, scene.sim_port, scene.broker.port)
    try:
        assert wait_until(lambda: until(kiosk), 20), "".join(plan.lines)
    finally:
        kiosk.close()
        plan.stop()
    return kiosk


# --- the plan's own witness -----------------------------------------------------------------


def test_the_plans_witness_raises_nothing_for_an_untampered_kiosk(scene, plan_dir):
    since = now()
    run_plan_and_kiosk(scene, plan_dir, lambda k: witnessed(k, plan_dir, since))
    assert witness_alarms(plan_dir) == [] and plan_alarms(plan_dir) == []


def test_the_plans_witness_catches_a_rewritten_chain_and_its_page_lists_it(
        scene, plan_dir, tmp_path, capsys):
    _rewrite_audit_chain(scene, actor="someone-else")  # consistent in itself
    alarms = Collector(scene.broker.port, [topics.witness_alarms_of(COMMUNITY)])
    try:
        alarms.wait_subscribed()
        run_plan_and_kiosk(scene, plan_dir, lambda k: ("plan", "audit", "rewritten")
                           in plan_alarms(plan_dir))
        assert any(kind == "rewritten" and "history rewritten" in detail
                   for _, kind, detail in witness_alarms(plan_dir))
        # Published as any witness's: retained, under its name.
        where = topics.witness_alarm_topic(COMMUNITY, "plan", KIOSK, "audit", "rewritten")
        assert wait_until(lambda: alarms.messages(where), 10)
        alarm = alarms.messages(where)[0]
        assert (alarm.json()["witness"], alarm.json()["kind"]) == ("plan", "rewritten")
    finally:
        alarms.stop()
    pages = tmp_path / "pages"
    assert main(["plan", "report", "--data", str(plan_dir), "--pages", str(pages)]) == 0
    capsys.readouterr()
    page = (pages / "en.html").read_text()
    assert "rewritten" in page and "<td>plan</td>" in page


def test_the_plans_witness_keeps_up_across_the_aggregators_restart(tmp_path):
    """Stopped in the middle while the kiosk goes on, ``kiosk plan`` catches up from its
    persistent session: its witness holds every entry and raises no gap."""
    from devices.board_sim import BoardSimulator
    from tests.parking_support import SPOTS_CSV

    data, plan_data = tmp_path / "kiosk", tmp_path / "plan"
    with Mosquitto(tmp_path / "broker") as broker, \
            BoardSimulator(boards=(0,), seed=1) as sim:
        alarms = Collector(broker.port, [topics.witness_alarms_of(COMMUNITY)])
        plan = Plan(plan_data, broker.port)
        since = now()
        kiosk = start_kiosk(data, sim.port, broker.port)
        try:
            kiosk.parking.import_spots(SPOTS_CSV, "v-ana", "spots of the car park")
            assert wait_until(lambda: witnessed(kiosk, plan_data, since), 20)
            plan.stop()
            # Meanwhile: entries of both chains the plan's session keeps for it.
            kiosk.parking.add_spot("v-ana", "a new spot painted", "S9", "standard")
            kiosk.parking.announce(ROUND, "the national lottery of 2026-03-31", "v-ana")
            assert held(plan_data, "draws") == 0 < kiosk.parking.chain.head()[0]
            since = now()
            plan = Plan(plan_data, broker.port)
            assert wait_until(lambda: witnessed(kiosk, plan_data, since), 20)
            stored = read_only(plan_data / "plan.db", "SELECT COUNT(*) FROM events WHERE "
                               "type IN ('audit.entry', 'parking.draw_entry')")[0][0]
            assert stored == kiosk.audit.head()[0] + kiosk.parking.chain.head()[0]
        finally:
            kiosk.close()
            plan.stop()
        assert witness_alarms(plan_data) == [] and alarms.messages() == []
        alarms.stop()


def test_a_draw_entry_larger_than_64_kib_is_stored_whole_and_witnessed(tmp_path):
    """A round of 700 members: its draw record is about 85 KB. The plan keeps the entry
    whole (its hash still matches), its witness holds it; other events keep 64 KiB."""
    from devices.board_sim import BoardSimulator
    from mqtt.contract import MAX_PAYLOAD, Refused
    from plan.store import check_message

    n = 700
    members = "member,unit,kind\n" + "".join(f"h-{i},U-{i},household\n" for i in range(n))
    spots = "spot,type,pool\n" + "".join(f"S{i},standard,rounds\n" for i in range(n // 2))
    data, plan_data = tmp_path / "kiosk", tmp_path / "plan"
    with Mosquitto(tmp_path / "broker") as broker, \
            BoardSimulator(boards=(0,), seed=1) as sim:
        plan = Plan(plan_data, broker.port)
        since = now()
        kiosk = start_kiosk(data, sim.port, broker.port)
        try:
            p = kiosk.parking
            p.import_spots(spots, "v-ana", "spots of the car park")
            p.import_members(members, "v-ana", "members of the register")
            p.announce(ROUND, "the national lottery of 2026-03-31", "v-ana")
            for i in range(n):
                p.request(f"h-{i}", ROUND, "standard")
            p.close(ROUND, "v-ana")
            p.commit(ROUND, "lottery 2026-03-31: 04 11 23 35 41", "v-ana")
            p.draw(ROUND, "v-ana")
            assert wait_until(lambda: witnessed(kiosk, plan_data, since), 30), \
                "".join(plan.lines)
            rows = read_only(plan_data / "plan.db", "SELECT data FROM events WHERE type = "
                             "'parking.draw_entry' AND json_extract(data, '$.action') = "
                             "'parking.drawn'")
        finally:
            kiosk.close()
            plan.stop()
    assert len(rows) == 1
    entry = json.loads(rows[0][0])
    assert len(rows[0][0].encode()) > MAX_PAYLOAD
    assert len(entry["data"]["results"]["assignments"]) == n // 2  # nothing cut
    assert entry_hash(entry["seq"], entry["ts"], entry["actor"], entry["action"],
                      entry["subject"], entry["reason"], entry["data"],
                      entry["prev_hash"]) == entry["hash"]
    assert witness_alarms(plan_data) == []
    # Control: any other event over 64 KiB is still refused.
    big = {"seq": 1, "id": "e1", "ts": "2026-12-01T00:00:00Z", "type": "parcel.deposited",
           "community": COMMUNITY, "kiosk": KIOSK, "data": {"x": "a" * MAX_PAYLOAD}}
    checked = check_message(topics.event_topic(COMMUNITY, KIOSK, "parcel.deposited"),
                            json.dumps(big).encode())
    assert checked == Refused("too_large")


# --- a witness that joins late --------------------------------------------------------------


@pytest.fixture
def exported(scene: Scene, tmp_path: Path) -> list[str]:
    """Both chains as ``kiosk audit export`` writes them, each with its signed head."""
    config = tmp_path / "kiosk.toml"
    config.write_text(f'community_id = "{COMMUNITY}"\nkiosk_id = "{KIOSK}"\n'
                      f'data_dir = "{scene.data}"\n'
                      '[[compartments]]\nboard = 0\nlocks = "1-2"\nsize = "S"\n')
    args = []
    for chain in ("audit", "draws"):
        jsonl, signed = tmp_path / f"{chain}.jsonl", tmp_path / f"{chain}-signed.json"
        out = subprocess.run([sys.executable, "-m", "kiosk", "audit", "export", "--chain",
                              chain, "--config", str(config), "--signed", str(signed)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        jsonl.write_text(out.stdout)
        args += ["--from", str(jsonl), "--signed", str(signed)]
    return args


def test_a_late_witness_backfilled_from_the_export_raises_no_gap(scene, history, exported,
                                                                 tmp_path):
    late = tmp_path / "late"
    # A name of its own: two witnesses of one name would share a broker session.
    proc = Command("witness", "--broker", f"127.0.0.1:{scene.broker.port}", "--data",
                   str(late), "--name", "late", *exported, ready=": subscribed")
    # Control: a witness as late ("resident"), not backfilled, started beside it.
    bare = start_witness(tmp_path / "bare", scene.broker.port)
    kiosk = None
    try:
        assert f"audit: {history.audit_n} entries" in proc.lines[0], proc.lines
        assert f"draws: {history.draws_n} entries" in proc.lines[1], proc.lines
        assert bare.subscribed.wait(10)
        since = now()
        kiosk = start_kiosk(scene.data, scene.sim_port, scene.broker.port)
        kiosk.parking.add_spot("v-ana", "a new spot painted", "S9", "standard")
        assert wait_until(lambda: witnessed(kiosk, late, since), 20), proc.lines
        assert wait_until(lambda: any(a.kind == "gap" for a in bare.raised), 20)
        assert witness_alarms(late) == []
        gap = next(a for a in bare.raised if a.kind == "gap")
        assert f"entries 1–{history.audit_n}" in gap.detail
    finally:
        proc.stop()
        if kiosk is not None:
            kiosk.close()
        bare.stop()
        bare.witness.close()


@pytest.mark.parametrize("tamper, why", [
    ("edit", "entry 2: its hash does not match its content"),
    ("drop", "the kiosk signed"),
    ("relink", "entry 2 does not follow the entry before it"),
])
def test_a_backfill_that_is_not_the_signed_chain_is_refused_and_nothing_taken(
        exported, tmp_path, capsys, tamper, why):
    jsonl = Path(exported[1])
    lines = jsonl.read_text().splitlines()
    if tamper == "edit":
        entry = json.loads(lines[1])
        entry["actor"] = "someone-else"
        lines[1] = json.dumps(entry)
    elif tamper == "drop":
        lines = lines[:-1]
    else:  # entry 2 re-hashed so it holds in itself, but no longer follows entry 1
        entry = json.loads(lines[1])
        entry["prev_hash"] = "ab" * 32
        entry["hash"] = entry_hash(entry["seq"], entry["ts"], entry["actor"],
                                   entry["action"], entry["subject"], entry["reason"],
                                   entry["data"], entry["prev_hash"])
        lines[1] = json.dumps(entry)
    jsonl.write_text("\n".join(lines) + "\n")
    wdir = tmp_path / "w"
    code = main(["witness", "--broker", "127.0.0.1:1", "--data", str(wdir), *exported[:4]])
    err = capsys.readouterr().err
    assert code == 2 and "refused, nothing taken" in err and why in err, err
    assert held(wdir, "audit") == 0 and read_only(wdir / WITNESS_DB,
                                                  "SELECT * FROM keys") == []


def test_the_untampered_export_is_taken_whole(exported, history, tmp_path):
    """Control for the refusals above: the same files, untouched, are taken."""
    from kiosk.cli.witness import backfill, open_witness

    w = open_witness(str(tmp_path / "w"))
    try:
        for i in (0, 4):
            done = backfill(w, Path(exported[i + 1]), Path(exported[i + 3]))
            assert done.alarms == []
        assert len(w.held(COMMUNITY, KIOSK, "audit")) == history.audit_n
        assert len(w.held(COMMUNITY, KIOSK, "draws")) == history.draws_n
    finally:
        w.close()



def test_a_witness_checks_an_entry_as_the_kiosk_hashed_it_not_as_cleaned(tmp_path):
    """A reason typed with a line break is cleaned for display (U+FFFD) but the witness
    checks the entry as published: no false ``forged``."""
    from kiosk.audit import GENESIS
    from witness.core import Witness
    from witness.service import handle

    body = {"seq": 1, "ts": "2026-12-01T00:00:00Z", "actor": "role:chair",
            "action": "spot.added", "subject": "S9", "reason": "painted\nby the gate",
            "data": {}, "prev_hash": GENESIS}
    body["hash"] = entry_hash(*(body[k] for k in ("seq", "ts", "actor", "action", "subject",
                                                  "reason", "data", "prev_hash")))
    event = {"seq": 1, "id": "e1", "ts": body["ts"], "type": "audit.entry",
             "community": COMMUNITY, "kiosk": KIOSK, "data": body}
    w = Witness(tmp_path / WITNESS_DB)
    try:
        alarms = handle(w, topics.event_topic(COMMUNITY, KIOSK, "audit.entry"),
                        json.dumps(event).encode())
        assert alarms == [] and w.held(COMMUNITY, KIOSK, "audit") == [body]
        # Control: the cleaned copy is what a consumer shows, and its hash fails.
        from mqtt.contract import CleanEvent, check_event_body

        cleaned = check_event_body(COMMUNITY, KIOSK, topics.type_segment("audit.entry"),
                                   event)
        assert isinstance(cleaned, CleanEvent) and "\ufffd" in cleaned.data["reason"]
        assert [a.kind for a in w.entry(COMMUNITY, KIOSK, "audit",
                                        {**cleaned.data, "seq": 2})] == ["forged"]
    finally:
        w.close()
