"""Start-up cost of the kiosk's imports, with and without compiled bytecode.

On the Pi, /opt is read-only to the service, so without bytecode compiled at install time
Python recompiles every module on every start. This measures a fresh interpreter that
imports what `kiosk run` needs (the CLI, Textual's app, the config) both ways: normally,
and with PYTHONPYCACHEPREFIX pointing at an empty folder plus -B, so no .pyc is found or
written (the state of an install without compileall under ProtectSystem=strict).

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


def once(env: dict[str, str], extra: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *extra, "-c", CODE], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


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


if __name__ == "__main__":
    main()
