"""``kiosk witness``: keep a copy of every kiosk's chains and raise an alarm on any rewrite."""

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

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
# A witness whose sweeper has not turned, or whose message has not gone into witness.db,
# for this long is stuck: no more watchdog pings, so systemd restarts `kiosk witness`
# (WatchdogSec=120 in systemd/kiosk-witness.service). Shorter when the watchdog is (half
# of WatchdogSec=). A turn is half a second; a write waits at most the busy timeout (10 s).
STALLED_S = 60.0


def register(subparsers: Any) -> None:
    w = subparsers.add_parser(
        "witness", help="witness every kiosk's audit and draw chains; alarm on a rewrite",
        description="Keep DIR/witness.db, a copy of every kiosk's audit chain and draw "
                    "chain as published, check each kiosk's signed chain heads against it, "
                    "and publish an alarm under "
                    "community/{id}/witness/{name}/alarm/{kiosk}/{chain}/{kind} the moment "
                    "a kiosk presents a history that does not extend it. Runs "
                    "until stopped; `kiosk witness alarms --data DIR` lists what it raised.")
    w.add_argument("--broker", metavar="HOST:PORT", help="MQTT broker to read from")
    w.add_argument("--data", metavar="DIR", help="directory for witness.db")
    w.add_argument("--name", default=None, metavar="NAME",
                   help="this witness's name in its alarm topics: its broker account's user "
                        "name, which alone may write them (default: that user name, else "
                        "resident)")
    w.add_argument("--community", metavar="ID", action="append", default=[],
                   help="only this community (repeat for several; default: all)")
    w.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                   help="how long a kiosk's head may lag the entries it published before "
                        "a shorter head is a truncation (default 30)")
    w.add_argument("--from", dest="backfill", metavar="JSONL", action="append", default=[],
                   help="before reading the broker, take a chain from its beginning: a "
                        "kiosk's `kiosk audit export [--chain draws] --signed SIGNED` "
                        "output, checked entry by entry against its signed head (repeat, "
                        "each with its --signed)")
    w.add_argument("--signed", metavar="JSON", action="append", default=[],
                   help="the export's --signed file (key and signed head), one per --from")
    w.add_argument("--key", dest="pins", metavar="COMMUNITY/KIOSK=KEY", action="append",
                   default=[], type=pinned_key,
                   help="the kiosk's public key as given at its set-up (`kiosk audit key` "
                        "prints this argument): held instead of the first key the broker "
                        "shows (repeat for several kiosks)")
    add_broker_login_options(w)
    w.set_defaults(handler=run_witness)
    sub = w.add_subparsers(dest="witness_command", metavar="")
    alarms = sub.add_parser("alarms", help="list the alarms this witness raised")
    alarms.add_argument("--data", metavar="DIR", required=True)
    alarms.set_defaults(handler=run_alarms)
    export = sub.add_parser(
        "export", help="write what this witness holds as files anyone re-checks with",
        description="Write, per kiosk the witness holds, OUT/COMMUNITY/KIOSK/: audit.jsonl "
                    "and draws.jsonl (as `kiosk audit export [--chain draws]` writes them) "
                    "up to the newest head the kiosk signed, audit-signed.json and "
                    "draws-signed.json (key and signed head, as `export --signed`), each "
                    "drawn round's round-ID.json and commitment-ID.json, and roster.json. "
                    "The plan's page serves the same files (docs/witness.md).")
    export.add_argument("--data", metavar="DIR", required=True)
    export.add_argument("--out", metavar="DIR", required=True)
    export.add_argument("--kiosk", metavar="COMMUNITY/KIOSK",
                        help="only this kiosk (default: every kiosk the witness holds)")
    export.set_defaults(handler=run_export)


_KEY_HEX = re.compile(r"^[0-9a-f]{64}$")


def pinned_key(text: str) -> tuple[str, str, str]:
    """``COMMUNITY/KIOSK=KEY`` (an Ed25519 public key, 64 hex digits) as (community,
    kiosk, key); anything else is refused with what is wrong."""
    where, _, key = text.partition("=")
    community, _, kiosk = where.partition("/")
    if not (_ID.match(community) and _ID.match(kiosk)):
        raise argparse.ArgumentTypeError(
            f"{text!r}: COMMUNITY/KIOSK=KEY, each id letters, digits, '-' or '_' (1-63)")
    if not _KEY_HEX.match(key.strip().lower()):
        raise argparse.ArgumentTypeError(
            f"{text!r}: the key is 64 hex digits (an Ed25519 public key)")
    return community, kiosk, key.strip().lower()


