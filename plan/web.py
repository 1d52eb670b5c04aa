"""The plan's public page over HTTP, and the same pages as static files for a noticeboard.

``PlanPages`` renders the pages (zh, en) from the plan's store and keeps the latest bytes;
with an output directory it also writes ``zh.html``, ``en.html`` and ``index.html`` (the
Chinese page, as the kiosk opens in Chinese), each replaced atomically so a noticeboard
never shows half a page. Given the plan's witness.db it also makes, at each refresh, the
files a resident re-checks each kiosk with (``witness/export.py``: both chains with their
signed heads, each round's record and commitment, the roster), served under ``/export/``
and written under ``DIR/export/``. ``PageServer`` serves the latest bytes from a thread of its own
(stdlib ``http.server``), bound to a configured address, loopback by default: a request
never touches the database, so a crowd of readers cannot slow the aggregator.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kiosk.events import utc_now
from plan.page import page_data, page_name, render_page
from plan.page_text import LANGUAGES
from plan.store import PlanStore
from witness import export
from witness.core import Witness

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh"
DEFAULT_ADDRESS = ("127.0.0.1", 8080)
# Downloads live under /export/{community}/{kiosk}/{file}, on the server and beside the
# noticeboard files alike, so the page's relative links work from both.
EXPORT_DIR = "export"


def download_path(community: str, kiosk: str, name: str) -> str:
    return f"/{EXPORT_DIR}/{community}/{kiosk}/{name}"


class PlanPages:
    def __init__(self, store: PlanStore, communities: list[str] | None = None,
                 out_dir: str | Path | None = None, witness: str | Path | None = None):
        self.store = store
        self.communities = list(communities or [])
        self.out_dir = Path(out_dir) if out_dir else None
        # The plan's witness.db: its copy of each kiosk's chains and roster is the
        # page's downloads (witness/export.py), read on a connection of the page's own.
        self.witness = Path(witness) if witness else None
        self._lock = threading.Lock()
        self._pages: dict[str, bytes] = {}
        self._files: dict[str, bytes] = {}
        self._made: export.Cache = {}

    def refresh(self, now: datetime | None = None) -> dict[str, bytes]:
        """Render every language again; write the static files if there is a directory."""
        now = now or utc_now()
        exports = self._exports()
        plans: dict[str, Any] = {}
        for c in self.communities or self.store.communities():
            plans[c] = page_data(self.store, c, now)
            plans[c]["downloads"] = {k: sorted(files) for (c_, k), files in exports.items()
                                     if c_ == c}
        pages = {lang: render_page(plans, lang, now).encode("utf-8")
                 for lang in LANGUAGES}
        files = {download_path(c, k, name): body for (c, k), kiosk in exports.items()
                 for name, body in kiosk.items()}
        with self._lock:
            self._pages = pages
            before, self._files = self._files, files
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            for (c, k), kiosk in exports.items():
                # A chain file grows with every entry: written again only when it changed.
                export.write(self.out_dir / EXPORT_DIR / c / k,
                             {name: body for name, body in kiosk.items()
                              if before.get(download_path(c, k, name)) != body})
            for lang, body in pages.items():
                _write(self.out_dir / page_name(lang), body)
            _write(self.out_dir / "index.html", pages[DEFAULT_LANGUAGE])
        return pages

    def _exports(self) -> dict[tuple[str, str], dict[str, bytes]]:
        if self.witness is None or not self.witness.is_file():
            return {}
        witness = Witness(self.witness)
        try:
            return export.every_kiosk(witness, self.communities or None, self._made)
        finally:
            witness.close()

    def page(self, language: str) -> bytes | None:
        with self._lock:
            return self._pages.get(language)

    def file(self, path: str) -> bytes | None:
        """A download by its URL path (``download_path``)."""
        with self._lock:
            return self._files.get(path)


def _write(path: Path, body: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(body)
    os.replace(partial, path)


class PageServer:
    """``/`` and ``/zh.html``: the Chinese page; ``/en.html``: the English one;
    ``/export/{community}/{kiosk}/{file}``: the downloads the page links."""

    def __init__(self, pages: PlanPages, address: tuple[str, int] = DEFAULT_ADDRESS):
        handler = _handler(pages)
        self._server = ThreadingHTTPServer(address, handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="plan-pages", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _handler(pages: PlanPages) -> type[BaseHTTPRequestHandler]:
    routes = {"/": DEFAULT_LANGUAGE, "/index.html": DEFAULT_LANGUAGE,
              **{"/" + page_name(lang): lang for lang in LANGUAGES}}

    class Handler(BaseHTTPRequestHandler):
        server_version = "kiosk-plan"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path.startswith(f"/{EXPORT_DIR}/"):
                self._download(path, body)
                return
            language = routes.get(path)
            page = pages.page(language) if language else None
            if page is None:
                self._refuse(HTTPStatus.NOT_FOUND if language is None
                             else HTTPStatus.SERVICE_UNAVAILABLE, body)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("Content-Language", "zh-Hans" if language == "zh" else "en")
            # No script runs on the page, and none may be injected into it.
            self.send_header("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if body:
                self.wfile.write(page)

        def _refuse(self, status: HTTPStatus, body: bool) -> None:
            text = f"{status.value} {status.phrase}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            if body:
                self.wfile.write(text)

        def _download(self, path: str, body: bool) -> None:
            data = pages.file(path)
            if data is None:
                self._refuse(HTTPStatus.NOT_FOUND, body)
                return
            name = path.rsplit("/", 1)[1]
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/x-ndjson; charset=utf-8"
                             if name.endswith(".jsonl") else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            # Saved under its own name, the one the page's commands use.
            self.send_header("Content-Disposition", f'attachment; filename="{name}"')
            self.send_header("Content-Security-Policy", "default-src 'none'")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler
