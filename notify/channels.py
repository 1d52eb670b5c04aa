"""Sending one message to one contact through Apprise (any Apprise URL: mailto://, ntfy://,
json://, matrix://, tgram://, an SMS gateway …).

Apprise logs the addresses it sends to; contacts never go into our logs, so its logger is
kept quiet and failures are reported here by the kind of channel only.
"""

from __future__ import annotations

import logging

import apprise
from apprise.attachment.memory import AttachMemory

from notify.contacts import channel_of
from notify.messages import Message

log = logging.getLogger(__name__)
# Above CRITICAL: not even a crash report of Apprise's may name a contact.
logging.getLogger("apprise").setLevel(logging.CRITICAL + 10)

QR_NAME = "pickup-code.png"


def send(url: str, message: Message, qr_png: bytes | None = None) -> bool:
    """True once the channel accepted the message."""
    sender = apprise.Apprise()
    if not sender.add(url):
        log.warning("a %s:// contact cannot be used by Apprise", channel_of(url))
        return False
    attach = None
    if qr_png is not None:
        attach = apprise.AppriseAttachment()
        attach.add(AttachMemory(content=qr_png, name=QR_NAME, mimetype="image/png"))
    try:
        # Each Apprise service has its own network timeouts (a mail server that hangs
        # fails the send; it is retried with back-off).
        return bool(sender.notify(body=message.body, title=message.title, attach=attach))
    except Exception as exc:  # a plugin's bug must not stop the other deliveries
        log.warning("the %s:// channel failed: %s", channel_of(url), type(exc).__name__)
        return False
