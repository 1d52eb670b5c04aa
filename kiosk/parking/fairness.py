"""Fairness figures of a history of rounds, so algorithms can be judged side by side.

Every figure is taken per *claim*, a (member, spot type) pair that asked at least once, and
against that claim's *equal share*: the sum, over the rounds it asked, of the round's
spots divided by its askers (at most 1 a round). People who ask more often are entitled
to more; the figures do not mistake that for unfairness.
- Gini of received / equal share: 0 is perfectly equal, 1 is one claim taking all.
- Jain's index of the same ratios: 1 is perfectly equal, 1/n is one claim taking all.
- spread: largest minus smallest (received - equal share), in allocations.
- steady spread: among claims that asked in every round, the largest gap in allocations
  between two of the same type. Ours keeps it at most 1.
- unmet: requests that got no spot. No ordering rule changes it; only more spots do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.parking.model import Outcome
from kiosk.parking.policies import RoundInput


@dataclass(frozen=True)
class Fairness:
    policy: str
    gini: float
    jain: float
    spread: float
    steady_spread: int
    unmet: int
    requests: int
    allocated: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def gini(values: Sequence[float]) -> float:
    xs = sorted(values)
    n, total = len(xs), sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum(i * x for i, x in enumerate(xs, start=1))
    return 2 * weighted / (n * total) - (n + 1) / n


def jain(values: Sequence[float]) -> float:
    n = len(values)
    squares = sum(x * x for x in values)
    if n == 0 or squares == 0:
        return 1.0
    return sum(values) ** 2 / (n * squares)


def evaluate(policy: str, history: Sequence[RoundInput],
             outcomes: Sequence[Outcome]) -> Fairness:
    asked: dict[tuple[str, str], int] = {}
    share: dict[tuple[str, str], float] = {}
    received: dict[tuple[str, str], int] = {}
    unmet = requests = 0
    for round_, outcome in zip(history, outcomes, strict=True):
        per_ask = {t: min(1.0, s.spots / s.askers) if s.askers else 0.0
                   for t, s in outcome.summary.items()}
        for ask in round_.asks:
            claim = (ask.member, ask.type)
            asked[claim] = asked.get(claim, 0) + 1
            share[claim] = share.get(claim, 0.0) + per_ask[ask.type]
            if ask.member in outcome.assignments:
                received[claim] = received.get(claim, 0) + 1
        requests += len(round_.asks)
        unmet += len(outcome.refused)

    ratios = [received.get(c, 0) / s for c, s in share.items() if s > 0]
    gaps = [received.get(c, 0) - s for c, s in share.items()]
    steady: dict[str, list[int]] = {}
    for claim, count in asked.items():
        if count == len(history):
            steady.setdefault(claim[1], []).append(received.get(claim, 0))
    return Fairness(
        policy=policy,
        gini=gini(ratios),
        jain=jain(ratios),
        spread=(max(gaps) - min(gaps)) if gaps else 0.0,
        steady_spread=max((max(v) - min(v) for v in steady.values()), default=0),
        unmet=unmet,
        requests=requests,
        allocated=requests - unmet,
    )


def table(rows: Sequence[Fairness], times: dict[str, float] | None = None) -> str:
    """The figures side by side, one policy a line."""
    head = f"{'policy':<26}{'Gini':>8}{'Jain':>8}{'spread':>9}{'steady':>8}{'unmet':>9}"
    if times is not None:
        head += f"{'time s':>9}"
    lines = [head]
    for r in rows:
        line = (f"{r.policy:<26}{r.gini:>8.3f}{r.jain:>8.3f}{r.spread:>9.2f}"
                f"{r.steady_spread:>8d}{r.unmet:>9d}")
        if times is not None:
            line += f"{times.get(r.policy, 0.0):>9.2f}"
        lines.append(line)
    return "\n".join(lines)
