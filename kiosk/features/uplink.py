"""The uplink: the outbox publisher to the community's MQTT broker.

Every commit that adds an event or a notification kicks the publisher, so it goes out at
once rather than at the next poll. Notifications stay in the outbox until the notifier's
receipt (docs/notify.md); the publisher re-sends them after ``[notify] receipt_timeout_s``.
With ``Devices.uplink_gate`` (``kiosk simulate``) the publisher starts once the gate opens.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from kiosk.feature import Feature

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config
    from mqtt.publisher import Publisher


def wanted(config: Config) -> bool:
    return config.mqtt.enabled


def build(kiosk: Kiosk) -> None:
    from mqtt.publisher import Publisher

    config = kiosk.config
    publisher = Publisher(kiosk.outbox, config.mqtt, config.community_id, config.kiosk_id,
                          receipt_timeout_s=config.notify.receipt_timeout_s,
                          receipt_timeout_max_s=config.notify.receipt_timeout_max_s)
    kiosk.publisher = publisher
    kiosk.outbox.on_commit(publisher.kick)


def publisher_of(kiosk: Kiosk) -> Publisher:
    """The kiosk's publisher, for the parts that run only where the uplink was built."""
    if kiosk.publisher is None:
        raise RuntimeError("this kiosk has no uplink (the uplink feature was not built)")
    return kiosk.publisher


def start(kiosk: Kiosk) -> None:
    publisher = publisher_of(kiosk)
    gate = kiosk.devices.uplink_gate
    if gate is None:
        publisher.start()
        return

    closing = threading.Event()
    kiosk.signals.connect("closing", closing.set)

    def start_when_open() -> None:
        while not gate.wait(0.1):
            if closing.is_set():
                return
        if not closing.is_set():
            publisher.start()

    thread = threading.Thread(target=start_when_open, name="uplink-gate", daemon=True)
    thread.start()
    kiosk.signals.connect("closing", lambda: thread.join(1.0))


def stop(kiosk: Kiosk) -> None:
    publisher = publisher_of(kiosk)
    if publisher.started:
        publisher.stop()


FEATURE = Feature("uplink", build, start=start, stop=stop, wanted=wanted)
