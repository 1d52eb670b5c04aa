"""``kiosk demo``: the kiosk on simulated hardware, with a sample community to try it on.

The boards are the pty simulator spoken to by the real serial driver; the GPIO pins are
gpiozero's mock pins; everything else is the production kiosk. State lives in a data
directory and survives restarts; ``--reset`` starts over (refused while another demo runs
on that directory). F1 shows the pickup codes the
residents' phones received and the PINs (parking logins too); F2 is the simulated
hardware (doors, items, jams, tamper switch, a car on or off each parking spot, the
barrier).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from kiosk.cli.common import CommandError

DEFAULT_DATA = Path(".kiosk-data") / "demo"


def parse_broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="open the kiosk on simulated hardware with a sample community",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="DIR", type=Path, default=DEFAULT_DATA,
                        help=f"where the demo keeps its state (default: ./{DEFAULT_DATA})")
    parser.add_argument("--reset", action="store_true",
                        help="forget the state, start fresh (not while another demo runs on it)")
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--broker", metavar="HOST:PORT", type=parse_broker,
                        help="publish events to this MQTT broker (default: a private "
                             "mosquitto of the demo's own, if installed)")
    parser.add_argument("--idle", metavar="SECONDS", type=float, default=60.0,
                        help="return home after this long without input (default: 60)")
    parser.set_defaults(handler=run_demo)


def reset_data(data: Path) -> None:
    """Forget a demo's state, unless another demo is running on it: its database and
    its lock file would go from under it. Raises ``AlreadyRunning`` naming that demo
    (``kiosk demo`` exits non-zero with its message)."""
    from kiosk.instance_lock import AlreadyRunning, hold

    if not data.exists():
        return
    if not (data / "kiosk.db").exists() and any(data.iterdir()):
        raise CommandError(f"{data} does not look like demo data; not deleting it")
    # Held while deleting: a demo starting meanwhile refuses instead of writing into it.
    try:
        lock = hold(data, "demo --reset")
    except AlreadyRunning as exc:
        raise AlreadyRunning(f"{exc}; not resetting its data (quit it first)") from None
    with lock:
        shutil.rmtree(data)


def run_demo(args: argparse.Namespace) -> int:
    data: Path = args.data
    if args.reset:
        reset_data(data)
    data.mkdir(parents=True, exist_ok=True)
    from kiosk.setups.demo_launch import run_demo as run

    return run(data, args.broker, args.language, args.idle, args.log_level)
