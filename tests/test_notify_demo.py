"""``kiosk demo --broker``: the real notifier runs in-process and F1 is the inbox it
delivered to, so the code a visitor types took the real path (outbox, broker, notifier,
Apprise, receipt). Household 304 has no contact: its code is on a printed slip."""

from __future__ import annotations

from kiosk.setups.demo import NO_CONTACT_UNIT, DemoKiosk
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
