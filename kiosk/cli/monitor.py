"""``kiosk monitor``: watch every kiosk of a community over MQTT, for maintainers.

Reads only the public topics (status, state, events); the private notify topics are never
subscribed. Exit codes: 0 quit, 2 bad arguments or the broker cannot be reached.
"""

from __future__ import annotations

import argparse

from kiosk.cli.common import CommandError, add_broker_login_options, broker_login


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "monitor", help="watch all kiosks of a community over MQTT (maintainers)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", required=True, metavar="HOST:PORT",
                        help="MQTT broker, e.g. 127.0.0.1:1883 or [::1]:8883")
    parser.add_argument("--community", default="+", metavar="ID",
                        help="community id to watch (default: + for every community)")
    add_broker_login_options(parser)
    parser.add_argument("--refresh-hz", type=float, default=8.0, metavar="HZ",
                        help="table redraws per second (default 8)")
    parser.add_argument("--language", choices=("zh", "en"), default="en",
                        help="language of the monitor's screen (default en)")
    parser.set_defaults(handler=cmd_monitor)


def cmd_monitor(args: argparse.Namespace) -> int:
    from monitor.feed import FeedError, FeedOptions, MonitorFeed
    from mqtt.connection import parse_broker
    from mqtt.topics import check_community

    try:
        broker = parse_broker(args.broker)
        community = check_community(args.community)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    username, password = broker_login(args)
    if not 0.5 <= args.refresh_hz <= 30:
        raise CommandError("--refresh-hz must be between 0.5 and 30")

    from monitor.fleet import UpdateBuffer
    from tui.monitor import MonitorApp

    buffer = UpdateBuffer()
    feed = MonitorFeed(FeedOptions(broker, community, username or None, password or None, args.tls,
                                   args.ca_file), buffer.put)
    try:
        feed.start()
    except FeedError as exc:
        raise CommandError(str(exc)) from None
    try:
        MonitorApp(buffer, str(broker), refresh_hz=args.refresh_hz,
                   language=args.language).run()
    finally:
        feed.stop()
    return 0
