"""``kiosk monitor``'s screen, driven by Pilot, fed by a real paho client from real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.client import topic_matches_sub
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from monitor.feed import FeedOptions, MonitorFeed
from monitor.fleet import UpdateBuffer
from mqtt.connection import BrokerAddress
from tests.mqtt_broker import Mosquitto, close, publish, publisher
from tui.monitor import KioskScreen, KioskTable, MonitorApp

C = "community/c1/kiosk"


def event_json(kiosk: str, seq: int, type_: str, **data: object) -> str:
    return json.dumps({"seq": seq, "id": f"{kiosk}-{seq}", "ts": "2026-11-29T21:00:00Z",
                       "type": type_, "community": "c1", "kiosk": kiosk, "data": data})


def lockers_json(faults: tuple[str, ...] = (), doors_open: tuple[str, ...] = ()) -> str:
    return json.dumps({"free": {"S": 3, "M": 0, "L": 1}, "capacity": {"S": 4, "M": 2, "L": 1},
                       "doors_open": list(doors_open), "out_of_service": [],
                       "faults": list(faults)})


@dataclass
class Rig:
    app: MonitorApp
    pilot: Pilot
    feed: MonitorFeed
    pub: mqtt.Client

    @property
    def table(self) -> KioskTable:
        return self.app.table

    def send(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        publish(self.pub, topic, payload, retain=retain)

    def event(self, kiosk: str, seq: int, type_: str, **data: object) -> None:
        self.send(f"{C}/{kiosk}/event/{type_}", event_json(kiosk, seq, type_, **data))

    def cell(self, kiosk: str, column: str) -> str:
        value = self.table.get_cell(f"c1/{kiosk}", column)
        return value.plain if isinstance(value, Text) else str(value)

    def rows(self) -> list[str]:
        return [str(key.value) for key in self.table.rows]

    async def until(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise AssertionError("the screen never showed it")
            await self.pilot.pause(0.02)


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path) as b:
        yield b


@asynccontextmanager
async def running(broker: Mosquitto, community: str = "c1",
                  before: Callable[[mqtt.Client], None] | None = None) -> AsyncIterator[Rig]:
    pub = publisher(broker)
    if before is not None:
        before(pub)
    buffer = UpdateBuffer()
    feed = MonitorFeed(FeedOptions(BrokerAddress(broker.host, broker.port), community),
                       buffer.put)
    await asyncio.to_thread(feed.start, 5)
    app = MonitorApp(buffer, broker.address, refresh_hz=10)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            yield Rig(app, pilot, feed, pub)
    finally:
        feed.stop()
        close(pub)


def two_kiosks_online(pub: mqtt.Client) -> None:
    for kiosk in ("k1", "k2"):
        publish(pub, f"{C}/{kiosk}/status", "online", retain=True)
        publish(pub, f"{C}/{kiosk}/state/lockers", lockers_json(), retain=True)
        publish(pub, f"{C}/{kiosk}/state/uplink", '{"connected": true, "backlog": 7}',
                retain=True)


async def test_table_shows_kiosks_and_availability_flips_to_offline(broker):
    async with running(broker, before=two_kiosks_online) as rig:
        await rig.until(lambda: rig.rows() == ["c1/k1", "c1/k2"])
        await rig.until(lambda: rig.cell("k1", "backlog") == "7")
        assert rig.cell("k1", "status") == "online"
        assert rig.cell("k1", "free") == "3/0/1"
        assert rig.cell("k1", "doors") == "0"
        assert rig.cell("k1", "seen") == "-", "retained messages are not a sign of life"

        rig.send(f"{C}/k2/status", "offline", retain=True)  # as the kiosk's last will
        await rig.until(lambda: rig.cell("k2", "status") == "OFFLINE")
        assert rig.table.row_kinds == {"c1/k1": None, "c1/k2": "offline"}
        assert rig.table.get_cell("c1/k2", "kiosk").style == rig.table.style_for("offline")
        assert "1 offline" in str(rig.app.summary.content)
        assert rig.cell("k2", "seen") == "now"


async def test_alerts_are_highlighted_then_cleared(broker):
    async with running(broker, before=two_kiosks_online) as rig:
        await rig.until(lambda: len(rig.rows()) == 2)
        rig.event("k1", 1, "door.jammed", compartment="A3", board=0, lock=3, attempts=2)
        rig.send(f"{C}/k1/state/lockers", lockers_json(faults=("door.jammed",)), retain=True)
        rig.event("k2", 1, "door.left_open", compartment="B1", open_s=130)
        await rig.until(lambda: rig.table.row_kinds == {"c1/k1": "alert", "c1/k2": "alert"})
        alert_style = rig.table.style_for("alert")
        assert alert_style != rig.table.style_for(None)
        assert all(rig.table.get_cell("c1/k1", col).style == alert_style
                   for col in ("kiosk", "status", "alerts"))
        assert rig.cell("k1", "alerts") == "door.jammed"
        assert "2 alerts" in str(rig.app.summary.content)
        events = str(rig.app.events_panel.content)
        assert events.index("door.left_open") < events.index("door.jammed"), "newest first"

        rig.event("k2", 2, "door.shut", compartment="B1")  # clearing event
        rig.send(f"{C}/k1/state/lockers", lockers_json(), retain=True)  # snapshot clears
        await rig.until(lambda: rig.table.row_kinds == {"c1/k1": None, "c1/k2": None})
        assert rig.cell("k1", "alerts") == ""
        assert rig.table.get_cell("c1/k1", "kiosk").style == rig.table.style_for(None)


async def test_malformed_payloads_are_counted_not_fatal(broker):
    async with running(broker) as rig:
        rig.send(f"{C}/k1/status", b"\xde\xad\xbe\xef")
        rig.send(f"{C}/k1/event/parcel.deposited", "{")
        rig.send(f"{C}/k1/state/board-0", '{"online": "maybe"}')
        rig.event("k1", 1, "parcel.deposited", compartment="A1", size="S")
        await rig.until(lambda: rig.app.fleet.events_applied == 1)
        await rig.until(lambda: "3 malformed" in str(rig.app.summary.content))
        assert rig.feed.malformed == 3
        assert rig.app.is_running


async def test_notify_is_never_subscribed(broker):
    async with running(broker, community="+") as rig:
        assert rig.feed.subscribed, "the feed subscribed to nothing"
        assert not any(topic_matches_sub(t, f"{C}/k1/notify/h1") for t in rig.feed.subscribed)
        rig.send(f"{C}/k1/notify/h1", '{"kind": "pickup", "code": "K7M4Q2"}')
        rig.event("k1", 1, "parcel.deposited", compartment="A1", size="S")
        await rig.until(lambda: rig.app.fleet.events_applied == 1)
        assert rig.feed.received == 1
        assert "K7M4Q2" not in str(rig.app.events_panel.content)


async def test_a_burst_is_drawn_in_a_few_frames_and_duplicates_dropped(broker):
    async with running(broker) as rig:
        total = 600
        for i in range(total):
            kiosk = f"k{i % 10}"
            rig.pub.publish(f"{C}/{kiosk}/event/parcel.deposited",
                            event_json(kiosk, i // 10 + 1, "parcel.deposited",
                                       compartment="A1", size="S"), qos=1)
        rig.event("k0", 1, "parcel.deposited", compartment="A1", size="S")  # a redelivery
        await rig.until(lambda: rig.app.fleet.events_applied + rig.app.fleet.duplicates
                        == total + 1)
        assert rig.app.fleet.events_applied == total
        await rig.until(lambda: len(rig.rows()) == 10)
        # The table is redrawn on the timer, never once per message.
        assert len(rig.app.redraw_times) < total / 2
        assert rig.app.batches < total


async def test_filter_detail_and_quit_keys(broker):
    async with running(broker, before=two_kiosks_online) as rig:
        await rig.until(lambda: len(rig.rows()) == 2)
        rig.event("k2", 1, "door.tamper", compartment="C2")
        await rig.until(lambda: rig.table.row_kinds.get("c1/k2") == "alert")

        await rig.pilot.press("slash", "k", "2")
        await rig.until(lambda: rig.rows() == ["c1/k2"])
        await rig.pilot.press("escape")
        await rig.until(lambda: len(rig.rows()) == 2)
        await rig.pilot.press("slash", "a", "q")  # letters in the filter are not keys
        await rig.until(lambda: rig.app.filter_text == "aq")
        assert rig.app.is_running and not rig.app.alerts_only
        await rig.pilot.press("escape")
        await rig.pilot.press("slash", *"tamper", "enter")
        await rig.until(lambda: rig.rows() == ["c1/k2"])
        assert rig.app.focused is rig.table
        await rig.pilot.press("escape")
        await rig.until(lambda: len(rig.rows()) == 2)

        await rig.pilot.press("a")
        await rig.until(lambda: rig.rows() == ["c1/k2"])
        await rig.pilot.press("enter")
        await rig.until(lambda: isinstance(rig.app.screen, KioskScreen))
        detail = rig.app.screen.query_one("#detail", Static)
        await rig.until(lambda: "door.tamper C2" in str(detail.content))
        assert "Kiosk k2 of c1" in str(detail.content)
        rig.event("k2", 2, "door.tamper_cleared", compartment="C2")
        await rig.until(lambda: "door.tamper_cleared" in str(detail.content))
        await rig.pilot.press("escape")
        await rig.until(lambda: not isinstance(rig.app.screen, KioskScreen))

        await rig.pilot.press("q")
        await rig.until(lambda: not rig.app.is_running)


async def test_fits_80_by_24(broker):
    async with running(broker, before=two_kiosks_online) as rig:
        await rig.until(lambda: len(rig.rows()) == 2)
        assert rig.table.virtual_size.width <= rig.table.size.width <= 80
        assert rig.table.size.height >= 10, "the table should get most of the screen"
