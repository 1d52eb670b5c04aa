"""Back-off counters do not pile up: the composition's housekeeping forgets those quiet
long enough to change nothing, and keeps every one whose wait could still matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.backoff import BackoffPolicy
from kiosk.duty import WrongDutyPin
from kiosk.features.housekeeping import forget_after_s
from kiosk.lockers.model import WrongCode
from kiosk.setups.demo import DemoKiosk
from tests.mqtt_broker import wait_until


def scopes(kiosk, table: str) -> set[str]:
    return {r["scope"] for r in kiosk.store.query(f"SELECT scope FROM {table}")}


def pruned(kiosk) -> None:
    """One run of the scheduler's prune task, as deployed."""
    runs = kiosk.scheduler.runs("backoff-prune")
    kiosk.scheduler.trigger("backoff-prune")
    assert wait_until(lambda: kiosk.scheduler.runs("backoff-prune") > runs)


def test_housekeeping_forgets_only_counters_quiet_past_every_wait(tmp_path):
    start = datetime.now(UTC)  # the demo rosters its first shift from the real today
    now = [start]
    with DemoKiosk(tmp_path / "demo", core_clock=lambda: now[0],
                   parking_sample=False) as demo:
        kiosk = demo.kiosk
        on_duty = kiosk.duty.on_duty().maintainers[0]
        for guess in ("ZZZZZZ", "ZZZZZY", "ZZZZZX"):
            with pytest.raises(WrongCode):
                kiosk.lockers.pickup(guess, "104")
        with pytest.raises(WrongDutyPin):
            kiosk.duty.login(on_duty, "11111111")
        assert scopes(kiosk, "attempts") == {"pickup:104", f"duty:{on_duty}"}
        assert scopes(kiosk, "rate_caps") == {"pickup", "duty"}
        keep_s = forget_after_s(kiosk)
        assert keep_s >= kiosk.lockers.backoff.max_s + 86400  # a day past the longest wait

        # Control: a minute short of the window nothing goes, and 104 still waits.
        now[0] = start + timedelta(seconds=keep_s - 60)
        pruned(kiosk)
        assert scopes(kiosk, "attempts") == {"pickup:104", f"duty:{on_duty}"}
        assert scopes(kiosk, "rate_caps") == {"pickup", "duty"}
        with pytest.raises(WrongCode):
            kiosk.lockers.pickup("ZZZZZW", "203")  # a fresh count, and the cap touched

        now[0] = start + timedelta(seconds=keep_s + 1)
        pruned(kiosk)
        assert scopes(kiosk, "attempts") == {"pickup:203"}
        assert scopes(kiosk, "rate_caps") == {"pickup"}
        # 104's count starts again from its free tries: the old flood is forgotten.
        with pytest.raises(WrongCode) as fresh:
            kiosk.lockers.pickup("ZZZZZV", "104")
        assert fresh.value.wait_s == 0


def tries_before_the_longest_wait(policy: BackoffPolicy) -> int:
    failures = 0
    while policy.wait_after(failures) < policy.max_s:
        failures += 1
    return failures + 1


def test_the_window_is_long_enough_that_a_fresh_count_never_helps_a_guesser():
    for policy in (BackoffPolicy(), BackoffPolicy(3, 5, 600), BackoffPolicy(100, 0.1, 86400),
                   BackoffPolicy(1, 3600, 86400)):
        keep = policy.forget_after_s
        assert keep >= policy.max_s + 86400
        # Tries a fresh count allows before it waits max_s, against a capped counter's.
        assert tries_before_the_longest_wait(policy) <= keep / policy.max_s, policy
    # Control: "a day past the longest wait" alone would help a guesser of this policy.
    generous = BackoffPolicy(100, 0.1, 86400)
    assert tries_before_the_longest_wait(generous) > (86400 + 86400) / 86400
