"""Real Mosquitto brokers for tests and benchmarks, and a subscriber that records traffic.

Each broker listens on a free loopback port of its own, keeps its persistence file in a
temporary directory and can be stopped and started again on the same port.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Mosquitto:
    """One mosquitto process. ``conf`` is appended to a base config with persistence on."""

    def __init__(self, workdir: Path, *, port: int | None = None, conf: str = "",
                 listener: str | None = None, default_limits: bool = True):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.conf = conf
        # A full listener block (e.g. with TLS) replaces the plain one.
        self.listener = listener
        # Off: mosquitto's own queue limits apply unless ``conf`` sets them (federation test).
        self.default_limits = default_limits
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "mosquitto.log"
        self.starts = 0

    host = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config_text(self) -> str:
        listener = self.listener or f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        return (
            f"{listener}\n"
            # Started as root, mosquitto switches to user 'mosquitto' and then cannot write
            # its persistence file or log here: stay the user who runs the tests.
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "persistence_file mosquitto.db\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "connection_messages true\n"
            # Mosquitto's default of 1,000 queued messages per client drops the rest
            # silently; the shipped configs raise it too (deploy/mosquitto/).
            + ("max_queued_messages 1000000\n" if self.default_limits else "")
            + f"{self.conf}\n"
        )

    def start(self, timeout: float = 10.0) -> Mosquitto:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed")
        conf_path = self.workdir / "mosquitto.conf"
        conf_path.write_text(self.config_text())
        self.proc = subprocess.Popen([binary, "-c", str(conf_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.starts += 1
        if not wait_until(self._listening, timeout):
            stderr = self.proc.stderr  # a pipe: stderr=PIPE above
            err = stderr.read().decode() if stderr and self.proc.poll() is not None else ""
            self.stop(kill=True)
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on {self.port}: {err}\n{log[-2000:]}")
        return self

    def _listening(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (mosquitto saves its persistence file) or SIGKILL (it saves nothing)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Collector:
    """A subscriber that records every message it receives, for assertions.

    ``clean_session=False`` with a fixed id makes the broker keep its queue while either
    side is down, as a real consumer would.
    """

    def __init__(self, port: int, subscriptions: Iterable[str] = ("#",), *,
                 client_id: str | None = None, clean_session: bool = True,
                 username: str | None = None, password: str | None = None,
                 connect: bool = True):
        self.subscriptions = list(subscriptions)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"collector-{uuid.uuid4().hex[:8]}",
                                  clean_session=clean_session, protocol=mqtt.MQTTv311)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.port = port
        if connect:
            self.connect()

    def connect(self) -> None:
        self.client.connect_async("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            client.subscribe([(t, 1) for t in self.subscriptions])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.received.append(Received(message.topic, message.payload, message.retain))

    def wait_subscribed(self, timeout: float = 10.0) -> None:
        if not self.subscribed.wait(timeout):
            raise TimeoutError("collector did not subscribe")

    def messages(self, contains: str = "") -> list[Received]:
        with self._lock:
            return [m for m in self.received if contains in m.topic]

    def event_seqs(self) -> list[int]:
        """Seqs of every event received, in arrival order, duplicates included."""
        # (Not Home Assistant's homeassistant/event/… discovery configs.)
        return [m.json()["seq"] for m in self.messages("/event/")
                if m.topic.startswith("community/")]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def first_occurrences(seqs: Iterable[int]) -> list[int]:
    seen: set[int] = set()
    out = []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def publisher(broker: Mosquitto) -> mqtt.Client:
    """A plain paho client, connected, its network loop running; ``close`` it when done."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    if not wait_until(client.is_connected):
        raise RuntimeError(f"test publisher could not connect to {broker.address}")
    return client


def publish(client: mqtt.Client, topic: str, payload: str | bytes, retain: bool = False,
            qos: int = 1) -> None:
    client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()
