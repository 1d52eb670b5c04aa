"""The kiosk screen on the demo composition: real services, real driver, pty simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widget import Widget

from kiosk.setups.demo import DemoKiosk

# The status line's clock, frozen so snapshots do not depend on the hour they are taken.
FROZEN = datetime(2026, 11, 29, 2, 0)


def demo_kiosk(data: Path, language: str = "zh", **options) -> DemoKiosk:
    options.setdefault("idle_s", 600.0)
    options.setdefault("done_s", 600.0)
    options.setdefault("door_poll_s", 0.02)
    # The lockers' screens are tested on an empty car park: its sample would only change
    # the queued-events count on their snapshots (tests/test_tui_parking.py seeds it).
    options.setdefault("parking_sample", False)
    return DemoKiosk(data, language=language, clock=lambda: FROZEN, **options)


# A bound, not a measure: generous, since the test files run in parallel workers.
async def until(pilot: Pilot, condition: Callable[[], object], timeout_s: float = 15.0,
                what: str = "condition") -> None:
    """Let the app run until ``condition()`` holds (workers and the board take a moment)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


def shown(widget: Widget) -> str:
    """The text a widget shows right now."""
    return str(widget.render())


def screen_text(pilot: Pilot) -> str:
    """Everything on the screen as plain text, line by line."""
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def type_text(pilot: Pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch.lower() if ch.isalpha() else ch)


async def courier_id_typed(pilot: Pilot, courier_id: str = "courier-a") -> None:
    """On the deposit screen: the courier's id (kiosk/setups/demo.py), then the PIN pane."""
    await type_text(pilot, courier_id)
    await pilot.press("enter")
    await until(pilot, lambda: getattr(pilot.app.screen, "pane", "") == "pin-pane",
                what="PIN pane")


def latest_code(demo: DemoKiosk, unit: str) -> str:
    """The code the household's phone got last (from the real outbox's notifications)."""
    notes = [n for n in demo.kiosk.outbox.pending_notifications(limit=1000)
             if n.household == unit and "code" in n.data]
    return notes[-1].data["code"]


async def type_unit(pilot: Pilot, unit: str) -> None:
    """The pickup screen's first step: the unit, then OK (the code comes next)."""
    await until(pilot, lambda: getattr(pilot.app.screen, "pane", "") == "pickup-unit",
                what="the unit step")
    await type_text(pilot, unit)
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.pane == "pickup-entry", what="the code step")


async def tap_text(pilot: Pilot, within: str, text: str) -> None:
    """Type ``text`` by tapping the on-screen keyboard (tui/widgets/keyboard.py) inside the
    widget ``within`` selects, switching layers as a person would; "⌫" taps Backspace."""
    from tui.widgets.keyboard import LAYER_ORDER, LAYERS, Keyboard

    keyboard = pilot.app.screen.query_one(within).query_one(Keyboard)

    async def tap(selector: str) -> None:
        # A button ignores a tap while it still shows the last one (Textual's 0.2 s
        # debounce): a doubled letter is two taps, so wait it out as a finger would.
        button = pilot.app.screen.query_one(f"{within} {selector}")
        await until(pilot, lambda: not button.has_class("-active"), what="key released")
        await pilot.click(f"{within} {selector}")

    for ch in text:
        if ch in ("⌫", " "):
            await tap("#kb-back" if ch == "⌫" else "#kb-space")
            continue
        if keyboard.upper:
            ch = ch.upper()
        if ch not in keyboard.characters:
            layer = next(name for name in LAYER_ORDER
                         if any(ch.upper() in row.upper() for row in LAYERS[name]))
            if layer != keyboard.shown_layer:
                await tap(f"#kb-layer-{layer}")
            if ch not in keyboard.characters:  # the other case
                await tap("#kb-shift")
        await tap(f"#kb-cell-{keyboard.characters.index(ch)}")


async def tap(pilot: Pilot, selector: str) -> None:
    """Tap the widget ``selector`` names once it is laid out on the screen and not still
    showing a tap before (a button ignores a tap while it is ``-active``)."""
    def ready() -> bool:
        found = pilot.app.screen.query(selector)
        return bool(found) and found.first().region.area > 0 \
            and not found.first().has_class("-active")
    await until(pilot, ready, what=f"{selector} ready for a tap")
    await pilot.click(selector)


async def tap_name(pilot: Pilot, name: str) -> None:
    """On the maintenance screen's first pane: tap ``name`` among those on duty."""
    screen = pilot.app.screen
    await until(pilot, lambda: name in (getattr(screen.query_one("#who-pane"), "names", None)
                                        or ()), what=f"{name} listed as on duty")
    button = next(b for b in screen.query(".who") if b.name == name)
    # A button ignores a tap while it still shows the last one (Textual's debounce).
    await until(pilot, lambda: not button.has_class("-active"), what="name released")
    await pilot.click(f"#{button.id}")


async def pick_maintainer(pilot: Pilot, name: str) -> None:
    """Tap ``name``, then wait for the PIN pane that asks for their PIN."""
    await tap_name(pilot, name)
    screen = pilot.app.screen
    await until(pilot, lambda: screen.pane == "pin-pane" and screen.candidate == name,
                what=f"the PIN pane for {name}")
