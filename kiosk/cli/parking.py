"""``kiosk parking``: import members and spots, commit and draw a round, verify a published
draw, compare allocation policies."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from kiosk.cli.common import CommandError, add_state_options, load, open_state
from kiosk.cli.duty import add_actor_note, authenticated, roster_of_store
from kiosk.cli.witness import add_witness_options, against_witness

GENERATED = {"members": "N", "spots": "M", "rounds": "R", "seed": "S"}
GENERATED_DEFAULTS = {"members": 200, "spots": 50, "rounds": 12, "seed": 1}


def register(subparsers: argparse._SubParsersAction) -> None:
    parking = subparsers.add_parser("parking", help="fair parking: rounds, draws, records")
    commands = parking.add_subparsers(dest="parking_command", metavar="ACTION", required=True)

    for name, what in (("import-members", "members"), ("import-spots", "spots")):
        p = commands.add_parser(name, help=f"add or update {what} from a CSV file "
                                           "(all rows or none)")
        p.add_argument("csv", metavar="CSV")
        p.add_argument("--reason", default="CSV import")
        add_actor_note(p)
        add_state_options(p)
        p.set_defaults(handler=_import, what=what)

    announce = commands.add_parser(
        "announce", help="name where a round's public random value will come from",
        description="Before requests close and before the value can be known: a named "
                    "public source (e.g. a lottery's draw of a given date). A round closes "
                    "only once announced.")
    announce.add_argument("--round", required=True, metavar="ID")
    announce.add_argument("--source", required=True, metavar="TEXT")
    announce.add_argument("--reason", default="random source announced")
    add_actor_note(announce)
    add_state_options(announce)
    announce.set_defaults(handler=_announce)

    close = commands.add_parser(
        "close", help="stop taking requests for a round; fixes who asked and which spots",
        description="Close before the public random value is known, so that nobody can "
                    "choose the eligible list to suit it.")
    close.add_argument("--round", required=True, metavar="ID")
    close.add_argument("--reason", default="requests closed")
    add_actor_note(close)
    add_state_options(close)
    close.set_defaults(handler=_close)

    commit = commands.add_parser(
        "commit", help="fix a round's draw inputs with the public random value "
                       "(published before the draw; closes the round if still open)")
    commit.add_argument("--round", required=True, metavar="ID")
    source = commit.add_mutually_exclusive_group(required=True)
    source.add_argument("--public-random", metavar="VALUE",
                        help="the public random value announced for this draw")
    source.add_argument("--public-random-file", metavar="FILE",
                        help="read the public random value from a file")
    commit.add_argument("--out", metavar="FILE", help="also write the commitment here")
    commit.add_argument("--reason", default="draw inputs committed")
    add_actor_note(commit)
    add_state_options(commit)
    commit.set_defaults(handler=_commit)

    draw = commands.add_parser("draw", help="run a committed round's draw, write its record")
    draw.add_argument("--round", required=True, metavar="ID")
    draw.add_argument("--out", required=True, metavar="FILE", help="the record (JSON)")
    draw.add_argument("--reason", default="committed draw run")
    add_actor_note(draw)
    add_state_options(draw)
    draw.set_defaults(handler=_draw)

    export = commands.add_parser("export", help="write a round's commitment or record again")
    export.add_argument("--round", required=True, metavar="ID")
    export.add_argument("--commitment", action="store_true",
                        help="the commitment instead of the record")
    export.add_argument("--out", required=True, metavar="FILE")
    add_state_options(export)
    export.set_defaults(handler=_export)

    verify = commands.add_parser(
        "verify", help="recompute published draws from their records alone",
        description="Recompute each draw from its record and name every difference. "
                    "Several records are taken as consecutive rounds, oldest first, and "
                    "each must start from the state the one before left.")
    verify.add_argument("records", nargs="*", metavar="RECORD")
    verify.add_argument("--commitment", metavar="FILE",
                        help="the commitment published before the draw (one record only)")
    verify.add_argument("--chain", metavar="JSONL",
                        help="check a copy of the draw chain instead (`kiosk audit export "
                             "--chain draws`, or draws.jsonl from the plan's page): intact, "
                             "every record recomputed against its commitment and the one "
                             "before")
    verify.add_argument("--signed", metavar="JSON",
                        help="with --chain: the kiosk's key and signed head; the copy must "
                             "end at the head the kiosk signed")
    verify.add_argument("--db", action="store_true",
                        help="check the kiosk database (--data/--config) instead: its draw "
                             "chain, every record in it, and the live allocations")
    add_state_options(verify)
    add_witness_options(verify)
    verify.set_defaults(handler=_verify)

    compare = commands.add_parser(
        "compare", help="fairness of FCFS, a plain lottery and ours on one history",
        description="Replay the register's drawn rounds (or a generated history) under "
                    "first-come-first-served, a plain lottery and least-served-first.")
    add_state_options(compare)
    for name, metavar in GENERATED.items():
        compare.add_argument(f"--{name}", type=int, metavar=metavar,
                             help=f"generate a history (default {GENERATED_DEFAULTS[name]})")
    compare.add_argument("--json", action="store_true", help="the same figures as JSON")
    compare.set_defaults(handler=_compare)


def _register(args: argparse.Namespace, must_exist: bool = True):  # -> ParkingRegister
    from kiosk import households
    from kiosk.config import ConfigError
    from kiosk.events import Outbox
    from kiosk.parking.register import ParkingRegister
    from kiosk.parking.settings import ParkingSettings

    config, store = open_state(args, must_exist=must_exist)
    try:
        settings = ParkingSettings.from_config(config)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    return ParkingRegister(store, Outbox(store), settings=settings,
                           household_guard=households.guard(config.lockers))


def _actor(args: argparse.Namespace, register) -> str:  # register: ParkingRegister
    """Who acts, authenticated by their PIN (the maintainer on duty, or a role)."""
    try:
        return authenticated(roster_of_store(register.store, load(args)))
    except BaseException:
        register.store.close()
        raise


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CommandError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read ({exc.strerror})") from None


def _read_json(path: str) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None


def _check_writable(path: str) -> Path:
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise CommandError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CommandError(f"{path}: not writable")
    return out


def _write_json(out: Path, value: Any) -> None:
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1) + "\n",
                   encoding="utf-8")
    tmp.replace(out)


def _import(args: argparse.Namespace) -> int:
    from kiosk.parking.csvimport import CsvImportError

    text = _read_text(args.csv)
    register = _register(args, must_exist=False)
    actor = _actor(args, register)
    try:
        if args.what == "members":
            report = register.import_members(text, actor, args.reason)
        else:
            report = register.import_spots(text, actor, args.reason)
    except CsvImportError as exc:
        for problem in exc.problems:
            print(f"{args.csv}: {problem}")
        print(f"nothing imported: {len(exc.problems)} problem(s)")
        return 1
    finally:
        register.store.close()
    print(f"{args.what}: {report.added} added, {report.changed} changed, "
          f"{report.unchanged} unchanged")
    return 0


def _announce(args: argparse.Namespace) -> int:
    from kiosk.audit import EntryTooLarge
    from kiosk.parking.model import ParkingError

    register = _register(args, must_exist=False)
    actor = _actor(args, register)
    try:
        announced = register.announce(args.round, args.source, actor, args.reason)
    except (ParkingError, EntryTooLarge) as exc:
        raise CommandError(str(exc)) from None
    finally:
        register.store.close()
    print(f"round {args.round}: random source announced at {announced['announced_at']}: "
          f"{announced['random_source']}")
    return 0


def _close(args: argparse.Namespace) -> int:
    from kiosk.audit import EntryTooLarge
    from kiosk.parking.model import ParkingError, sha256_hex

    register = _register(args)
    actor = _actor(args, register)
    try:
        closed = register.close(args.round, actor, args.reason)
    except (ParkingError, EntryTooLarge) as exc:
        raise CommandError(str(exc)) from None
    finally:
        register.store.close()
    print(f"round {args.round} closed at {closed['closed_at']}: "
          f"{len(closed['eligible'])} requests, {len(closed['spots'])} spots")
    print(f"eligible hash  {sha256_hex(closed['eligible'])}")
    return 0


def _commit(args: argparse.Namespace) -> int:
    from kiosk.audit import EntryTooLarge
    from kiosk.parking.model import ParkingError

    value = (args.public_random if args.public_random is not None
             else _read_text(args.public_random_file))
    out = _check_writable(args.out) if args.out else None
    register = _register(args)
    actor = _actor(args, register)
    try:
        commitment = register.commit(args.round, value, actor, args.reason)
    except (ParkingError, EntryTooLarge) as exc:
        raise CommandError(str(exc)) from None
    finally:
        register.store.close()
    if out is not None:
        _write_json(out, commitment)
    inputs = commitment["inputs"]
    print(f"round {args.round} committed: {len(inputs['eligible'])} requests, "
          f"{len(inputs['spots'])} spots")
    print(f"random source  {inputs['random_source']} (announced {inputs['announced_at']})")
    print(f"inputs hash    {commitment['inputs_hash']}")
    print(f"eligible hash  {inputs['eligible_hash']}")
    print(f"public random  {inputs['public_random']}")
    return 0


def _draw(args: argparse.Namespace) -> int:
    from kiosk.audit import EntryTooLarge
    from kiosk.parking.model import ParkingError

    out = _check_writable(args.out)
    register = _register(args)
    actor = _actor(args, register)
    try:
        record = register.draw(args.round, actor, args.reason)
    except (ParkingError, EntryTooLarge) as exc:
        raise CommandError(str(exc)) from None
    finally:
        register.store.close()
    _write_json(out, record)
    results = record["results"]
    print(f"round {args.round} drawn: {len(results['assignments'])} allocated, "
          f"{len(results['refused'])} refused (unmet demand)")
    print(f"record written to {out}; check it with: kiosk parking verify {out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    out = _check_writable(args.out)
    register = _register(args)
    try:
        value = (register.commitment(args.round) if args.commitment
                 else register.record(args.round))
    finally:
        register.store.close()
    if value is None:
        what = "commitment" if args.commitment else "record"
        raise CommandError(f"round {args.round} has no {what}")
    _write_json(out, value)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from kiosk.parking.record import verify, verify_chain

    if args.db:
        return _verify_db(args)
    if args.signed and not args.chain:
        raise CommandError("--signed goes with --chain")
    if args.chain:
        if args.records or args.commitment:
            raise CommandError("--chain is checked alone (no RECORD, no --commitment)")
        return _verify_copy(args)
    if not args.records:
        raise CommandError("give the RECORD files to verify, --chain JSONL, or --db with "
                           "--data DIR")
    records = [_read_json(path) for path in args.records]
    if args.commitment and len(records) > 1:
        raise CommandError("--commitment goes with one record")
    if len(records) == 1:
        commitment = _read_json(args.commitment) if args.commitment else None
        problems = verify(records[0], commitment=commitment)
    else:
        problems = verify_chain(records)
    if args.witness:
        problems += _records_against_witness(args, records)
    for problem in problems:
        print(problem)
    if problems:
        print(f"DIFFERS: {len(problems)} problem(s)")
        return 1
    for record in records:
        inputs, results = record["inputs"], record["results"]
        print(f"ok: round {inputs['round']} (no. {inputs['round_no']}) matches: "
              f"{len(results['assignments'])} allocated, {len(results['refused'])} refused")
    return 0


def _records_against_witness(args: argparse.Namespace, records: list[Any]) -> list[str]:
    """Each record must be the one the witness holds for its round, whole."""
    from kiosk.cli.witness import _which_kiosk, open_witness
    from witness.core import WITNESS_DB

    if not (Path(args.witness) / WITNESS_DB).is_file():
        raise CommandError(f"--witness {args.witness}: no {WITNESS_DB} there")
    witness = open_witness(args.witness)
    try:
        community, kiosk = _which_kiosk(args, witness.kiosks())
        held: dict[str, Any] = {}
        for e in witness.held(community, kiosk, "draws"):
            # A round's first draw: a second one (itself an alarm) is not the record.
            if e["action"] == "parking.drawn":
                held.setdefault(e["subject"], e["data"])
        alarms = [f"witness alarm: {a}" for a in witness.alarms(community, kiosk)
                  if a.chain == "draws"]
    finally:
        witness.close()
    problems = []
    for i, record in enumerate(records):
        try:
            round_id = record["inputs"]["round"]
        except (KeyError, TypeError):
            problems.append(f"record {i + 1}: has no round")
            continue
        if round_id not in held:
            problems.append(f"round {round_id}: the witness holds no draw of it")
        elif held[round_id] != record:
            problems.append(f"round {round_id}: differs from the record the witness holds")
    return problems + alarms


def _verify_copy(args: argparse.Namespace) -> int:
    """A copy of the draw chain, as exported by the kiosk or a witness: nothing of the
    kiosk's disk is needed."""
    from kiosk.cli.audit import _against_signed, _read_jsonl
    from kiosk.parking.register import verify_draw_entries

    entries = _read_jsonl(Path(args.chain))
    problems = verify_draw_entries(entries)
    if args.signed:
        problems += _against_signed(Path(args.signed), entries)
    problems += against_witness(args, "draws", [e.to_dict() for e in entries])
    for problem in problems:
        print(problem)
    if problems:
        print(f"DIFFERS: {len(problems)} problem(s)")
        return 1
    drawn = [e.subject for e in entries if e.action == "parking.drawn"]
    print(f"ok: draw chain of {len(entries)} entries intact, {len(drawn)} draw(s) "
          f"recomputed{': ' + ', '.join(drawn) if drawn else ''}"
          + (", ending at the head the kiosk signed" if args.signed else ""))
    return 0


