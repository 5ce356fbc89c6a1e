"""The share link as a QR code (ISO/IEC 18004), a PNG data URL, made with segno.

The code is secret and kept only as a digest, so the QR code can only be made when the
code is known: in the create response (and its idempotent replays), never later.
"""

from __future__ import annotations

import base64
import io

import segno


def qr_data_url(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=4, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
