"""Nobody rewrites history unseen (issue 14): a resident with root tampers with a real
kiosk database using sqlite3 while the kiosk is stopped; when it runs again, a witness
listening on a real Mosquitto names what was done, and so does the kiosk's self-check.

The history is made once (module fixture): a kiosk composed as ``kiosk run`` composes it
(real driver on the pty board simulator, real broker), members and spots imported, a
round requested, closed, committed and drawn, a roster planned, with a witness reading it
all. Each test starts from a copy of that kiosk's data directory and the witness's.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.audit import GENESIS, entry_hash
from kiosk.cli.main import main
from kiosk.composition import Devices, Kiosk, compose
from kiosk.config import config_from_dict
from kiosk.events import Outbox
from kiosk.parking.register import ParkingRegister
from kiosk.schema import open_kiosk_store
from tests.mqtt_broker import Mosquitto, mosquitto_binary, wait_until
from tests.parking_support import MEMBERS_CSV, SPOTS_CSV
from witness.core import WITNESS_DB, Witness
from witness.service import WitnessService

COMMUNITY, KIOSK = "maple-court", "gate-east"
ROUND = "2026-04"

pytestmark = pytest.mark.skipif(mosquitto_binary() is None,
                                reason="mosquitto is not installed")


def kiosk_config(data: Path, port: str, broker: int):
    return config_from_dict({
        "community_id": COMMUNITY, "kiosk_id": KIOSK, "data_dir": str(data),
        "board": {"port": port, "timeout_s": 0.1, "heartbeat_s": 0.5},
        "compartments": [{"board": 0, "locks": "1-2", "size": "S"}],
        "mqtt": {"host": "127.0.0.1", "port": broker}}, "<test>")


def start_kiosk(data: Path, sim_port: str, broker: int) -> Kiosk:
    from devices.serial_board import open_board

    bus = open_board(sim_port, timeout_s=0.1, retries=1)
    kiosk = compose(kiosk_config(data, sim_port, broker), Devices(bus, closers=[bus.close]))
    kiosk.start()
    return kiosk


def start_witness(directory: Path, broker: int) -> WitnessService:
    from kiosk.config import MqttConfig

    directory.mkdir(parents=True, exist_ok=True)
    # A head read just before an entry was added may arrive after it: the kiosk's next head
    # follows within a second; a truncated history's never comes.
    service = WitnessService(Witness(directory / WITNESS_DB, grace_s=3.0),
                             MqttConfig(host="127.0.0.1", port=broker), "resident",
                             reconnect_min_s=0.1)
    service.start()
    assert service.connected.wait(10)
    return service


def settled(kiosk: Kiosk, service: WitnessService, since: str = "") -> bool:
    """The witness holds every entry of both chains and has checked both signed heads,
    as presented ``since`` then (by this run of the kiosk, not an earlier one)."""
    w = service.witness
    audit_n, draws_n = kiosk.audit.head()[0], kiosk.parking.chain.head()[0]
    heads = {r["chain"]: json.loads(r["body"])["seq"] for r in
             w.store.query("SELECT chain, body FROM heads WHERE seen >= ?", (since,))}
    return (kiosk.outbox.pending_count() == 0
            and len(w.held(COMMUNITY, KIOSK, "audit")) == audit_n
            and len(w.held(COMMUNITY, KIOSK, "draws")) == draws_n
            and heads == {"audit": audit_n, "draws": draws_n}
            and bool(w.store.query("SELECT 1 FROM keys")))


@dataclass
class History:
    data: Path
    witness: Path
    sim_port: str
    audit_n: int
    draws_n: int


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Iterator[History]:
    from devices.board_sim import BoardSimulator

    root = tmp_path_factory.mktemp("history")
    with BoardSimulator(boards=(0,), seed=1) as sim:
        broker = Mosquitto(root / "broker").start()
        service = start_witness(root / "witness", broker.port)
        kiosk = start_kiosk(root / "kiosk", sim.port, broker.port)
        try:
            p = kiosk.parking
            p.import_spots(SPOTS_CSV, "v-ana", "spots of the car park")
            p.import_members(MEMBERS_CSV, "v-ana", "members of the register")
            p.announce(ROUND, "the national lottery of 2026-03-31", "v-ana")
            for member, kind in (("h-1", "standard"), ("h-2", "accessible"),
                                 ("h-3", "standard"), ("w-1", "standard")):
                p.request(member, ROUND, kind)
            p.close(ROUND, "v-ana")
            p.commit(ROUND, "lottery 2026-03-31: 04 11 23 35 41", "v-ana")
            p.draw(ROUND, "v-ana")
            kiosk.duty.register("assembly", "v-ana", "90000190", "volunteered")
            assert wait_until(lambda: settled(kiosk, service), 20), "the witness lags"
            assert service.raised == []  # control: an honest history raises nothing
            made = History(root / "kiosk", root / "witness", sim.port,
                           kiosk.audit.head()[0], kiosk.parking.chain.head()[0])
        finally:
            kiosk.close()
            service.stop()
            service.witness.close()
            broker.stop()
        yield made


@dataclass
class Scene:
    data: Path
    witness_dir: Path
    broker: Mosquitto
    sim_port: str

    @property
    def db(self) -> Path:
        return self.data / "kiosk.db"

    def sql(self, *statements: str | tuple[str, tuple]) -> None:
        """What a resident with root does: sqlite3 on the stopped kiosk's database."""
        conn = sqlite3.connect(self.db)
        with conn:
            for s in statements:
                conn.execute(*(s if isinstance(s, tuple) else (s,)))
        conn.close()


@pytest.fixture
def scene(history, tmp_path) -> Iterator[Scene]:
    from devices.board_sim import BoardSimulator

    shutil.copytree(history.data, tmp_path / "kiosk")
    shutil.copytree(history.witness, tmp_path / "witness")
    broker = Mosquitto(tmp_path / "broker").start()
    with BoardSimulator(boards=(0,), seed=1) as sim:
        yield Scene(tmp_path / "kiosk", tmp_path / "witness", broker, sim.port)
    broker.stop()


def run_and_watch(scene: Scene, kind: str | None, during=None) -> tuple[list, Kiosk | None]:
    """Start the witness and the (tampered) kiosk; wait for an alarm of ``kind``, or, with
    None, until the witness has checked both heads the kiosk presents (the control)."""
    from kiosk.events import iso, utc_now

    since = iso(utc_now())
    service = start_witness(scene.witness_dir, scene.broker.port)
    kiosk = start_kiosk(scene.data, scene.sim_port, scene.broker.port)
    try:
        if during is not None:
            during(kiosk)
        if kind is None:
            assert wait_until(lambda: settled(kiosk, service, since), 20)
        else:
            assert wait_until(lambda: any(a.kind == kind for a in service.raised), 20), \
                f"no {kind} alarm; raised: {service.raised}"
        return list(service.raised), kiosk
    finally:
        kiosk.close()
        service.stop()
        service.witness.close()


def cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


# --- the control ------------------------------------------------------------------------


