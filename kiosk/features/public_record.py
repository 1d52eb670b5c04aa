"""The kiosk's public record: its key, signed chain heads, allocations, draw record and
duty roster kept retained on the broker, and the live state checked against the draw
record every ``CHECK_S`` seconds (a difference is a public ``parking.record_mismatch``;
the gate follows the record regardless, ``ParkingRegister.may_open_gate``).

The key is made on the first run in the data directory (``kiosk/signing.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.feature import Feature, Periodic
from kiosk.public_record import PublicRecord, publish_all
from kiosk.signing import KioskKey

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kiosk.composition import Kiosk

log = logging.getLogger(__name__)

# Well within the minute the community asked for between a changed table and the alarm.
CHECK_S = 20.0
# The heads follow every commit (see start); this is the safety net.
PUBLISH_S = 30.0
TASK_CHECK = "record-check"
TASK_PUBLISH = "public-record"


def data_dir(kiosk: Kiosk) -> Path:
    if kiosk.store.path != ":memory:":
        return Path(kiosk.store.path).parent
    return Path(kiosk.config.data_dir)


def build(kiosk: Kiosk) -> None:
    kiosk.key = KioskKey.load_or_create(data_dir(kiosk))
    kiosk.public_record = PublicRecord(
        kiosk.key, kiosk.config.community_id, kiosk.config.kiosk_id, kiosk.audit,
        parking=getattr(kiosk, "parking", None), duty=getattr(kiosk, "duty", None))


def publish(kiosk: Kiosk) -> None:
    publisher = kiosk.publisher
    if publisher is None:
        return
    from mqtt import topics

    community, name = kiosk.config.community_id, kiosk.config.kiosk_id

    def topic(item: str) -> str:
        return topics.public_topic(community, name, item)

    publish_all(kiosk.public_record, publisher.set_retained, topic)


def start(kiosk: Kiosk) -> None:
    # Every commit that adds an event may move a head: publish them soon after.
    kiosk.outbox.on_commit(lambda: kiosk.scheduler.trigger(TASK_PUBLISH)
                           if TASK_PUBLISH in kiosk.scheduler.names() else None)


def periodic(kiosk: Kiosk) -> Iterable[Periodic]:
    return (Periodic(TASK_CHECK, CHECK_S, kiosk.public_record.alarm_if_changed),
            Periodic(TASK_PUBLISH, PUBLISH_S, lambda: publish(kiosk)))


FEATURE = Feature("public_record", build, start=start, periodic=periodic)
