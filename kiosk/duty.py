"""The maintainers' duty roster: volunteers take turns, fairly, and the roster is public.

Duty is a burden shared out by the kiosk's fair rotation (``kiosk/rotation.py``), the rule
the parking draw uses too: each shift is a turn with ``maintainers_per_shift`` places, the
volunteers available for it stand, and those who have carried least duty so far relative
to their share are chosen; ties go by a seed anyone can recompute from the published
roster inputs. An on-duty PIN opens the maintenance screen only during its holder's shift.

Who acts is named, then their PIN is checked for that name alone (``login`` at the screen,
``authenticate`` for the command line): wrong PINs are counted per maintainer
(``duty:{pseudonym}``) and per role (``role:{name}``) under one kiosk-wide cap
(``backoff.Guard``, ``[duty]`` settings), so a flood against one maintainer never locks
out another, and two people may hold the same PIN without either learning it.

Refusals are ``DutyError``s; ``reason`` is one of: ``pin_too_short``, ``volunteer_exists``,
``unknown_actor`` (no volunteer or role of that name), ``no_volunteers``,
``no_volunteer``, ``roster_closed`` (who stands is fixed while an announced random value
waits: saying one is away, registering and retiring a volunteer are refused),
``not_announced``, ``announced``,
``bad_source``, ``bad_public_random``, ``role_exists``, ``not_authenticated``,
``not_on_duty`` (a handover by someone not on duty, or a login by name outside its shift,
told before any PIN is looked at: ``NotOnDuty``), ``cannot_take_over``, ``wrong_duty_pin``
(``WrongDutyPin``), ``short_pin`` (``ShortDutyPin``: shorter than any PIN set now,
kiosk/pins.py; not counted). A wrong PIN's refusal carries ``wait_s``.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from kiosk import backoff, pins, rotation
from kiosk.audit import AuditLog
from kiosk.codes import keyed_hash
from kiosk.config import Config, ConfigError, between, out_of_range, range_of, show
from kiosk.events import Clock, Outbox, iso, parse_iso, utc_now
from kiosk.refusals import Refusal
from kiosk.rotation import Memory
from kiosk.store import Migration, Store

# Duty's one pool in the rotation. The first rosters were drawn under this name, and the
# tie-break seed is taken over it: another name would draw other people.
POOL = "standard"


class DutyError(Refusal):
    """Something the person at the screen is told; nothing was changed."""

    default_reason = "duty"


class WrongDutyPin(DutyError):
    """Not the PIN of the name given. ``wait_s``: the wait this failure earned."""

    default_reason = "wrong_duty_pin"

    def __init__(self, wait_s: float = 0.0):
        super().__init__("wrong PIN", wait_s=wait_s)


class ShortDutyPin(WrongDutyPin):
    """Shorter than any PIN set now (kiosk/pins.py): refused before any lookup, and not
    counted (``short_pin``)."""

    default_reason = "short_pin"

    def __init__(self) -> None:
        DutyError.__init__(self, pins.short_message(), digits=pins.MIN_DIGITS)


class NotOnDuty(DutyError):
    """The name given is not on the shift now. Said before any PIN is looked at and not
    counted: it tells only what the public roster says."""

    default_reason = "not_on_duty"

    def __init__(self, wait_s: float = 0.0):
        super().__init__("you are not on duty now; the roster says who is", wait_s=wait_s)


@dataclass(frozen=True)
class DutySettings:
    shift_hours: int = dataclasses.field(default=168,  # a week
                                         metadata=between(1, 8784, "hours"))  # to a year
    maintainers_per_shift: int = dataclasses.field(default=1, metadata=between(1, 100))
    # Wrong PINs for one maintainer (or role) before the kiosk waits; each further one
    # doubles the wait, up to backoff_max_s. The bounds are [lockers]' own.
    free_attempts: int = dataclasses.field(default=3, metadata=between(1, 100))
    backoff_base_s: float = dataclasses.field(default=5.0, metadata=between(0.1, 3600, "s"))
    backoff_max_s: float = dataclasses.field(default=600.0,
                                             metadata=between(0.1, 86400, "s"))
    # Wrong PINs for all maintainers and roles together: this many at once, then one each
    # kiosk_gap_s. At most 10 s: a flood against one maintainer keeps another waiting no
    # longer than that.
    kiosk_burst: int = dataclasses.field(default=10, metadata=between(1, 100))
    kiosk_gap_s: float = dataclasses.field(default=10.0, metadata=between(0.1, 10, "s"))

    @classmethod
    def from_config(cls, config: Config) -> DutySettings:
        known = {f.name: f for f in dataclasses.fields(cls)}
        problems = []
        values: dict[str, Any] = {}
        for key, value in config.duty.items():
            f = known.get(key)
            if f is None:
                problems.append(f"{config.source}: duty.{key}: unknown key "
                                f"(known: {', '.join(sorted(known))})")
                continue
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if f.type in (float, "float"):
                if not number:
                    problems.append(f"{config.source}: duty.{key}: expected a number, got "
                                    f"{show(value)}")
                    continue
                value = float(value) if isinstance(value, int) else value
            elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{config.source}: duty.{key}: expected a whole number of "
                                f"at least 1, got {show(value)}")
                continue
            if (bounds := range_of(f)) and (why := out_of_range(value, bounds)):
                problems.append(f"{config.source}: duty.{key}: {why}")
                continue
            values[key] = value
        settings = cls(**values) if not problems else None
        if settings is not None and settings.backoff_max_s < settings.backoff_base_s:
            problems.append(f"{config.source}: duty.backoff_max_s: must be at least "
                            "backoff_base_s")
        if problems or settings is None:
            raise ConfigError(problems)
        return settings


@dataclass(frozen=True)
class Shift:
    start: str
    end: str
    maintainers: tuple[str, ...]
    seed_inputs: dict[str, str]
    # Who stood for the shift (the eligible list whose hash is ``seed_inputs``'
    # ``eligible_hash``), by name; None for shifts planned before it was kept.
    standing: tuple[str, ...] | None = None
    places: int | None = None  # maintainer places the shift was drawn for


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE volunteers (
            pseudonym TEXT PRIMARY KEY,
            pin_hash TEXT NOT NULL UNIQUE,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("""
        CREATE TABLE duty_unavailable (
            pseudonym TEXT NOT NULL,
            shift_start TEXT NOT NULL,
            PRIMARY KEY (pseudonym, shift_start)
        )""")
    db.execute("""
        CREATE TABLE shifts (
            start TEXT PRIMARY KEY,
            end TEXT NOT NULL,
            maintainers TEXT NOT NULL,
            seed_inputs TEXT NOT NULL,
            memory TEXT NOT NULL
        )""")


def _v2(db: sqlite_utils.Database) -> None:
    # Roles the assembly set up (a chair, a treasurer…): a PIN that may act at any time,
    # audited under ``role:{name}``. Random-value sources announced before a roster.
    db.execute("""
        CREATE TABLE duty_roles (
            name TEXT PRIMARY KEY,
            pin_hash TEXT NOT NULL UNIQUE,
            active INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("""
        CREATE TABLE duty_announcements (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL,
            announced_ts TEXT NOT NULL,
            used INTEGER NOT NULL DEFAULT 0
        )""")


def _v3(db: sqlite_utils.Database) -> None:
    # A PIN is checked only for the name typed with it (``login``, ``authenticate``), so
    # two people may choose the same one: the old UNIQUE made choosing a PIN someone else
    # held fail, telling that it exists. SQLite drops a UNIQUE only by rebuilding the
    # table (create, copy, drop, rename; foreign keys are off meanwhile, kiosk/store.py).
    for table, key in (("volunteers", "pseudonym"), ("duty_roles", "name")):
        db.execute(f"""
            CREATE TABLE {table}_v3 (
                {key} TEXT PRIMARY KEY,
                pin_hash TEXT NOT NULL,
                active INTEGER NOT NULL DEFAULT 1
            )""")
        db.execute(f"INSERT INTO {table}_v3 ({key}, pin_hash, active) "
                   f"SELECT {key}, pin_hash, active FROM {table}")
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE {table}_v3 RENAME TO {table}")


def _v4(db: sqlite_utils.Database) -> None:
    # Who stood for each shift, published with the roster so anyone can recompute it (the
    # hash alone let nobody), and the places the shift was drawn for
    # (``maintainers_per_shift`` then, a setting that can change between rosters).
    db.execute("ALTER TABLE shifts ADD COLUMN standing TEXT")
    db.execute("ALTER TABLE shifts ADD COLUMN places INTEGER")
    # Shifts planned before: the memory after a shift marks everyone who stood in it (their
    # last turn stood is its turn), so the list is rebuilt from it; anyone can hold it
    # against the published ``eligible_hash``. The places stay unknown (NULL).
    for start, memory in db.execute("SELECT start, memory FROM shifts").fetchall():
        data = json.loads(memory)
        stood = sorted(c for c, standing in data["types"].get(POOL, {}).items()
                       if standing[2] == data["round_no"])
        db.execute("UPDATE shifts SET standing = ? WHERE start = ?",
                   (json.dumps(stood), start))


MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4]

