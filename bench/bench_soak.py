"""Soak: a simulated week of a kiosk with faults, beside the same week without them.

The kiosk is composed as ``kiosk simulate`` composes it (``kiosk/setups/simulation.py``):
the pty board simulator behind the real serial driver, a real mosquitto started here,
the simulation's couriers, residents, their phones and the notifier. Only the core's clock
runs fast (``compose(..., clock=...)``): a week passes in ``--minutes``, so reminders,
no-shows and returns happen, while the wire, the heartbeat (``[board] heartbeat_s``) and
the broker keep wall time, as on a kiosk.

Faults come on a schedule drawn from ``--seed``, and may overlap:

- board outages: a board goes silent (``BoardSimulator.set_silent``) and answers again;
- serial replugs: the USB-RS485 adapter is pulled and plugged back in behind its udev-style
  link (``BoardSimulator.unplug``/``replug``);
- broker outages: mosquitto stopped and started again on its port;
- kiosk restarts: the kiosk closed, composed and started again on the same data directory.

When each fault starts and for how long are drawn in simulated time and wall seconds:
the length of an outage matters against the heartbeat and the reconnect back-off, which
keep wall time. Faults start and end between two people's actions (the people are one
thread, as the touchscreen is one screen); the kiosk's own threads (health poll, publisher)
meet them at any moment.

At the end the database is checked against what physically happened in the simulated
cabinet (each parcel carries its household's label from the moment the courier puts it
in), and the events a collector received against the outbox's seqs. Prints one table:

    python bench/bench_soak.py [--minutes 1.25] [--seed 1] [--parcels 250] [--heartbeat 1]

Goal: nothing lost or wrong, recovery within one heartbeat of the part coming back.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.board_sim import BoardSimulator  # noqa: E402
from kiosk.backoff import TooManyAttempts  # noqa: E402
from kiosk.composition import Devices, compose  # noqa: E402
from kiosk.config import Config  # noqa: E402
from kiosk.features import reminders  # noqa: E402
from kiosk.features.uplink import publisher_of  # noqa: E402
from kiosk.lockers.model import Courier  # noqa: E402
from kiosk.schema import open_kiosk_store  # noqa: E402
from kiosk.setups.production import open_board  # noqa: E402
from kiosk.setups.simulation import (  # noqa: E402
    COURIER_PIN,
    HEALTH_EVERY_S,
    Phones,
    Simulation,
    SimulationOptions,
    pseudonym,
    start_notifier,
)
from mqtt import topics  # noqa: E402
from tests.mqtt_broker import Collector, Mosquitto, mosquitto_binary, wait_until  # noqa: E402

if TYPE_CHECKING:
    from kiosk.composition import Kiosk

WEEK_S = 7 * 86400.0
HOUR_S = 3600.0
BOARDS = (0, 1)  # the simulation's cabinet (kiosk/setups/simulation.py, COMPARTMENTS)
KINDS = ("board", "replug", "broker", "restart")
# How long a part stays away, in wall seconds (drawn uniformly): from shorter than the
# three missed heartbeats that take a board out of service (the kiosk may never notice)
# to several times that.
DOWN_S = {"board": (0.5, 8.0), "replug": (0.5, 6.0), "broker": (0.2, 4.0), "restart": (0.0, 0.0)}
FAULTS_PER_WEEK = {"board": 8, "replug": 4, "broker": 6, "restart": 6}
# The people: a household comes some hours after its code arrives; a few do not come
# until reminded, and a few never (the courier takes those back after return_after_days).
VISIT_MEAN_S = 6 * HOUR_S
NO_SHOW = 0.08
COME_AFTER_REMINDER = 0.7
RETRY_S = (1 * HOUR_S, 4 * HOUR_S)  # a door that did not open: the resident comes back
COURIER_ROUND_S = 24 * HOUR_S  # the courier also collects returns once a day
DEPOSIT_RETRY_S = 1 * HOUR_S  # all full or out of order: the courier comes back later
RETURN_AFTER_DAYS = 4
OVERDUE_DAYS = 2
# Waiting for the end of a week (outbox drained, collector complete) and for a recovery.
SETTLE_S = 60.0
PROBE_GIVE_UP_S = 30.0
HOLDING = ("stored", "outgoing")
# Left half-done, or waiting for a maintainer's decision: a parcel nobody can get.
STUCK = ("deposit_pending", "pickup_pending", "in_review")


# -- the schedule -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float  # simulated seconds into the week
    down_s: float = 0.0  # wall seconds the part stays away (0 for a restart)
    board: int | None = None  # for "board"


def fault_schedule(rng: random.Random, span_s: float, speed: float,
                   counts: dict[str, int]) -> list[Fault]:
    """Faults spread over the first 90 % of the span (the rest lets the last recover).

    A kiosk started while its adapter is unplugged cannot open its port and exits (systemd
    starts it again later); that start is not one the soak can time, so a restart drawn
    inside an unplugged window moves to just after it.
    """
    faults = []
    for kind in KINDS:
        for _ in range(counts.get(kind, 0)):
            lo, hi = DOWN_S[kind]
            faults.append(Fault(kind, rng.uniform(0.02, 0.9) * span_s, rng.uniform(lo, hi),
                                rng.choice(BOARDS) if kind == "board" else None))
    unplugged = [(f.at_s, f.at_s + (f.down_s + 0.5) * speed)
                 for f in faults if f.kind == "replug"]
    moved = []
    for f in faults:
        at = f.at_s
        while f.kind == "restart" and any(a <= at <= b for a, b in unplugged):
            at = max(b for a, b in unplugged if a <= at <= b) + 1.0
        moved.append(dataclasses.replace(f, at_s=at))
    return sorted(moved, key=lambda f: f.at_s)


def one_of_each(span_s: float, down_s: float = 1.5) -> list[Fault]:
    """One fault of each kind a quarter of the span apart (the smoke test's week): each is
    over before the next begins while ``down_s`` lasts less than a quarter of the span."""
    return [Fault("board", 0.1 * span_s, down_s, board=0),
            Fault("replug", 0.35 * span_s, down_s),
            Fault("broker", 0.6 * span_s, down_s),
            Fault("restart", 0.85 * span_s)]


# -- the clock --------------------------------------------------------------------------------

class FastClock:
    """The core's clock: wall time since the start, times ``speed``, from a fixed date."""

    def __init__(self, speed: float, start: datetime = datetime(2026, 3, 2, tzinfo=UTC)):
        self.speed = speed
        self.start = start
        self._t0 = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=self.sim_s())

    def reset(self) -> None:
        """Simulated time starts again from ``start`` now (the week begins)."""
        self._t0 = time.monotonic()

    def sim_s(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def wall_at(self, sim_s: float) -> float:
        """The monotonic time at which the simulated clock shows ``sim_s``."""
        return self._t0 + sim_s / self.speed


# -- the physical world ----------------------------------------------------------------------

@dataclass
class Item:
    """A parcel in the physical world, with the label of the household it is for."""

    parcel: int
    label: str
    taken_by: str | None = None  # a unit, or "courier"


class Cabinet(BoardSimulator):
    """The simulated cabinet, and what is physically in it. A parcel put in gets its
    label from the parcel the screen just handed the courier (``labels``); a parcel taken
    out is taken by whoever stands at the kiosk (``taker``)."""

    def __init__(self, boards: tuple[int, ...], *, seed: int, link: Path | None):
        super().__init__(boards, seed=seed, link=link)
        self.labels: Callable[[int, int], tuple[int, str] | None] = lambda b, lk: None
        self.taker: Callable[[], str | None] = lambda: None
        self.inside: dict[tuple[int, int], Item] = {}
        self.taken: list[Item] = []
        self.anomalies: list[str] = []
        self._world = threading.Lock()

    def put_item(self, board: int, lock: int) -> None:
        super().put_item(board, lock)
        label = self.labels(board, lock)
        with self._world:
            if (board, lock) in self.inside:
                self.anomalies.append(f"duplicated: a second parcel put into {board}/{lock}")
            if label is None:
                self.anomalies.append(f"a parcel put into {board}/{lock} for no pending step")
                return
            self.inside[(board, lock)] = Item(*label)

    def take_item(self, board: int, lock: int) -> None:
        super().take_item(board, lock)
        with self._world:
            item = self.inside.pop((board, lock), None)
            if item is None:
                self.anomalies.append(f"lost: door {board}/{lock} opened for a parcel that "
                                      "is not there")
                return
            item.taken_by = self.taker()
            self.taken.append(item)

    def items(self) -> tuple[dict[tuple[int, int], Item], list[Item], list[str]]:
        with self._world:
            return dict(self.inside), list(self.taken), list(self.anomalies)


class Residents(Phones):
    """The households' phones (the simulation's ``Phones``), and when each household comes
    by: ``units`` lists one whose visit is due, so the simulation's own pickup round
    (``Simulation._pickups``) runs unchanged. The household asking for its newest code is
    the one standing at the kiosk."""

    def __init__(self, path: Path, clock: FastClock, seed: int):
        super().__init__(path)
        self.clock = clock
        self._rng = random.Random(seed)  # the notifier's thread draws here, apart
        self._due: dict[str, float] = {}
        self._lock = threading.Lock()
        self.at_screen: str | None = None

    def add(self, unit: str, code: str, kind: str, note_id: int) -> None:
        super().add(unit, code, kind, note_id)
        now = self.clock.sim_s()
        with self._lock:
            come = COME_AFTER_REMINDER if kind == "reminder" else 1 - NO_SHOW
            visit = (now + self._rng.expovariate(1 / VISIT_MEAN_S)
                     if self._rng.random() < come else math.inf)
            due = self._due.get(unit, math.inf)
            self._due[unit] = min(due, visit) if due > now else visit

    def units(self) -> list[str]:
        """The household whose visit is longest due, if any: one at the kiosk at a time,
        so the faults' schedule is looked at between any two of them (a door that does not
        open costs its confirmation time in wall seconds, hours on the fast clock)."""
        now = self.clock.sim_s()
        with self._lock:
            due = dict(self._due)
        waiting = [u for u in super().units() if due.get(u, math.inf) <= now]
        return sorted(waiting, key=lambda u: due[u])[:1]

    def newest(self, unit: str) -> str | None:
        self.at_screen = unit
        with self._lock:
            # If the door does not open for them, they come back some hours later.
            self._due[unit] = self.clock.sim_s() + self._rng.uniform(*RETRY_S)
        return super().newest(unit)


# -- recovery probes ---------------------------------------------------------------------------

@dataclass
class Probe:
    """From ``t0`` (the part back): when ``ok`` last turned true, once ``settled`` says a
    health poll begun after ``t0`` has finished (before that, a poll that began during the
    outage may still mark it)."""

    kind: str
    label: str
    t0: float
    ok: Callable[[], bool]
    settled: Callable[[], bool]
    boards: tuple[int, ...] = ()  # the boards it waits for (board and replug probes)
    since: float | None = None
    seconds: float | None = None  # the result; inf: never within PROBE_GIVE_UP_S


class Observer(threading.Thread):
    """Watches the open probes every few milliseconds, on a connection of its own."""

    def __init__(self, db_path: Path):
        super().__init__(name="soak-observer", daemon=True)
        self.db_path = db_path
        self._probes: list[Probe] = []
        self.done: list[Probe] = []
        self.interrupted: list[Probe] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._conn: sqlite3.Connection | None = None

    def db(self) -> sqlite3.Connection:
        """The observer's own connection (its thread only)."""
        if self._conn is None:
            self._conn = sqlite3.connect(self.db_path, timeout=10)
        return self._conn

    def add(self, probe: Probe) -> None:
        with self._lock:
            self._probes.append(probe)

    def cancel(self, kind: str, board: int | None = None) -> None:
        """The part goes away again. A probe already back in service is measured as it
        stands; one not yet back is not measured (the fault's end starts a new probe)."""
        with self._lock:
            gone = [p for p in self._probes if p.kind == kind
                    and (board is None or board in p.boards)]
            for p in gone:
                self._probes.remove(p)
                if p.since is not None:
                    p.seconds = p.since - p.t0
                    self.done.append(p)
                else:
                    self.interrupted.append(p)

    def open(self) -> int:
        with self._lock:
            return len(self._probes)

    def run(self) -> None:
        while not self._halt.wait(0.005):
            with self._lock:
                probes = list(self._probes)
            for p in probes:
                now = time.monotonic()
                try:
                    ok = p.ok()
                except sqlite3.Error:
                    ok = False
                if not ok:
                    p.since = None
                elif p.since is None:
                    p.since = now
                if ok and p.settled():
                    p.seconds = (p.since or now) - p.t0
                elif now - p.t0 > PROBE_GIVE_UP_S:
                    p.seconds = math.inf
                if p.seconds is not None:
                    with self._lock:
                        self._probes.remove(p)
                        self.done.append(p)
        if self._conn is not None:
            self._conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


# -- one week ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeekOptions:
    span_s: float = WEEK_S  # simulated
    wall_s: float = 75.0  # the span passes in this many wall seconds
    parcels: int = 250
    seed: int = 1
    heartbeat_s: float = HEALTH_EVERY_S  # as ``kiosk simulate``
    households: int = 24

    @property
    def speed(self) -> float:
        return self.span_s / self.wall_s


@dataclass
class Audit:
    wrong_household: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)

    @property
    def wrong(self) -> list[str]:
        return self.wrong_household + self.lost + self.duplicated + self.stuck


