"""The kiosk's time-driven upkeep. About once a minute the car park's work: release
no-shows, lapse unanswered offers, and tell listeners (the screen) ``parking.changed``
when something changed. About once an hour the back-off counters quiet long enough to
change nothing are forgotten, so the tables never grow with every unit, courier id and
name ever mistyped (``backoff.prune``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk import backoff
from kiosk.feature import Feature, Periodic

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

EVERY_S = 60.0
PRUNE_EVERY_S = 3600.0


def build(kiosk: Kiosk) -> None:
    return None


def tick(kiosk: Kiosk) -> None:
    done = kiosk.parking.tick()
    if any(done.values()):
        kiosk.signals.emit("parking.changed")


def policies(kiosk: Kiosk) -> list[backoff.BackoffPolicy]:
    """Every back-off policy this kiosk counts under (the parts it was built with)."""
    found = []
    for part, names in (("lockers", ("backoff", "resend_policy")), ("duty", ("policy",)),
                        ("parking", ("login_backoff",))):
        owner = getattr(kiosk, part, None)
        found += [getattr(owner, name) for name in names if owner is not None]
    parking = getattr(kiosk, "parking", None)
    if parking is not None:  # households' PINs at parking: [lockers]' policy, lockers or not
        found.append(parking.household_guard.policy)
    return found


def forget_after_s(kiosk: Kiosk) -> float:
    """Quiet this long, a counter of any of the kiosk's policies can go (at least a day)."""
    return max([p.forget_after_s for p in policies(kiosk)]
               + [backoff.BackoffPolicy().forget_after_s])


def prune(kiosk: Kiosk) -> int:
    with kiosk.store.step() as db:
        return backoff.prune(db, kiosk.clock(), forget_after_s(kiosk))


def periodic(kiosk: Kiosk) -> list[Periodic]:
    return [Periodic("housekeeping", EVERY_S, lambda: tick(kiosk)),
            Periodic("backoff-prune", PRUNE_EVERY_S, lambda: prune(kiosk))]


FEATURE = Feature("housekeeping", build, periodic=periodic)
