"""``kiosk needs``: raise, support, withdraw and list the households' needs."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from kiosk.cli.common import CommandError, add_state_options, open_state

if TYPE_CHECKING:
    from kiosk.needs import NeedsBook

KINDS = ("need", "fault", "proposal")
TOPICS = ("lockers", "parking", "doors", "kiosk", "other")


def register(subparsers: argparse._SubParsersAction) -> None:
    needs = subparsers.add_parser("needs", help="households' needs, fault reports, proposals")
    commands = needs.add_subparsers(dest="needs_command", metavar="ACTION", required=True)

    raise_ = commands.add_parser("raise", help="raise a need (the household supports it)")
    raise_.add_argument("text", help="what is needed, 3-280 characters (public)")
    raise_.add_argument("--household", required=True, metavar="UNIT")
    raise_.add_argument("--kind", choices=KINDS, default="need")
    raise_.add_argument("--topic", choices=TOPICS, help="default: from the text's words")
    raise_.add_argument("--size", choices=("S", "M", "L"), help="lockers: the size it is about")
    raise_.set_defaults(handler=_raise)

    support = commands.add_parser("support", help="a household supports a need (once)")
    withdraw = commands.add_parser("withdraw", help="a household withdraws its support")
    for command, handler in ((support, _support), (withdraw, _withdraw)):
        command.add_argument("need", type=_need_id, help="the need's number")
        command.add_argument("--household", required=True, metavar="UNIT")
        command.set_defaults(handler=handler)

    show = commands.add_parser("list", help="the needs, most supported first")
    show.add_argument("--all", action="store_true", help="withdrawn ones too")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_list)

    for command in (raise_, support, withdraw, show):
        add_state_options(command)


def _need_id(text: str) -> int:
    value = text.removeprefix("#")
    if not value.isdigit() or not 1 <= int(value) < 10**9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a need's number")
    return int(value)


def _book(args: argparse.Namespace) -> NeedsBook:
    from kiosk.events import Outbox
    from kiosk.needs import NeedsBook

    _, store = open_state(args)
    return NeedsBook(store, Outbox(store))


def _refused(exc: Exception) -> CommandError:
    return CommandError(str(exc))


def _raise(args: argparse.Namespace) -> int:
    from kiosk.needs import NeedError

    try:
        need = _book(args).raise_need(args.household, args.kind, args.text, args.topic,
                                      args.size)
    except NeedError as exc:
        raise _refused(exc) from None
    print(f"need #{need.id} raised ({need.kind}, {need.topic}"
          f"{', ' + need.size if need.size else ''}); support {need.support}")
    return 0


def _support(args: argparse.Namespace) -> int:
    from kiosk.needs import NeedError

    try:
        need = _book(args).support(args.household, args.need)
    except NeedError as exc:
        raise _refused(exc) from None
    print(f"need #{need.id}: support {need.support}")
    return 0


def _withdraw(args: argparse.Namespace) -> int:
    from kiosk.needs import NeedError

    try:
        need = _book(args).withdraw(args.household, args.need)
    except NeedError as exc:
        raise _refused(exc) from None
    print(f"need #{need.id} withdrawn" if need.state == "withdrawn"
          else f"need #{need.id}: support {need.support}")
    return 0


def _list(args: argparse.Namespace) -> int:
    needs = _book(args).needs(include_withdrawn=args.all)
    if args.json:
        print(json.dumps([{**n.public(), "state": n.state, "raised_ts": n.raised_ts}
                          for n in needs], ensure_ascii=False, indent=2))
        return 0
    if not needs:
        print("No needs raised yet.")
    for n in needs:
        tags = n.topic + (f" {n.size}" if n.size else "")
        state = "" if n.state == "open" else f" [{n.state}]"
        print(f"#{n.id:<4} {n.support:>3} support  {n.kind:<8} {tags:<10} {n.text}{state}")
    return 0
