"""``kiosk duty``: volunteers, the public roster, who is on duty."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING

from kiosk.cli.common import CommandError, add_state_options, open_state

if TYPE_CHECKING:
    from kiosk.duty import DutyRoster

# The roster's modules (SQLite, audit chain) are imported by the handlers: building the
# command line stays cheap for every other command.


PIN_ENV = "KIOSK_PIN"
# Whose PIN it is: a volunteer's pseudonym, or a role (``role:chair`` or just ``chair``).
# The PIN is checked for that name alone, so wrong PINs for one never lock out another.
# There is no PIN-only way in: it could not be counted per identity, and two people may
# hold the same PIN.
ACTOR_ENV = "KIOSK_ACTOR"


def add_actor_note(parser: argparse.ArgumentParser) -> None:
    """Say how the actor is known: every administrative command names one, authenticated."""
    parser.epilog = (f"Who acts is the maintainer on duty or a role the assembly set up: "
                     f"their name (a volunteer's pseudonym, or role:NAME) in ${ACTOR_ENV} "
                     f"and their PIN in ${PIN_ENV}, else asked for on the terminal. "
                     "It goes into the public audit chain.")


def register(subparsers: argparse._SubParsersAction) -> None:
    duty = subparsers.add_parser("duty", help="the maintainers' duty roster")
    commands = duty.add_subparsers(dest="duty_command", metavar="ACTION", required=True)

    role = commands.add_parser(
        "role", help="set up a role the assembly chose (audited)",
        description="A role (chair, treasurer…) acts with its own PIN at any time. The "
                    "first role of a kiosk with no volunteer is set up without a PIN; "
                    "every other needs the PIN of a role or of the maintainer on duty.")
    role.add_argument("name")
    role.add_argument("--pin", required=True, help="the role's new PIN (8-12 digits)")
    role.add_argument("--reason", required=True, help="e.g. the assembly's decision")
    role.set_defaults(handler=_role)

    add = commands.add_parser("volunteer", help="register a volunteer (audited)")
    add.add_argument("pseudonym")
    add.add_argument("--pin", required=True, help="their on-duty PIN (8-12 digits)")
    add.add_argument("--reason", required=True)
    add.set_defaults(handler=_volunteer)

    away = commands.add_parser("away", help="a volunteer is away for a shift (audited)")
    away.add_argument("pseudonym")
    away.add_argument("--shift", required=True, help="the shift's start, ISO 8601")
    away.add_argument("--reason", default="away for the shift")
    away.set_defaults(handler=_away)

    announce = commands.add_parser(
        "announce", help="name the source of the next roster's random value (audited)",
        description="Before the value is known: from now until the roster is planned, who "
                    "is away can no longer change.")
    announce.add_argument("--source", required=True,
                          help="where the value will come from, e.g. a lottery's draw")
    announce.add_argument("--reason", default="random source announced")
    announce.set_defaults(handler=_announce)

    plan = commands.add_parser("plan", help="roster the next shifts (audited)")
    plan.add_argument("--shifts", type=int, default=4)
    plan.add_argument("--start", help="first shift's start if none is rostered yet, ISO 8601")
    plan.add_argument("--public-random", required=True, metavar="VALUE",
                      help="the value the announced source gave")
    plan.add_argument("--reason", default="roster planned")
    plan.set_defaults(handler=_plan)

    show = commands.add_parser("roster", help="print the public roster")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_roster)

    for command in (role, add, away, announce, plan, show):
        add_state_options(command)
    for command in (role, add, away, announce, plan):
        add_actor_note(command)


def actor_name() -> str:
    import os
    import sys

    name = os.environ.get(ACTOR_ENV, "").strip()
    if not name and sys.stdin.isatty():
        name = input("who acts (your volunteer pseudonym, or role:NAME): ").strip()
    if not name:
        raise CommandError(f"who acts? give your volunteer pseudonym or role:NAME in "
                           f"${ACTOR_ENV} and your PIN in ${PIN_ENV}")
    return name


def actor_pin() -> str:
    import getpass
    import os
    import sys

    pin = os.environ.get(PIN_ENV, "")
    if not pin and sys.stdin.isatty():
        pin = getpass.getpass("your on-duty or role PIN: ")
    if not pin:
        raise CommandError(f"who acts? give your on-duty or role PIN in ${PIN_ENV} (and "
                           f"your name in ${ACTOR_ENV})")
    return pin


def authenticated(roster: DutyRoster, self_service: str | None = None) -> str:
    """The actor ``$KIOSK_ACTOR`` names, if ``$KIOSK_PIN`` is theirs
    (``DutyRoster.authenticate``; ``self_service``: the volunteer a command is about, who
    may act for themselves off duty), else a clear refusal."""
    from kiosk.backoff import TooManyAttempts
    from kiosk.duty import DutyError

    name, pin = actor_name(), actor_pin()
    try:
        return roster.authenticate(name, pin, self_service=self_service)
    except (DutyError, TooManyAttempts) as exc:
        raise CommandError(f"not authenticated: {exc}") from None


def roster_of_store(store, config) -> DutyRoster:  # store: kiosk.store.Store
    from kiosk.audit import AuditLog
    from kiosk.config import ConfigError
    from kiosk.duty import DutyRoster, DutySettings
    from kiosk.events import Outbox

    outbox = Outbox(store)
    secret = store.scalar("SELECT value FROM meta WHERE key = 'secret'")
    try:
        settings = DutySettings.from_config(config)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    return DutyRoster(store, outbox, AuditLog(store, outbox), secret, settings)


def _roster_of(args: argparse.Namespace) -> DutyRoster:
    config, store = open_state(args, must_exist=False)
    return roster_of_store(store, config)


def _when(text: str) -> datetime:
    from kiosk.events import parse_iso

    try:
        when = parse_iso(text)
    except ValueError:
        raise CommandError(f"not a date and time: {text!r} (use 2026-11-30T08:00:00Z)") \
            from None
    if when.tzinfo is None:
        raise CommandError(f"{text!r}: give a time zone, e.g. 2026-11-30T08:00:00Z")
    return when


def _refused(change):  # -> the change's value; a DutyError becomes a CommandError
    from kiosk.duty import DutyError

    try:
        return change()
    except (DutyError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def _role(args: argparse.Namespace) -> int:
    import os

    roster = _roster_of(args)
    first = not (roster.store.scalar("SELECT COUNT(*) FROM duty_roles")
                 or roster.store.scalar("SELECT COUNT(*) FROM volunteers"))
    actor = None if first and not os.environ.get(PIN_ENV) else authenticated(roster)
    name = _refused(lambda: roster.add_role(actor, args.name, args.pin, args.reason))
    print(f"{name} set up" + (" (the kiosk's first role)" if actor is None else ""))
    return 0


def _volunteer(args: argparse.Namespace) -> int:
    roster = _roster_of(args)
    actor = authenticated(roster)
    _refused(lambda: roster.register(actor, args.pseudonym, args.pin, args.reason))
    print(f"{args.pseudonym} is a volunteer")
    return 0


def _away(args: argparse.Namespace) -> int:
    roster = _roster_of(args)
    shift = _when(args.shift)
    actor = authenticated(roster, self_service=args.pseudonym)
    _refused(lambda: roster.unavailable(args.pseudonym, shift, actor, args.reason))
    print(f"{args.pseudonym} is away for the shift from {args.shift}")
    return 0


def _announce(args: argparse.Namespace) -> int:
    roster = _roster_of(args)
    actor = authenticated(roster)
    done = _refused(lambda: roster.announce(actor, args.source, args.reason))
    print(f"announced at {done['announced_at']}: {done['source']}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    roster = _roster_of(args)
    start = _when(args.start) if args.start else roster.clock()
    if not 1 <= args.shifts <= 520:
        raise CommandError("--shifts must be 1 to 520")
    actor = authenticated(roster)
    shifts = _refused(lambda: roster.plan(start, args.shifts, args.public_random, actor,
                                          args.reason))
    for shift in shifts:
        print(f"{shift.start}  {', '.join(shift.maintainers)}")
    return 0


def _roster(args: argparse.Namespace) -> int:
    from kiosk.duty import public_roster
    from kiosk.public_record import duty_load

    roster = _roster_of(args)
    shifts = public_roster(roster.roster())
    load = duty_load(roster.counts())
    if args.json:
        print(json.dumps({"shifts": shifts, "served": roster.counts(),
                          "overloaded": load["overloaded"]}, indent=2))
        return 0
    for shift in shifts:
        print(f"{shift['start']} – {shift['end']}  {', '.join(shift['maintainers'])}")
    for name, count in sorted(roster.counts().items()):
        flag = "  (carries far more than the rest)" if name in load["overloaded"] else ""
        print(f"{name}: {count} shift(s){flag}")
    return 0
