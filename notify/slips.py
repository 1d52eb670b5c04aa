"""The kiosk's slips for households without a contact (the notifier's ``no_contact``
receipt): printed from the kiosk's own copy of the notification, in the kiosk's language.
Runs on the publisher's thread (mqtt/publisher.py, ``slip_hook``)."""

from __future__ import annotations

import logging

from kiosk.events import Notification
from kiosk.notifications import Note
from notify.messages import render
from notify.printer import Printer, slip_bytes

log = logging.getLogger(__name__)


class Slips:
    def __init__(self, printer: Printer, language: str, community: str, kiosk: str):
        self.printer = printer
        self.language = language
        self.community = community
        self.kiosk = kiosk
        self.printed = 0
        self.failed = 0
        self.printed_for: list[tuple[str, str | None]] = []  # (household, code): the demo

    def print_for(self, notes: list[Notification]) -> list[Notification]:
        """Print one slip each; return those printed (the others stay in the outbox)."""
        done = []
        for n in notes:
            code = n.data.get("code")
            parcels = n.data.get("parcels", 0)
            note = Note(id=n.uid, seq=n.id, ts=n.ts, kind=n.kind, household=n.household,
                        community=self.community, kiosk=self.kiosk,
                        code=code if isinstance(code, str) else None,
                        parcels=parcels if isinstance(parcels, int) else 0, data=n.data)
            message = render(note, self.language)
            try:
                self.printer.print_slip(slip_bytes(n.household, message.title, message.body,
                                                   note.code, self.language))
            except OSError as exc:
                # No household here: the log is not private. The code stays in the outbox.
                log.error("the slip printer failed (%s); the slip is printed after the "
                          "next receipt", exc)
                self.failed += 1
                continue
            self.printed += 1
            self.printed_for.append((n.household, note.code))
            done.append(n)
        return done
