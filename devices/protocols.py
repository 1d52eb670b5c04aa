"""The lock-board protocols the serial driver can speak, by the name used in the config.

A protocol is a codec object with the methods of ``BoardCodec``; adding one is a new
module plus one line in ``PROTOCOLS``. This module does not import pyserial.
"""

from __future__ import annotations

from typing import Protocol

from devices import kerong


class FrameParser(Protocol):
    dropped: int
    bad_frames: int

    def feed(self, data: bytes) -> list: ...

    def reset(self) -> None: ...


class BoardCodec(Protocol):
    name: str

    def unlock_request(self, board: int, lock0: int) -> bytes: ...

    def status_request(self, board: int) -> bytes: ...

    def new_parser(self) -> FrameParser: ...

    def status_of(self, frame, board: int) -> kerong.StatusReply | None:
        """The lock and sensor bits of ``board`` if ``frame`` is its status reply."""


PROTOCOLS: dict[str, BoardCodec] = {
    "kerong": kerong.CODEC,
}


def get_codec(name: str) -> BoardCodec:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown board protocol {name!r} "
                         f"(known: {', '.join(sorted(PROTOCOLS))})") from None
