"""The real serial driver against the pty board simulator."""

from __future__ import annotations

import threading

import pytest

from devices.board_sim import BoardSimulator
from devices.serial_board import BusCounters, open_board
from kiosk.hardware import BoardError, BoardTimeout


def test_status_reports_every_lock_and_sensor(sim, bus):
    sim.put_item(0, 1)
    sim.put_item(0, 16)
    sim.force_open(0, 9)
    status = bus.status(0)
    assert status.board == 0
    assert [n for n in range(1, 17) if not status.is_locked(n)] == [9]
    assert [n for n in range(1, 17) if status.is_occupied(n)] == [1, 16]
    assert bus.status(3).locked == (True,) * 16


def test_unlock_reaches_the_addressed_lock_only(sim, bus):
    bus.unlock(1, 16)
    assert not bus.status(1).is_locked(16)
    assert sim.door_open(1, 16)
    assert sim.unlock_count() == 1 and sim.unlock_count(1, 16) == 1
    assert not any(sim.door_open(b, n) for b in (0, 1, 3) for n in range(1, 16))
    sim.shut(1, 16)
    assert bus.status(1).is_locked(16)


@pytest.mark.parametrize("polarity", [0, 1])
def test_lock_bit_polarity_is_a_setting(polarity):
    with BoardSimulator(boards=(2,), lock_bit_locked=polarity) as sim, \
            open_board(sim.port, lock_bit_locked=polarity, timeout_s=0.1) as bus:
        sim.force_open(2, 4)
        assert [n for n, locked in enumerate(bus.status(2).locked, 1) if not locked] == [4]
    # Read with the wrong setting, every lock reads the other way round.
    with BoardSimulator(boards=(2,), lock_bit_locked=polarity) as sim, \
            open_board(sim.port, lock_bit_locked=1 - polarity, timeout_s=0.1) as bus:
        sim.force_open(2, 4)
        assert [n for n, locked in enumerate(bus.status(2).locked, 1) if locked] == [4]


def test_garbage_before_replies_is_skipped_and_counted(sim, bus):
    sim.set_noise(garbage_rate=1.0)
    for _ in range(20):
        assert bus.status(0).locked == (True,) * 16
    counters = bus.counters
    assert counters.dropped_bytes > 0
    assert counters.timeouts == 0


def test_bad_checksums_are_retried_until_a_good_reply(sim):
    sim.set_noise(corrupt_rate=0.3)
    bus = open_board(sim.port, timeout_s=0.1, retries=8)
    for _ in range(20):
        assert bus.status(0).locked == (True,) * 16
    counters = bus.counters
    assert counters.retries > 0
    assert counters.bad_frames >= counters.retries
    assert counters.timeouts == 0
    bus.close()


def test_a_line_of_only_bad_replies_is_a_board_error_not_a_timeout(sim, bus):
    sim.set_noise(corrupt_rate=1.0)
    with pytest.raises(BoardError) as caught:
        bus.status(0)
    assert not isinstance(caught.value, BoardTimeout)
    assert bus.counters.bad_frames == 3


def test_silence_is_a_timeout_after_the_retries(sim, bus):
    with pytest.raises(BoardTimeout, match="board 2 did not answer"):
        bus.status(2)  # no such board on the bus
    sim.set_silent(3, True)
    with pytest.raises(BoardTimeout):
        bus.status(3)
    assert bus.counters == BusCounters(requests=6, retries=4, timeouts=6)
    sim.set_silent(3, False)
    assert bus.status(3).board == 3


def test_arguments_are_checked_before_anything_is_sent(sim, bus):
    for board, lock in [(16, 1), (0, 0), (0, 17)]:
        with pytest.raises(ValueError):
            bus.unlock(board, lock)
    with pytest.raises(ValueError):
        bus.status(-1)
    assert sim.log() == []


def test_bad_port_and_unknown_protocol_are_clear_errors(tmp_path, sim):
    with pytest.raises(BoardError, match="cannot open port"):
        open_board(str(tmp_path / "ttyNONE"))
    with pytest.raises(ValueError, match="unknown board protocol 'modbus'"):
        open_board(sim.port, protocol="modbus")


def test_a_dead_line_raises_board_error(sim):
    bus = open_board(sim.port, timeout_s=0.1)
    sim.close()
    with pytest.raises(BoardError):
        bus.status(0)
    bus.close()


def test_threads_share_the_bus_without_mixing_replies(sim, bus):
    sim.force_open(1, 7)
    errors: list[str] = []

    def reader(board: int, open_lock: int | None) -> None:
        for _ in range(25):
            status = bus.status(board)
            opened = [n for n, locked in enumerate(status.locked, 1) if not locked]
            if status.board != board or opened != ([open_lock] if open_lock else []):
                errors.append(f"board {board}: {status}")

    threads = [threading.Thread(target=reader, args=args)
               for args in [(0, None), (1, 7), (3, None)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert bus.counters.requests == 75
