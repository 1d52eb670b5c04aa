"""The guessing bench runs on the real services and exits non-zero if any expected time to
guess is under 10 years (issue 11, item 4): run here, so a change to a back-off, a cap or a
way in that lets guessing get faster fails the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "bench_guessing.py"),
                           "--hours", "2", *args],
                          capture_output=True, text=True, timeout=600, check=False)


def test_every_way_in_takes_a_guesser_at_least_ten_years(tmp_path):
    done = run_bench()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "goal ≥ 10 years: met" in done.stdout
    assert "goal ≥ 10 years for every PIN: met" in done.stdout
    assert "also asking a re-send" in done.stdout
    # Control: a kiosk with short codes and no real back-off is caught by the same bench.
    weak = tmp_path / "weak.toml"
    weak.write_text('[[compartments]]\nboard = 0\nlocks = "1-2"\nsize = "S"\n'
                    "[lockers]\ncode_length = 4\nbackoff_max_s = 5\n", encoding="utf-8")
    refused = run_bench("--config", str(weak))
    assert refused.returncode == 1 and "NOT met" in refused.stdout, refused.stdout
