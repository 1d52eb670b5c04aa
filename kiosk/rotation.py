"""Fair rotation: a few places to fill among more candidates, least served first, with memory.

The one fairness rule the kiosk shares out scarce things by. The parking draw
(``kiosk/parking/allocation.py``) fills a round's spots of one type among the members
asking for that type; the duty roster (``kiosk/duty.py``) fills a shift's maintainer
places among the volunteers available for it. Each speaks its own words and calls this.

The rule, per *pool* (a kind of place: a spot type; duty has one pool). Every turn a
candidate stands, they earn that turn's equal share, ``min(1, places / candidates)``;
every place they are given costs them one. Their *credit* is what they earned minus what
they were given: the candidates with the most credit are served first, so whoever is least
served relative to their equal share goes first. Equal credits are put in an order drawn
from the turn's seed (``draw_seed``), taken from inputs published before the draw, so
anyone can redo it. A turn not stood earns nothing and costs nothing: being away neither
gains nor loses. Shares are counted in millionths (integers), so every computer ranks
exactly alike.

A turn goes: ``Turn(memory, seed)``; per pool, ``rank`` the candidates, give the first
ones the places, and ``settle`` who stood and what each was given; ``turn.memory`` is then
the memory after the turn (the memory passed in is left as it was).

The published names (``round_no``/``types`` in the memory, ``member``/``type`` in the
eligible list, the seed's ``kiosk-parking-draw`` label) are the parking record's, which
published them first (``kiosk/parking/record.py``); they stay, so every published draw
and roster can still be recomputed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The rule above; a change to it is a new version, as the records name it.
VERSION = "least-served-first/1"

# Shares are counted in millionths of a place.
UNIT = 1_000_000

def canonical_json(value: Any) -> bytes:
    """One byte string per value, whoever computes it: what every published hash is taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


# Per candidate and pool: [earned (millionths), received, last turn stood, place got then].
Standing = tuple[int, int, int, str | None]


@dataclass
class Memory:
    """Everything the rotation remembers between turns. Parking publishes it with each draw."""

    round_no: int = 0  # turns drawn so far
    types: dict[str, dict[str, Standing]] = field(default_factory=dict)  # pool -> candidate

    def copy(self) -> Memory:
        return Memory(self.round_no, {t: dict(m) for t, m in self.types.items()})

    def to_json(self) -> dict[str, Any]:
        return {"round_no": self.round_no,
                "types": {t: {k: list(v) for k, v in m.items()} for t, m in self.types.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Memory:
        """Rebuild from published JSON; raises ValueError on anything malformed."""
        try:
            if set(data) != {"round_no", "types"} or not _is_int(data["round_no"]):
                raise ValueError("round_no or types malformed")
            types: dict[str, dict[str, Standing]] = {}
            for pool, raw in data["types"].items():
                members = {}
                for member, (earned, received, last, place) in raw.items():
                    if not (_is_int(earned) and _is_int(received) and _is_int(last)
                            and (place is None or isinstance(place, str))):
                        raise ValueError(f"{pool} memory of {member}")
                    members[member] = (earned, received, last, place)
                types[pool] = members
            return cls(data["round_no"], types)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"prior state is malformed ({exc})") from None

    def hash(self) -> str:
        return sha256_hex(self.to_json())

    def received(self, pool: str, candidate: str) -> int:
        record = self.types.get(pool, {}).get(candidate)
        return 0 if record is None else record[1]

    def credit(self, pool: str, candidate: str) -> int:
        """Earned minus received, in millionths of a place."""
        record = self.types.get(pool, {}).get(candidate)
        return 0 if record is None else record[0] - record[1] * UNIT


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def eligible_list(candidates: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Who stands in a turn, and in which pool, as published: by name."""
    return [{"member": c, "type": pool} for c, pool in sorted(candidates, key=lambda c: c[0])]


def eligible_hash(candidates: Iterable[tuple[str, str]]) -> str:
    return sha256_hex(eligible_list(candidates))


def draw_seed(eligible_hash_hex: str, version: str, public_random: str) -> bytes:
    """The tie-break seed, from inputs that are all published before the draw."""
    return hashlib.sha256(canonical_json(
        ["kiosk-parking-draw", version, eligible_hash_hex, public_random])).digest()


def tiebreak_key(seed: bytes, pool: str, candidate: str) -> bytes:
    return hashlib.sha256(seed + pool.encode() + b"\0" + candidate.encode()).digest()


class Turn:
    """One turn of the rotation being drawn; ``memory`` is the memory after it."""

    def __init__(self, memory: Memory, seed: bytes):
        self.before = memory
        self.seed = seed
        self.memory = memory.copy()
        self.memory.round_no = memory.round_no + 1

    @property
    def number(self) -> int:
        return self.memory.round_no

    def rank(self, pool: str, candidates: Iterable[str]) -> list[str]:
        """The candidates best placed first: most credit, then the seed's order."""
        return sorted(candidates, key=lambda c: (-self.before.credit(pool, c),
                                                 tiebreak_key(self.seed, pool, c)))

    def previous_place(self, pool: str, candidate: str) -> str | None:
        """The place the candidate was given in the turn just before, if any."""
        record = self.before.types.get(pool, {}).get(candidate)
        return record[3] if record is not None and record[2] == self.number - 1 else None

    def settle(self, pool: str, candidates: Iterable[str], places: int,
               given: Mapping[str, str]) -> None:
        """Record a pool's turn: who stood for its ``places`` and what each was given."""
        standing = list(candidates)
        if not standing:
            return
        share = min(UNIT, places * UNIT // len(standing))
        members = self.memory.types.setdefault(pool, {})
        for candidate in standing:
            earned, received, _, _ = members.get(candidate, (0, 0, 0, None))
            place = given.get(candidate)
            members[candidate] = (earned + share, received + (place is not None), self.number,
                                  place)
