"""READY/WATCHDOG/STATUS reach a real notify socket, and the pings stop with the UI loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from kiosk.sdnotify import Notifier, Watchdog, tick_on_loop, watchdog_interval
from tests.conftest import drain

ROOT = Path(__file__).resolve().parent.parent


def recv_one(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    try:
        return sock.recv(4096)
    finally:
        sock.setblocking(False)


def test_ready_status_watchdog_and_stopping_arrive_as_datagrams(notify_socket):
    sock, path = notify_socket
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("serving 28 compartments")
    assert notifier.watchdog()
    assert notifier.status("board 1 silent\nretrying")
    assert notifier.stopping()
    notifier.close()
    assert drain(sock) == [
        b"READY=1\nSTATUS=serving 28 compartments",
        b"WATCHDOG=1",
        b"STATUS=board 1 silent retrying",  # a newline would start a bogus assignment
        b"STOPPING=1",
    ]


def test_abstract_namespace_address():
    name = f"kiosk-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        assert Notifier("@" + name).ready()
        assert recv_one(sock) == b"READY=1"
    finally:
        sock.close()


def test_without_notify_socket_everything_is_a_quiet_no_op():
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert not notifier.watchdog()
    assert not notifier.status("x")
    assert not notifier.stopping()
    dog = Watchdog(notifier, interval=0.01)
    assert not dog.enabled and not dog.tick() and dog.sent == 0


def test_a_vanished_socket_is_logged_once_and_never_raises(tmp_path, caplog):
    notifier = Notifier(str(tmp_path / "gone"))
    assert not notifier.ready()
    assert not notifier.watchdog()
    warnings = [r for r in caplog.records if "cannot notify systemd" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(("env", "expected"), [
    ({"WATCHDOG_USEC": "30000000"}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"}, 15.0),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # someone else's
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "soon"}, None),
    ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"}, None),
    ({}, None),
])
def test_watchdog_interval_is_half_the_period_and_only_for_our_pid(env, expected):
    assert watchdog_interval(env, pid=4242) == expected


def test_ticks_are_rate_limited_to_one_ping_per_interval(notify_socket):
    sock, path = notify_socket
    now = [100.0]
    dog = Watchdog(Notifier(path), interval=10.0, clock=lambda: now[0])
    sent = []
    for t in (100.0, 101.0, 109.9, 110.0, 115.0, 120.5):
        now[0] = t
        sent.append(dog.tick())
    assert sent == [True, False, False, True, False, True]
    assert drain(sock) == [b"WATCHDOG=1"] * 3
    assert dog.poll_every == 1.0


async def test_pings_stop_while_the_loop_is_blocked_and_resume_after(notify_socket):
    sock, path = notify_socket
    dog = Watchdog(Notifier(path), interval=0.01)
    stop = tick_on_loop(asyncio.get_running_loop(), dog, every=0.002)
    try:
        await wait_for_pings(sock, 3)
        drain(sock)
        sent = dog.sent
        # The UI loop is stuck (a blocking call on it) for 20 watchdog intervals.
        time.sleep(0.2)
        assert drain(sock) == [], "a blocked loop must not ping"
        assert dog.sent == sent
        await wait_for_pings(sock, 1)
    finally:
        stop()


async def wait_for_pings(sock: socket.socket, count: int, timeout: float = 5.0) -> None:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} pings arrived"
        await asyncio.sleep(0.002)
        got += drain(sock)
    assert set(got) == {b"WATCHDOG=1"}


def test_a_pinger_thread_would_keep_pinging_for_a_frozen_loop(notify_socket):
    """Why the pings must come from the UI loop: a thread knows nothing of the loop."""
    sock, path = notify_socket
    dog = Watchdog(Notifier(path), interval=0.001)
    done = threading.Event()

    def pinger() -> None:
        while not done.wait(0.001):
            dog.tick()

    received: list[bytes] = []
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=pinger)
    thread.start()
    try:
        # The loop's only callback blocks it; the thread's ping still arrives meanwhile.
        loop.call_soon(lambda: received.append(recv_one(sock)))
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        done.set()
        thread.join()
        loop.close()
    assert received == [b"WATCHDOG=1"]


def test_kiosk_under_cage_and_foot_claims_the_watchdog_via_env_u(notify_socket):
    """The unit's chain: systemd sets WATCHDOG_PID to cage's PID; `env -u` drops it."""
    sock, path = notify_socket
    code = ("from kiosk.sdnotify import Notifier, Watchdog\n"
            "n = Notifier.from_env(); print(Watchdog(n).tick(), n.ready('up'))\n")
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000",
           "WATCHDOG_PID": "1"}
    env_bin = shutil.which("env")
    assert env_bin
    plain = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True)
    assert plain.stdout.split() == ["False", "True"]  # WATCHDOG_PID is not ours
    assert drain(sock) == [b"READY=1\nSTATUS=up"]
    unset = subprocess.run([env_bin, "-u", "WATCHDOG_PID", sys.executable, "-c", code],
                           cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert unset.stdout.split() == ["True", "True"]
    assert drain(sock) == [b"WATCHDOG=1", b"READY=1\nSTATUS=up"]