def open_witness(data: str):  # -> witness.core.Witness
    from witness.core import WITNESS_DB, Witness

    path = Path(data)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return Witness(path / WITNESS_DB)
    except (OSError, sqlite3.Error) as exc:
        raise CommandError(f"--data {data}: {exc}") from None


def run_witness(args: argparse.Namespace) -> int:
    if not args.broker or not args.data:
        raise CommandError("kiosk witness needs --broker HOST:PORT and --data DIR")
    for value in [*([args.name] if args.name is not None else []), *args.community]:
        if not _ID.match(value):
            raise CommandError(f"{value!r}: letters, digits, '-' or '_' (1-63)")
    from kiosk.config import MqttConfig
    from mqtt.connection import parse_broker

    try:
        broker = parse_broker(args.broker)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    username, password = broker_login(args)
    if args.name is None:
        # The shipped ACL lets each witness account write alarms under its own user name
        # only (systemd/mosquitto/acl.example): the name follows the account.
        args.name = username if username and _ID.match(username) else "resident"
    config = MqttConfig(host=broker.host, port=broker.port, username=username,
                        password=password, tls=args.tls, ca_file=args.ca_file or "")
    from witness.service import WitnessService

    if not 0 < args.grace <= 3600:
        raise CommandError("--grace must be more than 0 and at most 3600 seconds")
    if len(args.backfill) != len(args.signed):
        raise CommandError("give each --from JSONL its --signed JSON (the export's)")
    witness = open_witness(args.data)
    witness.grace_s = args.grace
    try:
        for community, kiosk, public in args.pins:
            for alarm in witness.pin(community, kiosk, public):
                print(f"ALARM {alarm}", file=sys.stderr, flush=True)
        for jsonl, signed in zip(args.backfill, args.signed, strict=True):
            done = backfill(witness, Path(jsonl), Path(signed))
            print(f"kiosk witness {args.name}: took {done.community}/{done.kiosk} "
                  f"{done.chain}: {done.entries} entries from {jsonl}", file=sys.stderr,
                  flush=True)
            for alarm in done.alarms:
                # Alarms a backfill raises go out with the service's first message.
                print(f"ALARM {alarm}", file=sys.stderr, flush=True)
    except BaseException:
        witness.close()
        raise
    service = WitnessService(witness, config, args.name, args.community)
    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from kiosk.sdnotify import Notifier, Watchdog

    notifier = Notifier.from_env()
    watchdog = Watchdog(notifier)
    stalled_s = min(STALLED_S, watchdog.interval or STALLED_S)
    service.start()
    print(f"kiosk witness {args.name}: reading {', '.join(service.subscriptions())} from "
          f"{broker} as client {service.client_id}", file=sys.stderr, flush=True)
    ready = False
    try:
        while True:
            if not ready and service.subscribed.is_set():
                notifier.ready(f"subscribed on {broker}")
                # From here the broker keeps what is published for this witness's session.
                print(f"kiosk witness {args.name}: subscribed", file=sys.stderr, flush=True)
                ready = True
            # The sweeper's turns and the ingest feed the watchdog, not this loop: a
            # message stuck on its way into witness.db stops the pings.
            if ready and time.monotonic() - service.turned_at < stalled_s:
                watchdog.tick()
            if done.wait(watchdog.poll_every if ready else 0.1):
                break
    finally:
        notifier.stopping()
        service.stop()
        witness.close()
    print(f"kiosk witness: stopped; {service.handled} messages, {len(service.raised)} "
          "alarm(s)", file=sys.stderr)
    return 0


def backfill(witness: Any, jsonl: Path, signed: Path) -> Any:  # -> witness.core.Backfilled
    """One exported chain into the witness (``Witness.backfill``), or a one-line refusal."""
    import json

    from kiosk.cli.audit import _read_jsonl
    from witness.core import BackfillRefused

    entries = [e.to_dict() for e in _read_jsonl(jsonl)]
    try:
        both = json.loads(signed.read_text(encoding="utf-8"))
        key, head = both["key"], both["head"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"{signed}: not a signed head ({exc})") from None
    try:
        return witness.backfill(key, head, entries)
    except BackfillRefused as exc:
        raise CommandError(f"--from {jsonl}: refused, nothing taken: {exc}") from None


def run_alarms(args: argparse.Namespace) -> int:
    witness = open_witness(args.data)
    try:
        alarms = witness.alarms()
    finally:
        witness.close()
    for alarm in alarms:
        print(alarm)
    if not alarms:
        print("no alarms")
    return 1 if alarms else 0