def _verify_db(args: argparse.Namespace) -> int:
    register = _register(args)
    try:
        problems = register.verify_draw_chain() + register.check_against_record()
        entries = [e.to_dict() for e in register.chain.entries()]
        problems += against_witness(args, "draws", entries)
    finally:
        register.store.close()
    for problem in problems:
        print(problem)
    if problems:
        print(f"DIFFERS: {len(problems)} problem(s)")
        return 1
    drawn = sum(e["action"] == "parking.drawn" for e in entries)
    print(f"ok: draw chain of {len(entries)} entries intact, {drawn} draw(s) recomputed, "
          "allocations match the newest record")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from kiosk.parking.fairness import evaluate, table
    from kiosk.parking.history import generate
    from kiosk.parking.policies import all_policies, replay

    given = {n: getattr(args, n) for n in GENERATED if getattr(args, n) is not None}
    if given:
        sizes = {**GENERATED_DEFAULTS, **given}
        for name in ("members", "spots", "rounds"):
            if not 1 <= sizes[name] <= 1_000_000:
                raise CommandError(f"--{name} must be 1 to 1,000,000")
        history = generate(sizes["members"], sizes["spots"], sizes["rounds"], sizes["seed"])
        source: dict[str, Any] = {"generated": sizes}
    else:
        register = _register(args)
        try:
            history = register.history()
        finally:
            register.store.close()
        if not history:
            raise CommandError("no drawn rounds in the register yet; try a generated history: "
                               "--members N --spots M --rounds R --seed S")
        source = {"register": [r.round_id for r in history]}
    rows = [evaluate(p.name, history, replay(history, p)) for p in all_policies()]
    if args.json:
        print(json.dumps({"source": source, "rounds": len(history),
                          "requests": rows[0].requests,
                          "policies": [r.to_json() for r in rows]}, indent=1))
        return 0
    what = ("generated: " + ", ".join(f"{k} {v}" for k, v in source["generated"].items())
            if "generated" in source else f"the register's {len(history)} drawn rounds")
    print(f"{what}; {rows[0].requests} requests")
    print(table(rows))
    print("Gini 0 and Jain 1 are equal; spread: largest minus smallest (got - equal share); "
          "steady: widest gap between members who asked every round; unmet: refused "
          "requests (only more spots lower it).")
    return 0
