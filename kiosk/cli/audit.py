"""``kiosk audit``: export and verify the public audit chain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import CommandError, add_state_options, open_state
from kiosk.cli.witness import _which_kiosk as _which_kiosk
from kiosk.cli.witness import (
    add_alarm_broker_option,
    add_witness_options,
    against_witness,
    alarms_on_broker,
)

if TYPE_CHECKING:
    from kiosk.audit import AuditEntry, AuditLog


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help="the hash-chained audit log")
    commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    check = commands.add_parser(
        "verify", help="find any edited, removed or reordered entry",
        description="Verify the kiosk's audit chain, or a JSON-lines copy of the published "
                    "entries (one entry object a line).")
    add_state_options(check)
    check.add_argument("--file", metavar="JSONL", help="a copy of the published entries")
    check.add_argument("--signed", metavar="JSON",
                       help="with --file: the kiosk's key and signed head (export --signed); "
                            "the copy must end at the head the kiosk signed")
    add_witness_options(check)
    add_alarm_broker_option(check)
    check.set_defaults(handler=_verify)
    export = commands.add_parser("export", help="print every entry as JSON lines")
    export.add_argument("--chain", choices=("audit", "draws"), default="audit",
                        help="the audit chain (default) or the parking draw chain")
    export.add_argument("--signed", metavar="FILE",
                        help="also write the kiosk's public key and its signed chain head "
                             "(kiosk witness --from takes both)")
    add_state_options(export)
    export.set_defaults(handler=_export)
    key = commands.add_parser(
        "key", help="print the kiosk's public key, for its witnesses to hold",
        description="Print COMMUNITY/KIOSK=KEY, the kiosk's Ed25519 public key as `kiosk "
                    "witness --key` takes it: given out at set-up (the noticeboard, the "
                    "assembly's minutes), so a witness holds it and not whatever key the "
                    "broker shows first.")
    add_state_options(key)
    key.set_defaults(handler=_key)


def _verify(args: argparse.Namespace) -> int:
    from kiosk.audit import AuditLog, verify
    from kiosk.events import Outbox

    if args.signed and not args.file:
        raise CommandError("--signed goes with --file")
    if args.file:
        entries = _read_jsonl(Path(args.file))
        problems = verify(entries)
        if args.signed:
            problems += _against_signed(Path(args.signed), entries)
    else:
        _, store = open_state(args)
        log = AuditLog(store, Outbox(store))
        entries = log.entries()
        problems = verify(entries) + _against_published(log, entries)
    problems += against_witness(args, "audit", [e.to_dict() for e in entries])
    if getattr(args, "witness_broker", None):
        problems += alarms_on_broker(args, *_which_kiosk(args, []))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"ok: {len(entries)} entries, chain intact")
    return 0


def _against_published(log: AuditLog, entries: list[AuditEntry]) -> list[str]:
    """The outbox keeps a copy of every entry as it was published: the newest too."""
    kept = {e.seq: e.hash for e in entries}
    problems = []
    after = 0
    while batch := log.outbox.events(after_seq=after, limit=5000):
        for event in batch:
            if event.type != "audit.entry":
                continue
            seq, digest = event.data["seq"], event.data["hash"]
            if seq not in kept:
                problems.append(f"entry {seq}: published but missing from the log")
            elif kept[seq] != digest:
                problems.append(f"entry {seq}: differs from the copy that was published")
        after = batch[-1].seq
    return problems


def _read_jsonl(path: Path) -> list[AuditEntry]:
    from kiosk.audit import AuditEntry

    entries = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entries.append(AuditEntry(**json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise CommandError(f"{path}:{number}: not an audit entry ({exc})") from None
    return entries


def _against_signed(path: Path, entries: list[AuditEntry]) -> list[str]:
    from kiosk.audit import GENESIS
    from kiosk.signing import check_head

    try:
        signed = json.loads(path.read_text(encoding="utf-8"))
        key, head = signed["key"]["public_key"], signed["head"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"{path}: not a signed head ({exc})") from None
    why = check_head(key, head)
    if why is not None:
        return [f"signed head: {why}"]
    last = (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS)
    if (head["seq"], head["hash"]) != last:
        return [f"signed head: the kiosk signed {head['seq']} entries ending in "
                f"{head['hash'][:12]}…, the copy has {last[0]} ending in {last[1][:12]}…"]
    return []


def _export(args: argparse.Namespace) -> int:
    from kiosk.audit import AuditLog
    from kiosk.cli.common import data_dir
    from kiosk.events import Outbox
    from kiosk.parking.register import DrawChain
    from kiosk.signing import KeyFileError, KioskKey

    config, store = open_state(args)
    log = (DrawChain if args.chain == "draws" else AuditLog)(store, Outbox(store))
    with store.read():
        entries = log.entries()
        seq, digest = log.head()
    for entry in entries:
        sys.stdout.write(json.dumps(entry.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    if args.signed:
        try:
            key = KioskKey.load(data_dir(args, config))
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
        signed = {"key": key.announcement(config.community_id, config.kiosk_id),
                  "head": key.head(config.community_id, config.kiosk_id, args.chain, seq,
                                   digest)}
        Path(args.signed).write_text(json.dumps(signed, indent=1, sort_keys=True) + "\n",
                                     encoding="utf-8")
    return 0


def _key(args: argparse.Namespace) -> int:
    from kiosk.cli.common import load
    from kiosk.signing import KeyFileError, KioskKey

    config = load(args)
    try:
        key = KioskKey.load(args.data or config.data_dir)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    print(f"{config.community_id}/{config.kiosk_id}={key.public_hex}")
    return 0
