"""Door confirmation (kiosk.doors) with the real driver on the simulated boards."""

from __future__ import annotations

import pytest

from kiosk.doors import JAMMED, DoorResult, is_shut, open_door
from kiosk.hardware import BoardTimeout


def test_a_door_opens_on_the_first_pulse(sim, bus):
    result = open_door(bus, 0, 5, confirm_s=0.5, poll_s=0.01)
    assert result == DoorResult(opened=True, attempts=1)
    assert sim.door_open(0, 5)
    assert sim.unlock_count(0, 5) == 1


def test_a_jammed_lock_gets_one_retry_then_is_reported_jammed(sim, bus):
    sim.jam(3, 2)
    result = open_door(bus, 3, 2, confirm_s=0.05, poll_s=0.01)
    assert result == DoorResult(opened=False, attempts=2, error=JAMMED)
    assert result.jammed
    assert sim.unlock_count(3, 2) == 2
    assert not sim.door_open(3, 2)


def test_a_silent_board_is_not_jammed_but_says_why(sim, bus):
    sim.set_silent(1, True)
    result = open_door(bus, 1, 1, confirm_s=0.01, poll_s=0.01)
    assert not result.opened and not result.jammed
    assert "did not answer" in result.error
    assert result.attempts == 2


def test_door_shut_is_seen(sim, bus):
    open_door(bus, 0, 9, confirm_s=0.5, poll_s=0.01)
    assert not is_shut(bus, 0, 9)
    sim.shut(0, 9)
    assert is_shut(bus, 0, 9)


def test_a_dead_board_is_not_taken_for_a_shut_door(sim, bus):
    sim.set_silent(0, True)
    with pytest.raises(BoardTimeout):
        is_shut(bus, 0, 1)
