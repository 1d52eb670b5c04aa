"""A bus of lock-control boards on a serial line: ``kiosk.hardware.LockBoard`` over pyserial.

The port is any pyserial URL: ``/dev/ttyUSB0``, a pty path, ``socket://host:port`` for a
TCP-RS485 converter. One lock serialises the bus, so the UI, the health monitor and the
command line may share a driver across threads.

USB-RS485 adapters get unplugged and replugged (udev re-points ``/dev/serial/by-id/…`` at
the new device): after an I/O error the driver closes its handle and opens the port again
on a later request, with a short bounded back-off, so an outage ends by itself once the
device is back. A silent line whose path now names another device is reopened the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import termios
import threading
import time
from dataclasses import dataclass

import serial

from devices.kerong import StatusReply
from devices.protocols import BoardCodec, get_codec
from kiosk.hardware import LOCKS_PER_BOARD, BoardError, BoardStatus, BoardTimeout

log = logging.getLogger(__name__)
# What a failing line raises: pyserial's own errors, the OS's, and termios's (pyserial's
# flush and close call tcdrain, whose error on a vanished device is no OSError).
LINE_ERRORS: tuple[type[Exception], ...] = (serial.SerialException, OSError, termios.error)
# Opening also refuses a malformed port URL with ValueError.
OPEN_ERRORS: tuple[type[Exception], ...] = (*LINE_ERRORS, ValueError)

# Reopening a lost port: the first try on the very next request, then waits doubling up to
# the cap. The cap stays below any sane heartbeat, so the health poll after the device is
# back always gets its try; the back-off only spares the quick polls of an opening door.
REOPEN_FIRST_S = 0.05
REOPEN_MAX_S = 1.0


@dataclass
class BusCounters:
    """What went wrong on the line, for the maintenance screen."""

    requests: int = 0
    unlocks: int = 0
    retries: int = 0
    timeouts: int = 0
    bad_frames: int = 0
    dropped_bytes: int = 0
    io_errors: int = 0  # the port itself failed (unplugged adapter, dead handle)
    reopens: int = 0  # the port opened again after such a failure


class SerialLockBoard:
    def __init__(self, port: str, codec: BoardCodec, *, baudrate: int = 19200,
                 lock_bit_locked: int = 1, timeout_s: float = 0.3, retries: int = 2,
                 reopen_max_s: float = REOPEN_MAX_S):
        if lock_bit_locked not in (0, 1):
            raise ValueError("lock_bit_locked must be 0 or 1")
        self.port = port
        self._codec = codec
        self._bit_locked = bool(lock_bit_locked)
        self._timeout_s = timeout_s
        self._retries = retries
        # Silence after a broken frame that means no good frame is coming: a few frame
        # times at this baud rate, but not below what a busy Pi needs to schedule us.
        self._gap_s = max(0.02, 40 * 10 / baudrate)
        self._parser = codec.new_parser()
        self._counters = BusCounters()
        self._bus = threading.Lock()
        self._baudrate = baudrate
        self._reopen_max_s = reopen_max_s
        # While the port is lost: None handle, since when, the next reopen try, the wait.
        self._down_since: float | None = None
        self._path_missing = False  # the last reopen found no device at the port's path
        self._down_reason = ""
        self._next_try = 0.0
        self._wait_s = 0.0
        self._closed = False
        # A port that cannot be opened at start is a config error: say so now.
        self._serial: serial.Serial | None = self._open()

    def unlock(self, board: int, lock: int) -> None:
        _check(board, lock)
        frame = self._codec.unlock_request(board, lock - 1)
        with self._bus:
            self._line()
            self._write(frame)
            self._counters.unlocks += 1

    def status(self, board: int, *, once: bool = False) -> BoardStatus:
        _check(board)
        request = self._codec.status_request(board)
        tries = 1 if once else self._retries + 1
        with self._bus:
            self._line()
            silent = True
            for attempt in range(tries):
                if attempt:
                    self._counters.retries += 1
                self._discard_input()
                self._counters.requests += 1
                self._write(request)
                reply, bad = self._await_reply(board)
                if reply is not None:
                    self._back()
                    return self._interpret(board, reply.lock_bits, reply.sensor_bits)
                if bad:
                    silent = False
                else:
                    self._counters.timeouts += 1
            if silent and self._device_replaced():
                raise self._lost(f"{self.port} now names another device")
        if silent:
            raise BoardTimeout(f"board {board} did not answer on {self.port} "
                               f"({tries} tries, {self._timeout_s:g} s each)")
        raise BoardError(f"board {board} gave no valid reply on {self.port} ({tries} tries)")

    @property
    def counters(self) -> BusCounters:
        """A copy of the counters, safe to read from any thread."""
        with self._bus:
            return dataclasses.replace(
                self._counters, bad_frames=self._parser.bad_frames,
                dropped_bytes=self._counters.dropped_bytes + self._parser.dropped)

    @property
    def connected(self) -> bool:
        """False while the port is lost and waiting to be reopened."""
        with self._bus:
            return self._serial is not None

    def close(self) -> None:
        with self._bus:
            if self._serial is not None:
                self._serial.close()
                self._serial = None
            # A closed driver stays closed: no request reopens it.
            self._closed = True

    def __enter__(self) -> SerialLockBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the port's life: open, lost, reopened ------------------------------------------

    def _open(self) -> serial.Serial:
        try:
            return serial.serial_for_url(self.port, baudrate=self._baudrate,
                                         timeout=self._timeout_s,
                                         write_timeout=self._timeout_s)
        except OPEN_ERRORS as exc:
            raise BoardError(f"cannot open port {self.port}: {_reason(exc)}") from None

    def _line(self) -> serial.Serial:
        """The open port, reopened if it was lost and its back-off is over; else BoardError.

        Called under the bus lock at the start of every request.
        """
        if self._serial is not None:
            return self._serial
        if self._closed:
            raise BoardError(f"serial line {self.port} is closed")
        now = time.monotonic()
        # The back-off spares a port that keeps failing; a device path that was gone and
        # is back (the adapter plugged in again) is tried at once.
        reappeared = self._path_missing and _path_exists(self.port)
        if now < self._next_try and not reappeared:
            raise BoardError(f"serial line {self.port} is down ({self._down_reason}); "
                             f"reopening")
        try:
            self._serial = self._open()
        except BoardError as exc:
            self._wait_s = min(self._reopen_max_s, max(REOPEN_FIRST_S, 2 * self._wait_s))
            self._next_try = now + self._wait_s
            self._down_reason = str(exc)
            self._path_missing = not _path_exists(self.port)
            raise BoardError(f"serial line {self.port} is down: {exc}") from None
        self._path_missing = False
        # Half a frame from the old device must not be taken for the start of a reply.
        self._parser.reset()
        self._counters.reopens += 1
        log.debug("serial line %s reopened", self.port)
        return self._serial

    def _lost(self, reason: str) -> BoardError:
        """The port failed: drop the handle (the next request reopens it) and say why.

        Logged once per outage, at its start, and once when a reply comes again; the polls
        in between fail quietly with the reason in their error.
        """
        if self._serial is not None:
            # A handle of a vanished device may fail to close: it is gone anyway.
            with contextlib.suppress(*LINE_ERRORS):
                self._serial.close()
            self._serial = None
        self._counters.io_errors += 1
        self._down_reason = reason
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
            self._wait_s = 0.0
            self._next_try = now  # the first reopen on the very next request
            log.warning("serial line %s failed (%s): closed it, reopening until it answers",
                        self.port, reason)
        else:
            # It failed again right after a reopen: keep backing off.
            self._wait_s = min(self._reopen_max_s, max(REOPEN_FIRST_S, 2 * self._wait_s))
            self._next_try = now + self._wait_s
        return BoardError(f"serial line {self.port} failed: {reason}")

    def _back(self) -> None:
        """A reply came: an outage of the port, if there was one, is over."""
        if self._down_since is not None:
            log.warning("serial line %s answers again after %.1f s", self.port,
                        time.monotonic() - self._down_since)
            self._down_since = None
            self._wait_s = 0.0

    def _device_replaced(self) -> bool:
        """The port's path now names another device than the open handle (a replugged
        adapter whose udev link moved, while the old handle still reads nothing)."""
        if "://" in self.port or self._serial is None:
            return False
        try:
            return os.stat(self.port).st_rdev != os.fstat(self._serial.fileno()).st_rdev
        except (OSError, AttributeError, ValueError, serial.SerialException):
            return False  # path gone for now, or a handle without a file descriptor

    def _await_reply(self, board: int) -> tuple[StatusReply | None, bool]:
        """Read until ``board``'s reply or the time is up; say if a broken frame came.

        After a broken frame, a short silence ends the wait: the board answers once per
        request, so waiting out the whole timeout would only delay the retry.
        """
        deadline = time.monotonic() + self._timeout_s
        bad_before = self._parser.bad_frames
        broken = False
        while True:
            left = deadline - time.monotonic()
            if broken:
                left = min(left, self._gap_s)
            if left <= 0:
                break
            self._port().timeout = left
            chunk = self._read()
            if not chunk:
                if broken:
                    break
                continue
            for frame in self._parser.feed(chunk):
                reply = self._codec.status_of(frame, board)
                if reply is not None:
                    return reply, False
            broken = self._parser.bad_frames > bad_before
        self._parser.reset()
        return None, broken

    def _interpret(self, board: int, lock_bits: int, sensor_bits: int) -> BoardStatus:
        bits = range(LOCKS_PER_BOARD)
        return BoardStatus(
            board=board,
            locked=tuple(bool(lock_bits >> i & 1) == self._bit_locked for i in bits),
            occupied=tuple(bool(sensor_bits >> i & 1) for i in bits),
        )

    def _port(self) -> serial.Serial:
        if self._serial is None:  # lost in this very request
            raise BoardError(f"serial line {self.port} is down ({self._down_reason})")
        return self._serial

    def _discard_input(self) -> None:
        # Stale bytes (a late reply to an earlier try) would otherwise pass for the answer.
        try:
            port = self._port()
            waiting = port.in_waiting
            if waiting:
                self._counters.dropped_bytes += len(port.read(waiting))
        except LINE_ERRORS as exc:
            raise self._lost(_reason(exc)) from None

    def _read(self) -> bytes:
        try:
            port = self._port()
            return port.read(max(1, port.in_waiting))
        except LINE_ERRORS as exc:
            raise self._lost(_reason(exc)) from None

    def _write(self, frame: bytes) -> None:
        try:
            port = self._port()
            port.write(frame)
            port.flush()
        except LINE_ERRORS as exc:
            raise self._lost(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    """The root cause in a few words: pyserial nests the OS error in its own message."""
    cause = exc.__context__ if isinstance(exc.__context__, OSError) else exc
    return (cause.strerror if isinstance(cause, OSError) else None) or str(cause)


def _check(board: int, lock: int | None = None) -> None:
    if not 0 <= board <= 15:
        raise ValueError(f"board must be a bus address 0-15, got {board}")
    if lock is not None and not 1 <= lock <= LOCKS_PER_BOARD:
        raise ValueError(f"lock must be 1-{LOCKS_PER_BOARD} as labelled, got {lock}")


def open_board(port: str, protocol: str = "kerong", baudrate: int = 19200,
               lock_bit_locked: int = 1, timeout_s: float = 0.3,
               retries: int = 2, reopen_max_s: float = REOPEN_MAX_S) -> SerialLockBoard:
    """Open a bus of boards. Raises ``ValueError`` for an unknown protocol and
    ``BoardError`` when the port cannot be opened."""
    return SerialLockBoard(port, get_codec(protocol), baudrate=baudrate,
                           lock_bit_locked=lock_bit_locked, timeout_s=timeout_s,
                           retries=retries, reopen_max_s=reopen_max_s)


def _path_exists(port: str) -> bool:
    """Whether a device path names something now; URLs (socket://…) always "exist"."""
    return "://" in port or os.path.exists(port)
