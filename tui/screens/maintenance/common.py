"""Small pieces the maintenance panes share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.containers import Horizontal
from textual.widget import Widget

from kiosk.events import parse_iso
from tui.refusals import Translate
from tui.widgets.keypad import KeyButton


async def replace_children(box: Widget, widgets: Sequence[Widget]) -> None:
    """Swap a list's lines; the old ones are gone before the new (same ids) arrive."""
    await box.remove_children()
    await box.mount_all(widgets)


def back_bar(t: Translate, button_id: str) -> Horizontal:
    return Horizontal(KeyButton(t("nav.back"), id=button_id, classes="nav to-overview"),
                      classes="pane-buttons")


def local_time(ts: str) -> str:
    """A roster time as the people at the kiosk read it: their local date and time."""
    when: datetime = parse_iso(ts).astimezone()
    return when.strftime("%m-%d %H:%M")