@dataclass
class WeekResult:
    faults: dict[str, int]
    deposited: int
    collected: int
    returned: int
    events: int
    events_lost: list[int]
    events_duplicated: int
    audit: Audit
    out_of_service: list[str]
    recovery: dict[str, list[float]]
    refusals: dict[str, int]
    board_offline_events: int
    interrupted: int  # recoveries not measured: the part went away again first

    @property
    def handled(self) -> int:
        return self.deposited


def audit_parcels(rows: list[dict[str, Any]], inside: dict[tuple[int, int], Item],
                  taken: list[Item], anomalies: list[str],
                  collected_events: dict[int, int]) -> Audit:
    """The database (``rows``: every parcel with its compartment's board and lock) against
    the physical world. ``collected_events``: parcel -> how many pickup or return events
    the collector received for it."""
    a = Audit()
    for note in anomalies:
        (a.duplicated if note.startswith("duplicated") else a.lost).append(note)
    parcels = {r["id"]: r for r in rows}
    for item in taken:
        p = parcels.get(item.parcel)
        state = p["state"] if p else None
        if item.taken_by is None:
            a.lost.append(f"parcel {item.parcel} taken out by nobody known")
        elif item.taken_by == "courier":
            if state != "returned":
                a.lost.append(f"parcel {item.parcel} returned by the courier; database: {state}")
        elif item.taken_by != item.label:
            a.wrong_household.append(f"parcel {item.parcel} for {item.label} taken by "
                                     f"{item.taken_by}")
        elif state != "collected":
            a.lost.append(f"parcel {item.parcel} collected; database: {state}")
    for (board, lock), item in inside.items():
        p = parcels.get(item.parcel)
        if p is not None and p["state"] in STUCK:
            continue  # counted once, as stuck, below
        if p is None or p["state"] not in HOLDING or (p["board"], p["lock"]) != (board, lock):
            where = f"{p['state']} at {p['board']}/{p['lock']}" if p else "no such parcel"
            a.lost.append(f"parcel {item.parcel} is in {board}/{lock}; database: {where}")
    for p in rows:
        here = inside.get((p["board"], p["lock"]))
        if p["state"] in HOLDING and (here is None or here.parcel != p["id"]):
            a.lost.append(f"database holds parcel {p['id']} in {p['board']}/{p['lock']}; "
                          "the compartment does not")
        if p["state"] in STUCK:
            a.stuck.append(f"parcel {p['id']} {p['state']}")
    for parcel, n in collected_events.items():
        if n > 1:
            a.duplicated.append(f"parcel {parcel} handed over {n} times (events)")
    return a


