"""Screenshots of the browser tests: small PNGs (64-colour palette) in the test's tmp dir, and
in docs/screenshots/ only with ``BEAMIT_UPDATE_SCREENSHOTS=1``, so a test run leaves the
working tree as it was."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image

from tests.support import poll_until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_screenshot(png: bytes, name: str, tmp_path: Path) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    targets = [tmp_path / name]
    if os.environ.get("BEAMIT_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        targets.append(DOCS / name)
    for target in targets:
        image.save(target, optimize=True)


def settled_screenshot(page: Any, timeout: float = 30.0) -> bytes:
    """A screenshot of the page once it stopped changing (two in a row alike), for pages
    without a state of their own to wait for."""
    shots = [page.screenshot()]

    def unchanged() -> bytes | None:
        shots[:] = [shots[-1], page.screenshot()]
        return shots[1] if shots[0] == shots[1] else None

    return poll_until(unchanged, timeout=timeout, interval=0.2, what="a page that stops changing")
