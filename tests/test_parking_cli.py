"""``kiosk parking``: imports, commit, draw, verify and compare from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.main import main
from tests.parking_support import MEMBERS_CSV, SPOTS_CSV, Clock, make_register

ROOT = Path(__file__).resolve().parent.parent


CHAIR_PIN = "70000170"


@pytest.fixture
def data(tmp_path, monkeypatch, capsys):
    """A kiosk whose assembly set up a chair; the commands act as the chair (its PIN)."""
    (tmp_path / "members.csv").write_text(MEMBERS_CSV)
    (tmp_path / "spots.csv").write_text(SPOTS_CSV)
    monkeypatch.delenv("KIOSK_PIN", raising=False)
    monkeypatch.delenv("KIOSK_ACTOR", raising=False)
    assert main(["duty", "role", "chair", "--pin", CHAIR_PIN, "--reason",
                 "assembly of 2026-02-01", "--data", str(tmp_path)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("KIOSK_PIN", CHAIR_PIN)
    monkeypatch.setenv("KIOSK_ACTOR", "role:chair")
    return tmp_path


def kiosk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", "parking", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_import_commit_draw_verify(data, capsys):
    d = str(data)
    assert main(["parking", "import-members", f"{d}/members.csv", "--data", d]) == 0
    assert main(["parking", "import-spots", f"{d}/spots.csv", "--data", d]) == 0
    assert "members: 4 added" in capsys.readouterr().out
    register = make_register(data / "kiosk.db", Clock())
    for member, spot_type in (("h-1", "standard"), ("h-2", "accessible"), ("h-3", "standard"),
                              ("w-1", "standard")):
        register.request(member, "2026-03", spot_type)
    register.store.close()
    assert main(["parking", "close", "--round", "2026-03", "--data", d]) == 2
    assert "announce where round 2026-03" in capsys.readouterr().err
    assert main(["parking", "announce", "--round", "2026-03", "--source",
                 "the national lottery of 2026-02-28", "--data", d]) == 0
    assert main(["parking", "close", "--round", "2026-03", "--data", d]) == 0
    (data / "random.txt").write_text("lottery 2026-02-28: 04 08 15 16 23 42\n")
    assert main(["parking", "commit", "--round", "2026-03", "--public-random-file",
                 f"{d}/random.txt", "--out", f"{d}/c.json", "--data", d]) == 0
    assert main(["parking", "draw", "--round", "2026-03", "--out", f"{d}/r.json",
                 "--data", d]) == 0
    out = capsys.readouterr().out
    assert "3 allocated, 1 refused" in out
    assert "round 2026-03 closed at" in out
    assert "random source  the national lottery of 2026-02-28" in out
    assert main(["parking", "verify", f"{d}/r.json", "--commitment", f"{d}/c.json"]) == 0
    assert "ok: round 2026-03 (no. 1) matches" in capsys.readouterr().out

    record = json.loads((data / "r.json").read_text())
    record["inputs"]["public_random"] = "lottery 2026-02-28: 04 08 15 16 23 43"
    (data / "forged.json").write_text(json.dumps(record))
    assert main(["parking", "verify", f"{d}/forged.json", "--commitment", f"{d}/c.json"]) == 1
    out = capsys.readouterr().out
    assert "inputs.public_random: differs from the published commitment" in out
    assert "DIFFERS" in out

    assert main(["parking", "compare", "--data", d, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["source"] == {"register": ["2026-03"]}
    assert [p["policy"] for p in figures["policies"]] == [
        "least-served-first", "first-come-first-served", "plain lottery"]


def test_a_bad_csv_names_its_lines_and_imports_nothing(data, capsys):
    (data / "bad.csv").write_text("spot,type\nS1,standard\nS2,boat\n")
    assert main(["parking", "import-spots", f"{data}/bad.csv", "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "bad.csv: line 3: type 'boat'" in out and "nothing imported" in out
    register = make_register(data / "kiosk.db", Clock())
    assert register.spots() == []
    register.store.close()


def test_compare_a_generated_history_prints_the_table():
    result = kiosk("compare", "--members", "120", "--spots", "25", "--rounds", "10",
                   "--seed", "7")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "members 120, spots 25, rounds 10, seed 7" in lines[0]
    assert lines[1].split()[:6] == ["policy", "Gini", "Jain", "spread", "steady", "unmet"]
    assert [line.split()[0] for line in lines[2:5]] == [
        "least-served-first", "first-come-first-served", "plain"]


@pytest.mark.parametrize("args, message", [
    (["verify", "{tmp}/missing.json"], "missing.json: file not found"),
    (["draw", "--round", "2026-03", "--out", "{tmp}/r.json", "--data", "{tmp}"],
     "no kiosk database"),
    (["compare", "--rounds", "0"], "--rounds must be 1 to 1,000,000"),
])
def test_user_errors_are_one_line_without_traceback(tmp_path, args, message):
    result = kiosk(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_draw_of_an_uncommitted_round_is_refused(data, capsys):
    d = str(data)
    main(["parking", "import-spots", f"{d}/spots.csv", "--data", d])
    assert main(["parking", "draw", "--round", "2026-03", "--out", f"{d}/r.json",
                 "--data", d]) == 2
    assert "round 2026-03 is not committed" in capsys.readouterr().err
    assert not (data / "r.json").exists()


def test_every_change_names_an_authenticated_actor_and_free_text_is_gone(data, capsys,
                                                                        monkeypatch):
    d = str(data)
    with pytest.raises(SystemExit):  # argparse: there is no --by any more
        main(["parking", "import-spots", f"{d}/spots.csv", "--by", "literally anyone",
              "--data", d])
    capsys.readouterr()
    monkeypatch.setenv("KIOSK_PIN", "12345612")
    assert main(["parking", "import-spots", f"{d}/spots.csv", "--data", d]) == 2
    assert "not authenticated" in capsys.readouterr().err
    register = make_register(data / "kiosk.db", Clock())
    assert register.spots() == []  # nothing changed
    register.store.close()
    monkeypatch.setenv("KIOSK_PIN", CHAIR_PIN)  # control: the chair's PIN works
    assert main(["parking", "import-spots", f"{d}/spots.csv", "--data", d]) == 0
    register = make_register(data / "kiosk.db", Clock())
    actors = {e.actor for e in register.audit.entries()
              if e.action.startswith("parking.")}
    assert actors == {"role:chair"}
    register.store.close()
    monkeypatch.delenv("KIOSK_PIN")  # a second role needs an authenticated actor
    assert main(["duty", "role", "treasurer", "--pin", "70000270", "--reason", "x",
                 "--data", d]) == 2