def lost_seqs(last_seq: int, received: list[int]) -> list[int]:
    """Seqs 1..last_seq the collector never received (duplicates are not losses)."""
    return sorted(set(range(1, last_seq + 1)) - set(received))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Week:
    """One simulated week on its own broker, cabinet and data directory."""

    def __init__(self, options: WeekOptions, faults: list[Fault], workdir: Path,
                 log: Callable[[str], None] = lambda s: None):
        self.o = options
        self.faults = faults
        self.workdir = workdir
        self.say = log
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data / "kiosk.db"
        self.broker = Mosquitto(workdir / "broker")
        self.sim = Simulation(SimulationOptions(
            host=self.broker.host, port=self.broker.port, data=str(self.data),
            parcels=options.parcels, seed=options.seed, households=options.households,
            # The phones' notifier: its back-off (1 s doubling to this) is in wall time,
            # while the residents live in the fast clock's hours.
            reconnect_max_s=1))
        self.kiosk: Kiosk | None = None
        self.kiosk_generation = 0
        self.collecting = False
        self.silent: dict[int, int] = dict.fromkeys(BOARDS, 0)  # overlapping outages
        self.unplugged = 0
        self.broker_down = 0
        self.observer = Observer(self.db_path)

    # -- composing, as ``kiosk simulate`` does ----------------------------------------------

    def config(self, port: str) -> Config:
        config = self.sim.kiosk_config(port)
        return dataclasses.replace(
            config,
            board=dataclasses.replace(config.board, heartbeat_s=self.o.heartbeat_s),
            lockers=dataclasses.replace(config.lockers, overdue_days=OVERDUE_DAYS,
                                        return_after_days=RETURN_AFTER_DAYS))

    def compose(self, config: Config, cabinet: Cabinet, gate: threading.Event,
                clock: FastClock) -> Kiosk:
        # As Simulation.compose, with the fast clock, and without closing the cabinet with
        # the kiosk: the physical boards outlive a restart of the kiosk.
        # The driver exactly as ``kiosk run`` opens it (its reopen back-off included).
        bus = open_board(config)
        kiosk = compose(config, Devices(bus, uplink_gate=gate, closers=[bus.close]),
                        store=open_kiosk_store(self.db_path), clock=clock)
        kiosk.start()
        # Domain work keeps the core's time: checked every five simulated minutes.
        kiosk.scheduler.every("reminders", max(0.2, reminders.CHECK_EVERY_S / clock.speed))
        service = kiosk.lockers
        self.courier = service.add_courier("sim-courier", COURIER_PIN, pseudonym="c-sim")
        for unit in self.sim.units:
            service.add_household(unit, pseudonym=pseudonym(unit))
        self.kiosk_generation += 1
        return kiosk

    # -- what the probes read ------------------------------------------------------------

    def _board_up(self, board: int) -> bool:
        return not self.silent[board] and not self.unplugged

    def _in_service(self, boards: list[int]) -> bool:
        if not boards:
            return True
        marks = ", ".join("?" for _ in boards)
        row = self.observer.db().execute(
            f"SELECT COUNT(*) FROM compartments WHERE board IN ({marks}) "
            "AND fault = 'board_offline'", boards).fetchone()
        return row[0] == 0

    def _poll_after(self) -> Callable[[], bool]:
        """True once a health poll that began after now has run to its end."""
        kiosk, generation = self.kiosk, self.kiosk_generation
        start = kiosk.scheduler.runs("health") if kiosk is not None else 0

        def settled() -> bool:
            k = self.kiosk
            if k is None:
                return False
            if self.kiosk_generation != generation:
                return k.scheduler.runs("health") >= 1
            return k.scheduler.runs("health") >= start + 2
        return settled

    def _probe_boards(self, kind: str, boards: list[int]) -> None:
        self.observer.add(Probe(kind, f"{kind} {boards} at {self._clock.sim_s() / HOUR_S:.1f} h",
                                time.monotonic(), lambda: self._in_service(boards),
                                self._poll_after(), boards=tuple(boards)))

    def _probe_broker(self) -> None:
        assert self.kiosk is not None
        waiting = self.kiosk.store.scalar("SELECT MIN(seq) FROM events WHERE published = 0")

        def acked() -> bool:
            if waiting is None:  # nothing waited: the uplink connected is the first sign
                k = self.kiosk
                return k is not None and publisher_of(k).uplink().connected
            row = self.observer.db().execute("SELECT published FROM events WHERE seq = ?",
                                             (waiting,)).fetchone()
            return bool(row and row[0])
        self.observer.add(Probe("broker", f"broker (seq {waiting} waiting)", time.monotonic(),
                                acked, lambda: True))

    def _probe_ready(self, t0: float) -> None:
        generation = self.kiosk_generation

        def ready() -> bool:
            k = self.kiosk
            if k is None or self.kiosk_generation != generation:
                return False
            if k.scheduler.runs("health") < 1:
                return False
            if not self.broker_down and not publisher_of(k).uplink().connected:
                return False
            return self._in_service([b for b in BOARDS if self._board_up(b)])
        self.observer.add(Probe("restart", "restart", t0, ready, lambda: True))

    # -- faults --------------------------------------------------------------------------

    def _begin(self, f: Fault, cabinet: Cabinet) -> None:
        self.say(f"  t+{f.at_s / HOUR_S:6.1f} h (at {self._clock.sim_s() / HOUR_S:6.1f} h) "
                 f"{f.kind}"
                 + (f" {f.board}" if f.board is not None else "")
                 + (f" down {f.down_s:.1f} s" if f.down_s else ""))
        if f.kind == "board":
            assert f.board is not None
            self.silent[f.board] += 1
            cabinet.set_silent(f.board, True)
            for kind in ("board", "replug"):
                self.observer.cancel(kind, f.board)
        elif f.kind == "replug":
            self.unplugged += 1
            if self.unplugged == 1:
                cabinet.unplug()
                self.observer.cancel("board")
                self.observer.cancel("replug")
        elif f.kind == "broker":
            self.broker_down += 1
            if self.broker_down == 1:
                self.broker.stop()
                self.observer.cancel("broker")
        elif f.kind == "restart":
            self._restart(cabinet)

    def _end(self, f: Fault, cabinet: Cabinet) -> None:
        if f.kind == "board":
            assert f.board is not None
            self.silent[f.board] -= 1
            if not self.silent[f.board]:
                cabinet.set_silent(f.board, False)
                if self._board_up(f.board):
                    self._probe_boards("board", [f.board])
        elif f.kind == "replug":
            self.unplugged -= 1
            if not self.unplugged:
                self.say("  replugged")
                cabinet.replug()
                self._probe_boards("replug", [b for b in BOARDS if self._board_up(b)])
        elif f.kind == "broker":
            self.broker_down -= 1
            if not self.broker_down:
                self.broker.start()
                self._probe_broker()

    def _restart(self, cabinet: Cabinet) -> None:
        assert self.kiosk is not None
        self.kiosk.close()
        self.kiosk = None
        t0 = time.monotonic()
        self.kiosk = self.compose(self._config, cabinet, self._gate, self._clock)
        self._probe_ready(t0)

    # -- the week ------------------------------------------------------------------------

    def run(self) -> WeekResult:
        if mosquitto_binary() is None:
            raise RuntimeError("mosquitto is not installed")
        self.broker.start()
        cabinet = Cabinet(BOARDS, seed=self.o.seed, link=self.workdir / "usb-rs485")
        cabinet.start()
        clock = self._clock = FastClock(self.o.speed)
        config = self._config = self.config(cabinet.port)
        c, k = config.community_id, config.kiosk_id
        collector = Collector(self.broker.port, [topics.events_of(c)],
                              client_id=f"soak-collector-{k}", clean_session=False)
        phones = Residents(self.data / "phones.db", clock, self.o.seed + 1)
        self._gate = threading.Event()
        # The community's notifier (notify/), delivering to the residents' phones.
        notifier = start_notifier(config.mqtt, c, self.data, phones, self.sim.units)
        try:
            collector.wait_subscribed()
            if not notifier.ready.wait(10):
                raise RuntimeError("the notifier did not subscribe")
            self._gate.set()
            clock.reset()  # the week starts now
            self.kiosk = self.compose(config, cabinet, self._gate, clock)
            cabinet.labels = self._label
            cabinet.taker = lambda: "courier" if self.collecting else phones.at_screen
            self.observer.start()
            self._people(cabinet, phones, clock)
            return self._finish(cabinet, collector, phones)
        finally:
            self.observer.stop()
            notifier.stop()
            notifier.store.close()
            collector.stop()
            if self.kiosk is not None:
                self.kiosk.close()
            phones.store.close()
            cabinet.close()
            self.broker.stop()

    def _label(self, board: int, lock: int) -> tuple[int, str] | None:
        assert self.kiosk is not None
        rows = self.kiosk.store.query(
            "SELECT p.id, p.household FROM parcels p JOIN compartments c "
            "ON c.id = p.compartment WHERE c.board = ? AND c.lock = ? "
            "AND p.state = 'deposit_pending'", (board, lock))
        return (int(rows[0]["id"]), str(rows[0]["household"])) if len(rows) == 1 else None

    def _people(self, cabinet: Cabinet, phones: Residents, clock: FastClock) -> None:
        rng = random.Random(self.o.seed)
        arrivals = sorted(rng.uniform(0, 0.9 * self.o.span_s) for _ in range(self.o.parcels))
        # Fault transitions on the wall clock: (when, begin?, fault).
        timeline = sorted(
            [(clock.wall_at(f.at_s), True, i) for i, f in enumerate(self.faults)]
            + [(clock.wall_at(f.at_s) + f.down_s, False, i)
               for i, f in enumerate(self.faults) if f.kind != "restart"])
        end_wall = clock.wall_at(self.o.span_s)
        next_deposit_s = 0.0
        next_round_s = COURIER_ROUND_S / 4  # the first return round at 06:00
        pickups_from = 0.0
        next_day_s = 86400.0
        while time.monotonic() < end_wall or timeline:
            while timeline and timeline[0][0] <= time.monotonic():
                _, begin, i = timeline.pop(0)
                (self._begin if begin else self._end)(self.faults[i], cabinet)
            assert self.kiosk is not None
            service = self.kiosk.lockers
            now = clock.sim_s()
            busy = False
            deposited = service.store.scalar(
                "SELECT COUNT(*) FROM parcels WHERE state != 'cancelled' AND outgoing = 0")
            if now >= next_day_s:
                next_day_s += 86400.0
                self.say(f"  day {now / 86400:.0f}: {deposited} deposited, "
                         f"{service.outbox.last_seq()} events")
            if (deposited < len(arrivals) and now >= arrivals[deposited]
                    and now >= next_deposit_s):
                busy = True
                if not self.sim._deposit(service, self.courier, cabinet, deposited):
                    next_deposit_s = now + DEPOSIT_RETRY_S
            if now >= next_round_s:
                next_round_s = now + COURIER_ROUND_S
                self._collect_returns(service, self.courier, cabinet)
            if time.monotonic() >= pickups_from:
                try:
                    busy |= self.sim._pickups(service, cabinet, phones)
                except TooManyAttempts as exc:
                    pickups_from = time.monotonic() + exc.wait_s / clock.speed
            if not busy:
                time.sleep(0.005)

    def _collect_returns(self, service: Any, courier: Courier, cabinet: Cabinet) -> None:
        self.collecting = True
        try:
            result = service.collect(courier)
            for comp in result.opened:
                cabinet.take_item(comp.board, comp.lock)
                cabinet.shut(comp.board, comp.lock)
        finally:
            self.collecting = False

    def _finish(self, cabinet: Cabinet, collector: Collector,
                phones: Residents) -> WeekResult:
        kiosk = self.kiosk
        assert kiosk is not None
        outbox = kiosk.outbox
        drained = wait_until(lambda: not outbox.pending(limit=1)
                             and not outbox.pending_notifications(limit=1), SETTLE_S)
        last = outbox.last_seq()
        complete = wait_until(lambda: not lost_seqs(last, collector.event_seqs()), SETTLE_S)
        self.say(f"  end: outbox {'drained' if drained else 'NOT drained'}, collector "
                 f"{'complete' if complete else 'NOT complete'} up to seq {last}")
        # Every part answers now: two more polls, then nothing may be out of service.
        runs = kiosk.scheduler.runs("health")
        wait_until(lambda: kiosk.scheduler.runs("health") >= runs + 2, SETTLE_S)
        wait_until(lambda: self.observer.open() == 0, PROBE_GIVE_UP_S + 5)
        out = [f"{r['id']} ({r['fault'] or 'out of service'})" for r in kiosk.store.query(
            "SELECT id, fault FROM compartments WHERE fault IS NOT NULL OR in_service = 0 "
            "ORDER BY id")]
        rows = kiosk.store.query(
            "SELECT p.id, p.household, p.state, c.board, c.lock FROM parcels p "
            "JOIN compartments c ON c.id = p.compartment WHERE p.state != 'cancelled'")
        seqs = collector.event_seqs()
        handed: dict[int, int] = {}
        seen: set[int] = set()
        types: dict[str, int] = {}
        for m in collector.messages():
            where = topics.parse(m.topic)
            if where is None or where.kind != "event":
                continue
            e = m.json()
            if e["seq"] in seen:
                continue
            seen.add(e["seq"])
            types[e["type"]] = types.get(e["type"], 0) + 1
            if e["type"] in ("locker.full", "locker.unavailable"):
                self.say(f"  {e['type']}: {e['data']}")
            if e["type"] in ("parcel.collected", "parcel.returned"):
                parcel = int(e["data"]["parcel"])
                handed[parcel] = handed.get(parcel, 0) + 1
        inside, taken, anomalies = cabinet.items()
        recovery: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for p in self.observer.done:
            assert p.seconds is not None
            recovery[p.kind].append(p.seconds)
            self.say(f"  recovered: {p.label}: {p.seconds:.2f} s")
        for p in self.observer.interrupted:
            self.say(f"  not measured: {p.label}: down again before it was back")
        unaware = [r["household"] for r in kiosk.store.query(
            "SELECT DISTINCT household FROM parcels WHERE state = 'stored'")
            if not any(u == r["household"] for u in Phones.units(phones))]
        self.say(f"  households with a parcel and no code on their phone: {unaware}")
        states = [r["state"] for r in rows]
        return WeekResult(
            faults={kind: sum(1 for f in self.faults if f.kind == kind) for kind in KINDS},
            deposited=len(rows), collected=states.count("collected"),
            returned=states.count("returned"), events=last,
            events_lost=lost_seqs(last, seqs), events_duplicated=len(seqs) - len(set(seqs)),
            audit=audit_parcels(rows, inside, taken, anomalies, handed),
            out_of_service=out, recovery=recovery,
            refusals={"full": types.get("locker.full", 0),
                      "out of order": types.get("locker.unavailable", 0)},
            board_offline_events=types.get("board.offline", 0),
            interrupted=len(self.observer.interrupted))


