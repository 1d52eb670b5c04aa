"""`kiosk notify` and `kiosk witness` under systemd (Type=notify, WatchdogSec=): READY once
subscribed, watchdog pings while their worker keeps turning, none while it is stuck, and
STOPPING on SIGTERM. A real notify socket, the real service, the real broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.notifications import wire_payload
from mqtt import topics
from notify.contacts import ContactsDirectory
from notify.store import open_notifier_store
from tests.notify_support import PushInbox

ROOT = Path(__file__).resolve().parent.parent
BROKER = "127.0.0.1:1883"
# Pings every second; a worker still for a second is stuck.
WATCHDOG_USEC = "2000000"
# More pings than a stuck worker can still send (one at most, plus any already queued).
HEALTHY = 5


class Systemd:
    """The notify socket systemd would pass: what the service says, line by line."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = str(tmp_path / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got: list[str] = []

    def next(self, timeout: float = 30) -> str | None:
        self.sock.settimeout(timeout)
        try:
            message = self.sock.recv(4096).decode()
        except TimeoutError:
            return None
        self.got.append(message)
        return message

    def until(self, line: str, count: int = 1) -> None:
        while sum(line in m for m in self.got) < count:
            assert self.next() is not None, f"no {line} in time: {self.got}"

    def pings_stop(self) -> bool:
        """True once two ping intervals pass without a ping; False if pings keep coming."""
        for _ in range(HEALTHY):
            message = self.next(timeout=2.5)
            if message is None:
                return True
            assert "STOPPING=1" not in message
        return False


@contextmanager
def service(systemd: Systemd, *argv: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": WATCHDOG_USEC}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-c", "from kiosk.cli.main import main; main()",
                             *argv], cwd=ROOT, env=env, stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        systemd.until("STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        systemd.sock.close()


def publish(topic: str, payload: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    host, port = BROKER.split(":")
    client.connect(host, int(port))
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.loop_stop()
        client.disconnect()


def test_kiosk_notify_pings_while_it_delivers_and_not_while_a_delivery_is_stuck(tmp_path):
    community, kiosk = f"wd{uuid.uuid4().hex[:8]}", "k1"
    push = PushInbox().start()
    book = ContactsDirectory(open_notifier_store(tmp_path / "notify"))
    # Apprise waits this long for the answer the inbox holds back: longer than the test.
    book.add("101", push.url("101") + "?rto=60", "en")
    book.store.close()
    systemd = Systemd(tmp_path)
    try:
        with service(systemd, "notify", "--broker", BROKER, "--data", str(tmp_path / "notify"),
                     "--community", community, "--name", "wd"):
            systemd.until("WATCHDOG=1", 2)
            assert systemd.got[0].startswith("READY=1")  # once subscribed, before any ping
            push.hold.set()
            publish(topics.notify_topic(community, kiosk, "101"), json.dumps(wire_payload(
                uid=uuid.uuid4().hex, seq=1, ts="2026-12-01T00:00:00Z", kind="pickup_code",
                household="101", community=community, kiosk=kiosk,
                data={"code": "123456", "parcels": 1})))
            assert push.holding.wait(30)
            assert systemd.pings_stop()
            # Control: the same service pings again once the delivery is no longer stuck.
            push.stop()
            before = len(systemd.got)
            systemd.until("WATCHDOG=1", sum("WATCHDOG=1" in m for m in systemd.got) + 1)
            assert len(systemd.got) > before
    finally:
        push.stop()


def test_kiosk_witness_pings_while_it_turns_and_not_while_an_ingest_is_stuck(tmp_path):
    community, kiosk = f"wd{uuid.uuid4().hex[:8]}", "k1"
    data = tmp_path / "witness"
    systemd = Systemd(tmp_path)
    with service(systemd, "witness", "--broker", BROKER, "--data", str(data), "--name",
                 f"wd{uuid.uuid4().hex[:8]}", "--community", community):
        systemd.until("WATCHDOG=1", 2)
        assert systemd.got[0].startswith("READY=1")
        # Another writer holds witness.db: the next message cannot go in.
        other = sqlite3.connect(data / "witness.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            publish(topics.public_topic(community, kiosk, topics.PUBLIC_KEY), "{}")
            assert systemd.pings_stop()
        finally:
            other.rollback()
            other.close()
        # Control: with the database free again the pings come back.
        systemd.until("WATCHDOG=1", sum("WATCHDOG=1" in m for m in systemd.got) + 1)
