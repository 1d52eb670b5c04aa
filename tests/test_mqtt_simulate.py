"""``kiosk simulate`` against a real mosquitto: every parcel through, every event acked,
and nothing lost while the broker restarts again and again or the kiosk is SIGKILLed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.mqtt_broker import Collector, first_occurrences, wait_until

ROOT = Path(__file__).resolve().parent.parent
EVENTS = "community/sim/kiosk/sim-1/event/#"


def simulate(broker_port: int, data: Path, parcels: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "simulate", "--broker", f"127.0.0.1:{broker_port}",
         "--data", str(data), "--parcels", str(parcels), "--reconnect-max", "1", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        _out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _out, err = proc.communicate()
    return proc.returncode, err


def kiosk_db(data: Path, sql: str) -> int:
    if not (data / "kiosk.db").exists():
        return 0
    with sqlite3.connect(data / "kiosk.db", timeout=10) as conn:
        try:
            return conn.execute(sql).fetchone()[0] or 0
        except sqlite3.OperationalError:  # tables not made yet
            return 0


def last_seq(data: Path) -> int:
    return kiosk_db(data, "SELECT MAX(seq) FROM events")


def acked(data: Path) -> int:
    return kiosk_db(data, "SELECT COUNT(*) FROM events WHERE published = 1")


def holds_every_seq(sub: Collector, last: int) -> None:
    assert wait_until(lambda: set(sub.event_seqs()) >= set(range(1, last + 1)), 30)
    assert first_occurrences(sub.event_seqs()) == list(range(1, last + 1))


def test_every_parcel_goes_through_and_public_topics_carry_no_codes(broker, tmp_path):
    everything = Collector(broker.port, ["#"])
    everything.wait_subscribed()
    code, err = finish(simulate(broker.port, tmp_path, 40, "--rate", "0"))
    assert code == 0, err
    assert "done: 40 parcels through" in err
    assert kiosk_db(tmp_path, "SELECT COUNT(*) FROM parcels WHERE state = 'collected'") == 40
    assert kiosk_db(tmp_path, "SELECT COUNT(*) FROM events WHERE published = 0") == 0
    last = last_seq(tmp_path)
    holds_every_seq(everything, last)
    with sqlite3.connect(tmp_path / "phones.db") as conn:
        codes = [r[0] for r in conn.execute("SELECT code FROM codes")]
    assert len(codes) >= 40
    public = [m for m in everything.messages() if "/notify/" not in m.topic]
    assert any("/state/lockers" in m.topic for m in public)
    assert any(m.topic.startswith("homeassistant/") for m in public)
    for m in public:
        text = m.payload.decode()
        assert not any(c in text for c in codes), m.topic
    everything.stop()


def test_broker_restarted_again_and_again_during_a_run_loses_nothing(broker, tmp_path):
    sub = Collector(broker.port, [EVENTS], client_id="plan-like", clean_session=False)
    sub.wait_subscribed()
    proc = simulate(broker.port, tmp_path, 150, "--rate", "60")
    try:
        seen = 0
        for _ in range(4):
            # Let the kiosk get some events through, then take the broker away.
            floor = seen + 20
            assert wait_until(lambda f=floor: acked(tmp_path) > f, 60)
            seen = acked(tmp_path)
            broker.restart()
        assert proc.poll() is None, "the restarts must happen during the run"
        code, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert code == 0, err
    holds_every_seq(sub, last_seq(tmp_path))
    sub.stop()


def test_kiosk_killed_and_restarted_carries_on_with_seq_continuing(broker, tmp_path):
    sub = Collector(broker.port, [EVENTS], client_id="plan-like", clean_session=False)
    sub.wait_subscribed()
    killed_at = []
    for _ in range(2):
        proc = simulate(broker.port, tmp_path, 120, "--rate", "40")
        floor = (killed_at[-1] if killed_at else 0) + 30
        assert wait_until(lambda f=floor: last_seq(tmp_path) > f, 60)
        proc.send_signal(signal.SIGKILL)
        finish(proc)
        killed_at.append(last_seq(tmp_path))
    proc = simulate(broker.port, tmp_path, 120, "--rate", "40")
    code, err = finish(proc)
    assert code == 0, err
    last = last_seq(tmp_path)
    assert last > killed_at[-1] > killed_at[0]
    assert kiosk_db(tmp_path, "SELECT COUNT(*) FROM parcels WHERE state = 'collected'") == 120
    assert kiosk_db(tmp_path, "SELECT COUNT(*) FROM parcels WHERE state = 'in_review'") == 0
    holds_every_seq(sub, last)
    sub.stop()


def test_bad_arguments_and_a_second_run_on_the_same_dir_are_refused(broker, tmp_path):
    for extra in (["--parcels", "-1"], ["--rate", "-2"], ["--community", "Bad/Id"]):
        args = [sys.executable, "-m", "kiosk", "simulate", "--broker", broker.address,
                "--data", str(tmp_path), "--parcels", "5", *extra]
        out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    first = simulate(broker.port, tmp_path, 10_000, "--rate", "5")
    try:
        assert wait_until(lambda: last_seq(tmp_path) > 0, 30)
        second = simulate(broker.port, tmp_path, 10)
        code, err = finish(second, timeout=60)
        assert code == 2 and "another kiosk simulate is running" in err
    finally:
        first.send_signal(signal.SIGTERM)
        code, err = finish(first)
    assert code == 130, err  # stopped before done: run it again to carry on
