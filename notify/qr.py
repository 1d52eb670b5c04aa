"""The pickup code as a QR image: the kiosk's 2D scanner reads it from a phone's screen as
if it were typed, so a pickup is one scan."""

from __future__ import annotations

import io

import segno


def qr_png(code: str, scale: int = 8) -> bytes:
    # Error correction M and a wide quiet zone: phone screens are glossy and often cracked.
    qr = segno.make_qr(code, error="m")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
