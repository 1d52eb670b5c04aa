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


def test_a_lost_port_is_reopened_once_its_device_is_back(tmp_path, caplog):
    import logging
    import os

    caplog.set_level(logging.WARNING, logger="devices.serial_board")
    with BoardSimulator(boards=(0,), link=tmp_path / "usb-rs485") as sim, \
            open_board(sim.port, timeout_s=0.1, reopen_max_s=0.2) as bus:
        assert bus.status(0).board == 0
        sim.unplug()
        with pytest.raises(BoardError, match="Input/output error"):
            bus.status(0)
        assert not bus.connected
        for _ in range(20):  # every request fails at once: the back-off, not a timeout
            with pytest.raises(BoardError, match="down"):
                bus.status(0)
        assert bus.counters.timeouts == 0
        with pytest.raises(BoardError):
            bus.unlock(0, 1)
        assert sim.unlock_count() == 0
        sim.replug()
        assert os.path.exists(sim.port)
        assert _answers_soon(bus)
        assert bus.connected
        counters = bus.counters
        assert counters.io_errors == 1 and counters.reopens == 1
    # Two lines for the outage: when it began and when the line answered again.
    lines = [r.getMessage() for r in caplog.records if r.name == "devices.serial_board"]
    assert len(lines) == 2 and "failed" in lines[0] and "again" in lines[1]


def test_a_replugged_adapter_is_tried_at_once_whatever_the_back_off(tmp_path):
    # A long back-off (60 s) spares a port that keeps failing; the device path coming back
    # ends it: the very next request reopens.
    with BoardSimulator(boards=(0,), link=tmp_path / "usb-rs485") as sim, \
            open_board(sim.port, timeout_s=0.1, reopen_max_s=60.0) as bus:
        assert bus.status(0).board == 0
        sim.unplug()
        for _ in range(3):  # the loss, then reopen tries that find no device: backing off
            with pytest.raises(BoardError):
                bus.status(0)
        # Control: while the path stays gone, requests are refused without a try.
        with pytest.raises(BoardError, match="reopening"):
            bus.status(0)
        sim.replug()
        assert bus.status(0).board == 0
        assert bus.connected and bus.counters.reopens == 1


def test_a_silent_line_whose_path_names_another_device_is_reopened(tmp_path):
    # The old adapter's handle still works but hears nothing; udev moved the link on.
    link = tmp_path / "usb-rs485"
    with BoardSimulator(boards=(0,), link=link) as old:
        bus = open_board(str(link), timeout_s=0.05, retries=0)
        assert bus.status(0).board == 0
        old.set_silent(0, True)
        with pytest.raises(BoardTimeout):
            bus.status(0)  # control: same device on the path, a plain timeout
        with BoardSimulator(boards=(0,), link=link) as new:
            new.force_open(0, 2)
            with pytest.raises(BoardError, match="another device"):
                bus.status(0)
            assert _answers_soon(bus)
            assert not bus.status(0).is_locked(2)  # the new device answers
        bus.close()


def test_a_closed_driver_stays_closed(sim):
    bus = open_board(sim.port, timeout_s=0.1)
    bus.close()
    with pytest.raises(BoardError, match="closed"):
        bus.status(0)
    assert sim.wait_frames(1, timeout_s=0.2) == []


def _answers_soon(bus) -> bool:
    """Ask until the board answers: each try is a request, as the health poll makes."""
    from tests.mqtt_broker import wait_until

    def answers() -> bool:
        try:
            return bus.status(0).board == 0
        except BoardError:
            return False

    return wait_until(answers, timeout=10)


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
