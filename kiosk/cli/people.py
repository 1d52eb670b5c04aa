"""``kiosk people``: households and couriers of the lockers. Every change is audited,
naming the authenticated actor (the maintainer on duty or a role, by their PIN)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from kiosk.cli.common import add_state_options
    from kiosk.cli.duty import add_actor_note

    people = subparsers.add_parser("people", help="households and couriers (audited)")
    commands = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    household = commands.add_parser("household", help="add a household, or set its PIN")
    household.add_argument("unit")
    household.add_argument("--pin", help="the household's one PIN, 8-12 digits: sending "
                           "parcels, opening when a code is lost, parking login")
    household.set_defaults(handler=_household)
    courier = commands.add_parser("courier", help="add a courier, or set their PIN")
    courier.add_argument("courier_id")
    courier.add_argument("--pin", required=True, help="8-12 digits")
    courier.set_defaults(handler=_courier)
    retire = commands.add_parser("retire-courier", help="a courier's PIN stops working")
    retire.add_argument("courier_id")
    retire.set_defaults(handler=_retire)
    for command in (household, courier, retire):
        command.add_argument("--reason", required=True)
        add_state_options(command)
        add_actor_note(command)


def _admin(args: argparse.Namespace):  # -> (kiosk.admin.Admin, the authenticated actor)
    from kiosk.admin import Admin
    from kiosk.audit import AuditLog
    from kiosk.cli.common import open_state
    from kiosk.cli.duty import authenticated, roster_of_store
    from kiosk.events import Outbox
    from kiosk.lockers.service import LockerService

    config, store = open_state(args, must_exist=False)
    try:
        # Before anything changes: an actor the PIN does not name changes nothing.
        actor = authenticated(roster_of_store(store, config))
    except BaseException:
        store.close()
        raise
    outbox = Outbox(store)
    # No board: these changes never move a lock.
    lockers = LockerService(store, outbox, board=None, config=config)  # type: ignore[arg-type]
    return Admin(lockers, AuditLog(store, outbox)), actor


def _run(change) -> int:
    from kiosk.cli.common import CommandError
    from kiosk.lockers.model import LockerError

    try:
        print(change())
    except (LockerError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    return 0


def _household(args: argparse.Namespace) -> int:
    admin, actor = _admin(args)
    return _run(lambda: "household " + admin.add_household(
        actor, args.reason, args.unit, args.pin).pseudonym)


def _courier(args: argparse.Namespace) -> int:
    admin, actor = _admin(args)
    return _run(lambda: "courier " + admin.add_courier(
        actor, args.reason, args.courier_id, args.pin).pseudonym)


def _retire(args: argparse.Namespace) -> int:
    admin, actor = _admin(args)
    return _run(lambda: admin.retire_courier(actor, args.reason, args.courier_id)
                or f"courier {args.courier_id} retired")
