"""The Kerong frame codec, byte for byte, and its parser on hostile streams."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import kerong


def test_frames_match_the_documented_bytes():
    # board 1, lock 3 (0-based 2): ADDR 0x12; SUM = 02+12+31+03 = 0x48
    assert kerong.unlock_request(1, 2) == bytes.fromhex("0212310348")
    assert kerong.status_request(0) == bytes.fromhex("0200300335")
    assert kerong.status_request(15) == bytes.fromhex("02f0300325")
    reply = kerong.status_reply(2, lock_bits=0x8001, sensor_bits=0x0102)
    assert reply[:8] == bytes.fromhex("0220350180020103")
    assert reply[8] == sum(reply[:8]) & 0xFF


def test_status_reply_bits_are_lowest_bit_lowest_lock():
    (frame,) = kerong.FrameParser().feed(kerong.status_reply(3, 0b101, 1 << 15))
    status = kerong.decode_status(frame)
    assert status == kerong.StatusReply(board=3, lock_bits=0b101, sensor_bits=0x8000)


@pytest.mark.parametrize(("board", "lock0"), [(16, 0), (-1, 0), (0, 16), (0, -1)])
def test_out_of_range_addresses_are_refused(board, lock0):
    with pytest.raises(ValueError):
        kerong.unlock_request(board, lock0)


def test_parser_resyncs_after_garbage_short_frame_and_bad_checksum():
    good = kerong.status_reply(1, 0xFFFF, 0)
    bad_sum = good[:-1] + bytes(((good[-1] + 1) & 0xFF,))
    stream = (b"\xff\x00\x7f" + good[:5] + bad_sum + good + b"\x02\x99" + good[:7] + good
              + kerong.status_request(1)[:3] + good)
    parser = kerong.FrameParser()
    frames = parser.feed(stream)
    assert [f.encode() for f in frames] == [good, good, good]
    assert parser.bad_frames >= 2
    assert parser.dropped == len(stream) - 3 * len(good)


def test_parser_waits_for_the_rest_of_a_frame_and_reset_drops_it():
    parser = kerong.FrameParser()
    reply = kerong.status_reply(0, 1, 1)
    assert parser.feed(reply[:4]) == []
    assert parser.pending == 4
    parser.reset()
    assert parser.dropped == 4
    assert parser.feed(reply[4:]) == []
    assert parser.feed(reply) == [kerong.Frame(0x00, kerong.CMD_STATUS_REPLY, reply[3:7])]


frames = st.one_of(
    st.builds(kerong.unlock_request, st.integers(0, 15), st.integers(0, 15)),
    st.builds(kerong.status_request, st.integers(0, 15)),
    st.builds(kerong.status_reply, st.integers(0, 15), st.integers(0, 0xFFFF),
              st.integers(0, 0xFFFF)),
)
# Garbage without STX: a stray 02 can, by rare coincidence, form a valid frame with the
# bytes that follow it, which no parser could tell apart from a real one.
garbage = st.binary(max_size=12).map(lambda b: b.replace(b"\x02", b"\x55"))


def _feed_in_pieces(parser: kerong.FrameParser, stream: bytes, cuts: list[int]) -> list:
    found, last = [], 0
    for cut in [*sorted({c % (len(stream) + 1) for c in cuts}), len(stream)]:
        found += parser.feed(stream[last:cut])
        last = cut
    return found


@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=10))
def test_any_byte_stream_never_raises_and_every_byte_is_accounted(stream, cuts):
    parser = kerong.FrameParser()
    found = _feed_in_pieces(parser, stream, cuts)
    used = sum(len(f.encode()) for f in found)
    assert used + parser.dropped + parser.pending == len(stream)


@given(st.lists(st.tuples(garbage, frames), max_size=12), garbage,
       st.lists(st.integers(0, 400), max_size=10))
def test_every_frame_embedded_in_garbage_is_recovered(chunks, tail, cuts):
    stream = b"".join(g + f for g, f in chunks) + tail
    parser = kerong.FrameParser()
    found = _feed_in_pieces(parser, stream, cuts)
    assert [f.encode() for f in found] == [f for _, f in chunks]
    assert parser.dropped + parser.pending == sum(len(g) for g, _ in chunks) + len(tail)


@given(st.integers(0, 15), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_status_reply_roundtrip(board, lock_bits, sensor_bits):
    (frame,) = kerong.FrameParser().feed(kerong.status_reply(board, lock_bits, sensor_bits))
    assert kerong.decode_status(frame) == kerong.StatusReply(board, lock_bits, sensor_bits)
    assert kerong.CODEC.status_of(frame, board) is not None
    assert kerong.CODEC.status_of(frame, (board + 1) % 16) is None


@given(st.integers(0, 15), st.integers(0, 15))
def test_requests_roundtrip_and_are_not_status(board, lock0):
    parser = kerong.FrameParser()
    unlock, status = parser.feed(kerong.unlock_request(board, lock0)
                                 + kerong.status_request(board))
    assert (unlock.addr, unlock.cmd) == (board << 4 | lock0, kerong.CMD_UNLOCK)
    assert (status.addr, status.cmd) == (board << 4, kerong.CMD_STATUS)
    assert kerong.decode_status(unlock) is None and kerong.decode_status(status) is None


def test_codec_module_does_not_import_pyserial():
    import subprocess
    import sys

    code = "import devices.kerong, devices.protocols, sys; print('serial' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=__import__("pathlib").Path(__file__).parent.parent)
    assert out.stdout.strip() == "False"
