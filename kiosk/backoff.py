"""Growing waits after wrong codes and PINs, per kiosk and per kind of secret.

Guessing must get slower the more it is tried; a resident who mistypes once or twice is
not made to wait at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from kiosk.events import iso, parse_iso
from kiosk.refusals import Refusal


def migrate_v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE attempts (
            scope TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_ts TEXT NOT NULL
        )""")


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
        return min(self.base_s * 2 ** (failures - self.free_attempts), self.max_s)


def check(db: sqlite_utils.Database, scope: str, policy: BackoffPolicy, now: datetime) -> None:
    """Raise ``TooManyAttempts`` while the wait after the last failure runs."""
    row = db.execute("SELECT failures, last_ts FROM attempts WHERE scope = ?", (scope,)).fetchone()
    if row is None:
        return
    until = parse_iso(row[1]) + timedelta(seconds=policy.wait_after(row[0]))
    if now < until:
        raise TooManyAttempts((until - now).total_seconds())


def record_failure(db: sqlite_utils.Database, scope: str, policy: BackoffPolicy,
                   now: datetime) -> tuple[int, float]:
    """Count one failure; returns (failures so far, seconds to wait now)."""
    db.execute(
        "INSERT INTO attempts (scope, failures, last_ts) VALUES (?, 1, ?) "
        "ON CONFLICT(scope) DO UPDATE SET failures = failures + 1, last_ts = excluded.last_ts",
        (scope, iso(now)))
    failures = db.execute("SELECT failures FROM attempts WHERE scope = ?", (scope,)).fetchone()[0]
    return failures, policy.wait_after(failures)


def record_success(db: sqlite_utils.Database, scope: str) -> None:
    db.execute("DELETE FROM attempts WHERE scope = ?", (scope,))
