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
