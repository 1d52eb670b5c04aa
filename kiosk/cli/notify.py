"""``kiosk notify``: the community notifier, and its contacts directory (docs/notify.md)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from kiosk.cli.common import CommandError, add_broker_login_options, broker_login

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def register(subparsers: Any) -> None:
    notify = subparsers.add_parser(
        "notify", help="deliver pickup codes to residents (the community notifier)",
        description="Read every kiosk's private notifications of a community with a "
                    "persistent session, deliver each to every contact of its household "
                    "through Apprise, and send the kiosk its receipt. Runs until stopped. "
                    "Contacts are kept in DIR/notify.db, only here.")
    notify.add_argument("--broker", metavar="HOST:PORT", help="MQTT broker to read from")
    notify.add_argument("--data", metavar="DIR", help="directory for notify.db")
    notify.add_argument("--community", metavar="ID", help="the community's id (kiosk.toml)")
    notify.add_argument("--name", metavar="ID", default="notifier",
                        help="this notifier's id in topics and events (default: notifier)")
    notify.add_argument("--retry-max", type=float, default=600.0, metavar="SECONDS",
                        help="longest wait before trying a failing channel again")
    notify.add_argument("--failing-after", type=int, default=3, metavar="N",
                        help="failures in a row before a channel is reported failing")
    add_broker_login_options(notify)
    notify.add_argument("--reconnect-max", type=int, default=30, metavar="SECONDS",
                        help="longest wait between reconnection attempts")
    notify.set_defaults(handler=run)

    sub = notify.add_subparsers(dest="notify_command", metavar="")
    contacts = sub.add_parser("contacts", help="the contacts directory",
                              description="Add, remove, import and list contacts. Every "
                                          "change is audited without the contact itself.")
    csub = contacts.add_subparsers(dest="contacts_command", metavar="", required=True)

    imp = csub.add_parser("import", help="add the contacts of a CSV file, all or none",
                          description="CSV with the header household,url,language[,label]; "
                                      "url is any Apprise URL, language zh or en. A file "
                                      "with a bad line changes nothing; every bad line is "
                                      "named.")
    imp.add_argument("file", metavar="FILE.csv")
    imp.set_defaults(handler=run_import)

    add = csub.add_parser("add", help="add one contact")
    add.add_argument("household")
    add.add_argument("url", help="an Apprise URL: mailto://…, ntfy://…, json://…")
    add.add_argument("--language", default="zh", help="zh (default) or en")
    add.add_argument("--label", default="", help="a note for the maintainers")
    add.set_defaults(handler=run_add)

    remove = csub.add_parser("remove", help="remove a household's contacts (or one)")
    remove.add_argument("household")
    remove.add_argument("--id", type=int, help="only this contact (see list)")
    remove.set_defaults(handler=run_remove)

    listing = csub.add_parser("list", help="households, contact ids and kinds of channel")
    listing.set_defaults(handler=run_list)

    for p in (imp, add, remove, listing):
        p.add_argument("--data", metavar="DIR", required=True, help="directory of notify.db")

    test = sub.add_parser("test-send", help="send a test message to a household's contacts")
    test.add_argument("household")
    test.add_argument("--data", metavar="DIR", required=True, help="directory of notify.db")
    test.set_defaults(handler=run_test_send)


def run(args: argparse.Namespace) -> int:
    if not args.broker or not args.data or not args.community:
        raise CommandError("kiosk notify needs --broker HOST:PORT, --data DIR and "
                           "--community ID (or: kiosk notify contacts …)")
    for name, value in (("--community", args.community), ("--name", args.name)):
        if not _ID.match(value):
            raise CommandError(f"{name} {value!r}: lowercase letters, digits, '-' or '_'")
    if not 1 <= args.retry_max <= 86400 or not 1 <= args.failing_after <= 1000 \
            or not 1 <= args.reconnect_max <= 3600:
        raise CommandError("--retry-max must be 1-86400, --failing-after 1-1000, "
                           "--reconnect-max 1-3600")
    from kiosk.config import MqttConfig
    from mqtt.connection import parse_broker

    try:
        broker = parse_broker(args.broker)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    username, password = broker_login(args)
    config = MqttConfig(host=broker.host, port=broker.port, username=username,
                        password=password, tls=args.tls, ca_file=args.ca_file or "",
                        reconnect_max_s=args.reconnect_max)
    from notify.run import run_notifier
    from notify.service import NotifierSettings

    return run_notifier(Path(args.data), config, NotifierSettings(
        args.community, args.name, retry_max_s=args.retry_max,
        failing_after=args.failing_after))


def _directory(args: argparse.Namespace) -> Any:
    from notify.contacts import ContactsDirectory
    from notify.store import open_notifier_store

    return ContactsDirectory(open_notifier_store(args.data))


def _refused(exc: Any) -> CommandError:
    return CommandError("nothing changed:\n  " + "\n  ".join(exc.problems))


def run_import(args: argparse.Namespace) -> int:
    from notify.contacts import ContactError

    directory = _directory(args)
    try:
        added = directory.import_csv(args.file)
    except ContactError as exc:
        raise _refused(exc) from None
    finally:
        directory.store.close()
    print(f"kiosk notify: {added} contact(s) added")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from notify.contacts import ContactError

    directory = _directory(args)
    try:
        new = directory.add(args.household, args.url, args.language, args.label)
    except ContactError as exc:
        raise _refused(exc) from None
    finally:
        directory.store.close()
    print(f"kiosk notify: contact {new} added to household {args.household}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from notify.contacts import ContactError

    directory = _directory(args)
    try:
        n = directory.remove(args.household, args.id)
    except ContactError as exc:
        raise _refused(exc) from None
    finally:
        directory.store.close()
    print(f"kiosk notify: {n} contact(s) of household {args.household} removed")
    return 0


def run_list(args: argparse.Namespace) -> int:
    directory = _directory(args)
    try:
        for c in directory.all():
            # The kind of channel, not the address: a terminal may be watched or logged.
            print(f"{c.household}\t{c.id}\t{c.channel}://\t{c.language}\t{c.label}")
    finally:
        directory.store.close()
    return 0


def run_test_send(args: argparse.Namespace) -> int:
    from notify.service import test_send

    directory = _directory(args)
    try:
        results = test_send(directory, args.household)
    finally:
        directory.store.close()
    if not results:
        raise CommandError(f"household {args.household} has no contact")
    for contact, ok in results:
        print(f"contact {contact.id} ({contact.channel}://): {'sent' if ok else 'FAILED'}")
    if not all(ok for _, ok in results):
        print("kiosk notify: some channels failed", file=sys.stderr)
        return 1
    return 0