def run_export(args: argparse.Namespace) -> int:
    from witness.core import WITNESS_DB
    from witness.export import every_kiosk, write

    if not (Path(args.data) / WITNESS_DB).is_file():
        raise CommandError(f"--data {args.data}: no {WITNESS_DB} there")
    witness = open_witness(args.data)
    try:
        kiosks = every_kiosk(witness)
    finally:
        witness.close()
    if args.kiosk:
        community, _, kiosk = args.kiosk.partition("/")
        if (community, kiosk) not in kiosks:
            raise CommandError(f"--kiosk {args.kiosk}: the witness holds no such kiosk")
        kiosks = {(community, kiosk): kiosks[(community, kiosk)]}
    out = Path(args.out)
    try:
        for (community, kiosk), files in kiosks.items():
            write(out / community / kiosk, files)
            print(f"{community}/{kiosk}: {', '.join(sorted(files))}")
    except OSError as exc:
        raise CommandError(f"--out {args.out}: {exc}") from None
    if not kiosks:
        print("the witness holds no kiosk yet")
    return 0


def add_witness_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--witness", metavar="DIR",
                        help="also check against what the witness in DIR holds "
                             "(its witness.db)")
    parser.add_argument("--kiosk", metavar="COMMUNITY/KIOSK",
                        help="which kiosk's copy to compare with (default: the config's, "
                             "or the one kiosk the witness holds)")


def against_witness(args: argparse.Namespace, chain: str,
                    entries: list[dict[str, Any]]) -> list[str]:
    """How ``entries`` (a kiosk's chain) fail to extend the witness's copy, if asked."""
    if not getattr(args, "witness", None):
        return []
    from witness.core import WITNESS_DB

    if not (Path(args.witness) / WITNESS_DB).is_file():
        raise CommandError(f"--witness {args.witness}: no {WITNESS_DB} there")
    witness = open_witness(args.witness)
    try:
        community, kiosk = _which_kiosk(args, witness.kiosks())
        problems = witness.compare(community, kiosk, chain, entries)
        problems += [f"witness alarm: {a}" for a in witness.alarms(community, kiosk)
                     if a.chain in (chain, "key")]
    finally:
        witness.close()
    return problems


def _which_kiosk(args: argparse.Namespace, known: list[tuple[str, str]]) -> tuple[str, str]:
    if getattr(args, "kiosk", None):
        community, _, kiosk = args.kiosk.partition("/")
        if not community or not kiosk:
            raise CommandError("--kiosk: give COMMUNITY/KIOSK")
        return community, kiosk
    if getattr(args, "config", None) or not known:
        from kiosk.cli.common import load

        config = load(args)
        if getattr(args, "config", None) or getattr(args, "witness_broker", None):
            return config.community_id, config.kiosk_id
    if len(known) == 1:
        return known[0]
    raise CommandError("the witness holds "
                       + (f"{len(known)} kiosks" if known else "no kiosk")
                       + "; name one with --kiosk COMMUNITY/KIOSK or --config FILE")


def add_alarm_broker_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--witness-broker", metavar="HOST:PORT",
                        help="also list the newest alarm each witness on this broker holds "
                             "(retained) about the kiosk")


def alarms_on_broker(args: argparse.Namespace, community: str, kiosk: str,
                     wait_s: float = 1.0) -> list[str]:
    """The retained witness alarms about one kiosk, read from a broker."""
    if not getattr(args, "witness_broker", None):
        return []
    import json
    import uuid

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from mqtt import topics
    from mqtt.connection import parse_broker

    try:
        broker = parse_broker(args.witness_broker)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    found: list[str] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"kiosk-verify-{uuid.uuid4().hex[:8]}")
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topics.witness_alarms_of(community),
                                                           1)
    client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()

    def on_message(c: Any, u: Any, message: Any) -> None:
        where = topics.parse_witness_alarm(message.topic)
        if where is None or where[2] != kiosk or not message.payload:
            return
        try:
            alarm = json.loads(message.payload)
            found.append(f"witness {where[1]} alarm: {alarm['chain']}: {alarm['kind']}: "
                         f"{alarm['detail']}")
        except (ValueError, KeyError, TypeError):
            found.append(f"witness {where[1]}: an unreadable alarm")

    client.on_message = on_message
    try:
        client.connect(broker.host, broker.port, 10)
    except OSError as exc:
        raise CommandError(f"--witness-broker {broker}: {exc}") from None
    client.loop_start()
    try:
        if not subscribed.wait(10):
            raise CommandError(f"--witness-broker {broker}: no answer")
        # Retained alarms follow the subscription at once; give them a moment to arrive.
        threading.Event().wait(wait_s)
    finally:
        client.loop_stop()
        client.disconnect()
    return found