def test_an_untampered_kiosk_raises_no_alarm_and_every_check_passes(scene, capsys):
    raised, _ = run_and_watch(scene, None)
    assert raised == []
    d, w = str(scene.data), str(scene.witness_dir)
    code, out = cli(capsys, "audit", "verify", "--data", d, "--witness", w)
    assert code == 0, out
    code, out = cli(capsys, "parking", "verify", "--db", "--data", d, "--witness", w)
    assert code == 0, out
    assert "allocations match the newest record" in out

    # Everything needed to re-check is on the broker, retained: nothing from the disk.
    from mqtt import topics
    from tests.mqtt_broker import Collector

    public = Collector(scene.broker.port, [topics.publics_of(COMMUNITY)])
    try:
        names = {"key", "head-audit", "head-draws", "allocations", "draw-record", "roster",
                 "duty-load"}
        assert wait_until(lambda: {m.topic.rsplit("/", 1)[1] for m in public.messages()}
                          >= names, 10)
        record = next(m.json() for m in public.messages("/draw-record"))
        from kiosk.parking.record import verify

        assert record["inputs"]["round"] == ROUND and verify(record) == []
        roster = next(m.json() for m in public.messages("/roster"))
        assert roster["format"] == "kiosk-duty-roster/1"
    finally:
        public.stop()


# --- each tampering of the issue ----------------------------------------------------------


def record_mismatch(kiosk: Kiosk) -> list[str]:
    """The problems of the first ``parking.record_mismatch`` the kiosk published, once it has."""
    def found() -> list[str] | None:
        return next((e.data["problems"] for e in kiosk.outbox.events(limit=10_000)
                     if e.type == "parking.record_mismatch"), None)
    assert wait_until(lambda: found() is not None, 10)
    return found() or []


def test_a_spot_given_to_another_member_is_caught_and_the_gate_follows_the_record(
        scene, capsys):
    holder, other = _holder_of_a_standard_spot(scene), _refused_member(scene)
    scene.sql(("UPDATE parking_allocations SET member = ? WHERE member = ?", (other, holder)))
    alarmed: dict[str, list[str]] = {}

    def during(kiosk: Kiosk) -> None:
        # The kiosk's own live check, on its scheduler: a public event within a minute.
        alarmed["problems"] = record_mismatch(kiosk)
        assert kiosk.parking.may_open_gate(holder)  # the record's holder: still opens
        assert not kiosk.parking.may_open_gate(other)  # the table's new holder: does not

    raised, _ = run_and_watch(scene, "allocations", during)
    assert any("kiosk" in a.detail and "record" in a.detail for a in raised)
    assert any("the allocations give spot" in p for p in alarmed["problems"])
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    assert code == 1 and "the allocations give spot" in out


def test_a_holder_marked_released_with_sqlite3_is_caught_and_still_gets_in(scene, capsys):
    holder = _holder_of_a_standard_spot(scene)
    scene.sql(("UPDATE parking_allocations SET released_ts = '2026-03-02T08:00:00.000000Z' "
               "WHERE member = ?", (holder,)))
    alarmed: dict[str, list[str]] = {}

    def during(kiosk: Kiosk) -> None:
        alarmed["problems"] = record_mismatch(kiosk)
        assert kiosk.parking.may_open_gate(holder)  # the gate follows the record

    raised, _ = run_and_watch(scene, "allocations", during)
    assert any("marked released with no parking.released entry" in a.detail
               and holder in a.detail for a in raised)
    assert any(f"member {holder}" in p and "no release is on record" in p
               for p in alarmed["problems"])
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    assert code == 1 and "no release is on record" in out


def test_a_real_release_raises_nothing_and_the_gate_closes(scene, capsys):
    """The control of the one above: the same release, made at the kiosk."""
    holder = _holder_of_a_standard_spot(scene)
    checked: dict[str, object] = {}

    def released_held(w: Witness) -> bool:
        rows = w.store.query("SELECT body FROM allocations")
        return bool(rows) and any(a["member"] == holder and a["released"]
                                  for a in json.loads(rows[0]["body"])["allocations"])

    def during(kiosk: Kiosk) -> None:
        kiosk.parking.release(holder)
        checked["problems"] = kiosk.parking.check_against_record()
        checked["gate"] = kiosk.parking.may_open_gate(holder)
        # The witness holds the allocations that say released (and checks them on receipt).
        reader = Witness(scene.witness_dir / WITNESS_DB)
        try:
            assert wait_until(lambda: released_held(reader), 20)
        finally:
            reader.close()

    raised, _ = run_and_watch(scene, None, during)
    assert raised == [] and checked == {"problems": [], "gate": False}
    held = Witness(scene.witness_dir / WITNESS_DB)
    try:
        assert released_held(held) and held.alarms() == []
    finally:
        held.close()
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    assert code == 0, out


def test_a_second_commitment_for_a_round_is_caught(scene, capsys):
    # Reset the round so the kiosk takes another commitment, with another random value.
    scene.sql(f"UPDATE parking_rounds SET status = 'closed' WHERE round = '{ROUND}'")

    def during(kiosk: Kiosk) -> None:
        kiosk.parking.commit(ROUND, "a value that suits someone better")

    raised, _ = run_and_watch(scene, "second_commitment", during)
    assert any(f"a second commitment for round {ROUND}" in a.detail for a in raised)
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    assert code == 1 and f"a second commitment for round {ROUND}" in out


def test_deleting_the_newest_audit_entry_with_its_outbox_copy_is_caught(scene, history,
                                                                       capsys):
    n = history.audit_n
    scene.sql(f"DELETE FROM audit WHERE seq = {n}",
              f"DELETE FROM events WHERE type = 'audit.entry' AND "
              f"json_extract(data, '$.seq') = {n}")
    d = str(scene.data)
    code, out = cli(capsys, "audit", "verify", "--data", d)
    assert code == 0  # the database alone cannot tell: this is why witnesses exist
    raised, _ = run_and_watch(scene, "truncated")
    assert any(a.chain == "audit" and f"presents {n - 1} entries, the witness holds {n}"
               in a.detail for a in raised)
    code, out = cli(capsys, "audit", "verify", "--data", d, "--witness",
                    str(scene.witness_dir))
    assert code == 1
    assert f"audit entry {n} " in out and "the database does not (removed)" in out
    # Or from the broker: the witnesses' retained alarms about this kiosk.
    code, out = cli(capsys, "audit", "verify", "--data", d, "--witness-broker",
                    f"127.0.0.1:{scene.broker.port}", "--kiosk", f"{COMMUNITY}/{KIOSK}")
    assert code == 1 and "witness resident alarm: audit: truncated" in out


def test_rewriting_the_whole_chain_with_its_copies_is_caught(scene, capsys):
    _rewrite_audit_chain(scene, actor="someone-else")
    d = str(scene.data)
    code, _ = cli(capsys, "audit", "verify", "--data", d)
    assert code == 0  # consistent in itself
    raised, _ = run_and_watch(scene, "rewritten")
    assert any(a.chain == "audit" and "history rewritten" in a.detail for a in raised)
    code, out = cli(capsys, "audit", "verify", "--data", d, "--witness",
                    str(scene.witness_dir))
    assert code == 1 and "audit entry 1 " in out and "differs from the witness's copy" in out


def test_deleting_everything_is_caught(scene, history, capsys):
    scene.sql("DELETE FROM audit", "DELETE FROM parking_draw_chain", "DELETE FROM events",
              "DELETE FROM parking_allocations", "DELETE FROM parking_rounds "
              "WHERE round NOT IN (SELECT round FROM parking_requests)")
    d = str(scene.data)
    code, out = cli(capsys, "audit", "verify", "--data", d)
    assert code == 0 and "ok: 0 entries" in out
    raised, _ = run_and_watch(scene, "truncated")
    kinds = {(a.chain, a.kind) for a in raised}
    assert ("audit", "truncated") in kinds
    assert wait_until(lambda: ("draws", "truncated") in {
        (a.chain, a.kind) for a in Witness(scene.witness_dir / WITNESS_DB).alarms()}, 1)
    code, out = cli(capsys, "audit", "verify", "--data", d, "--witness",
                    str(scene.witness_dir))
    assert code == 1
    assert f"the database has 0 entries, the witness holds {history.audit_n}" in out


