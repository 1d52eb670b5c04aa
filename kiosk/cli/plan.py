"""``kiosk plan``: the community plan's aggregator, and ``kiosk plan report``."""

from __future__ import annotations

import argparse
import logging
import os
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
# A PostgreSQL DSN may carry a password: from the environment it stays out of ``ps``.
DATABASE_ENV = "KIOSK_PLAN_DATABASE"


def _add_store_options(parser: Any, settings: bool) -> None:
    parser.add_argument("--database", metavar="DSN",
                        help="keep the plan in PostgreSQL (postgresql://…; also "
                             f"${DATABASE_ENV}) instead of DIR/plan.db")
    parser.add_argument("--timezone", default=None,
                        help="for days, hours and weeks, e.g. Asia/Shanghai "
                             "(default: what the plan was kept in, else UTC)")
    if settings:
        parser.add_argument("--agreed-hours", metavar="HH:MM-HH:MM", default=None,
                            help="couriers' agreed hours, local; deposits outside them are "
                                 "flagged (default 08:00-20:00)")


def register(subparsers: Any) -> None:
    plan = subparsers.add_parser(
        "plan", help="aggregate kiosk events into the community plan",
        description="Subscribe to kiosks' events, keep them in DIR/plan.db deduplicated by "
                    "(kiosk, seq), report gaps, publish retained indicators under "
                    "community/{id}/plan/…. Runs until stopped.")
    plan.add_argument("--broker", metavar="HOST:PORT", help="MQTT broker to read from")
    plan.add_argument("--data", metavar="DIR", help="directory for plan.db")
    _add_store_options(plan, settings=True)
    plan.add_argument("--community", metavar="ID", action="append", default=[],
                      help="only this community (repeat for several; default: all)")
    plan.add_argument("--interval", type=float, default=60.0, metavar="SECONDS",
                      help="how often the indicators are recomputed and published")
    add_broker_login_options(plan)
    plan.add_argument("--reconnect-max", type=int, default=30, metavar="SECONDS",
                      help="longest wait between reconnection attempts")
    plan.add_argument("--http", metavar="[HOST:]PORT",
                      help="serve the public page (zh, en) here; HOST defaults to 127.0.0.1")
    plan.add_argument("--pages", metavar="DIR",
                      help="also write the page as static files (index.html, zh.html, en.html)")
    plan.add_argument("--witness-data", metavar="DIR",
                      help="the plan's own witness keeps its witness.db here (default: the "
                           "--data DIR; with --database only and no such DIR, no witness)")
    plan.add_argument("--witness-name", default="plan", metavar="NAME",
                      help="its name in its alarm topics (default: plan)")
    plan.add_argument("--witness-grace", type=float, default=30.0, metavar="SECONDS",
                      help="how long a kiosk's head may lag the entries it published before "
                           "a shorter head is a truncation (default 30)")
    plan.set_defaults(handler=run_plan)

    sub = plan.add_subparsers(dest="plan_command", metavar="")
    report = sub.add_parser("report", help="show the indicators; write an HTML page",
                            description="Print the plan's indicators with charts and, with "
                                        "--html, write one self-contained page.")
    report.add_argument("--data", metavar="DIR", help="directory of plan.db")
    _add_store_options(report, settings=False)
    report.add_argument("--community", metavar="ID", action="append", default=[],
                        help="only this community (repeat for several; default: all)")
    report.add_argument("--html", metavar="FILE", help="write the page here")
    report.add_argument("--width", type=int, default=80, help="chart width in columns")
    report.add_argument("--pages", metavar="DIR",
                        help="write the public page, zh and en, as static files here")
    report.set_defaults(handler=run_report)


