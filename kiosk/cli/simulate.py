"""``kiosk simulate``: a whole kiosk without hardware or people, publishing to a broker.

The real locker service and health monitor, the real serial driver against the board
simulator on a pseudo-terminal, the real outbox publisher; simulated couriers deposit
parcels and simulated residents pick them up with the codes a simulated notifier receives
on the private notify topic. State lives in DIR: stopped or killed, it carries on from
there when started again, event seqs continuing. Exits 0 once every parcel is collected
and every event acknowledged by the broker.
"""

from __future__ import annotations

import argparse
import re

from kiosk.cli.common import CommandError

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate", help="run a simulated kiosk (couriers, residents, boards) against a broker",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", required=True, metavar="HOST:PORT", help="MQTT broker")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="state directory (kiosk.db, phones.db); reuse it to carry on")
    parser.add_argument("--parcels", required=True, type=int, metavar="N",
                        help="parcels to put through, in all (also across restarts)")
    parser.add_argument("--rate", type=float, default=20.0, metavar="PER_SECOND",
                        help="deposits per second at most (default 20; 0: as fast as it goes)")
    parser.add_argument("--community", default="sim", metavar="ID", help="community id")
    parser.add_argument("--kiosk", default="sim-1", metavar="ID", help="kiosk id")
    parser.add_argument("--households", type=int, default=24, metavar="N",
                        help="simulated households (default 24)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the residents' habits")
    parser.add_argument("--reconnect-max", type=int, default=30, metavar="SECONDS",
                        help="longest wait between reconnection attempts (default 30)")
    parser.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    for name in ("community", "kiosk"):
        if not _ID.match(getattr(args, name)):
            raise CommandError(f"--{name}: lowercase letters, digits, '-' or '_'")
    if args.parcels < 0:
        raise CommandError("--parcels must be 0 or more")
    if args.rate < 0:
        raise CommandError("--rate must be 0 or more")
    if not 1 <= args.households <= 10_000:
        raise CommandError("--households must be 1-10000")
    if args.reconnect_max < 1:
        raise CommandError("--reconnect-max must be at least 1")
    from mqtt.connection import parse_broker
    try:
        broker = parse_broker(args.broker)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    from kiosk.setups.simulation import Simulation, SimulationOptions
    options = SimulationOptions(
        host=broker.host, port=broker.port, data=args.data, parcels=args.parcels,
        rate=args.rate, community=args.community, kiosk=args.kiosk,
        households=args.households, seed=args.seed, reconnect_max_s=args.reconnect_max)
    return Simulation(options).run()
