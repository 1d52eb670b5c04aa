"""Shared fixtures: simulated hardware that the real adapters talk to, and real mosquitto
brokers of their own for the MQTT tests (tests/mqtt_broker.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mqtt_broker import Mosquitto, mosquitto_binary


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


@pytest.fixture
def broker(tmp_path) -> Iterator[Mosquitto]:
    """A mosquitto on a free loopback port; ``broker.stop()`` / ``broker.start()`` keep the
    port and the persistence file."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()
