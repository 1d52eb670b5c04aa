"""Real servers the notifier delivers to in tests and the benchmark: an SMTP server
(aiosmtpd) and an HTTP endpoint for Apprise's ``json://`` pushes, each recording what it
received by recipient (mail) or path (push: one path per household)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.mqtt_broker import free_port

CODE = re.compile(r"(?:pickup code|取件码)[:：]\s*([0-9A-Za-z]+)")


@dataclass
class Mail:
    to: list[str]
    subject: str
    text: str
    attachments: dict[str, bytes]
    at: float = field(default_factory=time.perf_counter)

    def code(self) -> str | None:
        m = CODE.search(self.text)
        return m.group(1) if m else None


class SmtpInbox:
    """An SMTP server on a free loopback port; ``mails`` in arrival order."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.mails: list[Mail] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text, attachments = "", {}
        for part in message.walk():
            name = part.get_filename()
            if part.get_content_type() == "text/plain" and not name:
                text += part.get_content()
            elif name:
                content = part.get_payload(decode=True)
                attachments[name] = content if isinstance(content, bytes) else b""
        with self._lock:
            self.mails.append(Mail(list(envelope.rcpt_tos), str(message["subject"]), text,
                                   attachments))
        return "250 OK"

    def start(self) -> SmtpInbox:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=kiosk@maple-court.example&to={to}&mode=insecure"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.mails if address in m.to]

    def codes(self, address: str) -> set[str]:
        return {c for m in self.to(address) if (c := m.code())}


@dataclass
class Push:
    path: str
    title: str
    message: str
    attachments: dict[str, bytes]

    def code(self) -> str | None:
        m = CODE.search(self.message)
        return m.group(1) if m else None


class PushInbox:
    """An HTTP endpoint for ``json://127.0.0.1:PORT/PATH``. ``hold`` makes the next request
    wait until ``release`` (a notifier killed mid-delivery); ``fail`` answers 503."""

    def __init__(self) -> None:
        self.pushes: list[Push] = []
        self.requests = 0
        self.fail = False
        self.hold = threading.Event()
        self.holding = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length", 0)), 10_000_000)
                body = self.rfile.read(length)
                with inbox._lock:
                    inbox.requests += 1
                if inbox.hold.is_set():
                    inbox.hold.clear()
                    inbox.holding.set()
                    inbox._release.wait(30)
                    return  # the caller is gone: no answer
                if inbox.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                data = json.loads(body)
                attachments = {a.get("filename", ""): base64.b64decode(a.get("base64", ""))
                               for a in data.get("attachments") or []}
                with inbox._lock:
                    inbox.pushes.append(Push(self.path, data.get("title", ""),
                                             data.get("message", ""), attachments))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> PushInbox:
        self._thread.start()
        return self

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def url(self, household: str) -> str:
        return f"json://127.0.0.1:{self.port}/inbox/{household}"

    def at(self, household: str) -> list[Push]:
        with self._lock:
            return [p for p in self.pushes if p.path == f"/inbox/{household}"]

    def codes(self, household: str) -> set[str]:
        return {c for p in self.at(household) if (c := p.code())}

    def all(self) -> list[Push]:
        with self._lock:
            return list(self.pushes)
