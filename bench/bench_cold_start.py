"""Start-up cost of the kiosk's imports, with and without compiled bytecode.

On the Pi, /opt is read-only to the service, so without bytecode compiled at install time
Python recompiles every module on every start. This measures a fresh interpreter that
imports what `kiosk run` needs (the CLI, Textual's app, the config) both ways: normally,
and with PYTHONPYCACHEPREFIX pointing at an empty folder plus -B, so no .pyc is found or
written (the state of an install without compileall under ProtectSystem=strict).

Then what the kiosk's first frame waits for: a fresh interpreter importing what `kiosk
demo` imports before its first frame (its command line, the screen's app and home
screen), against one importing a bare Textual app's modules, alternating, same machine:
wall time and peak RSS, with their ratio (goal ≤ 1.3×). The whole start (first frame on
a terminal, peak RSS once the demo is ready) is bench/bench_tui.py's first table.

    python bench/bench_cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = "import kiosk.cli.main, kiosk.config, kiosk.sdnotify, textual.app, textual.widgets"
# Before `kiosk demo`'s first frame, and a bare Textual app's imports (bench/bare_app.py).
REPORT = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
FIRST_FRAME = ("import kiosk.cli.main as m; m.build_parser(m.command_in(['demo'])); "
               "import kiosk.setups.demo_launch, tui.app, tui.screens.home; " + REPORT)
BARE = "import textual.app, textual.containers, textual.widgets; " + REPORT


def once(env: dict[str, str], extra: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *extra, "-c", CODE], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def imports(code: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a fresh interpreter running ``code``."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - start, int(out.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    once(dict(os.environ), [])  # make sure the normal caches exist
    with tempfile.TemporaryDirectory() as empty:
        cases = {
            "with bytecode": (dict(os.environ), []),
            "without bytecode": ({**os.environ, "PYTHONPYCACHEPREFIX": empty}, ["-B"]),
        }
        results = {name: [once(env, extra) for _ in range(args.runs)]
                   for name, (env, extra) in cases.items()}
    for name, times in results.items():
        print(f"{name:>17}: median {statistics.median(times) * 1000:7.0f} ms "
              f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, n={len(times)})")
    ratio = statistics.median(results["without bytecode"]) / statistics.median(
        results["with bytecode"])
    print(f"{'ratio':>17}: {ratio:.1f}x")

    imports(FIRST_FRAME)
    imports(BARE)
    runs: dict[str, list[tuple[float, float]]] = {"kiosk": [], "bare": []}
    for _ in range(args.runs):
        runs["kiosk"].append(imports(FIRST_FRAME))
        runs["bare"].append(imports(BARE))
    k_s, b_s = (statistics.median(r[0] for r in runs[n]) * 1000 for n in ("kiosk", "bare"))
    k_mb, b_mb = (statistics.median(r[1] for r in runs[n]) for n in ("kiosk", "bare"))
    print(f"\nimports before the first frame, {args.runs} runs each (alternating), medians\n")
    print(f"{'':22}{'kiosk demo':>12}{'bare Textual':>14}{'ratio':>8}{'goal':>8}")
    print(f"{'wall time':22}{k_s:>9.0f} ms{b_s:>11.0f} ms{k_s / b_s:>7.2f}×{'≤ 1.3×':>8}")
    print(f"{'peak RSS':22}{k_mb:>9.1f} MB{b_mb:>11.1f} MB{k_mb / b_mb:>7.2f}×{'≤ 1.3×':>8}")


if __name__ == "__main__":
    main()
