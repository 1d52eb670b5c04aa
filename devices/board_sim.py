"""A bus of Kerong lock boards on a pseudo-terminal, for tests, benchmarks and the demo.

It speaks the same bytes as the real boards, so the real serial driver is what talks to
it. A lock pulsed open stays unlocked (the door springs open) until a simulated hand
shuts the door. Faults of a real bus can be switched on: jammed locks, silent boards,
garbage before replies and corrupted checksums (drawn from a seeded generator, so a
test run is repeatable). Every frame received is logged with its arrival time.

Given a ``link`` path, the simulator points a symlink there at its pty, as udev's
``/dev/serial/by-id/…`` names a USB adapter; configure the kiosk with the link. ``unplug()``
pulls the adapter (the pty goes away: the kiosk's handle fails, the link is removed) and
``replug()`` puts it back on a new pty behind the same link, the boards as they were. The
board's ``lock_bit_locked`` can differ from the kiosk's setting, to show a reversed polarity.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import signal
import threading
import time
import tty
from collections.abc import Iterable
from dataclasses import dataclass

from devices import kerong
from kiosk.hardware import LOCKS_PER_BOARD


@dataclass(frozen=True)
class WireFrame:
    """A frame the simulator received; ``t`` is ``time.monotonic()`` on arrival."""

    t: float
    addr: int
    cmd: int
    raw: bytes


@dataclass
class _Lock:
    locked: bool = True
    occupied: bool = False
    jammed: bool = False


class BoardSimulator:
    def __init__(self, boards: Iterable[int] = (0,), *, lock_bit_locked: int = 1,
                 garbage_rate: float = 0.0, corrupt_rate: float = 0.0, seed: int = 0,
                 link: str | os.PathLike[str] | None = None):
        self.boards = sorted(set(boards))
        if not self.boards or any(not 0 <= b <= 15 for b in self.boards):
            raise ValueError("boards must be bus addresses 0-15")
        self.lock_bit_locked = lock_bit_locked
        self.garbage_rate = garbage_rate
        self.corrupt_rate = corrupt_rate
        self._rng = random.Random(seed)
        self._locks = {(b, n): _Lock() for b in self.boards
                       for n in range(1, LOCKS_PER_BOARD + 1)}
        self._silent: set[int] = set()
        self._silent_after_unlock: set[int] = set()
        self._log: list[WireFrame] = []
        self._state = threading.Lock()
        self._received = threading.Condition(self._state)
        self._parser = kerong.FrameParser()
        self.link = os.fspath(link) if link is not None else None
        self._plug()
        # The path to configure: the link if there is one (it outlives a replug).
        self.port = self.link or self.pty
        self._started = False
        self._closed = False

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> BoardSimulator:
        self._started = True
        self._thread.start()
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._unplug()

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def unplug(self) -> None:
        """Pull the adapter: the pty is closed, so the kiosk's handle fails with I/O errors,
        and the pty's path and the link vanish. The boards keep their state."""
        if self._closed:
            raise ValueError("the simulator is closed")
        self._unplug()

    def replug(self) -> None:
        """Plug the adapter back in: a new pty, the link pointed at it, serving again."""
        if self._closed:
            raise ValueError("the simulator is closed")
        if self._master is not None:
            raise ValueError("the simulator is plugged in already")
        with self._state:
            self._parser = kerong.FrameParser()
        self._plug()
        if self._started:
            self._thread.start()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self._master: int | None = master
        self._slave = slave
        self.pty = os.ttyname(slave)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, args=(master, self._wake_r),
                                        name="board-sim", daemon=True)
        if self.link is not None:
            # Re-pointed in one step, as udev does: the path never names a stale pty.
            fresh = f"{self.link}.{os.getpid()}.new"
            os.symlink(self.pty, fresh)
            os.replace(fresh, self.link)

    def _unplug(self) -> None:
        if self._master is None:
            return
        # udev removes the by-id link with the device (unless another simulator has taken
        # the link over). A link left dangling could come alive: the kernel reuses pty
        # numbers, and another process's pty would then answer on this path.
        if (self.link is not None and os.path.islink(self.link)
                and os.readlink(self.link) == self.pty):
            os.unlink(self.link)
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            os.close(fd)
        self._master = None

    def __enter__(self) -> BoardSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the simulated world (thread-safe) -------------------------------------------

    def door_open(self, board: int, lock: int) -> bool:
        with self._state:
            return not self._lock(board, lock).locked

    def is_occupied(self, board: int, lock: int) -> bool:
        with self._state:
            return self._lock(board, lock).occupied

    def shut(self, board: int, lock: int) -> None:
        """A hand closes the door; the latch catches and the lock shows locked again."""
        with self._state:
            self._lock(board, lock).locked = True

    def put_item(self, board: int, lock: int) -> None:
        with self._state:
            self._lock(board, lock).occupied = True

    def take_item(self, board: int, lock: int) -> None:
        with self._state:
            self._lock(board, lock).occupied = False

    def jam(self, board: int, lock: int) -> None:
        """The lock ignores unlock pulses until ``unjam``."""
        with self._state:
            self._lock(board, lock).jammed = True

    def unjam(self, board: int, lock: int) -> None:
        with self._state:
            self._lock(board, lock).jammed = False

    def force_open(self, board: int, lock: int) -> None:
        """The door opens without a command (a crowbar, a broken latch)."""
        with self._state:
            self._lock(board, lock).locked = False

    def set_silent(self, board: int, silent: bool) -> None:
        """A silent board neither answers nor obeys (power lost, cable cut)."""
        with self._state:
            if silent:
                self._silent.add(board)
            else:
                self._silent.discard(board)

    def silence_after_next_unlock(self, board: int) -> None:
        """The line dies just after the board obeys its next unlock: the kiosk sees the
        door open on the wire but never hears the board again (until ``set_silent``)."""
        with self._state:
            self._silent_after_unlock.add(board)

    def set_noise(self, garbage_rate: float = 0.0, corrupt_rate: float = 0.0) -> None:
        with self._state:
            self.garbage_rate = garbage_rate
            self.corrupt_rate = corrupt_rate

    def log(self) -> list[WireFrame]:
        with self._state:
            return list(self._log)

    def unlock_count(self, board: int | None = None, lock: int | None = None) -> int:
        """Unlock frames received, for any board or lock unless given (lock 1-16)."""
        with self._state:
            return sum(1 for f in self._log if f.cmd == kerong.CMD_UNLOCK
                       and (board is None or f.addr >> 4 == board)
                       and (lock is None or (f.addr & 0x0F) + 1 == lock))

    def wait_frames(self, count: int, timeout_s: float = 2.0) -> list[WireFrame]:
        """Wait until at least ``count`` frames have been received in all; return the log."""
        with self._received:
            self._received.wait_for(lambda: len(self._log) >= count, timeout_s)
            return list(self._log)

    def _lock(self, board: int, lock: int) -> _Lock:
        try:
            return self._locks[(board, lock)]
        except KeyError:
            raise ValueError(f"no lock {lock} on simulated board {board}") from None

    # -- the wire --------------------------------------------------------------------

    def _serve(self, master: int, wake: int) -> None:
        while True:
            ready, _, _ = select.select([master, wake], [], [])
            if wake in ready:
                return
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            now = time.monotonic()
            for frame in self._parser.feed(data):
                reply = self._handle(now, frame)
                if reply:
                    os.write(master, reply)

    def _handle(self, now: float, frame: kerong.Frame) -> bytes:
        board, low = frame.addr >> 4, frame.addr & 0x0F
        with self._received:
            self._log.append(WireFrame(now, frame.addr, frame.cmd, frame.encode()))
            self._received.notify_all()
            if board not in self.boards or board in self._silent:
                return b""
            if frame.cmd == kerong.CMD_UNLOCK:
                state = self._locks[(board, low + 1)]
                if not state.jammed:
                    state.locked = False
                if board in self._silent_after_unlock:
                    self._silent_after_unlock.discard(board)
                    self._silent.add(board)
                return b""
            if frame.cmd != kerong.CMD_STATUS or low:
                return b""
            return self._noisy(self._status_reply(board))

    def _status_reply(self, board: int) -> bytes:
        lock_bits = sensor_bits = 0
        for i in range(LOCKS_PER_BOARD):
            state = self._locks[(board, i + 1)]
            if state.locked == bool(self.lock_bit_locked):
                lock_bits |= 1 << i
            if state.occupied:
                sensor_bits |= 1 << i
        return kerong.status_reply(board, lock_bits, sensor_bits)

    def _noisy(self, reply: bytes) -> bytes:
        if self.corrupt_rate and self._rng.random() < self.corrupt_rate:
            reply = reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
        if self.garbage_rate and self._rng.random() < self.garbage_rate:
            reply = self._rng.randbytes(self._rng.randint(1, 8)) + reply
        return reply


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.board_sim",
        description="Simulated Kerong lock boards on a pseudo-terminal. Prints the port "
                    "path, then serves until interrupted.")
    parser.add_argument("--boards", default="0",
                        help="comma-separated bus addresses (default: 0)")
    parser.add_argument("--lock-bit-locked", type=int, choices=(0, 1), default=1)
    parser.add_argument("--garbage-rate", type=float, default=0.0)
    parser.add_argument("--corrupt-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--link", help="also name the port by this symlink (as udev's "
                        "/dev/serial/by-id/… does); printed instead of the pty. SIGUSR1 "
                        "pulls the adapter out or plugs it back in")
    args = parser.parse_args(argv)
    try:
        boards = [int(b) for b in args.boards.split(",")]
        sim = BoardSimulator(boards, lock_bit_locked=args.lock_bit_locked,
                             garbage_rate=args.garbage_rate,
                             corrupt_rate=args.corrupt_rate, seed=args.seed,
                             link=args.link)
    except ValueError as exc:
        parser.error(f"--boards: {exc}")
    stop = threading.Event()
    toggle = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The signal only asks: the pty is closed and opened on this thread, not in a handler.
    def ask_toggle(*_: object) -> None:
        toggle.set()
        stop.set()  # wakes the loop below

    signal.signal(signal.SIGUSR1, ask_toggle)
    with sim:
        print(sim.port, flush=True)
        try:
            while True:
                stop.wait(0.5)
                if toggle.is_set():
                    toggle.clear()
                    stop.clear()
                    if sim.plugged:
                        sim.unplug()
                    else:
                        sim.replug()
                elif stop.is_set():
                    break
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
