"""Shared fixtures. MQTT tests run against a real mosquitto of their own (tests/mqtt_broker.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mqtt_broker import Mosquitto, mosquitto_binary


@pytest.fixture
def broker(tmp_path) -> Iterator[Mosquitto]:
    """A mosquitto on a free loopback port; ``broker.stop()`` / ``broker.start()`` keep the
    port and the persistence file."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()