def test_a_new_key_for_a_known_kiosk_is_caught(scene):
    (scene.data / "kiosk.key").unlink()  # the kiosk makes another at its next start
    raised, _ = run_and_watch(scene, "key_changed")
    assert any(a.kind == "key_changed" for a in raised)


def test_a_key_given_at_set_up_is_held_rather_than_the_first_the_broker_shows(
        tmp_path, capsys):
    """Someone publishes a key for a kiosk before the kiosk does: a witness that trusts the
    first key it sees holds the forger's; one given the key at set-up names it."""
    from kiosk.signing import KioskKey

    real, forged = (KioskKey.load_or_create(tmp_path / n) for n in ("kiosk", "forger"))
    (tmp_path / "kiosk.toml").write_text(
        f'community_id = "{COMMUNITY}"\nkiosk_id = "{KIOSK}"\n'
        f'data_dir = "{tmp_path / "kiosk"}"\n'
        '[[compartments]]\nboard = 0\nlocks = "1-2"\nsize = "S"\n', encoding="utf-8")
    code, out = cli(capsys, "audit", "key", "--config", str(tmp_path / "kiosk.toml"))
    assert (code, out.strip()) == (0, f"{COMMUNITY}/{KIOSK}={real.public_hex}")
    from kiosk.cli.witness import pinned_key

    community, kiosk, public = pinned_key(out.strip())
    # Control: trusting the first key, the forger's is held without a word.
    trusting = Witness(tmp_path / "trusting" / WITNESS_DB)
    assert trusting.key(community, kiosk, forged.announcement(community, kiosk)) == []
    pinned = Witness(tmp_path / "pinned" / WITNESS_DB)
    try:
        assert pinned.pin(community, kiosk, public) == []
        raised = pinned.key(community, kiosk, forged.announcement(community, kiosk))
        assert [a.kind for a in raised] == ["key_changed"]
        assert pinned.key(community, kiosk, real.announcement(community, kiosk)) == []
        # A witness that had trusted the forger learns the right key, and says so.
        assert [a.kind for a in trusting.pin(community, kiosk, public)] == ["key_changed"]
        assert trusting.key(community, kiosk, real.announcement(community, kiosk)) == []
    finally:
        pinned.close()
        trusting.close()


@pytest.mark.parametrize("given", ["maple/gate", "maple=" + "a" * 64, "maple/gate=xyz",
                                   "maple/gate=" + "a" * 63, "ma ple/gate=" + "a" * 64])
def test_a_malformed_key_to_hold_is_refused_with_what_is_wrong(tmp_path, capsys, given):
    with pytest.raises(SystemExit) as refused:
        main(["witness", "--broker", "127.0.0.1:1", "--data", str(tmp_path / "w"),
              "--key", given])
    assert refused.value.code == 2 and given in capsys.readouterr().err
    assert not (tmp_path / "w").exists()  # refused before anything was opened


