"""Shared fixtures: simulated hardware that the real adapters talk to."""

from __future__ import annotations

import pytest


@pytest.fixture
def sim():
    """Three simulated Kerong boards (addresses 0, 1, 3) on a fresh pseudo-terminal."""
    from devices.board_sim import BoardSimulator

    with BoardSimulator(boards=(0, 1, 3), seed=1) as simulator:
        yield simulator


@pytest.fixture
def bus(sim):
    """The real serial driver on the simulator's pty, with short timeouts."""
    from devices.serial_board import open_board

    with open_board(sim.port, timeout_s=0.1, retries=2) as driver:
        yield driver


@pytest.fixture
def mock_factory():
    """A private gpiozero mock pin factory, passed to each device (never set globally)."""
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    yield factory
    factory.reset()
    factory.close()