# -- the table ---------------------------------------------------------------------------------

def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {max(values):.2f} s ({len(values)})"


def table(o: WeekOptions, base: WeekResult, faulty: WeekResult) -> str:
    rows: list[tuple[str, str, str]] = [
        ("faults (board/replug/broker/restart)",
         "/".join(str(base.faults[k]) for k in KINDS),
         "/".join(str(faulty.faults[k]) for k in KINDS)),
        ("parcels handled (deposited)", str(base.handled), str(faulty.handled)),
        ("  collected / returned", f"{base.collected} / {base.returned}",
         f"{faulty.collected} / {faulty.returned}"),
        ("  couriers told full / out of order",
         f"{base.refusals['full']} / {base.refusals['out of order']}",
         f"{faulty.refusals['full']} / {faulty.refusals['out of order']}"),
        ("events (seq)", str(base.events), str(faulty.events)),
        ("events lost", str(len(base.events_lost)), str(len(faulty.events_lost))),
        ("  delivered twice (QoS 1, deduped)", str(base.events_duplicated),
         str(faulty.events_duplicated)),
        ("parcels wrong", str(len(base.audit.wrong)), str(len(faulty.audit.wrong))),
        ("  other household / lost / dup / stuck",
         "/".join(str(len(x)) for x in (base.audit.wrong_household, base.audit.lost,
                                        base.audit.duplicated, base.audit.stuck)),
         "/".join(str(len(x)) for x in (faulty.audit.wrong_household, faulty.audit.lost,
                                        faulty.audit.duplicated, faulty.audit.stuck))),
        ("compartments wrongly out of service", str(len(base.out_of_service)),
         str(len(faulty.out_of_service))),
        ("board.offline events", str(base.board_offline_events),
         str(faulty.board_offline_events)),
        ("recovery p50 / max (n): board back", spread(base.recovery["board"]),
         spread(faulty.recovery["board"])),
        ("  adapter replugged", spread(base.recovery["replug"]),
         spread(faulty.recovery["replug"])),
        ("  broker back -> event acked", spread(base.recovery["broker"]),
         spread(faulty.recovery["broker"])),
        ("  kiosk restarted -> ready", spread(base.recovery["restart"]),
         spread(faulty.recovery["restart"])),
        ("  not measured (down again first)", str(base.interrupted), str(faulty.interrupted)),
    ]
    w = max(len(r[0]) for r in rows)
    out = [f"soak: {o.span_s / 86400:g} simulated days in {o.wall_s:g} s "
           f"(x{o.speed:.0f}), heartbeat {o.heartbeat_s:g} s, seed {o.seed}, "
           f"{o.parcels} parcels",
           f"{'':{w}}  {'baseline':>22}  {'with faults':>22}"]
    out += [f"{a:{w}}  {b:>22}  {c:>22}" for a, b, c in rows]
    return "\n".join(out)


