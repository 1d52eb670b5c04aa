"""Slips on the receipt printer for households without a contact (``[notify] printer``).

The notifier's receipt says ``no_contact``; the publisher then hands the kiosk's own copy
of that notification to the slips, and takes it out of the outbox once it is printed.
A kiosk without a printer marks such a notification done (it logs that it could not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.feature import Feature

if TYPE_CHECKING:
    from kiosk.composition import Kiosk
    from kiosk.config import Config


def wanted(config: Config) -> bool:
    return config.mqtt.enabled


def build(kiosk: Kiosk) -> None:
    from kiosk.features.uplink import publisher_of
    from notify.printer import parse_printer

    config = kiosk.config
    printer = parse_printer(config.notify.printer)
    if printer is None:
        return
    from notify.slips import Slips  # only with a printer: a kiosk without one never loads it
    kiosk.slips = Slips(printer, config.language, config.community_id, config.kiosk_id)
    publisher_of(kiosk).slip_hook = kiosk.slips.print_for


FEATURE = Feature("slips", build, wanted=wanted)
