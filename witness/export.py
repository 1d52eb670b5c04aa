"""What a witness holds, as the files a resident re-checks a kiosk with, no kiosk disk needed.

Per kiosk (``kiosk_files``), the same bytes ``kiosk audit export`` writes on the kiosk:

- ``audit.jsonl``, ``draws.jsonl``: each chain's entries, one JSON object a line (sorted
  keys), from entry 1 up to the newest head the kiosk signed that the witness's copy
  contains (``Witness.attested``);
- ``audit-signed.json``, ``draws-signed.json``: the kiosk's key and that signed head (as
  ``export --signed`` writes them), so ``kiosk witness --from … --signed …``,
  ``kiosk audit verify --file … --signed …`` and ``kiosk parking verify --chain …
  --signed …`` take the pair as they take the kiosk's own export;
- ``round-{id}.json``, ``commitment-{id}.json``: each drawn round's record and the
  commitment published before it, taken from the draw chain
  (``kiosk parking verify round-{id}.json --commitment commitment-{id}.json``);
- ``roster.json``: the duty roster with its seed inputs as the kiosk last published it
  (its shifts are also in the audit chain, ``duty.planned``).

No signed head yet (the key or the head not seen): the chain's entries held are written
without the signed file. Ids that are not plain file names are left out of file names.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from kiosk.signing import AUDIT, CHAINS, DRAWS, KEY_FORMAT
from witness.core import Witness

# A community, kiosk or round id that can be a file name and a URL path level as it is.
PLAIN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
ROSTER = "roster.json"


def plain(value: Any) -> bool:
    return isinstance(value, str) and bool(PLAIN_ID.match(value)) and ".." not in value


def chain_file(chain: str) -> str:
    return f"{chain}.jsonl"


def signed_file(chain: str) -> str:
    return f"{chain}-signed.json"


def round_file(round_id: str) -> str:
    return f"round-{round_id}.json"


def commitment_file(round_id: str) -> str:
    return f"commitment-{round_id}.json"


def announcement(community: str, kiosk: str, public_hex: str) -> dict[str, Any]:
    """The kiosk's key as it announced it (``KioskKey.announcement``)."""
    return {"format": KEY_FORMAT, "community": community, "kiosk": kiosk,
            "algorithm": "ed25519", "public_key": public_hex}


def _lines(entries: list[dict[str, Any]]) -> bytes:
    # As ``kiosk audit export`` writes them (kiosk/cli/audit.py).
    return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n"
                   for e in entries).encode("utf-8")


def _json(value: Any) -> bytes:
    # As ``kiosk parking export`` and ``export --signed`` write theirs.
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
            ).encode("utf-8")


def kiosk_files(witness: Witness, community: str, kiosk: str) -> dict[str, bytes]:
    """Every file of one kiosk, by name."""
    files: dict[str, bytes] = {}
    public = witness.public_key(community, kiosk)
    for chain in CHAINS:
        held = witness.held(community, kiosk, chain)
        head = witness.attested(community, kiosk, chain)
        if head is not None and public is not None:
            held = held[:head["seq"]]
            files[signed_file(chain)] = _json({"key": announcement(community, kiosk, public),
                                               "head": head})
        if held or chain == AUDIT:
            files[chain_file(chain)] = _lines(held)
        if chain == DRAWS:
            files |= _rounds(held)
    roster = witness.kept_public(community, kiosk, "roster")
    if roster is not None:
        files[ROSTER] = _json(roster)
    return files


def _rounds(entries: list[dict[str, Any]]) -> dict[str, bytes]:
    """Each drawn round's record and its commitment, the first of each (a second one is
    the witness's alarm, and the chain file holds it)."""
    committed: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for e in entries:
        subject = e.get("subject")
        if not isinstance(subject, str) or not plain(subject):
            continue
        if e.get("action") == "parking.committed":
            committed.setdefault(subject, e["data"])
        elif e.get("action") == "parking.drawn" and round_file(subject) not in files:
            files[round_file(subject)] = _json(e["data"])
            if subject in committed:
                files[commitment_file(subject)] = _json(committed[subject])
    return files


def state(witness: Witness, community: str, kiosk: str) -> tuple[Any, ...]:
    """What the kiosk's files are made of, in brief: they change only when this does (a
    chain's length, its attested head, the kept roster, the key)."""
    where = (community, kiosk)
    return (
        tuple((r["chain"], r["n"]) for r in witness.store.query(
            "SELECT chain, MAX(seq) AS n FROM entries WHERE community = ? AND kiosk = ? "
            "GROUP BY chain ORDER BY chain", where)),
        tuple((r["chain"], r["seq"]) for r in witness.store.query(
            "SELECT chain, seq FROM attested WHERE community = ? AND kiosk = ? "
            "ORDER BY chain", where)),
        tuple(r["seen"] for r in witness.store.query(
            "SELECT seen FROM publics WHERE community = ? AND kiosk = ? AND name = "
            "'roster'", where)),
        witness.public_key(community, kiosk))


Cache = dict[tuple[str, str], tuple[tuple[Any, ...], dict[str, bytes]]]


def every_kiosk(witness: Witness, communities: list[str] | None = None,
                cache: Cache | None = None) -> dict[tuple[str, str], dict[str, bytes]]:
    """``kiosk_files`` of every kiosk the witness holds (of these communities, if given)
    whose ids are plain. With ``cache`` (kept by the caller between calls) a kiosk whose
    ``state`` has not moved is not read again: a year of draws is tens of megabytes."""
    files = {}
    for c, k in witness.kiosks():
        if not (plain(c) and plain(k) and (not communities or c in communities)):
            continue
        if cache is None:
            files[(c, k)] = kiosk_files(witness, c, k)
            continue
        now = state(witness, c, k)
        kept = cache.get((c, k))
        if kept is None or kept[0] != now:
            kept = cache[(c, k)] = (now, kiosk_files(witness, c, k))
        files[(c, k)] = kept[1]
    return files


def write(directory: Path, files: dict[str, bytes]) -> None:
    """The files into ``directory``, each replaced whole (a reader never gets half)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        partial = directory / f".{name}.part"
        partial.write_bytes(body)
        os.replace(partial, directory / name)
