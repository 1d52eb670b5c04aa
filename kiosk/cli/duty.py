"""``kiosk duty``: volunteers, the public roster, who is on duty."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from kiosk.audit import AuditLog
from kiosk.cli.common import CommandError, add_state_options, open_state
from kiosk.duty import DutyError, DutyRoster, DutySettings, public_roster
from kiosk.events import Outbox, parse_iso


def register(subparsers: argparse._SubParsersAction) -> None:
    duty = subparsers.add_parser("duty", help="the maintainers' duty roster")
    commands = duty.add_subparsers(dest="duty_command", metavar="ACTION", required=True)

    add = commands.add_parser("volunteer", help="register a volunteer (audited)")
    add.add_argument("pseudonym")
    add.add_argument("--pin", required=True, help="their on-duty PIN (6+ digits)")
    add.add_argument("--by", required=True, help="who records it (pseudonym)")
    add.add_argument("--reason", required=True)
    add.set_defaults(handler=_volunteer)

    away = commands.add_parser("away", help="a volunteer is away for a shift")
    away.add_argument("pseudonym")
    away.add_argument("--shift", required=True, help="the shift's start, ISO 8601")
    away.set_defaults(handler=_away)

    plan = commands.add_parser("plan", help="roster the next shifts")
    plan.add_argument("--shifts", type=int, default=4)
    plan.add_argument("--start", help="first shift's start if none is rostered yet, ISO 8601")
    plan.set_defaults(handler=_plan)

    show = commands.add_parser("roster", help="print the public roster")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_roster)

    for command in (add, away, plan, show):
        add_state_options(command)


def _roster_of(args: argparse.Namespace) -> DutyRoster:
    config, store = open_state(args, must_exist=False)
    outbox = Outbox(store)
    secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")
    return DutyRoster(store, outbox, AuditLog(store, outbox), secret,
                      DutySettings.from_config(config))


def _when(text: str) -> datetime:
    try:
        when = parse_iso(text)
    except ValueError:
        raise CommandError(f"not a date and time: {text!r} (use 2026-11-30T08:00:00Z)") \
            from None
    if when.tzinfo is None:
        raise CommandError(f"{text!r}: give a time zone, e.g. 2026-11-30T08:00:00Z")
    return when


def _volunteer(args: argparse.Namespace) -> int:
    try:
        _roster_of(args).register(args.by, args.pseudonym, args.pin, args.reason)
    except (DutyError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    print(f"{args.pseudonym} is a volunteer")
    return 0


def _away(args: argparse.Namespace) -> int:
    _roster_of(args).unavailable(args.pseudonym, _when(args.shift))
    return 0


def _plan(args: argparse.Namespace) -> int:
    roster = _roster_of(args)
    start = _when(args.start) if args.start else roster.clock()
    try:
        shifts = roster.plan(start, args.shifts)
    except DutyError as exc:
        raise CommandError(str(exc)) from None
    for shift in shifts:
        print(f"{shift.start}  {', '.join(shift.maintainers)}")
    return 0


def _roster(args: argparse.Namespace) -> int:
    roster = _roster_of(args)
    shifts = public_roster(roster.roster())
    if args.json:
        print(json.dumps({"shifts": shifts, "served": roster.counts()}, indent=2))
        return 0
    for shift in shifts:
        print(f"{shift['start']} – {shift['end']}  {', '.join(shift['maintainers'])}")
    for name, count in sorted(roster.counts().items()):
        print(f"{name}: {count} shift(s)")
    return 0
