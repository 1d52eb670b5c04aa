"""Growing waits after wrong codes and PINs, and a small kiosk-wide cap on wrong tries.

Guessing must get slower the more it is tried; a resident who mistypes once or twice is
not made to wait at all. Two pieces, both kept in SQLite so a restart forgives nothing:

- ``BackoffPolicy`` counts wrong tries under a scope (``pickup:302``: one household's
  codes; ``courier:c-7``: one courier id's PINs; ``duty:v-amber``: one maintainer's) and
  makes each further one wait twice as long, up to ``max_s``. The exponent and the stored
  count are capped: a million wrong codes wait ``max_s`` like the tenth, and nothing
  overflows.
- ``RateCap`` is a token bucket over a whole kind of secret (every household's codes):
  ``burst`` wrong tries, then one every ``gap_s``. With ``gap_s`` at most 10 s, wrong
  codes typed for other households never keep a resident waiting longer than that.

``Guard`` puts the two together for a secret typed with who it is for (courier, member
and maintainer PINs), and ``prune`` forgets counters quiet long past every wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

import sqlite_utils

from kiosk.events import iso, parse_iso
from kiosk.refusals import Refusal
from kiosk.store import Migration

# 2**30 × the smallest base (0.1 s) is already 3 years: every policy is at its max_s
# long before, and Python's float never sees 2**1027 again.
MAX_EXPONENT = 30
# The stored count stops here: the wait does not change beyond it, the integer never wraps.
MAX_FAILURES = 1_000_000
# A counter is kept at least this long past its policy's longest wait (see ``prune``).
PRUNE_AFTER_S = 86400.0

T = TypeVar("T")


def migrate_v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE attempts (
            scope TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_ts TEXT NOT NULL
        )""")


