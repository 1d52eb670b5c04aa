"""Home Assistant discovery for this kiosk's devices, kept retained on the broker.

The publisher re-sends every retained message after each connect, so the configs arrive
on every connect, also after a broker lost its state. At start and then every minute the
configs are worked out again (parking spot types are imported at run time); configs of
parts that are gone are cleared with an empty retained message (``DiscoveryRecord``
remembers what was ever published).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.discovery_record import DiscoveryRecord
from kiosk.feature import Feature, Periodic
from kiosk.features.uplink import publisher_of

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config

EVERY_S = 60.0


def wanted(config: Config) -> bool:
    return config.mqtt.enabled


def build(kiosk: Kiosk) -> None:
    return None


class Announcer:
    """Works the configs out and hands them to the publisher; records what it published."""

    def __init__(self, kiosk: Kiosk):
        self.kiosk = kiosk
        self.record = DiscoveryRecord(kiosk.store)
        self._recorded: tuple[frozenset[str], frozenset[str]] | None = None
        self._lock = threading.Lock()

    def parking_types(self) -> list[str]:
        parking = getattr(self.kiosk, "parking", None)
        return sorted(parking.spot_summary()) if parking is not None else []

    def sync(self) -> None:
        from mqtt import discovery

        config = self.kiosk.config
        with self._lock:
            messages = discovery.discovery_messages(config, __version__, self.parking_types())
            live = frozenset(topic for topic, _ in messages)
            # (Not the configs of kiosks before 0.1, under another node: the ACL lets a
            # kiosk write its own node only, and a refused publish drops its connection.)
            stale = frozenset(self.record.known() - live)
            publisher = publisher_of(self.kiosk)
            for topic, payload in messages:
                publisher.set_retained(topic, payload)
            for topic in sorted(stale):
                publisher.set_retained(topic, "")  # empty + retained: the broker forgets it
            if self._recorded != (live, stale):
                self.record.record(live, stale)
                self._recorded = (live, stale)


def periodic(kiosk: Kiosk) -> list[Periodic]:
    announcer = Announcer(kiosk)
    return [Periodic("discovery", EVERY_S, announcer.sync)]


# The scheduler runs it the first time at start, right after the uplink started.
FEATURE = Feature("discovery", build, periodic=periodic, wanted=wanted)