def verdict(o: WeekOptions, faulty: WeekResult) -> tuple[bool, list[str]]:
    """The goal line: nothing lost or wrong, all back in service, every recovery within
    one heartbeat (a restart: ready within one heartbeat of starting)."""
    problems = []
    if faulty.events_lost:
        problems.append(f"events lost: {faulty.events_lost[:10]}")
    problems += faulty.audit.wrong[:10]
    if faulty.out_of_service:
        problems.append(f"out of service at the end: {', '.join(faulty.out_of_service)}")
    for kind, values in faulty.recovery.items():
        late = [v for v in values if v > o.heartbeat_s]
        if late:
            problems.append(f"{kind}: {len(late)} of {len(values)} recoveries over one "
                            f"heartbeat (max {max(late):.2f} s)")
    return not problems, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.25,
                        help="wall minutes each simulated week takes (two weeks run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--parcels", type=int, default=250, help="parcels in the week")
    parser.add_argument("--heartbeat", type=float, default=HEALTH_EVERY_S,
                        help="[board] heartbeat_s (default: as kiosk simulate)")
    parser.add_argument("--no-replugs", dest="replugs", action="store_false",
                        help="leave out the serial replugs")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the faults")
    args = parser.parse_args(argv)
    # The kiosk logs each outage it meets; with -v they go to stderr with the faults.
    # With -v every line carries the wall seconds since the start, to line a recovery up
    # with what the kiosk logged meanwhile.
    started = time.time()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL,
                        format="%(wall)9.3f     %(name)s: %(message)s")
    old_factory = logging.getLogRecordFactory()

    def record(*a: Any, **k: Any) -> logging.LogRecord:
        r = old_factory(*a, **k)
        r.wall = r.created - started
        return r
    logging.setLogRecordFactory(record)
    if mosquitto_binary() is None:
        print("bench_soak: mosquitto is not installed", file=sys.stderr)
        return 2
    o = WeekOptions(wall_s=args.minutes * 60, parcels=args.parcels, seed=args.seed,
                    heartbeat_s=args.heartbeat)
    counts = dict(FAULTS_PER_WEEK)
    if not args.replugs:
        counts["replug"] = 0
    faults = fault_schedule(random.Random(args.seed), o.span_s, o.speed, counts)

    def say(s: str) -> None:
        if args.verbose:
            print(f"{time.time() - started:9.3f} {s}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        print("bench_soak: the week without faults ...", file=sys.stderr, flush=True)
        base = Week(o, [], Path(tmp) / "baseline", say).run()
        print("bench_soak: the same week with faults ...", file=sys.stderr, flush=True)
        faulty = Week(o, faults, Path(tmp) / "faults", say).run()
    print(table(o, base, faulty))
    ok, problems = verdict(o, faulty)
    print("goal (nothing lost or wrong, all back in service, recovery <= one heartbeat): "
          + ("met" if ok else "NOT met"))
    for p in problems:
        print(f"  {p}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
