"""No command arriving over the network opens a door (issue 6, DESIGN §1).

The whole kiosk runs — the demo composition with its screen: real services, the real
serial driver on the pty board simulator, gpiozero's mock pins, and the real MQTT
publisher connected to a real Mosquitto. Another client then sends everything an
attacker or a confused integration might: command, set and Home Assistant-style topics,
notify topics, topics that look like wildcards, huge and malformed payloads, raw unlock
frames. The kiosk listens to exactly one topic, its receipt topic, where the notifier says a
notification reached its household (docs/notify.md); the demo's notifier runs in-process
and reads the notify topics. Two kinds of evidence that nothing else listens:
- behaviour: the simulator receives no unlock frame and no table of the database changes,
  though the barrage includes receipts (junk, and well-formed ones for ids the kiosk
  never sent) and notifications;
- structure: the broker saw no SUBSCRIBE from the kiosk's clients but the publisher's to
  its receipt topic and the notifier's to the notify topics, and the publisher's message
  handler is its receipt handler, which can only take a notification out of the outbox.
A control at the end opens a door the only way there is, at the screen, and sees it
counted: the evidence could have failed.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices import kerong
from kiosk.setups.demo import DemoKiosk
from kiosk.store import Store
from mqtt import topics
from tests.mqtt_broker import Collector, Mosquitto, mosquitto_binary
from tests.tui_setup import FROZEN, type_text, type_unit, until
from tui.screens.home import HomeScreen
from tui.screens.pickup import PickupScreen

COMMUNITY, KIOSK = "demo-community", "demo-kiosk"
PREFIX = f"community/{COMMUNITY}/kiosk/{KIOSK}"
OUR_CLIENTS = ("barrage-", "watcher-")
SUBSCRIBE_LINE = re.compile(r"^\d+: (\S+) (\d) (\S+)$")

TOPICS = [
    f"{PREFIX}/command/open",
    f"{PREFIX}/command/unlock",
    f"{PREFIX}/cmd/open",
    f"{PREFIX}/cmd/unlock/A01",
    f"{PREFIX}/cmd/door/force",
    f"{PREFIX}/door/A01/set",
    f"{PREFIX}/door/A01/open",
    f"{PREFIX}/door/B16/command",
    f"{PREFIX}/lock/0/1/set",
    f"{PREFIX}/compartment/A01/set",
    f"{PREFIX}/state/lockers/set",
    f"{PREFIX}/state/board-0/set",
    f"{PREFIX}/state/lockers",
    f"{PREFIX}/set",
    f"{PREFIX}/maintenance/force_door",
    f"{PREFIX}/notify/101",
    f"{PREFIX}/notify/101/reply",
    f"{PREFIX}/receipt",
    f"{PREFIX}/receipt/101",
    f"{PREFIX}/event/door.force",
    f"{PREFIX}/status",
    f"{PREFIX}/command/open/",
    f"/{PREFIX}/command/open",
    f"community/{COMMUNITY}/kiosk//command/open",
    f"community/{COMMUNITY}/kiosk/*/command/open",
    f"community/{COMMUNITY}/kiosk/all/command/open",
    f"community/{COMMUNITY}/command/open",
    f"community/{COMMUNITY}/plan/lockers/set",
    f"homeassistant/lock/{KIOSK}_A01/set",
    f"homeassistant/lock/{KIOSK}/A01/command",
    f"homeassistant/button/{KIOSK}_force_A01/press",
    f"homeassistant/switch/{KIOSK}_door_A01/set",
    "kiosk/command/open",
    "open",
]


def unlock_frame(board: int, lock: int) -> bytes:
    body = bytes((0x02, (board << 4) | (lock - 1), kerong.CMD_UNLOCK, 0x03))
    return body + bytes((sum(body) & 0xFF,))


PAYLOADS: list[bytes] = [
    b"open", b"OPEN", b"unlock", b"ON", b"1", b"true", b"",
    json.dumps({"action": "open", "compartment": "A01"}).encode(),
    json.dumps({"cmd": "unlock", "board": 0, "lock": 1, "reason": "maintenance"}).encode(),
    json.dumps({"door": "B16", "state": "open", "pin": "24681024", "actor": "v-amber"}).encode(),
    json.dumps({"type": "door.force", "data": {"compartment": "A01"}, "seq": 1}).encode(),
    json.dumps([{"compartment": f"A{n:02d}", "open": True} for n in range(1, 17)]).encode(),
    unlock_frame(0, 1), unlock_frame(1, 16) * 64,
    b"\xff\xfe\x00\x02\x31\x03", b"{", b"[" * 100_000, b"\x00" * 4096,
    b"A" * (1024 * 1024),  # a megabyte
    # Well-formed receipts, for notifications this kiosk never sent.
    json.dumps({"v": 1, "id": "0" * 32, "outcome": "delivered"}).encode(),
    json.dumps({"v": 1, "id": "f" * 32, "outcome": "no_contact"}).encode(),
]


def database_state(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, in a comparable form."""
    tables = [r["name"] for r in store.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    # Sorted in Python: a WITHOUT ROWID table (needs' support) has no rowid to order by.
    return {t: sorted((tuple(r.values()) for r in store.query(f'SELECT * FROM "{t}"')), key=repr)
            for t in tables}


def broker_subscriptions(broker: Mosquitto) -> list[tuple[str, str]]:
    """(client id, topic filter) of every SUBSCRIBE the broker logged."""
    found = []
    for line in broker.log().splitlines():
        m = SUBSCRIBE_LINE.match(line)
        if m:
            found.append((m.group(1), m.group(3)))
    return found


def connected_clients(broker: Mosquitto) -> list[str]:
    return re.findall(r"New client connected from \S+ as (\S+) ", broker.log())


@pytest.fixture
def broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    # The broker logs every subscription, with the client that asked for it.
    b = Mosquitto(tmp_path / "broker", conf="log_type subscribe\nlog_type unsubscribe\n")
    b.start()
    yield b
    b.stop()


def barrage(port: int, sentinel: str) -> int:
    """Every topic with every payload, at QoS 0, 1 and retained; then the sentinel."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"barrage-{uuid.uuid4().hex[:6]}",
                         protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    try:
        acked = []
        for topic in TOPICS:
            for i, payload in enumerate(PAYLOADS):
                qos = i % 2
                info = client.publish(topic, payload, qos=qos, retain=(i % 5 == 0))
                if qos:
                    acked.append(info)
                sent += 1
        # Retained commands must not linger for a client that subscribes later.
        acked += [client.publish(topic, b"", qos=1, retain=True) for topic in TOPICS]
        for info in acked:
            info.wait_for_publish(30)
        client.publish(sentinel, b"done", qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


async def test_no_network_message_opens_a_door_or_changes_anything(tmp_path, broker):
    sentinel = f"test/{uuid.uuid4().hex}/sentinel"
    watcher = Collector(broker.port, [f"{PREFIX}/#", sentinel],
                        client_id=f"watcher-{uuid.uuid4().hex[:6]}")
    watcher.wait_subscribed()
    try:
        await run_the_kiosk_through_it(tmp_path, broker, watcher, sentinel)
    finally:
        watcher.stop()


async def run_the_kiosk_through_it(tmp_path, broker: Mosquitto, watcher: Collector,
                                   sentinel: str) -> None:
    with DemoKiosk(tmp_path / "demo", broker=("127.0.0.1", broker.port), language="en",
                   clock=lambda: FROZEN, idle_s=600.0, done_s=600.0, status_every_s=0.2,
                   door_poll_s=0.02) as demo:
        app = demo.app
        sim = demo.sim
        store = demo.kiosk.store
        outbox = demo.kiosk.outbox
        async with app.run_test(size=(80, 24)) as pilot:
            # The kiosk is on the broker and has published everything it had: events,
            # notifications, its online status.
            await until(pilot, lambda: outbox.pending_count() == 0
                        and not outbox.pending_notifications()
                        and watcher.messages(f"{PREFIX}/status"), timeout_s=15,
                        what="kiosk connected and drained")
            await until(pilot, lambda: app.status_updates > 0, what="status probe ran")
            before = database_state(store)
            frames_before = len(sim.log())
            unlocks_before = sim.unlock_count()

            # Sent from another thread: the screen keeps running meanwhile.
            sent = await asyncio.get_running_loop().run_in_executor(
                None, barrage, broker.port, sentinel)
            assert sent == len(TOPICS) * len(PAYLOADS)
            await until(pilot, lambda: watcher.messages(sentinel), timeout_s=30,
                        what="the barrage delivered")
            # Whoever listens on the kiosk's own topics heard every command.
            assert len(watcher.messages(f"{PREFIX}/command/open")) >= len(PAYLOADS)
            # The broker routed all of it before the sentinel. Let the kiosk go through
            # its own rounds — status probe and a health poll of every board — so that
            # anything listening would have had its chance to act.
            delivered = len(sim.log())
            rounds = app.status_updates
            await until(pilot, lambda: app.status_updates >= rounds + 2 and {
                f.addr >> 4 for f in sim.log()[delivered:]} >= {0, 1}, timeout_s=15,
                what="the kiosk's next rounds")

            # Behaviour: no unlock frame on the wire, nothing changed in the database,
            # the screen still at home.
            new_frames = sim.log()[frames_before:]
            assert [f for f in new_frames if f.cmd == kerong.CMD_UNLOCK] == []
            assert sim.unlock_count() == unlocks_before
            assert {f.cmd for f in new_frames} == {kerong.CMD_STATUS}
            assert database_state(store) == before
            assert isinstance(app.screen, HomeScreen)

            # Structure: the kiosk's publisher subscribed to its receipt topic and nothing
            # else, the notifier to the notify topics; the publisher hears only receipts.
            publisher = demo.kiosk.publisher
            kiosk_clients = [c for c in connected_clients(broker)
                             if not c.startswith(OUR_CLIENTS)]
            assert kiosk_clients, "the kiosk's publisher connected to this broker"
            subscriptions = broker_subscriptions(broker)
            assert any(c.startswith("watcher-") for c, _ in subscriptions), \
                "the broker log records subscriptions (control)"
            theirs = {s for s in subscriptions if not s[0].startswith(OUR_CLIENTS)}
            assert theirs == {
                (publisher._client._client_id.decode(), topics.receipt_topic(COMMUNITY, KIOSK)),
                (demo.notifier._client._client_id.decode(), topics.notify_all(COMMUNITY))}
            assert publisher._client.on_message == publisher._on_receipt
            # It heard every message on its receipt topic, and none was a receipt it could
            # use (the database is unchanged, above).
            assert publisher.bad_receipts >= len(PAYLOADS) - 2

            # Control: a door opens the only way there is, at the screen, and it counts.
            # The code reached the household's inbox through the real notifier.
            [code] = [code for unit, code, _ in demo.world.help().codes if unit == "101"]
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            await type_unit(pilot, "101")
            await type_text(pilot, code)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.result is not None, what="pickup")
            assert sim.unlock_count() == unlocks_before + len(app.screen.result.opened) > 0