def test_a_head_forged_without_the_key_is_caught(scene):
    """Someone else on the broker publishes a head that is not signed by the kiosk."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from mqtt import topics

    service = start_witness(scene.witness_dir, scene.broker.port)
    try:
        forger = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="forger")
        forger.connect("127.0.0.1", scene.broker.port)
        forger.loop_start()
        head = {"format": "kiosk-chain-head/1", "community": COMMUNITY, "kiosk": KIOSK,
                "chain": "audit", "seq": 1, "hash": "ab" * 32, "sig": "00" * 64}
        forger.publish(topics.public_topic(COMMUNITY, KIOSK, "head-audit"),
                       json.dumps(head), qos=1).wait_for_publish(5)
        assert wait_until(lambda: any(a.kind == "forged" for a in service.raised), 10)
        forger.loop_stop()
        forger.disconnect()
    finally:
        service.stop()
        service.witness.close()


# --- helpers ------------------------------------------------------------------------------


def _holder_of_a_standard_spot(scene: Scene) -> str:
    conn = sqlite3.connect(scene.db)
    chain = conn.execute("SELECT data FROM parking_draw_chain WHERE action = "
                         "'parking.drawn'").fetchone()[0]
    conn.close()
    rows = json.loads(chain)["results"]["assignments"]
    return next(r["member"] for r in rows if r["type"] == "standard")


def _refused_member(scene: Scene) -> str:
    conn = sqlite3.connect(scene.db)
    chain = conn.execute("SELECT data FROM parking_draw_chain WHERE action = "
                         "'parking.drawn'").fetchone()[0]
    conn.close()
    return json.loads(chain)["results"]["refused"][0]["member"]


def _rewrite_audit_chain(scene: Scene, actor: str) -> None:
    """Every entry recomputed under another actor, the outbox copies too."""
    conn = sqlite3.connect(scene.db)
    with conn:
        prev = GENESIS
        for seq, ts, _, action, subject, reason, data in conn.execute(
                "SELECT seq, ts, actor, action, subject, reason, data FROM audit "
                "ORDER BY seq").fetchall():
            body = json.loads(data)
            digest = entry_hash(seq, ts, actor, action, subject, reason, body, prev)
            conn.execute("UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                         (actor, prev, digest, seq))
            copy = {"seq": seq, "ts": ts, "actor": actor, "action": action,
                    "subject": subject, "reason": reason, "data": body, "prev_hash": prev,
                    "hash": digest}
            conn.execute("UPDATE events SET data = ? WHERE type = 'audit.entry' AND "
                         "json_extract(data, '$.seq') = ?", (json.dumps(copy), seq))
            prev = digest
    conn.close()


def test_the_register_alone_names_a_changed_record(tmp_path):
    """Without a broker: the stored record edited is a difference from the draw chain."""
    store = open_kiosk_store(tmp_path / "kiosk.db")
    clock = lambda: datetime(2026, 3, 1, tzinfo=UTC)  # noqa: E731
    register = ParkingRegister(store, Outbox(store, clock), clock=clock)
    register.import_spots(SPOTS_CSV, "v-ana")
    register.import_members(MEMBERS_CSV, "v-ana")
    register.announce(ROUND, "a lottery")
    register.request("h-1", ROUND, "standard")
    register.close(ROUND)
    register.commit(ROUND, "x")
    register.draw(ROUND)
    assert register.check_against_record() == [] and register.verify_draw_chain() == []
    store.db.execute("UPDATE parking_rounds SET record = '{}' WHERE round = ?", (ROUND,))
    assert register.check_against_record() == [
        f"round {ROUND}: the stored record differs from the draw chain's"]
    store.close()


def test_the_key_is_private_and_the_export_carries_it_with_a_signed_head(history, tmp_path,
                                                                          capsys):
    import stat

    key_file = history.data / "kiosk.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    data = tmp_path / "kiosk"
    shutil.copytree(history.data, data)
    signed = tmp_path / "signed.json"
    code, out = cli(capsys, "audit", "export", "--data", str(data), "--signed", str(signed))
    assert code == 0
    copy = tmp_path / "audit.jsonl"
    copy.write_text(out)
    assert json.loads(signed.read_text())["key"]["public_key"]
    code, out = cli(capsys, "audit", "verify", "--file", str(copy), "--signed", str(signed))
    assert code == 0, out  # control: the whole copy ends at the signed head
    copy.write_text("".join(out_line + "\n" for out_line in
                            copy.read_text().splitlines()[:-1]))
    code, out = cli(capsys, "audit", "verify", "--file", str(copy), "--signed", str(signed))
    assert code == 1 and f"the kiosk signed {history.audit_n} entries" in out
    # A head changed without the key no longer verifies.
    forged = json.loads(signed.read_text())
    forged["head"]["seq"] -= 1
    signed.write_text(json.dumps(forged))
    code, out = cli(capsys, "audit", "verify", "--file", str(copy), "--signed", str(signed))
    assert code == 1 and "signature does not verify" in out


def test_the_kiosk_witness_command_keeps_up_across_its_own_restart(scene):
    """``kiosk witness`` as systemd runs it: stopped while the kiosk goes on, it catches up
    from its persistent session without a false alarm, then names a forged head."""
    import signal
    import subprocess
    import sys

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from mqtt import topics
    from tests.mqtt_broker import Collector

    root = Path(__file__).resolve().parent.parent
    wdir = scene.witness_dir

    def witness() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "kiosk", "witness", "--broker",
                                 f"127.0.0.1:{scene.broker.port}", "--data", str(wdir),
                                 "--grace", "3"], cwd=root, stderr=subprocess.PIPE,
                                text=True)

    def held(chain: str) -> int:
        # Read-only: opening a Witness here would check its migrations under a write lock
        # and could make the running witness's own write fail at that moment.
        db = sqlite3.connect(f"file:{wdir / WITNESS_DB}?mode=ro", uri=True, timeout=10)
        try:
            return int(db.execute(
                "SELECT COUNT(*) FROM entries WHERE community = ? AND kiosk = ? AND chain = ?",
                (COMMUNITY, KIOSK, chain)).fetchone()[0])
        finally:
            db.close()

    alarms = Collector(scene.broker.port, [topics.witness_alarms_of(COMMUNITY)])
    proc = witness()
    kiosk = start_kiosk(scene.data, scene.sim_port, scene.broker.port)
    try:
        assert proc.stderr is not None and "reading" in proc.stderr.readline()
        # Stopped before it has subscribed, its session would keep nothing for it.
        assert "subscribed" in proc.stderr.readline()
        n = kiosk.audit.head()[0]
        assert wait_until(lambda: held("audit") == n, 15)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        kiosk.parking.add_spot("v-ana", "a new spot painted", "S9", "standard")
        assert kiosk.audit.head()[0] == n + 1
        proc = witness()  # the entry published meanwhile waits in its session
        assert wait_until(lambda: held("audit") == n + 1, 15)
        assert alarms.messages() == []  # control: catching up is no alarm
        forger = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="forger")
        forger.connect("127.0.0.1", scene.broker.port)
        forger.loop_start()
        head = {"format": "kiosk-chain-head/1", "community": COMMUNITY, "kiosk": KIOSK,
                "chain": "draws", "seq": 1, "hash": "cd" * 32, "sig": "00" * 64}
        forger.publish(topics.public_topic(COMMUNITY, KIOSK, "head-draws"),
                       json.dumps(head), qos=1).wait_for_publish(5)
        forger.loop_stop()
        forger.disconnect()
        assert wait_until(lambda: alarms.messages(), 15)
        alarm = alarms.messages()[0].json()
        assert (alarm["kind"], alarm["kiosk"], alarm["witness"]) == ("forged", KIOSK,
                                                                      "resident")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
        kiosk.close()
        alarms.stop()
    out = subprocess.run([sys.executable, "-m", "kiosk", "witness", "alarms", "--data",
                          str(wdir)], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "draws: forged: head signature" in out.stdout


def test_allocations_are_held_against_the_draw_they_reflect(history, tmp_path):
    """Retained allocations and draw entries take different paths to a witness: a
    snapshot read just before a draw can arrive after the draw's entry. It is held against
    the record of its own time, and is an alarm only if it stays behind past the grace."""
    from datetime import timedelta

    shutil.copytree(history.witness, tmp_path / "w")
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    w = Witness(tmp_path / "w" / WITNESS_DB, clock=lambda: now[0], grace_s=30)
    try:
        drawn = next(e for e in reversed(w.held(COMMUNITY, KIOSK, "draws"))
                     if e["action"] == "parking.drawn")
        current = {"format": "kiosk-parking-allocations/1", "round": ROUND,
                   "draws_seq": history.draws_n,
                   "allocations": [{"member": a["member"], "spot": a["spot"]}
                                   for a in drawn["data"]["results"]["assignments"]]}
        before_draw = {"format": "kiosk-parking-allocations/1", "round": None,
                       "draws_seq": drawn["seq"] - 1, "allocations": []}

        def late(payload, seconds: float) -> list:
            now[0] += timedelta(seconds=seconds)
            return w.allocations(COMMUNITY, KIOSK, payload) + w.sweep()

        # The old snapshot arrives after the draw; the new one follows: no alarm.
        assert late(before_draw, 0) == [] and late(current, 5) == []
        assert late({**before_draw}, 1) == []  # older than the one held: not taken
        now[0] += timedelta(seconds=60)
        assert w.sweep() == []
        # Control: a kiosk that keeps acting on the old round is named once the grace ends.
        with w.store.step() as db:
            db.execute("DELETE FROM allocations")
        assert late(before_draw, 0) == [] and late(before_draw, 29) == []
        raised = late(before_draw, 2)
        assert [(a.kind, a.detail) for a in raised] == [
            ("allocations", f"the kiosk acts on round None, the newest draw held is {ROUND}")]
        # Allocations of the draw they name that differ from its record: at once.
        first = current["allocations"][0]["member"]
        wrong = {**current, "allocations": [
            {**a, "spot": "nowhere"} if a["member"] == first else a
            for a in current["allocations"]]}
        raised = late(wrong, 0)
        assert [a.kind for a in raised] == ["allocations"]
        assert f"member {first}: kiosk nowhere" in raised[0].detail
    finally:
        w.close()


def test_allocations_ahead_of_the_entries_held_are_checked_as_those_arrive(history,
                                                                          tmp_path):
    shutil.copytree(history.witness, tmp_path / "w")
    w = Witness(tmp_path / "w" / WITNESS_DB)
    try:
        entries = w.held(COMMUNITY, KIOSK, "draws")
        drawn = next(e for e in reversed(entries) if e["action"] == "parking.drawn")
        with w.store.step() as db:
            db.execute("DELETE FROM entries WHERE chain = 'draws' AND seq >= ?",
                       (drawn["seq"],))
        first = drawn["data"]["results"]["assignments"][0]["member"]
        wrong = {"format": "kiosk-parking-allocations/1", "round": ROUND,
                 "draws_seq": history.draws_n,
                 "allocations": [{"member": a["member"],
                                  "spot": "nowhere" if a["member"] == first else a["spot"]}
                                 for a in drawn["data"]["results"]["assignments"]]}
        assert w.allocations(COMMUNITY, KIOSK, wrong) == []  # its draw is not held yet
        raised = []
        for e in entries[drawn["seq"] - 1:]:
            raised += w.entry(COMMUNITY, KIOSK, "draws", e)
        assert [a.kind for a in raised] == ["allocations"]
        assert f"member {first}: kiosk nowhere" in raised[0].detail
    finally:
        w.close()


def test_a_message_its_database_refused_goes_in_once_the_database_is_free(tmp_path, caplog):
    """No wait for a reconnect: the witness tries the same message again, and acks it
    only once it is kept."""
    import logging

    from mqtt import topics
    from tests.mqtt_broker import close, publish, publisher

    broker = Mosquitto(tmp_path / "broker").start()
    service = start_witness(tmp_path / "w", broker.port)
    service.witness.store.busy_timeout_s = 0.1
    other = sqlite3.connect(tmp_path / "w" / WITNESS_DB, isolation_level=None)
    try:
        assert service.subscribed.wait(10)
        other.execute("BEGIN EXCLUSIVE")
        with caplog.at_level(logging.ERROR, logger="witness.service"):
            client = publisher(broker)
            publish(client, topics.public_topic(COMMUNITY, KIOSK, topics.PUBLIC_KEY), "{}")
            close(client)
            assert wait_until(lambda: "could not keep a message" in caplog.text, 10)
        assert service.raised == []  # control: not kept while the database is held
        other.rollback()
        assert wait_until(lambda: [a.kind for a in service.raised] == ["forged"], 10)
    finally:
        other.close()
        service.stop()
        service.witness.close()
        broker.stop()


def _audit_event(seq: int, prev: str) -> tuple[dict, str]:
    """An honest audit chain entry as a kiosk publishes it: (event, the entry's hash)."""
    body = {"seq": seq, "ts": f"2026-12-01T00:00:{seq:02d}.000000Z", "actor": "v-ana",
            "action": "spot.added", "subject": f"S{seq}", "reason": "painted", "data": {},
            "prev_hash": prev}
    body["hash"] = entry_hash(*(body[k] for k in ("seq", "ts", "actor", "action", "subject",
                                                  "reason", "data", "prev_hash")))
    return ({"seq": seq, "id": f"e{seq}", "ts": body["ts"], "type": "audit.entry",
             "community": COMMUNITY, "kiosk": KIOSK, "data": body}, body["hash"])


def test_two_witnesses_of_one_name_each_keep_their_own_session(tmp_path):
    """Two residents both run ``--name resident``: each witness has its own client id
    (kept in its witness.db), so the broker never knocks one off for the other, both
    take every entry, and a restarted witness takes up its own session again."""
    from kiosk.config import MqttConfig
    from mqtt import topics
    from tests.mqtt_broker import close, publish, publisher

    broker = Mosquitto(tmp_path / "broker").start()
    config = MqttConfig(host="127.0.0.1", port=broker.port)
    topic = topics.event_topic(COMMUNITY, KIOSK, "audit.entry")
    client = publisher(broker)
    prev, started = GENESIS, []

    def witness(directory: Path) -> WitnessService:
        directory.mkdir(parents=True, exist_ok=True)
        service = WitnessService(Witness(directory / WITNESS_DB), config, "resident",
                                 reconnect_min_s=0.1)
        service.start()
        started.append(service)
        assert service.subscribed.wait(10)
        return service

    def send(seq: int) -> None:
        nonlocal prev
        event, prev = _audit_event(seq, prev)
        publish(client, topic, json.dumps(event))

    def holds(service: WitnessService, n: int) -> bool:
        return len(service.witness.held(COMMUNITY, KIOSK, "audit")) == n

    try:
        a, b = witness(tmp_path / "a"), witness(tmp_path / "b")
        assert a.name == b.name == "resident" and a.client_id != b.client_id
        for seq in (1, 2, 3):
            send(seq)
        assert wait_until(lambda: holds(a, 3) and holds(b, 3), 15)
        assert a._client.is_connected() and b._client.is_connected()
        assert "already connected" not in broker.log()
        assert broker.log().count(f" as {a.client_id} ") == 1
        assert broker.log().count(f" as {b.client_id} ") == 1

        # Restarted on its own data, a witness is the same client: the entry published
        # while it was away waits in its session.
        first_id = a.client_id
        a.stop()
        a.witness.close()
        send(4)
        assert wait_until(lambda: holds(b, 4), 15)
        a = witness(tmp_path / "a")
        assert a.client_id == first_id
        assert wait_until(lambda: holds(a, 4), 15)
        assert a.raised == [] and b.raised == []

        # Control: two witnesses under one client id (as one name gave before, here a copy
        # of a's witness.db) do knock each other off, and the checks above would see it.
        a.stop()
        a.witness.close()
        shutil.copytree(tmp_path / "a", tmp_path / "a-copy")
        a = witness(tmp_path / "a")
        twin = witness(tmp_path / "a-copy")
        assert twin.client_id == a.client_id
        assert wait_until(lambda: "already connected" in broker.log(), 15)
    finally:
        close(client)
        for service in started:
            service.stop()
            service.witness.close()
        broker.stop()


def test_docs_name_what_a_witness_reads(tmp_path):
    """docs/mqtt.md names the events a witness subscribes to and the public items it
    checks, and no other (it once named ``parking.record_mismatch``, which none reads)."""
    import re

    from kiosk.config import MqttConfig
    from mqtt import topics
    from witness.core import CHAIN_EVENTS

    text = (Path(__file__).resolve().parent.parent / "docs" / "mqtt.md").read_text()
    sentence = text[text.index("Witnesses (`kiosk witness`"):].split("\n\n")[0]
    reads, checks = sentence.split("every kiosk's retained", 1)
    named = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", reads))
    assert named == set(CHAIN_EVENTS)
    service = WitnessService(Witness(tmp_path / WITNESS_DB),
                             MqttConfig(host="127.0.0.1", port=1883), "resident")
    try:
        assert service.subscriptions() == [
            *(topics.event_of(topics.ANY, t) for t in sorted(named, key=list(
                CHAIN_EVENTS).index)), topics.publics_of(topics.ANY)]
    finally:
        service.witness.close()
    public = {topics.PUBLIC_KEY, topics.PUBLIC_ALLOCATIONS,
              *(topics.head_name(c) for c in ("audit", "draws"))}
    checked = checks.split("No other event")[0]
    assert set(re.findall(r"`([a-z-]+)`", checked)) == public


def test_a_witness_from_before_its_own_id_ends_its_old_session(tmp_path):
    """A witness made before it kept a client id had a session under its name's id; at its
    first start with its own id it ends that one, or the broker would queue every chain
    entry for nobody. A new witness leaves any such session alone."""
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kiosk.config import MqttConfig
    from mqtt import topics

    broker = Mosquitto(tmp_path / "broker").start()
    config = MqttConfig(host="127.0.0.1", port=broker.port)

    def old_session_present(subscribe: bool = False) -> bool:
        """Connects as the old witness did (keeping any session) and says if one was kept."""
        present: list[bool] = []
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="kiosk-witness-resident",
                             clean_session=False, protocol=mqtt.MQTTv311)
        client.on_connect = lambda c, u, flags, rc, p: present.append(flags.session_present)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        try:
            assert wait_until(lambda: present, 10)
            if subscribe:
                subscribed = threading.Event()
                client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
                client.subscribe(topics.events_of(topics.ANY), 1)
                assert subscribed.wait(10)
        finally:
            client.disconnect()
            client.loop_stop()
        return present[0]

    def start(directory: Path) -> WitnessService:
        directory.mkdir(parents=True, exist_ok=True)
        service = WitnessService(Witness(directory / WITNESS_DB), config, "resident")
        service.start()
        assert service.subscribed.wait(10)
        return service

    old_session_present(subscribe=True)
    assert old_session_present()  # control: the broker keeps the old witness's session
    fresh = start(tmp_path / "fresh")  # a new witness: nothing of its own to end
    (tmp_path / "old").mkdir()
    old = Witness(tmp_path / "old" / WITNESS_DB)
    try:
        assert not fresh.witness.legacy_session_open()
        assert old_session_present()
        # The old witness held a kiosk's key before this version kept an id.
        old.key(COMMUNITY, KIOSK, {"format": "kiosk-key/1", "public_key": "ab" * 32})
        old.close()
        upgraded = start(tmp_path / "old")
        try:
            assert wait_until(lambda: not upgraded.witness.legacy_session_open(), 10)
            assert not old_session_present()
            assert upgraded.client_id != "kiosk-witness-resident"
        finally:
            upgraded.stop()
            upgraded.witness.close()
    finally:
        fresh.stop()
        fresh.witness.close()
        broker.stop()


