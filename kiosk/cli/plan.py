"""``kiosk plan``: the community plan's aggregator, and ``kiosk plan report``."""

from __future__ import annotations

import argparse
import re
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kiosk.cli.common import CommandError, add_broker_login_options, broker_login

PLAN_DB = "plan.db"
# An aggregator thread that has not turned for this long is stuck: no more watchdog pings,
# so systemd restarts `kiosk plan` (WatchdogSec=120 in systemd/kiosk-plan.service). A
# turn is one batch of messages or one round of indicators, well under a minute.
STALLED_S = 60.0
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def register(subparsers: Any) -> None:
    plan = subparsers.add_parser(
        "plan", help="aggregate kiosk events into the community plan",
        description="Subscribe to kiosks' events, keep them in DIR/plan.db deduplicated by "
                    "(kiosk, seq), report gaps, publish retained indicators under "
                    "community/{id}/plan/…. Runs until stopped.")
    plan.add_argument("--broker", metavar="HOST:PORT", help="MQTT broker to read from")
    plan.add_argument("--data", metavar="DIR", help="directory for plan.db")
    plan.add_argument("--community", metavar="ID", action="append", default=[],
                      help="only this community (repeat for several; default: all)")
    plan.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                      help="how often the indicators are recomputed and published")
    plan.add_argument("--timezone", default="UTC", help="for days and hours, e.g. Asia/Shanghai")
    add_broker_login_options(plan)
    plan.add_argument("--reconnect-max", type=int, default=30, metavar="SECONDS",
                      help="longest wait between reconnection attempts")
    plan.set_defaults(handler=run_plan)

    sub = plan.add_subparsers(dest="plan_command", metavar="")
    report = sub.add_parser("report", help="show the indicators; write an HTML page",
                            description="Print the plan's indicators with charts and, with "
                                        "--html, write one self-contained page.")
    report.add_argument("--data", metavar="DIR", required=True, help="directory of plan.db")
    report.add_argument("--community", metavar="ID", action="append", default=[],
                        help="only this community (repeat for several; default: all)")
    report.add_argument("--html", metavar="FILE", help="write the page here")
    report.add_argument("--timezone", default="UTC", help="for days and hours")
    report.add_argument("--width", type=int, default=80, help="chart width in columns")
    report.set_defaults(handler=run_report)


def _check_common(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    for c in args.community:
        if not _ID.match(c):
            raise CommandError(f"--community {c!r}: lowercase letters, digits, '-' or '_'")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(f"--timezone {args.timezone!r}: unknown time zone") from None


def run_plan(args: argparse.Namespace) -> int:
    if not args.broker or not args.data:
        raise CommandError("kiosk plan needs --broker HOST:PORT and --data DIR "
                           "(or: kiosk plan report)")
    _check_common(args)
    from kiosk.config import MqttConfig
    from mqtt.connection import parse_broker
    try:
        broker = parse_broker(args.broker)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.interval <= 0 or args.reconnect_max < 1:
        raise CommandError("--interval must be positive and --reconnect-max at least 1")
    username, password = broker_login(args)
    host, port = broker.host, broker.port
    config = MqttConfig(host=host, port=port, username=username, password=password,
                        tls=args.tls, ca_file=args.ca_file or "",
                        reconnect_max_s=args.reconnect_max)

    from plan.aggregator import PlanAggregator
    from plan.store import PlanStore
    data = Path(args.data)
    try:
        data.mkdir(parents=True, exist_ok=True)
        store = PlanStore(data / PLAN_DB)
    except (OSError, sqlite3.Error) as exc:
        raise CommandError(f"--data {data}: {exc}") from None
    aggregator = PlanAggregator(store, config, args.community, interval_s=args.interval,
                                timezone=args.timezone)
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from kiosk.sdnotify import Notifier, Watchdog

    notifier = Notifier.from_env()
    watchdog = Watchdog(notifier)
    aggregator.start()
    print(f"kiosk plan: reading {', '.join(aggregator.subscriptions())} from {host}:{port}, "
          f"storing in {data / PLAN_DB}", file=sys.stderr, flush=True)
    notifier.ready(f"reading {host}:{port}")
    try:
        while not done.wait(1.0):
            # The watchdog hears from the aggregator's thread, not from this loop: a stuck
            # ingest (its turn is a fraction of a second) stops the pings.
            if time.monotonic() - aggregator.turned_at < STALLED_S:
                watchdog.tick()
    finally:
        notifier.stopping()
        aggregator.stop()
        store.close()
    t = aggregator.totals
    print(f"kiosk plan: stopped; {t.stored} stored, {t.duplicates} duplicates, "
          f"{sum(t.refused.values())} refused", file=sys.stderr)
    return 0


def run_report(args: argparse.Namespace) -> int:
    _check_common(args)
    path = Path(args.data) / PLAN_DB
    if not path.is_file():
        raise CommandError(f"no plan data in {args.data} (run: kiosk plan --broker HOST:PORT "
                           f"--data {args.data})")
    from kiosk.events import iso, utc_now
    from plan import indicators
    from plan import report as plan_report
    from plan.store import PlanStore
    store = PlanStore(path)
    try:
        communities = args.community or store.communities()
        if not communities:
            print("No events yet.")
        plans = {c: indicators.compute(store, c, args.timezone) for c in communities}
    finally:
        store.close()
    color = sys.stdout.isatty()
    for community, ind in plans.items():
        print(plan_report.render_terminal(community, ind, width=args.width, color=color))
        print()
    if args.html:
        try:
            Path(args.html).write_text(plan_report.render_html(plans, iso(utc_now())),
                                       encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--html {args.html}: {exc}") from None
        print(f"Wrote {args.html}")
    return 0
