"""``kiosk audit``: export and verify the public audit chain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import CommandError, add_state_options, open_state
from kiosk.cli.witness import add_witness_options, against_witness

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
    add_witness_options(check)
    check.set_defaults(handler=_verify)
    export = commands.add_parser("export", help="print every entry as JSON lines")
    add_state_options(export)
    export.set_defaults(handler=_export)


def _verify(args: argparse.Namespace) -> int:
    from kiosk.audit import AuditLog, verify
    from kiosk.events import Outbox

    if args.file:
        entries = _read_jsonl(Path(args.file))
        problems = verify(entries)
    else:
        _, store = open_state(args)
        log = AuditLog(store, Outbox(store))
        entries = log.entries()
        problems = verify(entries) + _against_published(log, entries)
    problems += against_witness(args, "audit", [e.to_dict() for e in entries])
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


def _export(args: argparse.Namespace) -> int:
    from kiosk.audit import AuditLog
    from kiosk.events import Outbox

    _, store = open_state(args)
    for entry in AuditLog(store, Outbox(store)).entries():
        sys.stdout.write(json.dumps(entry.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
    return 0