# --- the draws themselves: inputs as published, records recomputed -------------------------

NEXT = "2026-05"


def _close_next_round(scene: Scene) -> None:
    """The kiosk, honestly, announces the next round, takes requests and closes it, with
    the witness reading: the close is published before anyone tampers."""
    def close(kiosk: Kiosk) -> None:
        p = kiosk.parking
        p.announce(NEXT, "the national lottery of 2026-04-30", "v-ana")
        for member, kind in (("h-1", "standard"), ("h-2", "accessible"),
                             ("h-3", "standard"), ("w-1", "standard")):
            p.request(member, NEXT, kind)
        p.close(NEXT, "v-ana")

    raised, _ = run_and_watch(scene, None, close)
    assert raised == []


def _drop_from_closed_list(scene: Scene, member: str) -> None:
    """Root takes a member off the round's stored eligible list after the close."""
    conn = sqlite3.connect(scene.db)
    closed = json.loads(conn.execute("SELECT closed FROM parking_rounds WHERE round = ?",
                                     (NEXT,)).fetchone()[0])
    conn.close()
    assert any(e["member"] == member for e in closed["eligible"])
    closed["eligible"] = [e for e in closed["eligible"] if e["member"] != member]
    scene.sql(("UPDATE parking_rounds SET closed = ? WHERE round = ?",
               (json.dumps(closed), NEXT)))


