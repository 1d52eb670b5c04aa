"""Logging that journald understands, and that never draws over the kiosk's screen.

Three places a log line can go:
- stderr connected to the journal (``kiosk plan`` as a service): no timestamps (the
  journal adds its own) and a ``<N>`` syslog priority on every line, so
  ``journalctl -p warning`` filters by level and a traceback keeps its level throughout;
- the journal's own socket, when the terminal belongs to the TUI (``kiosk run`` inside
  foot: its stderr is the screen, not the journal);
- a terminal or file otherwise, with timestamps.

Levels: ``"INFO"``, or per logger ``"INFO,devices=DEBUG,paho=WARNING"``; from
``--log-level`` or else ``KIOSK_LOG_LEVEL``.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

JOURNAL_SOCKET = "/run/systemd/journal/socket"
DEFAULT_LEVEL = "WARNING"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Longest message sent to the journal socket in one datagram; longer ones are cut.
_JOURNAL_MAX = 48 * 1024


def syslog_priority(levelno: int) -> int:
    """The syslog priority journald records for a Python level."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class LevelSpecError(ValueError):
    pass


def parse_level_spec(spec: str) -> tuple[int, dict[str, int]]:
    """``"INFO,devices=DEBUG"`` -> (INFO, {"devices": DEBUG}). Raises LevelSpecError."""
    root = logging.WARNING
    per_logger: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, sep, level = part.rpartition("=")
        level = level.strip().upper()
        if level not in _LEVELS:
            raise LevelSpecError(
                f"log level {level or part!r} is not one of {', '.join(_LEVELS)}")
        if sep and not name.strip():
            raise LevelSpecError(f"log level {part!r} names no logger")
        if sep:
            per_logger[name.strip()] = logging.getLevelNamesMapping()[level]
        else:
            root = logging.getLevelNamesMapping()[level]
    return root, per_logger


class JournalLineFormatter(logging.Formatter):
    """``<4>devices.kerong: board 2 did not answer`` — a priority on every line."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def stream_is_journal(stream: TextIO | None = None,
                      env: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` (stderr) is the journal stream systemd gave us.

    ``JOURNAL_STREAM`` is inherited by children (foot, the TUI) whose stderr is a
    terminal, so the variable alone is not enough: its device and inode must match.
    """
    env = os.environ if env is None else env
    stream = sys.stderr if stream is None else stream
    dev, _, ino = env.get("JOURNAL_STREAM", "").partition(":")
    if not dev or not ino:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return f"{st.st_dev}:{st.st_ino}" == f"{dev}:{ino}"


class JournalSocketHandler(logging.Handler):
    """Writes records to journald's native socket, with PRIORITY and the logger name."""

    def __init__(self, identifier: str = "kiosk", path: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.identifier = identifier
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if len(message) > _JOURNAL_MAX:
                message = message[:_JOURNAL_MAX] + " …(cut)"
            fields = {
                "MESSAGE": message,
                "PRIORITY": str(syslog_priority(record.levelno)),
                "SYSLOG_IDENTIFIER": self.identifier,
                "KIOSK_LOGGER": record.name,
                "CODE_FILE": record.pathname,
                "CODE_LINE": str(record.lineno),
                "CODE_FUNC": record.funcName,
            }
            self._sock.sendto(journal_datagram(fields), self.path)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self._sock.close()
        super().close()


def journal_datagram(fields: Mapping[str, str]) -> bytes:
    """Encode fields in journald's native protocol (a length prefix for multi-line values)."""
    out = bytearray()
    for key, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += key.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += key.encode() + b"=" + data + b"\n"
    return bytes(out)


def setup_logging(level: str | None = None, *, terminal_owned: bool = False,
                  log_file: str | Path | None = None, identifier: str = "kiosk",
                  env: Mapping[str, str] | None = None, stream: TextIO | None = None,
                  journal_socket: str = JOURNAL_SOCKET) -> str:
    """Configure the root logger; returns where logs go.

    ``terminal_owned``: a TUI draws on stderr's terminal, so never log there.
    Calling it again replaces what the previous call installed. Raises LevelSpecError.
    """
    env = os.environ if env is None else env
    stream = sys.stderr if stream is None else stream
    root_level, per_logger = parse_level_spec(level or env.get("KIOSK_LOG_LEVEL")
                                              or DEFAULT_LEVEL)
    handler: logging.Handler
    if not terminal_owned and stream_is_journal(stream, env):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JournalLineFormatter())
        where = "journal-stream"
    elif terminal_owned and env.get("JOURNAL_STREAM") and Path(journal_socket).exists():
        handler = JournalSocketHandler(identifier, journal_socket)
        where = "journal-socket"
    elif log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(_timestamped())
        where = "file"
    elif terminal_owned:
        handler = logging.NullHandler()
        where = "nowhere"
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_timestamped())
        where = "stderr"
    # Our marker, so a second call finds what the first installed; Handler declares no
    # such attribute, hence the ignore.
    handler._kiosk_handler = True  # type: ignore[union-attr]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_kiosk_handler", False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(root_level)
    for name, lvl in per_logger.items():
        logging.getLogger(name).setLevel(lvl)
    return where


def _timestamped() -> logging.Formatter:
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
