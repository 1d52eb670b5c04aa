"""``kiosk board``: talk to the lock-control boards directly, for installers.

Exit codes: 0 done, 1 the board or port failed, 2 bad arguments, 3 the door is jammed.
When every lock reads unlocked (all doors cannot be open at once) a warning on stderr
names the polarity setting, ``[board] lock_bit_locked`` (``--lock-bit-locked`` here).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from kiosk.hardware import LOCKS_PER_BOARD, BoardError, BoardStatus

EXIT_FAILED = 1
EXIT_JAMMED = 3


def _bounded(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {what} {low}-{high}, got {value}")
        return value
    return parse


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    from devices.protocols import PROTOCOLS

    board = subparsers.add_parser(
        "board", help="read or open the lock-control boards directly",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = board.add_subparsers(dest="board_command", metavar="SUBCOMMAND",
                                    required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--port", required=True,
                        help="pyserial URL: /dev/ttyUSB0, a pty path, socket://host:port")
    common.add_argument("--board", required=True, type=_bounded(0, 15, "a bus address"),
                        help="bus address 0-15")
    common.add_argument("--protocol", default="kerong", choices=sorted(PROTOCOLS))
    common.add_argument("--baudrate", type=_bounded(1, 4_000_000, "a baud rate"),
                        default=19200)
    common.add_argument("--lock-bit-locked", type=int, choices=(0, 1), default=1,
                        help="1 if a set lock bit means locked (default), 0 if unlocked")
    common.add_argument("--timeout", type=_positive, default=0.3,
                        help="seconds to wait for each reply (default 0.3)")
    common.add_argument("--retries", type=_bounded(0, 10, "a count"), default=2)

    status = commands.add_parser("status", parents=[common],
                                 help="show every lock and occupancy sensor of a board")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=cmd_status)

    door = commands.add_parser("open", parents=[common],
                               help="unlock one lock and confirm the door opened")
    door.add_argument("--lock", required=True,
                      type=_bounded(1, LOCKS_PER_BOARD, "a lock number as labelled"))
    door.add_argument("--confirm", type=_positive, default=1.5,
                      help="seconds for the lock to show unlocked (default 1.5)")
    door.set_defaults(handler=cmd_open)


def _open(args: argparse.Namespace):
    from devices.serial_board import open_board

    return open_board(args.port, args.protocol, args.baudrate, args.lock_bit_locked,
                      args.timeout, args.retries)


def _fail(message: str) -> int:
    print(f"kiosk board: {message}", file=sys.stderr)
    return EXIT_FAILED


def _reversed(args: argparse.Namespace, status: BoardStatus) -> bool:
    """Warn (stderr) when the readings look like the wrong polarity; True if they do.

    This command opened nothing, so all locks reading unlocked is the tell.
    """
    from kiosk.health import looks_reversed, polarity_hint

    if not looks_reversed(status, range(1, LOCKS_PER_BOARD + 1)):
        return False
    print(f"kiosk board: warning: board {status.board}: {polarity_hint(args.lock_bit_locked)}"
          f" (--lock-bit-locked here)", file=sys.stderr)
    return True


def cmd_status(args: argparse.Namespace) -> int:
    try:
        with _open(args) as bus:
            status = bus.status(args.board)
    except BoardError as exc:
        return _fail(str(exc))
    locks = range(1, LOCKS_PER_BOARD + 1)
    suspect = _reversed(args, status)
    if args.json:
        print(json.dumps({"board": status.board, "locks": {
            str(n): {"locked": status.is_locked(n), "occupied": status.is_occupied(n)}
            for n in locks}, "polarity_suspect": suspect}))
        return 0
    print(f"board {status.board} on {args.port}")
    for n in locks:
        print(f"  lock {n:2}  {'locked' if status.is_locked(n) else 'UNLOCKED':8}  "
              f"{'occupied' if status.is_occupied(n) else 'empty'}")
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    from kiosk.doors import open_door

    try:
        with _open(args) as bus:
            before = bus.status(args.board)  # an absent board fails here, before any pulse
            # Said before the pulse: with the bit reversed the open door reads "locked".
            _reversed(args, before)
            result = open_door(bus, args.board, args.lock, confirm_s=args.confirm)
    except BoardError as exc:
        return _fail(str(exc))
    where = f"board {args.board} lock {args.lock}"
    if result.opened:
        print(f"{where}: opened")
        return 0
    if result.jammed:
        print(f"{where}: jammed (still locked after {result.attempts} unlock pulses)")
        return EXIT_JAMMED
    return _fail(f"{where}: not confirmed open: {result.error}")