def _change_announced_source(scene: Scene) -> None:
    """Root swaps the round's stored random source for one that suits them better."""
    conn = sqlite3.connect(scene.db)
    announced = json.loads(conn.execute("SELECT announced FROM parking_rounds WHERE "
                                        "round = ?", (NEXT,)).fetchone()[0])
    conn.close()
    announced["random_source"] = "whatever the maintainer rolls"
    scene.sql(("UPDATE parking_rounds SET announced = ? WHERE round = ?",
               (json.dumps(announced), NEXT)))


@pytest.mark.parametrize("tamper", ["none", "member-dropped", "source-changed"])
def test_a_closed_round_changed_before_commit_is_refused_at_commit(scene, capsys, tamper):
    from kiosk.parking.model import ParkingError

    _close_next_round(scene)
    if tamper == "member-dropped":
        _drop_from_closed_list(scene, "h-3")
    elif tamper == "source-changed":
        _change_announced_source(scene)
    outcome: dict[str, object] = {}

    def commit(kiosk: Kiosk) -> None:
        try:
            outcome["commitment"] = kiosk.parking.commit(NEXT, "lottery 2026-04-30: 07 19")
        except ParkingError as refused:
            outcome["refused"] = refused
        assert kiosk.parking.round_status(NEXT) == ("committed" if tamper == "none"
                                                    else "closed")

    raised, _ = run_and_watch(scene, None, commit)
    assert raised == []  # refused, nothing is published; the control's commit is honest
    if tamper == "none":
        inputs = outcome["commitment"]["inputs"]  # type: ignore[index]
        assert "h-3" in {e["member"] for e in inputs["eligible"]}
        assert inputs["random_source"] == "the national lottery of 2026-04-30"
    else:
        refused = outcome["refused"]
        assert isinstance(refused, ParkingError) and refused.reason == "inputs_changed"
        assert str(refused).startswith(f"round {NEXT} cannot be committed: ")
        assert {"member-dropped": "eligible: the register's copy differs from the draw "
                                  "chain's parking.closed entry (member h-3 missing)",
                "source-changed": "random_source: the register's copy differs from the "
                                  "draw chain's parking.announced entry"}[tamper] \
            in str(refused)
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data),
                    "--witness", str(scene.witness_dir))
    assert code == 0, out


@pytest.mark.parametrize("tampered", [False, True], ids=["control", "reopened"])
def test_a_round_reopened_and_closed_again_is_caught(scene, capsys, tampered):
    """Root sets a closed round back to open, takes a request out and has the kiosk close
    it again: the second close is an alarm, and commit still holds to the first."""
    from kiosk.parking.model import ParkingError

    _close_next_round(scene)
    if tampered:
        scene.sql(("UPDATE parking_rounds SET status = 'open' WHERE round = ?", (NEXT,)),
                  ("DELETE FROM parking_requests WHERE round = ? AND member = 'h-3'",
                   (NEXT,)))
    outcome: dict[str, object] = {}

    def close_and_commit(kiosk: Kiosk) -> None:
        if tampered:
            kiosk.parking.close(NEXT, "v-ana")
        try:
            kiosk.parking.commit(NEXT, "lottery 2026-04-30: 07 19", "v-ana")
        except ParkingError as refused:
            outcome["refused"] = refused

    raised, _ = run_and_watch(scene, "second_close" if tampered else None, close_and_commit)
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    if not tampered:
        assert raised == [] and code == 0 and "refused" not in outcome, out
        return
    assert [a.kind for a in raised] == ["second_close"], raised
    assert raised[0].detail == f"entry 7: a second close for round {NEXT} (first: entry 6)"
    refused = outcome["refused"]
    assert isinstance(refused, ParkingError) and refused.reason == "inputs_changed"
    assert "(member h-3 missing)" in str(refused)
    assert code == 1 and (f"draw chain: entry 7: a second parking.closed entry for round "
                          f"{NEXT} (a round is never reopened)") in out


def _append_draw_entry(scene: Scene, action: str, subject: str, data: dict) -> None:
    """What root does to bypass the kiosk's checks: write a draw chain entry by hand,
    hashed and linked as the kiosk would, with its outbox copy, so the kiosk publishes it."""
    import uuid

    from kiosk.events import iso, utc_now

    conn = sqlite3.connect(scene.db)
    with conn:
        seq, prev = conn.execute("SELECT seq, hash FROM parking_draw_chain ORDER BY seq "
                                 "DESC LIMIT 1").fetchone()
        seq, ts = seq + 1, iso(utc_now())
        digest = entry_hash(seq, ts, "v-ana", action, subject, "by hand", data, prev)
        conn.execute("INSERT INTO parking_draw_chain (seq, ts, actor, action, subject, "
                     "reason, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (seq, ts, "v-ana", action, subject, "by hand",
                      json.dumps(data, sort_keys=True), prev, digest))
        body = {"seq": seq, "ts": ts, "actor": "v-ana", "action": action, "subject": subject,
                "reason": "by hand", "data": data, "prev_hash": prev, "hash": digest}
        event_seq = conn.execute("SELECT MAX(seq) + 1 FROM events").fetchone()[0]
        conn.execute("INSERT INTO events (seq, id, ts, type, data) VALUES (?, ?, ?, ?, ?)",
                     (event_seq, str(uuid.uuid4()), ts, "parking.draw_entry",
                      json.dumps(body, sort_keys=True)))
    conn.close()


