"""Logging in: the unit, then the member's PIN (the kiosk's one entry pane, twice)."""

from __future__ import annotations

from kiosk import pins
from tui.refusals import Translate
from tui.widgets.entry import DIGITS, UNIT_CHARACTERS, EntryPane


def unit_entry(t: Translate) -> EntryPane:
    return EntryPane(t("parking.unit_prompt"), allowed=UNIT_CHARACTERS, keys="123456789",
                     length=8, back=True, keyboard=True, id="park-unit")


def pin_entry(t: Translate) -> EntryPane:
    return EntryPane(t("parking.pin_prompt"), allowed=DIGITS, keys="123456789",
                     length=pins.MAX_DIGITS, masked=True, back=True, id="park-pin")


def ask_pin(pin: EntryPane, t: Translate, unit: str) -> None:
    """The PIN pane, cleared, asking for the PIN of ``unit``."""
    pin.clear()
    pin.set_prompt(t("parking.pin_prompt_unit", unit=unit))
    pin.say("")