# A name typed with a PIN (``$KIOSK_ACTOR``) is counted under this many characters at
# most: a long name cannot make a long key, and no pseudonym or role is longer.
MAX_NAME = 64


class DutyRoster:
    def __init__(self, store: Store, outbox: Outbox, audit: AuditLog, secret: str,
                 settings: DutySettings, clock: Clock = utc_now):
        self.store = store
        self.outbox = outbox
        self.audit = audit
        self.secret = secret
        self.settings = settings
        self.clock = clock
        self.policy = backoff.BackoffPolicy(settings.free_attempts, settings.backoff_base_s,
                                            settings.backoff_max_s)
        # Wrong PINs of every maintainer and role together: at most ``kiosk_gap_s`` (10 s)
        # of wait for anyone from a flood against someone else.
        self.guard = backoff.Guard(self.policy,
                                   backoff.RateCap(settings.kiosk_burst, settings.kiosk_gap_s))

    # --- volunteers ---------------------------------------------------------------------

    def register(self, actor: str, pseudonym: str, pin: str, reason: str) -> None:
        """A new volunteer stands from the next roster. Refused while a roster's random
        source is announced and not yet used (``roster_closed``): who stands is fixed
        before the random value can be known, or adding someone could steer the draw."""
        if problem := pins.problem(pin, "an on-duty PIN"):
            raise DutyError(problem, reason="pin_too_short")
        with self.store.step() as db:
            self._refuse_while_announced(db)
            if db.table("volunteers").count_where("pseudonym = ?", [pseudonym]):
                raise DutyError(f"{pseudonym} is already a volunteer",
                                reason="volunteer_exists")
            # Any PIN, even one someone else holds: it is only ever checked with its
            # name, and refusing it would tell whose it could be.
            db.table("volunteers").insert({"pseudonym": pseudonym,
                                           "pin_hash": self._pin_hash(pin)})
            self.audit.append(db, actor, "duty.volunteer_added", pseudonym, reason)

    def retire(self, actor: str, pseudonym: str, reason: str) -> None:
        """The volunteer stands no more. Refused while an announced random value waits
        (``roster_closed``), as ``register``."""
        with self.store.step() as db:
            self._refuse_while_announced(db)
            db.execute("UPDATE volunteers SET active = 0 WHERE pseudonym = ?", (pseudonym,))
            self.audit.append(db, actor, "duty.volunteer_retired", pseudonym, reason)

    def unavailable(self, pseudonym: str, shift_start: datetime, actor: str | None = None,
                    reason: str = "away for the shift") -> None:
        """A volunteer will be away for the shift starting then: they do not ask for it.
        Audited (``duty.away``): who stands changes who is drawn. Refused once a source
        of the roster's random value is announced and not yet used (``roster_closed``):
        the list of who stands is fixed before the random value can be known."""
        with self.store.step() as db:
            self._refuse_while_announced(db)
            if not db.table("volunteers").count_where("pseudonym = ?", [pseudonym]):
                raise DutyError(f"no volunteer {pseudonym}", reason="no_volunteer")
            db.table("duty_unavailable").upsert(
                {"pseudonym": pseudonym, "shift_start": iso(shift_start)},
                pk=("pseudonym", "shift_start"))
            self.audit.append(db, actor or pseudonym, "duty.away", pseudonym, reason,
                              {"shift": iso(shift_start)})

    # --- who acts -----------------------------------------------------------------------

    def add_role(self, actor: str | None, name: str, pin: str, reason: str) -> str:
        """A role the assembly set up. ``actor`` None: only for the very first role of a
        kiosk with no volunteer yet (set-up), audited as ``assembly``."""
        if problem := pins.problem(pin, "a role's PIN"):
            raise DutyError(problem, reason="pin_too_short")
        with self.store.step() as db:
            if actor is None and (db.table("duty_roles").count
                                  or db.table("volunteers").count):
                raise DutyError("only the first role is set up without a PIN; give the PIN "
                                "of a role or of the maintainer on duty",
                                reason="not_authenticated")
            # sqlite-utils raises sqlite3's own error (it has no IntegrityError of its own).
            # Only the name is unique: a PIN is checked with its role's name.
            try:
                db.table("duty_roles").insert({"name": name,
                                               "pin_hash": self._role_hash(pin)})
            except sqlite3.IntegrityError:
                raise DutyError(f"the role {name} exists", reason="role_exists") from None
            self.audit.append(db, actor or "assembly", "duty.role_added", f"role:{name}",
                              reason, {"set_up": actor is None})
        return f"role:{name}"

    def authenticate(self, actor: str, pin: str, self_service: str | None = None) -> str:
        """Who acts at the command line (``$KIOSK_ACTOR``, ``$KIOSK_PIN``): ``role:{name}``
        (or a bare role name no volunteer has) with the role's PIN, at any time; else a
        volunteer's pseudonym with their PIN while they are on duty, or at any time when
        they act for themselves (``self_service``: saying they are away). Returns the
        actor for the audit chain. A name nobody has (``unknown_actor``) and a volunteer
        off duty (``NotOnDuty``) are refused before the PIN is looked at; a wrong PIN
        counts for that name (``WrongDutyPin``, ``TooManyAttempts``)."""
        actor = actor.strip()
        role = actor.removeprefix("role:") if actor.startswith("role:") else None
        if role is None and actor not in self._all_volunteers():
            role = actor  # a bare role name
        if role is not None:
            if not self.store.query("SELECT 1 FROM duty_roles WHERE name = ? AND active = 1",
                                    (role,)):
                raise DutyError(f"no volunteer or role {actor}", reason="unknown_actor")
            _not_short(pin)
            self._check(f"role:{role}", "SELECT 1 FROM duty_roles WHERE name = ? AND "
                        "pin_hash = ? AND active = 1", (role, self._role_hash(pin.strip())))
            return f"role:{role}"
        if actor != self_service:
            self._on_duty_now(actor)
        _not_short(pin)
        self._check(f"duty:{actor}", "SELECT 1 FROM volunteers WHERE pseudonym = ? AND "
                    "pin_hash = ? AND active = 1", (actor, self._pin_hash(pin.strip())))
        return actor

    def announce(self, actor: str, source: str, reason: str) -> dict[str, Any]:
        """Name, in public, where the next roster's random value will come from (a
        lottery's draw of a given date…), before it is known. From now until that roster
        is planned, who is away can no longer change."""
        source = source.strip()
        if not source or len(source) > 256 or "\n" in source:
            raise DutyError("the source is one line of 1-256 characters", reason="bad_source")
        now = iso(self.clock())
        with self.store.step() as db:
            if self._open_announcement(db) is not None:
                raise DutyError("a source is announced already", reason="announced")
            db.execute("INSERT INTO duty_announcements (source, announced_ts) VALUES (?, ?)",
                       (source, now))
            self.audit.append(db, actor, "duty.random_announced", "roster", reason,
                              {"source": source, "announced_at": now})
            self.outbox.append(db, "duty.random_announced",
                               {"source": source, "announced_at": now})
        return {"source": source, "announced_at": now}

    def _refuse_while_announced(self, db: sqlite_utils.Database) -> None:
        if self._open_announcement(db) is not None:
            raise DutyError("a roster's random value is announced: availability is fixed "
                            "until it is drawn", reason="roster_closed")

    def _open_announcement(self, db: sqlite_utils.Database) -> tuple[int, str, str] | None:
        row = db.execute("SELECT id, source, announced_ts FROM duty_announcements "
                         "WHERE used = 0 ORDER BY id LIMIT 1").fetchone()
        return (row[0], row[1], row[2]) if row else None

    def volunteers(self) -> list[str]:
        return [r["pseudonym"] for r in self.store.query(
            "SELECT pseudonym FROM volunteers WHERE active = 1 ORDER BY pseudonym")]

    # --- the roster ---------------------------------------------------------------------

    def plan(self, first_start: datetime, shifts: int, public_random: str | None = None,
             actor: str = "kiosk", reason: str = "roster planned") -> list[Shift]:
        """Roster the next ``shifts`` shifts after those already rostered.

        With ``public_random`` (the value from the source announced beforehand, see
        ``announce``) nobody could know the draw when who stands was fixed; each shift's
        public value is then ``{public_random} {shift start}``. Without it the shift's
        start alone is the public value (the first rosters' rule, known in advance)."""
        planned = []
        with self.store.step() as db:
            announced = self._open_announcement(db)
            if public_random is not None:
                public_random = public_random.strip()
                if announced is None:
                    raise DutyError("announce the source of the random value first "
                                    "(kiosk duty announce)", reason="not_announced")
                if not public_random or len(public_random) > 256:
                    raise DutyError("the public random value is 1-256 characters",
                                    reason="bad_public_random")
                db.execute("UPDATE duty_announcements SET used = 1 WHERE id = ?",
                           (announced[0],))
            last = db.execute("SELECT end, memory FROM shifts ORDER BY start DESC LIMIT 1"
                              ).fetchone()
            start = parse_iso(last[0]) if last else first_start
            memory = Memory.from_json(json.loads(last[1])) if last else Memory()
            volunteers = [r[0] for r in db.execute(
                "SELECT pseudonym FROM volunteers WHERE active = 1 ORDER BY pseudonym")]
            if not volunteers:
                raise DutyError("no volunteers yet", reason="no_volunteers")
            for _ in range(shifts):
                end = start + timedelta(hours=self.settings.shift_hours)
                away = {r[0] for r in db.execute(
                    "SELECT pseudonym FROM duty_unavailable WHERE shift_start = ?",
                    (iso(start),))}
                # Away for a shift: not standing, so it neither earns nor costs duty.
                available = [v for v in volunteers if v not in away]
                shift, memory = self._draw(start, end, available, memory, public_random)
                db.table("shifts").insert({"start": shift.start, "end": shift.end,
                                        "maintainers": json.dumps(shift.maintainers),
                                        "seed_inputs": json.dumps(shift.seed_inputs),
                                        "memory": json.dumps(memory.to_json()),
                                        "standing": json.dumps(shift.standing),
                                        "places": shift.places})
                self.outbox.append(db, "duty.rostered", {
                    "start": shift.start, "end": shift.end,
                    "maintainers": list(shift.maintainers), **shift.seed_inputs})
                planned.append(shift)
                start = end
            self.audit.append(db, actor, "duty.planned", "roster", reason, {
                # Who stood, in the chain the witnesses keep: the published roster's
                # list cannot be changed later unseen.
                "shifts": [{"start": s.start, "maintainers": list(s.maintainers),
                            "standing": list(s.standing or ()), **s.seed_inputs}
                           for s in planned],
                "source": announced[1] if public_random is not None and announced else None})
        return planned

    def _draw(self, start: datetime, end: datetime, available: list[str],
              memory: Memory, public_random: str | None = None) -> tuple[Shift, Memory]:
        # The public value: the announced value with the shift's start, or (the first
        # rosters) the start alone. Anyone recomputes the roster from what is published.
        value = iso(start) if public_random is None else f"{public_random} {iso(start)}"
        inputs = {"eligible_hash": rotation.eligible_hash((v, POOL) for v in available),
                  "algorithm": rotation.VERSION, "public_random": value}
        turn = rotation.Turn(memory, rotation.draw_seed(inputs["eligible_hash"],
                                                        rotation.VERSION, value))
        places = self.settings.maintainers_per_shift
        chosen = turn.rank(POOL, available)[:places]
        # What a volunteer was given is the shift itself.
        turn.settle(POOL, available, places, dict.fromkeys(chosen, iso(start)))
        return (Shift(iso(start), iso(end), tuple(sorted(chosen)), inputs,
                      tuple(sorted(available)), places), turn.memory)

    def roster(self) -> list[Shift]:
        return [_shift(r) for r in self.store.query("SELECT * FROM shifts ORDER BY start")]

    def on_duty(self, at: datetime | None = None) -> Shift | None:
        at_iso = iso(at or self.clock())
        rows = self.store.query("SELECT * FROM shifts WHERE start <= ? AND end > ?",
                                (at_iso, at_iso))
        if not rows:
            return None
        return _shift(rows[0])

    def counts(self) -> dict[str, int]:
        """Shifts each volunteer has been rostered for: the fairness anyone can check."""
        counts = dict.fromkeys(self.volunteers(), 0)
        for shift in self.roster():
            for m in shift.maintainers:
                counts[m] = counts.get(m, 0) + 1
        return counts

    # --- at the kiosk -------------------------------------------------------------------

    def login(self, pseudonym: str, pin: str) -> str:
        """At the screen: the maintainer picks their name from those on duty, then types
        their PIN. A name not on the shift now is told so before any PIN is looked at
        (``NotOnDuty``, not counted: the roster is public); a wrong PIN counts for that
        maintainer alone, under the kiosk-wide cap (``WrongDutyPin``, then
        ``TooManyAttempts`` while a wait runs, the right PIN included)."""
        self._on_duty_now(pseudonym)
        _not_short(pin)
        self._check(f"duty:{pseudonym}", "SELECT 1 FROM volunteers WHERE pseudonym = ? AND "
                    "pin_hash = ? AND active = 1", (pseudonym, self._pin_hash(pin.strip())))
        return pseudonym

    def _on_duty_now(self, pseudonym: str) -> None:
        shift = self.on_duty(self.clock())
        if shift is None or pseudonym not in shift.maintainers:
            raise NotOnDuty()

    def _check(self, key: str, sql: str, params: tuple[str, ...]) -> None:
        """The PIN for one identity (``key``), counted under the kiosk-wide duty cap. The
        caller hashes the PIN typed only after ``_not_short``."""
        now = self.clock()
        with self.store.step() as db:
            tried = self.guard.attempt(db, "duty", key, now,
                                       lambda: db.execute(sql, params).fetchone())
            if tried.found is not None:
                return
            self.outbox.append(db, "security.wrong_pin", {
                "scope": "duty", "failures": tried.failures, "wait_s": tried.wait_s})
        raise WrongDutyPin(tried.wait_s)

    def _all_volunteers(self) -> set[str]:
        return {r["pseudonym"] for r in self.store.query("SELECT pseudonym FROM volunteers")}

    def handover(self, actor: str, to: str, reason: str) -> Shift:
        """The one on duty hands the rest of the shift to another volunteer, in public."""
        now = self.clock()
        shift = self.on_duty(now)
        if shift is None or actor not in shift.maintainers:
            raise DutyError(f"{actor} is not on duty now", reason="not_on_duty")
        if to not in self.volunteers() or to in shift.maintainers:
            raise DutyError(f"{to} cannot take over this shift", reason="cannot_take_over")
        maintainers = tuple(sorted((set(shift.maintainers) - {actor}) | {to}))
        with self.store.step() as db:
            db.execute("UPDATE shifts SET maintainers = ? WHERE start = ?",
                       (json.dumps(maintainers), shift.start))
            self.audit.append(db, actor, "duty.handover", to, reason,
                              {"shift": shift.start, "from": actor, "to": to})
        return dataclasses.replace(shift, maintainers=maintainers)

    def _pin_hash(self, pin: str) -> str:
        return keyed_hash(self.secret, "duty-pin", pin)

    def _role_hash(self, pin: str) -> str:
        return keyed_hash(self.secret, "role-pin", pin)


def _shift(r: dict[str, Any]) -> Shift:
    standing = json.loads(r["standing"]) if r.get("standing") else None
    return Shift(r["start"], r["end"], tuple(json.loads(r["maintainers"])),
                 json.loads(r["seed_inputs"]),
                 tuple(standing) if standing is not None else None, r.get("places"))


def _not_short(pin: str) -> None:
    """A PIN shorter than any set now is refused before it is hashed or looked up: not
    counted, and it tells nothing about a PIN set before the rule (kiosk/pins.py)."""
    if pins.too_short(pin):
        raise ShortDutyPin()


def public_roster(roster: list[Shift]) -> list[dict[str, Any]]:
    return [{"start": s.start, "end": s.end, "maintainers": list(s.maintainers)}
            for s in roster]