def _commit_by_hand(scene: Scene) -> dict:
    """A commitment made from the round's stored (editable) close, as commit once did."""
    from kiosk.parking.model import ACCESSIBLE, Ask, Spot
    from kiosk.parking.record import make_commitment, make_inputs
    from kiosk.parking.register import Memory

    conn = sqlite3.connect(scene.db)
    closed, announced = (json.loads(t) for t in conn.execute(
        "SELECT closed, announced FROM parking_rounds WHERE round = ?", (NEXT,)).fetchone())
    memory = Memory.from_json(json.loads(conn.execute(
        "SELECT state FROM parking_state").fetchone()[0]))
    conn.close()
    inputs = make_inputs(NEXT, [Ask(e["member"], e["type"], e["type"] == ACCESSIBLE)
                                for e in closed["eligible"]],
                         [Spot(s["spot"], s["type"]) for s in closed["spots"]], memory,
                         "lottery 2026-04-30: 07 19", closed["closed_at"],
                         closed_at=closed["closed_at"],
                         random_source=announced["random_source"],
                         announced_at=announced["announced_at"])
    commitment = make_commitment(inputs)
    scene.sql(("UPDATE parking_rounds SET status = 'committed', commitment = ? WHERE "
               "round = ?", (json.dumps(commitment), NEXT)))
    _append_draw_entry(scene, "parking.committed", NEXT, commitment)
    return commitment


@pytest.mark.parametrize("tampered", [False, True], ids=["control", "member-dropped"])
def test_a_commitment_written_by_hand_from_a_changed_list_is_caught(scene, capsys,
                                                                    tampered):
    """Root bypasses commit's check and writes the commitment into the draw chain
    itself, hashed and linked as the kiosk would: the witness holds the round's close and
    names the difference, as does the self-check."""
    _close_next_round(scene)
    if tampered:
        _drop_from_closed_list(scene, "h-3")
    _commit_by_hand(scene)

    raised, _ = run_and_watch(scene, "inputs_changed" if tampered else None)
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    if not tampered:
        assert raised == [] and code == 0, out
        return
    assert [a.kind for a in raised] == ["inputs_changed"], raised
    assert raised[0].detail.startswith(f"entry 7 (parking.committed {NEXT}): ")
    assert ("inputs.eligible: differs from the round's parking.closed entry (member h-3 "
            "missing)") in raised[0].detail
    assert code == 1 and (f"round {NEXT}: commitment (entry ") in out
    assert "inputs.eligible: differs from the round's parking.closed entry" in out


def _edit_memory(scene: Scene) -> str:
    """Root edits the draw memory between rounds: one member looks less served."""
    conn = sqlite3.connect(scene.db)
    state = json.loads(conn.execute("SELECT state FROM parking_state").fetchone()[0])
    conn.close()
    member = sorted(state["types"]["standard"])[0]
    state["types"]["standard"][member][0] += 5_000_000  # earned: as if often refused
    from kiosk.parking.register import Memory

    scene.sql(("UPDATE parking_state SET state = ?, state_hash = ?",
               (json.dumps(state), Memory.from_json(state).hash())))
    return member


@pytest.mark.parametrize("tamper", ["none", "memory-edited", "committed-by-hand"])
def test_an_edited_draw_memory_is_refused_or_caught_when_the_next_round_is_drawn(
        scene, capsys, tamper):
    """Root edits the memory between rounds. The kiosk will not commit from it; a
    commitment root writes by hand from it, and the draw the kiosk then runs on it, verify
    alone, but the witness holds the record before them, and names both."""
    from kiosk.parking.model import ParkingError

    _close_next_round(scene)
    if tamper != "none":
        _edit_memory(scene)
    if tamper == "committed-by-hand":
        _commit_by_hand(scene)
    outcome: dict[str, object] = {}

    def commit_and_draw(kiosk: Kiosk) -> None:
        from kiosk.parking.record import verify

        try:
            if tamper != "committed-by-hand":
                kiosk.parking.commit(NEXT, "lottery 2026-04-30: 07 19", "v-ana")
        except ParkingError as refused:
            outcome["refused"] = refused
            return
        assert verify(kiosk.parking.draw(NEXT, "v-ana")) == []  # alone, it verifies

    kind = "draw_invalid" if tamper == "committed-by-hand" else None
    raised, _ = run_and_watch(scene, kind, commit_and_draw)
    code, out = cli(capsys, "parking", "verify", "--db", "--data", str(scene.data))
    if tamper == "none":
        assert raised == [] and code == 0 and "refused" not in outcome, out
        return
    if tamper == "memory-edited":
        refused = outcome["refused"]
        assert isinstance(refused, ParkingError) and refused.reason == "memory_changed"
        assert f"the register's memory is not the one round {ROUND}'s draw left" \
            in str(refused)
        assert raised == [] and code == 0, out  # nothing was committed
        return
    left = f"inputs.prior_state_hash: is not the state round {ROUND} left"
    assert {a.kind for a in raised} == {"inputs_changed", "draw_invalid"}, raised
    assert all(left in a.detail for a in raised)
    assert code == 1 and f"round {NEXT}: commitment (entry 7): {left}" in out
    assert f"round {NEXT}: {left}" in out


@pytest.mark.parametrize("tampered", [False, True], ids=["control", "value-changed"])
def test_a_commitment_edited_before_the_draw_is_refused_at_the_draw(scene, tampered):
    """Root swaps the stored commitment's public random value (its hash redone): the
    kiosk draws only the commitment its draw chain published."""
    from kiosk.parking.model import ParkingError
    from kiosk.parking.model import sha256_hex as digest

    _close_next_round(scene)
    raised, _ = run_and_watch(scene, None, lambda kiosk: kiosk.parking.commit(
        NEXT, "lottery 2026-04-30: 07 19", "v-ana"))
    assert raised == []
    if tampered:
        conn = sqlite3.connect(scene.db)
        commitment = json.loads(conn.execute("SELECT commitment FROM parking_rounds WHERE "
                                             "round = ?", (NEXT,)).fetchone()[0])
        conn.close()
        commitment["inputs"]["public_random"] = "a value that suits someone better"
        commitment["inputs_hash"] = digest(commitment["inputs"])
        scene.sql(("UPDATE parking_rounds SET commitment = ? WHERE round = ?",
                   (json.dumps(commitment), NEXT)))
    outcome: dict[str, object] = {}

    def draw(kiosk: Kiosk) -> None:
        try:
            outcome["record"] = kiosk.parking.draw(NEXT, "v-ana")
        except ParkingError as refused:
            outcome["refused"] = refused

    raised, _ = run_and_watch(scene, None, draw)
    assert raised == []
    if not tampered:
        record = outcome["record"]
        assert record["inputs"]["public_random"] == "lottery 2026-04-30: 07 19"  # type: ignore[index]
        return
    refused = outcome["refused"]
    assert isinstance(refused, ParkingError) and refused.reason == "inputs_changed"
    assert (f"round {NEXT} cannot be drawn: commitment: the register's copy differs from "
            "the draw chain's parking.committed entry") == str(refused)


