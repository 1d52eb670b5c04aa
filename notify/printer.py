"""Slips on the kiosk's receipt printer, for a household without any contact: the courier
drops the slip into the household's letterbox.

The slip is plain ESC/POS, written here rather than through python-escpos: the few
commands a slip needs (initialise, double size, the printer's own QR code, cut) are
fixed bytes, and the kiosk gains no Pillow, pyusb and PyYAML for them. Printers:

- ``simulated``: keeps every slip's bytes (tests, the demo);
- a device path (``/dev/usb/lp0``, the kernel's usblp driver for a USB printer): written
  as a file;
- ``serial:PATH[:BAUD]``: a serial printer, through pyserial.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from kiosk.notifications import printer_spec

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"  # GB18030 text on the Chinese printers sold with lockers
CHINESE_OFF = FS + b"."
DOUBLE = GS + b"!\x11"
NORMAL = GS + b"!\x00"
CENTRE = ESC + b"a\x01"
LEFT = ESC + b"a\x00"
CUT = GS + b"V\x42\x00"  # feed to the cutter and cut


def qr_command(data: str, size: int = 8) -> bytes:
    """The printer draws the QR code itself (ESC/POS ``GS ( k``, model 2, level M)."""
    payload = data.encode("ascii")
    length = len(payload) + 3
    return (GS + b"(k\x04\x00\x31\x41\x32\x00"  # model 2
            + GS + b"(k\x03\x00\x31\x43" + bytes((size,))  # module size
            + GS + b"(k\x03\x00\x31\x45\x31"  # error correction M
            + GS + b"(k" + bytes((length & 0xFF, length >> 8)) + b"\x31\x50\x30" + payload
            + GS + b"(k\x03\x00\x31\x51\x30")  # print it


def slip_bytes(household: str, title: str, body: str, code: str | None,
               language: str) -> bytes:
    encoding = "gb18030" if language == "zh" else "ascii"

    def text(s: str) -> bytes:
        return s.encode(encoding, errors="replace")

    out = INIT + (CHINESE_ON if language == "zh" else CHINESE_OFF)
    out += CENTRE + DOUBLE + text(household) + b"\n" + NORMAL + text(title) + b"\n\n"
    out += LEFT + text(body) + b"\n\n"
    if code:
        out += CENTRE + qr_command(code) + b"\n" + DOUBLE + text(code) + NORMAL + b"\n"
    return out + b"\n\n" + CUT


class Printer(Protocol):
    def print_slip(self, data: bytes) -> None: ...


class SimulatedPrinter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.slips: list[bytes] = []
        self.broken = False  # a test or the demo's F2 panel: out of paper

    def print_slip(self, data: bytes) -> None:
        with self._lock:
            if self.broken:
                raise OSError("the simulated printer is out of paper")
            self.slips.append(data)


@dataclass
class DevicePrinter:
    path: str

    def print_slip(self, data: bytes) -> None:
        with open(self.path, "wb", buffering=0) as device:
            device.write(data)


@dataclass
class SerialPrinter:
    path: str
    baud: int = 19200

    def print_slip(self, data: bytes) -> None:
        import serial

        with serial.Serial(self.path, self.baud, timeout=5, write_timeout=10) as port:
            port.write(data)
            port.flush()


def parse_printer(spec: str) -> Printer | None:
    """The printer ``[notify] printer`` names (kiosk/notifications.py, ``printer_spec``)."""
    kind, path, baud = printer_spec(spec)
    if kind == "simulated":
        return SimulatedPrinter()
    if kind == "serial":
        return SerialPrinter(path, baud)
    if kind == "device":
        return DevicePrinter(path)
    return None
