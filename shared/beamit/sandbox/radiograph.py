"""Projection radiographs of a chest phantom for CR (PS3.3 §A.2) and DX (PS3.3 §A.26) images.

The phantom is an attenuation map in [0, 1] (soft tissue, air-filled lungs, heart, spine,
clavicles and ribs for a frontal view; a simpler arrangement for a lateral view) drawn on a
grid of at most :data:`DRAFT_SIZE` pixels a side and resized to full size with Pillow's
bilinear filter, then given detector noise.  Large images (2500x2048) thus cost a few tens of
milliseconds.

Stored values are unsigned 12-bit.  MONOCHROME2 (DX) stores attenuation: bone is bright.
MONOCHROME1 (CR) stores the detector signal, which falls with attenuation, and is displayed
inverted (PS3.3 §C.7.6.3.1.2): bone is still displayed bright, but its stored values are low.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from beamit.sandbox.phantom import grid

__all__ = ["DRAFT_SIZE", "MAX_VALUE", "attenuation", "chest_radiograph"]

DRAFT_SIZE = 384
MAX_VALUE = 4095
"""Largest stored value (Bits Stored 12)."""


def attenuation(rows: int, cols: int, view: str) -> NDArray[np.float32]:
    """The chest phantom's attenuation (0 = no patient, 1 = dense bone) for ``view``.

    ``view`` is a View Position (0018,5101): ``PA``, ``AP`` or ``LL`` (left lateral).
    """
    g = grid(rows, cols)
    a = np.full((rows, cols), 0.03, dtype=np.float32)

    def add(mask: NDArray[np.bool_], amount: float) -> None:
        np.add(a, np.float32(amount), out=a, where=np.broadcast_to(mask, a.shape))

    if view == "LL":
        add(g.ellipse(0.0, 0.15, 0.78, 1.05), 0.5)  # torso
        add(g.ellipse(0.05, -0.12, 0.52, 0.55), -0.3)  # both lungs, superimposed
        add(g.ellipse(-0.2, 0.25, 0.32, 0.26), 0.18)  # heart, anterior
        for k in range(9):  # vertebral bodies, posterior
            add(g.ellipse(0.5, -0.55 + 0.14 * k, 0.09, 0.055), 0.25)
        add((np.abs(g.x + 0.72) < 0.025) & (np.abs(g.y + 0.1) < 0.45), 0.15)  # sternum
        add(g.ellipse(0.0, 0.75, 0.9, 0.3), 0.1)  # diaphragm and abdomen
    else:
        torso = g.ellipse(0.0, 0.2, 0.9, 1.05)
        add(torso, 0.5)
        for side in (-1, 1):
            add(g.ellipse(side * 0.92, -0.45, 0.14, 0.55), 0.4)  # arms
            add(g.ellipse(side * 0.38, -0.1, 0.3, 0.55), -0.3)  # lungs
            clavicle = (np.abs(g.y - (-0.66 + 0.2 * np.abs(g.x))) < 0.03) & (np.abs(g.x) > 0.06) & (np.abs(g.x) < 0.5)
            add(clavicle & ((g.x * side) > 0), 0.22)
        add(g.ellipse(0.0, -0.25, 0.13, 0.45), 0.15)  # mediastinum
        add(g.ellipse(0.12, 0.22, 0.3, 0.24), 0.2)  # heart, to the patient's left
        add(torso & (np.abs(g.x) < 0.07), 0.18)  # spine
        lungs = g.ellipse(-0.38, -0.1, 0.32, 0.57) | g.ellipse(0.38, -0.1, 0.32, 0.57)
        for k in range(10):  # posterior ribs
            add(lungs & (np.abs(g.y - (-0.58 + 0.11 * k + 0.3 * g.x**2)) < 0.018), 0.12)
        add(g.ellipse(0.0, 0.95, 1.0, 0.45), 0.12)  # diaphragm and abdomen
    result: NDArray[np.float32] = np.clip(a, 0.0, 1.0)
    return result


def chest_radiograph(rows: int, cols: int, view: str, seed: Sequence[int], monochrome1: bool) -> NDArray[np.uint16]:
    """Stored values (uint16, 12 bits) of a ``rows`` x ``cols`` chest radiograph."""
    factor = min(1.0, DRAFT_SIZE / max(rows, cols))
    draft = attenuation(max(8, round(rows * factor)), max(8, round(cols * factor)), view)
    full = np.asarray(Image.fromarray(draft, mode="F").resize((cols, rows), Image.Resampling.BILINEAR))
    rng = np.random.default_rng(list(seed))
    signal = full * np.float32(MAX_VALUE * 0.92) + np.float32(MAX_VALUE * 0.04)
    signal += rng.standard_normal((rows, cols), dtype=np.float32) * np.float32(20.0)
    if monochrome1:
        signal = np.float32(MAX_VALUE) - signal
    stored: NDArray[np.uint16] = np.clip(signal, 0, MAX_VALUE).astype(np.uint16)
    return stored
