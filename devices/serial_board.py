"""A bus of lock-control boards on a serial line: ``kiosk.hardware.LockBoard`` over pyserial.

The port is any pyserial URL: ``/dev/ttyUSB0``, a pty path, ``socket://host:port`` for a
TCP-RS485 converter. One lock serialises the bus, so the UI, the health monitor and the
command line may share a driver across threads.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import serial

from devices.kerong import StatusReply
from devices.protocols import BoardCodec, get_codec
from kiosk.hardware import LOCKS_PER_BOARD, BoardError, BoardStatus, BoardTimeout


@dataclass
class BusCounters:
    """What went wrong on the line, for the maintenance screen."""

    requests: int = 0
    unlocks: int = 0
    retries: int = 0
    timeouts: int = 0
    bad_frames: int = 0
    dropped_bytes: int = 0


class SerialLockBoard:
    def __init__(self, port: str, codec: BoardCodec, *, baudrate: int = 19200,
                 lock_bit_locked: int = 1, timeout_s: float = 0.3, retries: int = 2):
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
        try:
            self._serial = serial.serial_for_url(port, baudrate=baudrate, timeout=timeout_s,
                                                 write_timeout=timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise BoardError(f"cannot open port {port}: {_reason(exc)}") from None

    def unlock(self, board: int, lock: int) -> None:
        _check(board, lock)
        frame = self._codec.unlock_request(board, lock - 1)
        with self._bus:
            self._write(frame)
            self._counters.unlocks += 1

    def status(self, board: int) -> BoardStatus:
        _check(board)
        request = self._codec.status_request(board)
        with self._bus:
            silent = True
            for attempt in range(self._retries + 1):
                if attempt:
                    self._counters.retries += 1
                self._discard_input()
                self._counters.requests += 1
                self._write(request)
                reply, bad = self._await_reply(board)
                if reply is not None:
                    return self._interpret(board, reply.lock_bits, reply.sensor_bits)
                if bad:
                    silent = False
                else:
                    self._counters.timeouts += 1
        tries = self._retries + 1
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

    def close(self) -> None:
        with self._bus:
            self._serial.close()

    def __enter__(self) -> SerialLockBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            self._serial.timeout = left
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

    def _discard_input(self) -> None:
        # Stale bytes (a late reply to an earlier try) would otherwise pass for the answer.
        try:
            waiting = self._serial.in_waiting
            if waiting:
                self._counters.dropped_bytes += len(self._serial.read(waiting))
        except (serial.SerialException, OSError) as exc:
            raise BoardError(f"serial line {self.port} failed: {exc}") from None

    def _read(self) -> bytes:
        try:
            return self._serial.read(max(1, self._serial.in_waiting))
        except (serial.SerialException, OSError) as exc:
            raise BoardError(f"serial line {self.port} failed: {exc}") from None

    def _write(self, frame: bytes) -> None:
        try:
            self._serial.write(frame)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise BoardError(f"serial line {self.port} failed: {exc}") from None


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
               retries: int = 2) -> SerialLockBoard:
    """Open a bus of boards. Raises ``ValueError`` for an unknown protocol and
    ``BoardError`` when the port cannot be opened."""
    return SerialLockBoard(port, get_codec(protocol), baudrate=baudrate,
                           lock_bit_locked=lock_bit_locked, timeout_s=timeout_s,
                           retries=retries)
