"""How long a guesser needs to open any parcel: the real ``LockerService`` and its real
back-off (per unit, plus the kiosk-wide cap), with 500 codes live.

A guesser types unit + code at the screen as fast as the kiosk lets them. The service
runs on a clock the bench moves (nothing else is simulated: the store, the back-off
tables, the pty board behind the real driver are the kiosk's), so days of guessing take
seconds. Two strategies are measured:

- spread: every household in turn, each as soon as its own wait and the kiosk-wide cap
  allow (500 households, one live code each);
- one household: all guesses at one unit (the bound below puts all 500 codes there);
- one household, the guesser also asking for its code to be re-sent each time the kiosk
  allows: while the unit waits, the re-sent code is tried under its own counter (the way
  in a flooded household keeps), so guesses through both counters count (the re-sent
  code's against that one code: a re-send voids every older one).

Expected time to the first success, for a code space of N = 31^code_length:
``E = N / Σ (guesses per second at unit u × codes live at u)``. The baseline is the same
service answering wrong codes with every wait already over (the raw speed of a guess, no
back-off), measured in the same run. Goal: E ≥ 10 years for either strategy.

PINs are measured the same way beside the codes, for the shortest PIN allowed
(``kiosk/pins.py``: 8 digits for every kind). A PIN is one fixed secret: a guesser trying
each PIN once needs half the space on average, so ``E = (10^digits / 2) / guesses per
second`` (for guesses spread over many identities this is a lower bound). Each kind is
guessed through every door that checks it, on the real services:

- household PINs: the lockers' lost-code door (``LockerService.open_with_pin``) and the
  parking login (``ParkingRegister.authenticate``) in turn, for one household targeted
  and spread over every household. Both count where the household's codes count (one key
  a household, one kiosk-wide cap: kiosk/households.py), so using both doors, or mixing
  PIN and code guesses, gains nothing over either alone;
- parking workers' PINs (the parking login, its own back-off and cap);
- courier PINs (courier id, then PIN: the lockers' back-off, their own cap);
- maintainer PINs on the real ``DutyRoster`` (name, then PIN; the ``[duty]`` back-off;
  roles count under the same policy and cap).

One identity is guessed as fast as allowed, then guesses are spread over every identity
a guesser could name. Before each kind the kiosk's housekeeping forgets quiet counters
(``backoff.prune``), so every kind starts from fresh counters. The exit code is non-zero
if any figure (codes or PINs) is under 10 years.

    python bench/bench_guessing.py [--hours 6] [--codes 500] [--config kiosk.toml]
        [--couriers 10] [--maintainers 4] [--workers 10]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.board_sim import BoardSimulator
from devices.serial_board import open_board
from kiosk import backoff, households, pins
from kiosk.audit import AuditLog
from kiosk.backoff import TooManyAttempts
from kiosk.codes import ALPHABET
from kiosk.config import config_from_dict, load_config
from kiosk.duty import DutyRoster, DutySettings, WrongDutyPin
from kiosk.events import Outbox
from kiosk.lockers.model import WrongCode, WrongPin
from kiosk.lockers.service import LockerService
from kiosk.parking.model import ParkingError
from kiosk.parking.register import ParkingRegister
from kiosk.schema import open_kiosk_store

YEAR_S = 365.25 * 86400
# Courier ids enough for spread guesses to reach the kiosk-wide cap (one each 10 s) before
# each id's own wait (at most 300 s by default) holds them back.
CAP_COURIERS = 50
WRONG = "Z" * 12  # never a live code here: every guess is refused (measured as wrong)
WRONG_PIN = "0" * pins.MIN_DIGITS  # no PIN the bench sets: every guess is wrong


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def service(tmp: Path, port: str, bus, lockers: dict, codes: int, clock: Clock):
    config = config_from_dict({
        "board": {"port": port, "timeout_s": 0.3},
        "compartments": [{"board": 0, "locks": "1-16", "size": "M"}],
        "lockers": lockers})
    store = open_kiosk_store(tmp / "kiosk.db")
    s = LockerService(store, Outbox(store, clock), bus, config, clock=clock)
    units = [f"U{i:04d}" for i in range(codes)]
    with store.step() as db:
        for unit in units:
            db.table("households").insert({"unit": unit, "pseudonym": "h-" + unit})
            s._issue_code(db, unit, "pickup_code")  # one live code a household
    return s, units


def guess(s: LockerService, unit: str, code: str) -> float | None:
    """None if the guess was looked at (and wrong); else the wait the kiosk imposed."""
    try:
        s.pickup(code, unit)
    except WrongCode:
        return None
    except TooManyAttempts as wait:
        return wait.wait_s
    raise AssertionError("a guess opened a door")


def attack(s: LockerService, units: list[str], clock: Clock, seconds: float,
           code: str) -> dict[str, int]:
    """Guess for ``seconds`` of kiosk time; each unit as soon as it is allowed. Returns the
    guesses looked at, by unit."""
    start = clock.now
    end = start + timedelta(seconds=seconds)
    ready = [(start, unit) for unit in units]
    heapq.heapify(ready)
    looked: dict[str, int] = dict.fromkeys(units, 0)
    while True:
        at, unit = heapq.heappop(ready)
        if at > clock.now:
            clock.now = at
        if clock.now >= end:
            return looked
        wait = guess(s, unit, code)
        if wait is None:
            looked[unit] += 1
            # The unit's next try waits as long as the back-off now says.
            failures = s.store.scalar("SELECT failures FROM attempts WHERE scope = ?",
                                      (f"pickup:{unit}",)) or 0
            heapq.heappush(ready, (clock.now + timedelta(
                seconds=s.backoff.wait_after(int(failures))), unit))
        else:
            # Only the kiosk-wide cap refuses a unit whose own wait is over: every unit
            # waits for it alike.
            clock.advance(max(wait, 0.001))
            heapq.heappush(ready, (clock.now, unit))


def attack_with_resends(s: LockerService, unit: str, clock: Clock, seconds: float,
                        code: str) -> tuple[int, int]:
    """One household targeted by someone who also asks for its code to be re-sent each
    time the kiosk allows: while the unit waits, a re-sent code is still tried under its
    own counter (``LockerService.pickup``). Returns the guesses looked at through the
    unit's counter and through the re-sent code's."""
    from kiosk.events import iso
    from kiosk.lockers.service import resent_scope

    with s.store.step() as db:  # a parcel waits, so a re-send sends a code
        compartment = db.execute("SELECT id FROM compartments LIMIT 1").fetchone()[0]
        db.table("parcels").insert({"household": unit, "compartment": compartment,
                                    "size": "M", "state": "stored",
                                    "created_ts": iso(clock.now), "stored_ts": iso(clock.now)})
    scopes = (households.attempts_key(unit), resent_scope(unit))

    def failures() -> tuple[int, ...]:
        return tuple(int(s.store.scalar("SELECT failures FROM attempts WHERE scope = ?",
                                        (scope,)) or 0) for scope in scopes)

    end = clock.now + timedelta(seconds=seconds)
    resend_at = guess_at = clock.now
    looked = [0, 0]
    while True:
        clock.now = max(clock.now, min(resend_at, guess_at))
        if clock.now >= end:
            return looked[0], looked[1]
        if resend_at <= clock.now:
            try:
                s.resend_code(unit)
                resend_at = clock.now + timedelta(seconds=s.rules.resend_every_s)
            except TooManyAttempts as wait:
                resend_at = clock.now + timedelta(seconds=max(wait.wait_s, 0.001))
            continue
        before = failures()
        try:
            s.pickup(code, unit)
            raise AssertionError("a guess opened a door")
        except WrongCode:
            after = failures()
            # A success on one counter forgives both; whichever grew took this guess.
            looked[0 if after[0] > before[0] else 1] += 1
            # Its wait is that counter's; the other may let the next guess in at once
            # (if not, the refusal says how long).
            guess_at = clock.now + timedelta(seconds=0.001)
        except TooManyAttempts as wait:
            guess_at = clock.now + timedelta(seconds=max(wait.wait_s, 0.001))


def attack_pins(try_pin: Callable[[str], float], names: list[str], clock: Clock,
                seconds: float) -> int:
    """Wrong PINs for ``seconds`` of kiosk time, each name as soon as its own wait (the
    one its last failure earned, as the service answered it) and the cap allow. Returns
    the guesses looked at. ``try_pin`` returns the wait earned, or raises
    ``TooManyAttempts``."""
    end = clock.now + timedelta(seconds=seconds)
    ready = [(clock.now, name) for name in names]
    heapq.heapify(ready)
    looked = 0
    while True:
        at, name = heapq.heappop(ready)
        if at > clock.now:
            clock.now = at
        if clock.now >= end:
            return looked
        try:
            earned = try_pin(name)
        except TooManyAttempts as wait:  # the kiosk-wide cap (or a rounding of a wait)
            clock.advance(max(wait.wait_s, 0.001))
            heapq.heappush(ready, (clock.now, name))
            continue
        looked += 1
        heapq.heappush(ready, (clock.now + timedelta(seconds=earned), name))


def duty_roster(tmp: Path, clock: Clock, settings: DutySettings,
                maintainers: int) -> tuple[DutyRoster, list[str]]:
    """The real roster with ``maintainers`` volunteers, all on duty for the bench."""
    store = open_kiosk_store(tmp / "duty.db")
    outbox = Outbox(store, clock)
    settings = DutySettings(**{**settings.__dict__, "maintainers_per_shift": maintainers,
                               "shift_hours": 8784})
    roster = DutyRoster(store, outbox, AuditLog(store, outbox, clock), "bench", settings,
                        clock)
    names = [f"v-{i}" for i in range(maintainers)]
    for i, name in enumerate(names):
        roster.register("bench", name, f"{50_000_000 + i}", "bench")
    roster.plan(clock.now - timedelta(hours=1), 1, actor="bench")
    return roster, names


def wrong_duty_pin(roster: DutyRoster) -> Callable[[str], float]:
    def try_pin(name: str) -> float:
        try:
            roster.login(name, WRONG_PIN)
        except WrongDutyPin as wrong:
            return wrong.wait_s
        raise AssertionError("a guess logged in")
    return try_pin


def wrong_courier_pin(s: LockerService) -> Callable[[str], float]:
    def try_pin(courier_id: str) -> float:
        try:
            s.courier_login(courier_id, WRONG_PIN)
        except WrongPin as wrong:
            return wrong.wait_s
        raise AssertionError("a guess logged in")
    return try_pin


def wrong_household_pin(s: LockerService, register: ParkingRegister) -> Callable[[str], float]:
    """Each guess through the next door: the lockers' lost-code PIN, then parking's login."""
    doors = itertools.cycle(("lockers", "parking"))

    def try_pin(unit: str) -> float:
        try:
            if next(doors) == "lockers":
                s.open_with_pin(unit, WRONG_PIN)
            else:
                register.authenticate(unit, WRONG_PIN)
        except WrongPin as wrong:
            return wrong.wait_s
        except ParkingError as wrong:
            assert wrong.reason == "wrong_login", wrong.reason
            return wrong.wait_s
        raise AssertionError("a guess logged in")
    return try_pin


def wrong_worker_pin(register: ParkingRegister) -> Callable[[str], float]:
    def try_pin(name: str) -> float:
        try:
            register.authenticate(name, WRONG_PIN)
        except ParkingError as wrong:
            assert wrong.reason == "wrong_login", wrong.reason
            return wrong.wait_s
        raise AssertionError("a guess logged in")
    return try_pin


def forget_quiet_counters(s: LockerService, clock: Clock, keep_s: float) -> None:
    """What housekeeping does once every wait is long over (kiosk/features/housekeeping.py):
    each kind of PIN is then guessed from fresh counters and a full cap."""
    clock.advance(keep_s + 1)
    with s.store.step() as db:
        backoff.prune(db, clock.now, keep_s)


def raw_rate(s: LockerService, unit: str, clock: Clock, n: int, code: str) -> float:
    """Wrong guesses a second of wall time with every wait already over (the baseline)."""
    started = time.perf_counter()
    for _ in range(n):
        clock.advance(10 * 86400)  # past any wait
        assert guess(s, unit, code) is None
    return n / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=6.0, help="kiosk time guessed (6)")
    ap.add_argument("--codes", type=int, default=500, help="codes live (500)")
    ap.add_argument("--config", help="a kiosk.toml whose [lockers] and [duty] to measure")
    ap.add_argument("--couriers", type=int, default=10, help="courier ids known (10)")
    ap.add_argument("--maintainers", type=int, default=4,
                    help="maintainers on duty at once, for the spread (4)")
    ap.add_argument("--workers", type=int, default=10, help="parking worker names known (10)")
    args = ap.parse_args()
    duty_settings = (DutySettings.from_config(load_config(args.config)) if args.config
                     else DutySettings())
    lockers = {} if not args.config else {
        k: getattr(load_config(args.config).lockers, k)
        for k in ("code_length", "free_attempts", "backoff_base_s", "backoff_max_s",
                  "kiosk_burst", "kiosk_gap_s")}
    with tempfile.TemporaryDirectory() as tmp, BoardSimulator(boards=(0,)) as sim, \
            open_board(sim.port, timeout_s=0.3) as bus:
        clock = Clock()
        s, units = service(Path(tmp), sim.port, bus, lockers, args.codes, clock)
        rules = s.rules
        code = WRONG[:rules.code_length]
        space = len(ALPHABET) ** rules.code_length
        seconds = args.hours * 3600

        baseline = raw_rate(s, units[-1], clock, 300, code)
        wall = time.perf_counter()
        spread = attack(s, units[:-2], clock, seconds, code)
        clock.advance(10 * 86400)  # the kiosk-wide cap full again
        one = attack(s, [units[-2]], clock, seconds, code)  # a household not guessed yet
        clock.advance(10 * 86400)
        s.add_household("R0001")  # its counters fresh (the baseline's unit's are not)
        via_unit, via_resent = attack_with_resends(s, "R0001", clock, seconds, code)

        duty_policy = backoff.BackoffPolicy(duty_settings.free_attempts,
                                            duty_settings.backoff_base_s,
                                            duty_settings.backoff_max_s)
        keep_s = max(s.backoff.forget_after_s, duty_policy.forget_after_s,
                     backoff.BackoffPolicy().forget_after_s)
        pin_rates: list[tuple[str, float]] = []

        def measure(label: str, try_pin: Callable[[str], float], names: list[str]) -> None:
            forget_quiet_counters(s, clock, keep_s)
            pin_rates.append((label, attack_pins(try_pin, names, clock, seconds) / seconds))

        # Household PINs: every household of the codes above has one, and is a member of
        # parking too (its member is its pseudonym); one more household is targeted alone.
        register = ParkingRegister(s.store, s.outbox, clock=clock,
                                   household_guard=households.guard(s.rules))
        target = "T0001"
        for i, unit in enumerate([*units, target]):
            s.add_household(unit, pin=f"{10_000_000 + i}")
            register.add_member("bench", "bench", "", unit, "household")
        guessing = wrong_household_pin(s, register)
        measure(f"household PIN, one household ({s.rules.free_attempts} free, then "
                f"{s.rules.backoff_base_s:g}–{s.rules.backoff_max_s:g} s; lockers and "
                "parking in turn)", guessing, [target])
        measure(f"household PINs, spread over {len(units)} households", guessing, units)

        workers = [f"w-{i}" for i in range(args.workers)]
        for i, worker in enumerate(workers):
            register.add_member("bench", "bench", worker, None, "worker",
                                pin=f"{20_000_000 + i}")
        policy = register.login_backoff
        measure(f"parking worker PIN, one name ({policy.free_attempts} free, then "
                f"{policy.base_s:g}–{policy.max_s:g} s)", wrong_worker_pin(register),
                workers[:1])
        measure(f"parking worker PINs, spread over {len(workers)} names",
                wrong_worker_pin(register), workers)

        couriers = [f"courier-{i}" for i in range(max(args.couriers, CAP_COURIERS))]
        for i, courier in enumerate(couriers):
            s.add_courier(courier, f"{50_000_000 + i}")
        for label, names in ((f"courier PIN, one id ({s.rules.free_attempts} free, "
                              f"then {s.rules.backoff_base_s:g}–{s.rules.backoff_max_s:g} s)",
                              couriers[:1]),
                             (f"courier PINs, spread over {args.couriers} ids",
                              couriers[:args.couriers]),
                             (f"courier PINs, spread over {CAP_COURIERS} ids (the "
                              "kiosk-wide cap)", couriers)):
            measure(label, wrong_courier_pin(s), names)
        for label, count in ((f"maintainer PIN, one on duty ({duty_settings.free_attempts} "
                              f"free, then {duty_settings.backoff_base_s:g}–"
                              f"{duty_settings.backoff_max_s:g} s)", 1),
                             (f"maintainer PINs, spread over {args.maintainers} on duty",
                              args.maintainers)):
            with tempfile.TemporaryDirectory() as duty_tmp:
                forget_quiet_counters(s, clock, keep_s)
                roster, names = duty_roster(Path(duty_tmp), clock, duty_settings, count)
                pin_rates.append((label, attack_pins(wrong_duty_pin(roster), names, clock,
                                                     seconds) / seconds))
                roster.store.close()
        wall = time.perf_counter() - wall

    spread_rate = sum(spread.values()) / seconds  # each unit has 1 live code
    one_rate = sum(one.values()) / seconds
    rows = [
        ("baseline: no back-off (raw service speed)", baseline,
         space / (baseline * args.codes)),
        (f"spread over {len(spread)} households", spread_rate, space / spread_rate),
        (f"one household, all {args.codes} codes at it (bound)", one_rate,
         space / (one_rate * args.codes)),
        # Through the unit's counter every code it holds is tried (the same bound); through
        # the re-sent code's, only that one code (a re-send voids every older code).
        (f"one household, also asking a re-send each {s.rules.resend_every_s} s (bound)",
         (via_unit + via_resent) / seconds,
         space / ((via_unit * args.codes + via_resent) / seconds)),
    ]
    print(f"code space 31^{rules.code_length} = {space:,}; {args.codes} codes live; "
          f"free_attempts {rules.free_attempts}, backoff {rules.backoff_base_s:g}–"
          f"{rules.backoff_max_s:g} s a unit, kiosk cap {rules.kiosk_burst} then one "
          f"each {rules.kiosk_gap_s:g} s; {args.hours:g} h of kiosk time each "
          f"({wall:.1f} s of wall time)\n")
    print("| guesser | guesses/s allowed | expected time to open any parcel |")
    print("|---|---|---|")
    for name, rate, expected_s in rows:
        years = expected_s / YEAR_S
        shown = f"{years:,.1f} years" if years >= 1 else f"{expected_s / 86400:,.2f} days"
        print(f"| {name} | {rate:.5f} | {shown} |")
    worst = min(expected_s for _, _, expected_s in rows[1:]) / YEAR_S
    print(f"\ngoal ≥ 10 years: {'met' if worst >= 10 else 'NOT met'} ({worst:,.1f} years)")

    print(f"\n| PIN guesser ({pins.MIN_DIGITS} digits, the shortest allowed) | "
          "guesses/s allowed | expected time to guess one PIN |")
    print("|---|---|---|")
    pin_years = []
    for name, rate in pin_rates:
        expected_s = 10 ** pins.MIN_DIGITS / 2 / rate
        years = expected_s / YEAR_S
        pin_years.append(years)
        shown = f"{years:,.1f} years" if years >= 1 else f"{expected_s / 86400:,.1f} days"
        print(f"| {name} | {rate:.5f} | {shown}{'' if years >= 10 else ' (under 10 years)'} |")
    worst_pin = min(pin_years)
    print(f"\ngoal ≥ 10 years for every PIN: {'met' if worst_pin >= 10 else 'NOT met'} "
          f"({worst_pin:,.1f} years)")
    if min(worst, worst_pin) < 10:
        sys.exit(1)


if __name__ == "__main__":
    main()
