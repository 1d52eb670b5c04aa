"""Frame codec of the Kerong KR-CU16 lock-control boards (DESIGN §3).

Every frame is ``02 ADDR CMD [DATA...] 03 SUM``; SUM is the low byte of the sum of all
bytes before it. The length of a frame follows from its CMD, so a parser can find frames
in a stream without any other framing. Pure functions and one small parser class: no
serial port here, so the codec can be tested byte by byte and shared with the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

STX = 0x02
ETX = 0x03
CMD_STATUS = 0x30
CMD_UNLOCK = 0x31
CMD_STATUS_REPLY = 0x35

# Frame length by command: requests carry no data, a status reply carries four bytes.
FRAME_LENGTHS = {CMD_STATUS: 5, CMD_UNLOCK: 5, CMD_STATUS_REPLY: 9}
MAX_FRAME = max(FRAME_LENGTHS.values())


@dataclass(frozen=True)
class Frame:
    addr: int
    cmd: int
    data: bytes = b""

    def encode(self) -> bytes:
        return encode(self.addr, self.cmd, self.data)


@dataclass(frozen=True)
class StatusReply:
    """The raw bits of one board. Bit ``i`` of each mask describes lock ``i + 1``."""

    board: int
    lock_bits: int
    sensor_bits: int


def checksum(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


def encode(addr: int, cmd: int, data: bytes = b"") -> bytes:
    body = bytes((STX, addr, cmd)) + data + bytes((ETX,))
    return body + bytes((checksum(body),))


def _check_board(board: int) -> None:
    if not 0 <= board <= 15:
        raise ValueError(f"board must be a bus address 0-15, got {board}")


def unlock_request(board: int, lock0: int) -> bytes:
    """Pulse lock ``lock0`` (0-based, 0-15) of ``board``. Boards send no reply."""
    _check_board(board)
    if not 0 <= lock0 <= 15:
        raise ValueError(f"lock index must be 0-15, got {lock0}")
    return encode((board << 4) | lock0, CMD_UNLOCK)


def status_request(board: int) -> bytes:
    _check_board(board)
    return encode(board << 4, CMD_STATUS)


def status_reply(board: int, lock_bits: int, sensor_bits: int) -> bytes:
    """What a board answers to ``status_request``; the simulator sends this."""
    _check_board(board)
    data = bytes((lock_bits & 0xFF, (lock_bits >> 8) & 0xFF,
                  sensor_bits & 0xFF, (sensor_bits >> 8) & 0xFF))
    return encode(board << 4, CMD_STATUS_REPLY, data)


def decode_status(frame: Frame) -> StatusReply | None:
    """The status carried by ``frame``, or None if it is not a status reply."""
    if frame.cmd != CMD_STATUS_REPLY or frame.addr & 0x0F or len(frame.data) != 4:
        return None
    d = frame.data
    return StatusReply(frame.addr >> 4, d[0] | d[1] << 8, d[2] | d[3] << 8)


class FrameParser:
    """Finds frames in a byte stream fed in pieces of any size.

    Anything that is not a whole, well-formed frame is skipped one byte at a time until
    the next STX, so a frame that follows garbage, a cut-off frame or a bad checksum is
    still found. ``dropped`` counts skipped bytes, ``bad_frames`` the rejected frame
    candidates (unknown command, missing ETX, wrong checksum). Never raises on input.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.dropped = 0
        self.bad_frames = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        buf = self._buf
        while buf:
            start = buf.find(STX)
            if start < 0:
                self.dropped += len(buf)
                buf.clear()
                break
            if start:
                self.dropped += start
                del buf[:start]
            if len(buf) < 3:
                break  # wait for the command byte
            length = FRAME_LENGTHS.get(buf[2])
            if length is None:
                self._reject()
                continue
            if len(buf) < length:
                break  # wait for the rest
            if buf[length - 2] != ETX or buf[length - 1] != checksum(buf[:length - 1]):
                self._reject()
                continue
            frames.append(Frame(buf[1], buf[2], bytes(buf[3:length - 2])))
            del buf[:length]
        return frames

    def _reject(self) -> None:
        self.bad_frames += 1
        self.dropped += 1
        del self._buf[:1]

    @property
    def pending(self) -> int:
        """Bytes held back as the start of a frame not yet complete."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget a half-received frame (after a timeout); its bytes count as dropped."""
        self.dropped += len(self._buf)
        self._buf.clear()


class KerongCodec:
    """The Kerong protocol as the serial driver sees it (see ``devices.protocols``)."""

    name = "kerong"

    def unlock_request(self, board: int, lock0: int) -> bytes:
        return unlock_request(board, lock0)

    def status_request(self, board: int) -> bytes:
        return status_request(board)

    def new_parser(self) -> FrameParser:
        return FrameParser()

    def status_of(self, frame: Frame, board: int) -> StatusReply | None:
        """The reply of ``board`` carried by ``frame``; None for any other frame
        (an echo of our own request on a half-duplex bus, another board's reply)."""
        reply = decode_status(frame)
        return reply if reply is not None and reply.board == board else None


CODEC = KerongCodec()
