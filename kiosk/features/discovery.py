"""Home Assistant discovery for this kiosk's devices, kept retained on the broker.

The publisher re-sends every retained message after each connect, so the configs arrive
on every connect, also after a broker lost its state.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from kiosk.feature import Feature
from kiosk.features.uplink import publisher_of

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config


def wanted(config: Config) -> bool:
    return config.mqtt.enabled


def sw_version() -> str:
    try:
        return version("community-kiosk")
    except PackageNotFoundError:
        return ""


def build(kiosk: Kiosk) -> None:
    return None


def start(kiosk: Kiosk) -> None:
    from mqtt import discovery

    discovery.announce(publisher_of(kiosk), kiosk.config, sw_version())


FEATURE = Feature("discovery", build, start=start, wanted=wanted)