def _check_common(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    for c in args.community:
        if not _ID.match(c):
            raise CommandError(f"--community {c!r}: lowercase letters, digits, '-' or '_'")
    if args.timezone is not None:
        try:
            ZoneInfo(args.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"--timezone {args.timezone!r}: unknown time zone") from None
    if getattr(args, "agreed_hours", None) is not None:
        from plan.indicators import parse_hours
        try:
            parse_hours(args.agreed_hours)
        except ValueError as exc:
            raise CommandError(f"--agreed-hours: {exc}") from None
    args.database = args.database or os.environ.get(DATABASE_ENV) or None
    if args.database is not None and not args.database.startswith(("postgresql://",
                                                                    "postgres://")):
        raise CommandError("--database: a PostgreSQL DSN, postgresql://USER@HOST:PORT/DB")


def _open_store(args: argparse.Namespace, where: Any, fixed: bool) -> Any:
    """The plan store with the settings asked for. ``fixed`` (the report): the aggregates
    are read as kept; asking for other settings is refused, not rebuilt behind the
    aggregator's back."""
    from plan.indicators import PlanSettings, parse_hours
    from plan.store import PlanStore
    store = PlanStore(where)  # as kept (or the defaults for a new plan)
    kept = store.settings
    hours = getattr(args, "agreed_hours", None)
    wanted = PlanSettings(timezone=args.timezone or kept.timezone,
                          agreed_hours=parse_hours(hours) if hours else kept.agreed_hours)
    if wanted != kept:
        if fixed:
            store.close()
            raise CommandError(f"the plan is kept in {kept.timezone}, agreed hours "
                               f"{'-'.join(kept.agreed_hours)}; run kiosk plan with the new "
                               "settings to rebuild it")
        print(f"kiosk plan: settings changed, rebuilding the indicators from "
              f"{store.event_count()} events", file=sys.stderr, flush=True)
        store.change_settings(wanted)
    return store


def http_address(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT``; loopback unless a host is given."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CommandError(f"--http {text!r}: give [HOST:]PORT with a port in 0-65535")
    return host.strip("[]") or "127.0.0.1", int(port)


def run_plan(args: argparse.Namespace) -> int:
    _check_common(args)
    if not args.broker or not (args.data or args.database):
        raise CommandError("kiosk plan needs --broker HOST:PORT and --data DIR or --database "
                           "DSN (or: kiosk plan report)")
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
    where: Any
    shown: Any
    if args.database:
        where, shown = args.database, _redacted(args.database)
    else:
        data = Path(args.data)
        where = shown = data / PLAN_DB
    try:
        if not args.database:
            data.mkdir(parents=True, exist_ok=True)
        store = _open_store(args, where, fixed=False)
    except Exception as exc:
        raise _store_error(shown, exc) from None
    try:
        witness = _open_witness(args)
    except BaseException:
        store.close()
        raise
    aggregator = PlanAggregator(store, config, args.community, interval_s=args.interval,
                                witness=witness, witness_name=args.witness_name)
    pages = server = None
    if args.http or args.pages:
        from plan.store import PlanStore
        from plan.web import PageServer, PlanPages
        address = http_address(args.http) if args.http else None
        # A connection of its own: the page is rendered while the aggregator writes.
        # Its downloads: what its own witness holds (witness/export.py).
        from witness.core import WITNESS_DB
        witness_db = (Path(args.witness_data or args.data) / WITNESS_DB
                      if witness is not None else None)
        pages = PlanPages(PlanStore(where), args.community, args.pages, witness_db)
        if address is not None:
            try:
                server = PageServer(pages, address)
            except OSError as exc:
                pages.store.close()
                store.close()
                raise CommandError(f"--http {args.http}: {exc}") from None
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
          f"storing in {shown}", file=sys.stderr, flush=True)
    if server is not None:
        server.start()
        http_host, http_port = server.address
        print(f"kiosk plan: the public page is at http://{http_host}:{http_port}/",
              file=sys.stderr, flush=True)
    if witness is None:
        print("kiosk plan: no witness of its own (give --witness-data DIR)", file=sys.stderr,
              flush=True)
    notifier.ready(f"reading {host}:{port}")
    rendered_at = -args.interval
    subscribed = False
    try:
        while True:
            if not subscribed and aggregator.subscribed.is_set():
                # From here the broker keeps what is published for the plan's session.
                print("kiosk plan: subscribed", file=sys.stderr, flush=True)
                subscribed = True
            if pages is not None and time.monotonic() - rendered_at >= args.interval:
                rendered_at = time.monotonic()
                try:
                    pages.refresh()
                except Exception:  # the page is tried again next interval; intake goes on
                    logging.getLogger(__name__).exception("could not render the page")
            # The watchdog hears from the aggregator's thread, not from this loop: a stuck
            # ingest (its turn is a fraction of a second) stops the pings.
            if time.monotonic() - aggregator.turned_at < STALLED_S:
                watchdog.tick()
            if done.wait(min(1.0, args.interval)):
                break
    finally:
        notifier.stopping()
        if server is not None:
            server.stop()
        if pages is not None:
            pages.store.close()
        aggregator.stop()
        store.close()
        if witness is not None:
            witness.close()
    t = aggregator.totals
    print(f"kiosk plan: stopped; {t.stored} stored, {t.duplicates} duplicates, "
          f"{sum(t.refused.values())} refused", file=sys.stderr)
    return 0


def _open_witness(args: argparse.Namespace) -> Any:  # -> witness.core.Witness | None
    """The plan's own witness (docs/witness.md), in --witness-data or the --data DIR."""
    from kiosk.cli.witness import _ID as WITNESS_ID
    from kiosk.cli.witness import open_witness

    if not WITNESS_ID.match(args.witness_name):
        raise CommandError(f"--witness-name {args.witness_name!r}: letters, digits, '-' or "
                           "'_' (1-63)")
    if not 0 < args.witness_grace <= 3600:
        raise CommandError("--witness-grace must be more than 0 and at most 3600 seconds")
    where = args.witness_data or args.data
    if not where:
        return None
    witness = open_witness(where)
    witness.grace_s = args.witness_grace
    return witness


def _store_error(shown: Any, exc: Exception) -> Exception:
    """A store that cannot be opened is a one-line message; anything else is a bug."""
    if isinstance(exc, CommandError):
        return exc
    if (isinstance(exc, OSError | sqlite3.Error | RuntimeError)
            or type(exc).__module__.startswith("psycopg")):
        return CommandError(f"{shown}: {_redacted(str(exc)).strip()}")
    return exc


def _redacted(dsn: str) -> str:
    """A DSN as printed: without its password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", dsn)


def run_report(args: argparse.Namespace) -> int:
    _check_common(args)
    if not 20 <= args.width <= 400:
        raise CommandError("--width must be between 20 and 400")
    where: Any
    if args.database:
        where = args.database
    else:
        if not args.data:
            raise CommandError("kiosk plan report needs --data DIR or --database DSN")
        where = Path(args.data) / PLAN_DB
        if not where.is_file():
            raise CommandError(f"no plan data in {args.data} (run: kiosk plan --broker "
                               f"HOST:PORT --data {args.data})")
    from kiosk.events import iso, utc_now
    from plan import indicators
    from plan import report as plan_report
    try:
        store = _open_store(args, where, fixed=True)
    except Exception as exc:
        raise _store_error(_redacted(str(where)), exc) from None
    try:
        communities = args.community or store.communities()
        if not communities:
            print("No events yet.")
        plans = {c: indicators.report(store, c) for c in communities}
        if args.pages:
            from plan.web import PlanPages
            try:
                from witness.core import WITNESS_DB
                # The downloads, from the plan's witness if it kept one beside plan.db.
                witness_db = Path(args.data) / WITNESS_DB if args.data else None
                PlanPages(store, communities, args.pages, witness_db).refresh()
            except OSError as exc:
                raise CommandError(f"--pages {args.pages}: {exc}") from None
            print(f"Wrote the public page (zh, en) to {args.pages}")
    finally:
        store.close()
    for r in plans.values():
        print(plan_report.render_terminal(r, width=args.width))
        print()
    if args.html:
        try:
            Path(args.html).write_text(plan_report.render_html(plans, iso(utc_now())),
                                       encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--html {args.html}: {exc}") from None
        print(f"Wrote {args.html}")
    return 0
