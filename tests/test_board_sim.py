"""The simulator itself: what a test or the demo can see and do through its API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devices import kerong
from devices.board_sim import BoardSimulator

ROOT = Path(__file__).resolve().parent.parent


def test_wire_log_keeps_every_frame_with_its_arrival_time(sim, bus):
    bus.unlock(0, 3)
    bus.status(0)
    log = sim.wait_frames(2)
    assert [(f.addr, f.cmd) for f in log] == [(0x02, kerong.CMD_UNLOCK), (0x00, kerong.CMD_STATUS)]
    assert log[0].raw == kerong.unlock_request(0, 2)
    assert log[0].t <= log[1].t


def test_a_hand_puts_and_takes_items(sim, bus):
    sim.put_item(3, 12)
    assert sim.is_occupied(3, 12) and bus.status(3).is_occupied(12)
    sim.take_item(3, 12)
    assert not bus.status(3).is_occupied(12)


def test_unknown_locks_and_boards_are_refused():
    with pytest.raises(ValueError):
        BoardSimulator(boards=(16,))
    with BoardSimulator(boards=(0,)) as sim, pytest.raises(ValueError):
        sim.shut(1, 1)


def test_module_entry_prints_its_port_and_serves_until_terminated():
    proc = subprocess.Popen([sys.executable, "-m", "devices.board_sim", "--boards", "0,5"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        port = proc.stdout.readline().strip()
        assert os.path.exists(port)
        from devices.serial_board import open_board

        with open_board(port, timeout_s=0.5) as bus:
            assert bus.status(5).board == 5
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


def test_unplug_closes_the_pty_and_replug_brings_the_same_boards_back_on_the_link(tmp_path):
    from devices.serial_board import open_board
    from kiosk.hardware import BoardError

    link = tmp_path / "usb-rs485"
    with BoardSimulator(boards=(0,), link=link) as sim:
        assert sim.port == str(link) and os.readlink(link) == sim.pty
        sim.force_open(0, 5)
        with open_board(sim.port, timeout_s=0.1) as bus:
            assert not bus.status(0).is_locked(5)
        first = sim.pty
        sim.unplug()
        assert not sim.plugged and not os.path.lexists(link)  # gone, as udev removes it
        with pytest.raises(BoardError, match="cannot open port"):
            open_board(sim.port, timeout_s=0.1)
        sim.replug()
        assert os.readlink(link) == sim.pty and os.path.exists(link)
        with open_board(sim.port, timeout_s=0.1) as bus:
            assert not bus.status(0).is_locked(5)  # the boards as they were
        assert sim.wait_frames(2)[-1].cmd == kerong.CMD_STATUS
    assert not os.path.lexists(link)  # closed: the adapter and its name are gone
    assert first  # (a pty name; it may be reused by the kernel)


def test_a_second_simulator_takes_the_link_over_and_the_first_leaves_it(tmp_path):
    link = tmp_path / "usb-rs485"
    old = BoardSimulator(boards=(0,), link=link).start()
    new = BoardSimulator(boards=(0,), link=link).start()
    try:
        assert os.readlink(link) == new.pty
        old.close()
        assert os.readlink(link) == new.pty
    finally:
        old.close()
        new.close()
    assert not os.path.lexists(link)


def test_module_entry_pulls_and_replugs_its_adapter_on_sigusr1(tmp_path):
    import signal

    from devices.serial_board import open_board
    from kiosk.hardware import BoardError
    from tests.mqtt_broker import wait_until

    link = tmp_path / "usb-rs485"
    proc = subprocess.Popen([sys.executable, "-m", "devices.board_sim", "--link", str(link)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == str(link)
        with open_board(str(link), timeout_s=0.5) as bus:
            assert bus.status(0).board == 0
            proc.send_signal(signal.SIGUSR1)
            assert wait_until(lambda: not os.path.exists(link), timeout=10)
            with pytest.raises(BoardError):
                bus.status(0)
            proc.send_signal(signal.SIGUSR1)
            assert wait_until(lambda: os.path.exists(link), timeout=10)
            assert wait_until(lambda: _answers(bus), timeout=10)
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0


def _answers(bus) -> bool:
    from kiosk.hardware import BoardError

    try:
        return bus.status(0).board == 0
    except BoardError:
        return False
