"""A real Mosquitto for tests and benchmarks, on a free loopback port of its own.

    with Broker(tmp_path) as broker:
        client = publisher(broker)
        ...
        broker.restart()   # same port; retained messages are gone (no persistence)
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def mosquitto_path() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(found, os.X_OK):
        raise RuntimeError("mosquitto is not installed")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class Broker:
    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = ""):
        self.extra_conf = extra_conf  # appended to the config, e.g. to refuse anonymous users
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            # Started as root, mosquitto would switch to user 'mosquitto' and lose its log.
            f"user {getpass.getuser()}\n"
            "persistence false\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\n"
            "max_queued_messages 100000\n"
            f"{self.extra_conf}\n")
        self.proc = subprocess.Popen([mosquitto_path(), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_until(self._accepts, timeout=10):
            self.stop()
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on {self.address}: {log[-500:]}")

    def _accepts(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {self.proc.returncode}")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def publisher(broker: Broker) -> mqtt.Client:
    """A plain paho client, connected, its network loop running. Call ``.disconnect()``
    and ``.loop_stop()`` when done (or use ``close``)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    if not wait_until(client.is_connected):
        raise RuntimeError(f"test publisher could not connect to {broker.address}")
    return client


def publish(client: mqtt.Client, topic: str, payload: str | bytes, retain: bool = False,
            qos: int = 1) -> None:
    info = client.publish(topic, payload, qos=qos, retain=retain)
    info.wait_for_publish(5)


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()
