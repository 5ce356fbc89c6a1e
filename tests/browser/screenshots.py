"""Screenshots of the browser tests: small palette PNGs in the test's tmp dir, and in
``docs/screenshots/`` only when ``BEAMIT_UPDATE_SCREENSHOTS=1`` (a test run leaves the tree
as it was)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def save_screenshot(png: bytes, name: str, tmp_path: Path) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
    targets = [tmp_path / name]
    if os.environ.get("BEAMIT_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        targets.append(SCREENSHOTS / name)
    for target in targets:
        image.save(target, optimize=True)
