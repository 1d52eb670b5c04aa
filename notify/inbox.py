"""A simulated inbox for the demo: an Apprise plugin (``kioskinbox://NAME/UNIT``) that
keeps what the notifier delivered, so the demo's F1 panel shows the messages that took
the real path (outbox, broker, notifier, Apprise, receipt)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from apprise.decorators import notify

SCHEME = "kioskinbox"
_CODE = re.compile(r"(?:pickup code|取件码)[:：]\s*([0-9A-Za-z]+)")


@dataclass(frozen=True)
class Delivered:
    unit: str
    title: str
    body: str
    qr: bool
    at: float

    @property
    def code(self) -> str | None:
        match = _CODE.search(self.body)
        return match.group(1) if match else None


class SimulatedInbox:
    def __init__(self, name: str = "demo"):
        self.name = name
        self._lock = threading.Lock()
        self._messages: list[Delivered] = []
        _INBOXES[name] = self

    def url(self, unit: str) -> str:
        return f"{SCHEME}://{self.name}/{unit}"

    def add(self, message: Delivered) -> None:
        with self._lock:
            self._messages.append(message)

    def messages(self, unit: str | None = None) -> list[Delivered]:
        with self._lock:
            return [m for m in self._messages if unit is None or m.unit == unit]

    def latest_code(self, unit: str) -> str | None:
        for m in reversed(self.messages(unit)):
            if m.code:
                return m.code
        return None


_INBOXES: dict[str, SimulatedInbox] = {}


@notify(on=SCHEME, name="The demo's simulated inbox")
def _deliver(body: str, title: str, notify_type: str, meta: dict[str, Any],
             *args: Any, attach: Any = None, **kwargs: Any) -> bool:
    inbox = _INBOXES.get(str(meta.get("host", "")))
    if inbox is None:
        return False  # an inbox that is gone: a failed channel, retried
    unit = unquote(str(meta.get("fullpath") or "").strip("/"))
    inbox.add(Delivered(unit, title, body, bool(attach), time.time()))
    return True