@pytest.mark.parametrize("tampered", [False, True], ids=["control", "drawn-again"])
def test_a_second_draw_of_a_round_is_caught(scene, capsys, tampered):
    """Root sets a drawn round back to committed (its allocations and memory as before the
    draw) and the kiosk draws it again."""
    from kiosk.parking.model import ParkingError

    if tampered:
        conn = sqlite3.connect(scene.db)
        prior = json.loads(conn.execute("SELECT commitment FROM parking_rounds WHERE "
                                        "round = ?", (ROUND,)).fetchone()[0]
                           )["inputs"]["prior_state"]
        conn.close()
        from kiosk.parking.register import Memory

        scene.sql(("UPDATE parking_rounds SET status = 'committed' WHERE round = ?",
                   (ROUND,)),
                  ("DELETE FROM parking_allocations WHERE round = ?", (ROUND,)),
                  ("UPDATE parking_state SET state = ?, state_hash = ?",
                   (json.dumps(prior), Memory.from_json(prior).hash())))

    def draw(kiosk: Kiosk) -> None:
        if tampered:
            kiosk.parking.draw(ROUND, "v-ana")
        else:
            with pytest.raises(ParkingError) as refused:
                kiosk.parking.draw(ROUND, "v-ana")
            assert refused.value.reason == "round_state"

    raised, _ = run_and_watch(scene, "second_draw" if tampered else None, draw)
    d, w = str(scene.data), str(scene.witness_dir)
    code, out = cli(capsys, "parking", "verify", "--db", "--data", d)
    conn = sqlite3.connect(scene.db)
    stored = conn.execute("SELECT record FROM parking_rounds WHERE round = ?",
                          (ROUND,)).fetchone()[0]
    conn.close()
    record = scene.data.parent / "record.json"
    record.write_text(stored)
    if not tampered:
        assert raised == [] and code == 0, out
        code, out = cli(capsys, "parking", "verify", str(record), "--witness", w)
        assert code == 0, out  # the record the witness holds
        return
    assert any(f"a second draw for round {ROUND}" in a.detail for a in raised
               if a.kind == "second_draw")
    assert code == 1 and f"a second draw of round {ROUND}" in out
    # The second record verifies alone; against the witness it is not the one it holds.
    code, out = cli(capsys, "parking", "verify", str(record))
    assert code == 0, out
    code, out = cli(capsys, "parking", "verify", str(record), "--witness", w)
    assert code == 1 and f"round {ROUND}: differs from the record the witness holds" in out
    assert "witness alarm: " in out and "second_draw" in out


def _newest_audit(scene: Scene) -> tuple:
    conn = sqlite3.connect(scene.db)
    row = conn.execute("SELECT seq, ts, actor, action, subject, reason, data, prev_hash "
                       "FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    return row


@pytest.mark.parametrize("tamper,kind", [("none", None), ("removed", "edited"),
                                         ("changed", "reordered")])
def test_an_audit_entry_changed_and_built_on_is_caught(scene, capsys, tamper, kind):
    """The newest entry removed (with its outbox copy) and the kiosk goes on: its next
    entry takes the removed one's seq, other content (``edited``). Or changed in place,
    its hash recomputed: the kiosk's next entry follows the changed one, not the one the
    witness holds (``reordered``)."""
    seq, ts, actor, action, subject, _, data, prev = _newest_audit(scene)
    if tamper == "removed":
        scene.sql(f"DELETE FROM audit WHERE seq = {seq}",
                  f"DELETE FROM events WHERE type = 'audit.entry' AND "
                  f"json_extract(data, '$.seq') = {seq}")
    elif tamper == "changed":
        digest = entry_hash(seq, ts, actor, action, subject, "another reason",
                            json.loads(data), prev)
        scene.sql(("UPDATE audit SET reason = 'another reason', hash = ? WHERE seq = ?",
                   (digest, seq)))

    def go_on(kiosk: Kiosk) -> None:
        kiosk.parking.add_spot("v-ana", "a new spot painted", "S9", "standard")

    raised, _ = run_and_watch(scene, kind, go_on)
    code, out = cli(capsys, "audit", "verify", "--data", str(scene.data), "--witness",
                    str(scene.witness_dir))
    if kind is None:
        assert raised == [] and code == 0, out
        return
    assert code == 1
    if kind == "edited":
        assert any(a.chain == "audit" and a.detail == f"entry {seq} (parking.spot_added S9) "
                   "differs from the copy the witness holds"
                   for a in raised if a.kind == "edited"), raised
        assert f"audit entry {seq} (" in out and "differs from the witness's copy" in out
    else:
        assert any(a.chain == "audit" and a.detail == f"entry {seq + 1} does not follow "
                   f"entry {seq} the witness holds" for a in raised if a.kind == "reordered")
        assert f"audit entry {seq} ({action} {subject}): differs from the witness's copy" \
            in out



def test_alarms_of_different_kinds_about_one_kiosk_all_stay_retained(tmp_path):
    """One retained alarm per kiosk, chain and kind: a newer alarm never hides another
    kind; the newest of one kind replaces the one before it (the control)."""
    from mqtt import topics
    from tests.mqtt_broker import Collector, close, publish, publisher

    broker = Mosquitto(tmp_path / "broker").start()
    service = start_witness(tmp_path / "witness", broker.port)
    kiosk_side = publisher(broker)
    try:
        def key(public: str) -> str:
            return json.dumps({"format": "kiosk-key/1", "community": COMMUNITY,
                               "kiosk": KIOSK, "algorithm": "ed25519", "public_key": public})

        def raised(n: int) -> bool:
            return len(service.raised) >= n

        key_topic = topics.public_topic(COMMUNITY, KIOSK, topics.PUBLIC_KEY)
        publish(kiosk_side, key_topic, key("aa" * 32))
        publish(kiosk_side, key_topic, key("bb" * 32))  # key_changed
        assert wait_until(lambda: raised(1), 10)
        publish(kiosk_side, key_topic, key("cc" * 32))  # key_changed again, newer
        assert wait_until(lambda: raised(2), 10)
        publish(kiosk_side, topics.public_topic(COMMUNITY, KIOSK,
                                                topics.PUBLIC_ALLOCATIONS),
                json.dumps({"allocations": [], "draws_seq": -1}))  # allocations
        assert wait_until(lambda: raised(3), 10)
        assert [(a.chain, a.kind) for a in service.raised] == [
            ("key", "key_changed"), ("key", "key_changed"), ("draws", "allocations")]

        # What anyone who subscribes now is handed: every kind, each its newest.
        def retained() -> dict[str, dict]:
            late = Collector(broker.port, [topics.witness_alarms_of(COMMUNITY)])
            try:
                late.wait_subscribed()
                wait_until(lambda: len(late.messages()) >= 2, 5)
                return {m.topic: m.json() for m in late.messages()}
            finally:
                late.stop()

        assert wait_until(lambda: len(retained()) == 2, 10)
        held = retained()
        changed = held[topics.witness_alarm_topic(COMMUNITY, "resident", KIOSK, "key",
                                                  "key_changed")]
        assert "cccccccc" in changed["detail"]  # the newer of the same kind replaced
        assert held[topics.witness_alarm_topic(COMMUNITY, "resident", KIOSK, "draws",
                                               "allocations")]["kind"] == "allocations"
    finally:
        close(kiosk_side)
        service.stop()
        service.witness.close()
        broker.stop()
