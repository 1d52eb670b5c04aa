"""A made-up but plausible history of rounds, for comparing policies before one has real data.

Reproducible from its four numbers: only ``random.Random.random`` is used, whose output for
a given seed Python keeps stable. (The real draw does not use ``random`` at all.)
"""

from __future__ import annotations

import random

from kiosk.parking.model import ACCESSIBLE, STANDARD, Ask, Spot
from kiosk.parking.policies import RoundInput

# Share of spots by type, and of members by what they ask for.
SPOT_MIX = (("A", ACCESSIBLE, 0.04), ("E", "ev", 0.10), ("M", "motorcycle", 0.06))
NEED_SHARE = 0.05
WANT_MIX = (("ev", 0.10), ("motorcycle", 0.06))
# How members ask: most every round, some now and then, some only for a stretch.
STEADY, NOW_AND_THEN = 0.70, 0.15
NOW_AND_THEN_P = 0.6
OUT_OF_SERVICE_P = 0.01
WINDOW_S = 3600.0


def make_spots(count: int) -> list[Spot]:
    spots: list[Spot] = []
    for prefix, spot_type, share in SPOT_MIX:
        spots += [Spot(f"{prefix}{i:04d}", spot_type) for i in range(1, int(count * share) + 1)]
    standard = count - len(spots)
    spots += [Spot(f"S{i:04d}", STANDARD) for i in range(1, standard + 1)]
    return spots


def generate(members: int, spots: int, rounds: int, seed: int) -> list[RoundInput]:
    rng = random.Random(f"kiosk-parking-history/{seed}")
    all_spots = make_spots(spots)
    people = []
    for i in range(1, members + 1):
        need = rng.random() < NEED_SHARE
        want, r = STANDARD, rng.random()
        for spot_type, share in WANT_MIX:
            if r < share:
                want = spot_type
                break
            r -= share
        if need:
            want = ACCESSIBLE
        pattern = rng.random()
        start, end, p = 0, rounds, 1.0
        if STEADY <= pattern < STEADY + NOW_AND_THEN:
            p = NOW_AND_THEN_P
        elif pattern >= STEADY + NOW_AND_THEN:
            start = int(rng.random() * rounds)
            end = start + 1 + int(rng.random() * (rounds - start))
        # The same people tend to be quick every time: FCFS rewards them every round.
        quickness = rng.random()
        people.append((f"m{i:05d}", want, need, start, end, p, quickness))

    history = []
    for r in range(rounds):
        asks, times = [], {}
        for member, want, need, start, end, p, quickness in people:
            if not start <= r < end or (p < 1.0 and rng.random() >= p):
                continue
            asks.append(Ask(member, want, need))
            times[member] = WINDOW_S * (0.8 * quickness + 0.2 * rng.random())
        in_service = [s for s in all_spots if rng.random() >= OUT_OF_SERVICE_P]
        history.append(RoundInput(round_id=f"gen-{r + 1:03d}", asks=asks, spots=in_service,
                                  public_random=f"generated/{seed}/{r + 1}",
                                  request_times=times))
    return history
