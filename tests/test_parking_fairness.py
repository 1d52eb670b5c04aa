"""Fairness figures, generated histories, and the three policies side by side."""

from __future__ import annotations

import pytest

from kiosk.parking.fairness import evaluate, gini, jain, table
from kiosk.parking.history import generate
from kiosk.parking.policies import all_policies, replay


@pytest.mark.parametrize("values, g, j", [
    ([1, 1, 1, 1], 0.0, 1.0),
    ([0, 0, 1], 2 / 3, 1 / 3),
    ([1, 3], 0.25, 0.8),
    ([], 0.0, 1.0),
    ([0, 0], 0.0, 1.0),
])
def test_gini_and_jain_known_values(values, g, j):
    assert gini(values) == pytest.approx(g)
    assert jain(values) == pytest.approx(j)


def test_a_generated_history_is_reproducible():
    one, two = generate(50, 10, 6, seed=4), generate(50, 10, 6, seed=4)
    assert [(r.asks, r.spots, r.request_times) for r in one] == [
        (r.asks, r.spots, r.request_times) for r in two]
    assert [r.asks for r in generate(50, 10, 6, seed=5)] != [r.asks for r in one]


def test_ours_keeps_steady_askers_within_one_where_the_others_do_not():
    history = generate(150, 30, 20, seed=2)
    rows = {p.name: evaluate(p.name, history, replay(history, p)) for p in all_policies()}
    ours, fcfs, lottery = (rows["least-served-first"], rows["first-come-first-served"],
                           rows["plain lottery"])
    assert ours.steady_spread <= 1
    assert fcfs.steady_spread > 1 and lottery.steady_spread > 1
    assert ours.gini < lottery.gini < fcfs.gini
    assert ours.jain > lottery.jain > fcfs.jain
    # Ordering does not create spots: unmet demand is the same under every policy.
    assert ours.unmet == fcfs.unmet == lottery.unmet > 0
    text = table(list(rows.values()))
    assert all(name in text for name in rows)
