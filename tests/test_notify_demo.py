"""``kiosk demo --broker``: the real notifier runs in-process and F1 is the inbox it
delivered to, so the code a visitor types took the real path (outbox, broker, notifier,
Apprise, receipt). Household 304 has no contact: its code is on a printed slip.

Without ``--broker`` the demo starts a private Mosquitto of its own and takes the same
path; only without a mosquitto binary are codes shown directly, and F1 says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from kiosk.setups.demo import NO_CONTACT_UNIT, DemoKiosk
from kiosk.setups.demo_broker import find_mosquitto
from tests.mqtt_broker import wait_until
from tests.tui_setup import FROZEN, screen_text, type_text, until
from tui.screens.pickup import PickupScreen


async def test_f1_is_the_inbox_the_notifier_delivered_to_and_its_code_opens(tmp_path, broker):
    with DemoKiosk(tmp_path / "demo", broker=("127.0.0.1", broker.port), language="en",
                   clock=lambda: FROZEN, idle_s=600.0, done_s=600.0) as demo:
        app = demo.app
        outbox = demo.kiosk.outbox
        async with app.run_test(size=(100, 36)) as pilot:
            await until(pilot, lambda: outbox.undelivered_count() == 0, timeout_s=20,
                        what="every seeded code delivered or printed")
            info = demo.world.help()
            assert info.live
            waiting = {unit for unit, _, _ in info.codes}
            assert {"101", "202", "303", NO_CONTACT_UNIT} <= waiting
            # What F1 shows came through the notifier: the inbox has the same codes.
            for unit, code, _ in info.codes:
                if unit != NO_CONTACT_UNIT:
                    assert demo.inbox.latest_code(unit) == code
            assert info.slips == [NO_CONTACT_UNIT]
            assert not demo.inbox.messages(NO_CONTACT_UNIT)
            await pilot.press("f1")
            await until(pilot, lambda: "Messages received" in screen_text(pilot),
                        what="the inbox on F1")
            [code] = [c for u, c, _ in info.codes if u == "101"]
            assert code in screen_text(pilot)
            await pilot.press("escape")
            unlocks = demo.sim.unlock_count()
            await pilot.press("1")
            await until(pilot, lambda: isinstance(app.screen, PickupScreen))
            # One scan of the code from the phone, then the unit.
            await type_text(pilot, code)
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.scanned == code, what="code kept")
            await type_text(pilot, "101")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.result is not None, what="pickup")
            assert demo.sim.unlock_count() == unlocks + len(app.screen.result.opened) > unlocks


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


needs_mosquitto = pytest.mark.skipif(find_mosquitto() is None,
                                     reason="mosquitto is not installed")


@needs_mosquitto
async def test_the_demo_without_a_broker_delivers_through_a_private_one(tmp_path):
    data = tmp_path / "demo"
    with DemoKiosk(data, language="en", private_broker=True, clock=lambda: FROZEN,
                   idle_s=600.0, done_s=600.0) as demo:
        private = demo.private_broker
        assert private is not None and private.running and private.pid is not None
        pid = private.pid
        assert alive(pid)
        assert (demo.config.mqtt.enabled, demo.config.mqtt.port) == (True, private.port)
        assert (data / "broker" / "mosquitto.conf").exists()
        outbox = demo.kiosk.outbox
        async with demo.app.run_test(size=(100, 36)) as pilot:
            # Every seeded code got its receipt back through the private broker.
            await until(pilot, lambda: outbox.undelivered_count() == 0, timeout_s=15,
                        what="every seeded code delivered or printed")
            info = demo.world.help()
            assert info.live
            [code] = [c for u, c, _ in info.codes if u == "101"]
            assert demo.inbox.latest_code("101") == code
            await pilot.press("f1")
            await until(pilot, lambda: "Messages received" in screen_text(pilot),
                        what="the inbox on F1")
            assert code in screen_text(pilot)
            assert "No broker available" not in screen_text(pilot)
    assert not alive(pid)  # closing the demo stopped its broker


async def test_without_a_mosquitto_binary_f1_says_codes_are_shown_directly(tmp_path):
    nowhere = tmp_path / "no-mosquitto-here"
    nowhere.mkdir()
    with DemoKiosk(tmp_path / "demo", language="en", private_broker=True,
                   mosquitto_search=str(nowhere), clock=lambda: FROZEN,
                   idle_s=600.0, done_s=600.0) as demo:
        assert demo.private_broker is None and not demo.config.mqtt.enabled
        info = demo.world.help()
        assert not info.live
        [code] = [c for u, c, _ in info.codes if u == "101"]
        async with demo.app.run_test(size=(100, 36)) as pilot:
            await pilot.press("f1")
            await until(pilot, lambda: "No broker available" in screen_text(pilot),
                        what="the plain note on F1")
            assert code in screen_text(pilot)
            assert "Messages received" not in screen_text(pilot)


CRASHING_DEMO = """
import signal, sys
from pathlib import Path
from kiosk.setups.demo_broker import PrivateBroker
broker = PrivateBroker(sys.argv[1], Path(sys.argv[2])).start()
print(broker.pid, broker.port, flush=True)
signal.pause()
"""


@needs_mosquitto
def test_the_private_broker_goes_when_the_demo_is_killed(tmp_path):
    binary = find_mosquitto()
    assert binary is not None
    demo = subprocess.Popen([sys.executable, "-c", CRASHING_DEMO, binary,
                             str(tmp_path / "broker")], stdout=subprocess.PIPE, text=True)
    try:
        assert demo.stdout is not None
        pid = int(demo.stdout.readline().split()[0])
        assert alive(pid)  # the control: it was there
        demo.send_signal(signal.SIGKILL)  # no close(), no cleanup of any kind
        demo.wait()
        assert wait_until(lambda: not alive(pid), timeout=10), "the broker outlived the demo"
    finally:
        demo.kill()
        demo.wait()