def migrate_v2(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE rate_caps (
            scope TEXT PRIMARY KEY,
            tokens REAL NOT NULL,
            ts TEXT NOT NULL
        )""")


MIGRATIONS: list[Migration] = [migrate_v1, migrate_v2]


class TooManyAttempts(Refusal):
    default_reason = "too_many_attempts"

    def __init__(self, wait_s: float):
        super().__init__(f"too many wrong attempts; try again in {wait_s:.0f} s",
                         wait_s=wait_s)


@dataclass(frozen=True)
class BackoffPolicy:
    free_attempts: int = 3
    base_s: float = 5.0
    max_s: float = 300.0

    def wait_after(self, failures: int) -> float:
        if failures < self.free_attempts:
            return 0.0
        exponent = min(failures - self.free_attempts, MAX_EXPONENT)
        return min(self.base_s * 2 ** exponent, self.max_s)

    @property
    def forget_after_s(self) -> float:
        """How long a counter must be quiet before forgetting it (``prune``) can help no
        guesser: its wait is long over, and the tries a fresh count allows before its waits
        reach ``max_s`` are no more than a counter at ``max_s`` allows in that time."""
        doublings = 0
        while doublings < MAX_EXPONENT and self.base_s * 2 ** doublings < self.max_s:
            doublings += 1
        fresh_tries = self.free_attempts + doublings + 1
        return max(self.max_s + PRUNE_AFTER_S, fresh_tries * self.max_s)


@dataclass(frozen=True)
class RateCap:
    """``burst`` wrong tries at once, then one each ``gap_s`` (a token bucket)."""

    burst: int = 10
    gap_s: float = 10.0


def check(db: sqlite_utils.Database, scope: str, policy: BackoffPolicy, now: datetime) -> None:
    """Raise ``TooManyAttempts`` while the wait after the last failure runs."""
    row = db.execute("SELECT failures, last_ts FROM attempts WHERE scope = ?", (scope,)).fetchone()
    if row is None:
        return
    wait = policy.wait_after(row[0])
    # A clock set back never makes the wait longer than the policy's.
    left = min((parse_iso(row[1]) + timedelta(seconds=wait) - now).total_seconds(), wait)
    if left > 0:
        raise TooManyAttempts(left)


def record_failure(db: sqlite_utils.Database, scope: str, policy: BackoffPolicy,
                   now: datetime) -> tuple[int, float]:
    """Count one failure; returns (failures so far, seconds to wait now)."""
    db.execute(
        "INSERT INTO attempts (scope, failures, last_ts) VALUES (?, 1, ?) "
        "ON CONFLICT(scope) DO UPDATE SET failures = MIN(failures + 1, ?), "
        "last_ts = excluded.last_ts", (scope, iso(now), MAX_FAILURES))
    failures = db.execute("SELECT failures FROM attempts WHERE scope = ?", (scope,)).fetchone()[0]
    return failures, policy.wait_after(failures)


def record_success(db: sqlite_utils.Database, scope: str) -> None:
    db.execute("DELETE FROM attempts WHERE scope = ?", (scope,))


def failures(db: sqlite_utils.Database, scope: str) -> int:
    row = db.execute("SELECT failures FROM attempts WHERE scope = ?", (scope,)).fetchone()
    return int(row[0]) if row else 0


def _tokens(db: sqlite_utils.Database, scope: str, cap: RateCap, now: datetime) -> float:
    row = db.execute("SELECT tokens, ts FROM rate_caps WHERE scope = ?", (scope,)).fetchone()
    if row is None:
        return float(cap.burst)
    elapsed = max(0.0, (now - parse_iso(row[1])).total_seconds())
    return min(float(cap.burst), row[0] + elapsed / cap.gap_s)


def check_cap(db: sqlite_utils.Database, scope: str, cap: RateCap, now: datetime) -> None:
    """Raise ``TooManyAttempts`` (at most ``gap_s``) while the bucket is empty."""
    tokens = _tokens(db, scope, cap, now)
    if tokens < 1.0:
        raise TooManyAttempts(min((1.0 - tokens) * cap.gap_s, cap.gap_s))


def spend_cap(db: sqlite_utils.Database, scope: str, cap: RateCap, now: datetime) -> None:
    """One wrong try taken from the bucket (never below empty)."""
    tokens = max(0.0, _tokens(db, scope, cap, now) - 1.0)
    db.execute("INSERT INTO rate_caps (scope, tokens, ts) VALUES (?, ?, ?) "
               "ON CONFLICT(scope) DO UPDATE SET tokens = excluded.tokens, ts = excluded.ts",
               (scope, tokens, iso(now)))


@dataclass(frozen=True)
class Tried(Generic[T]):
    """What ``Guard.attempt`` found: the identity's row, or the failure it counted."""

    found: T | None
    failures: int = 0
    wait_s: float = 0.0


@dataclass(frozen=True)
class Guard:
    """A secret typed with who it is for (a unit, a courier id, a maintainer's name): wrong
    tries count for that identity (``policy``) and under the kiosk-wide ``cap`` of their
    kind, so a flood against one identity costs every other at most ``cap.gap_s``."""

    policy: BackoffPolicy
    cap: RateCap

    def attempt(self, db: sqlite_utils.Database, kind: str, key: str, now: datetime,
                find: Callable[[], T | None]) -> Tried[T]:
        """``find`` is asked only when neither the cap of ``kind`` nor the wait of ``key``
        runs (``TooManyAttempts`` then, and nothing is counted): during a wait even the
        right secret is not looked at, so a wait cannot be used to test guesses."""
        check_cap(db, kind, self.cap, now)
        check(db, key, self.policy, now)
        found = find()
        if found is not None:
            record_success(db, key)
            return Tried(found)
        spend_cap(db, kind, self.cap, now)
        failures, wait_s = record_failure(db, key, self.policy, now)
        return Tried(None, failures, wait_s)


def prune(db: sqlite_utils.Database, now: datetime, keep_s: float) -> int:
    """Forget counters and buckets quiet for longer than ``keep_s``; the rows deleted.

    ``keep_s`` is the longest ``BackoffPolicy.forget_after_s`` of the policies in use (at
    least a day past their longest wait): no wait is left to enforce, a bucket that quiet
    is full again (what a missing row means), and a guesser who waits that long for a
    fresh count gains nothing over guessing at the capped rate. Run by the housekeeping
    task (kiosk/features/housekeeping.py)."""
    cutoff = iso(now - timedelta(seconds=keep_s))
    gone = db.execute("DELETE FROM attempts WHERE last_ts < ?", (cutoff,)).rowcount
    return gone + db.execute("DELETE FROM rate_caps WHERE ts < ?", (cutoff,)).rowcount
