"""A B-mode ultrasound cine loop for the Ultrasound Multi-frame Image IOD (PS3.3 §A.7).

A sector scan (apex at the top, 80 degrees wide) of speckle whose echogenicity map has a
bright interface and dark, pulsating chambers; the cardiac variant adds a colour-flow box that
turns red or blue with the phase of the cycle.  Frames are RGB, 8 bits per sample, interleaved
(Planar Configuration 0, PS3.3 §C.7.6.3.1.3), as an array (frames, rows, columns, 3).

Speckle is a Rayleigh-distributed field drawn once per loop; each frame cuts it at a slowly
moving offset, so a 30-frame 480x640 loop takes a few tens of milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["SECTOR_HALF_ANGLE", "cine_loop", "sector_bounds"]

SECTOR_HALF_ANGLE = math.radians(40)
_APEX = 0.04  # apex row, as a fraction of the rows
_DEPTH = 0.92  # deepest row of the sector, as a fraction of the rows
_MARGIN = 24


def sector_bounds(rows: int, cols: int) -> tuple[int, int, int, int]:
    """(min x, min y, max x, max y) of the sector in pixels: the ultrasound region."""
    depth = (_DEPTH - _APEX) * rows
    half_width = min(depth * math.sin(SECTOR_HALF_ANGLE), cols / 2 - 1)
    return int(cols / 2 - half_width), int(_APEX * rows), int(cols / 2 + half_width), int(_DEPTH * rows)


def cine_loop(rows: int, cols: int, frames: int, cardiac: bool, seed: Sequence[int]) -> NDArray[np.uint8]:
    """``frames`` RGB frames of ``rows`` x ``cols`` pixels."""
    rng = np.random.default_rng(list(seed))
    speckle = rng.rayleigh(0.6, (rows + _MARGIN, cols + _MARGIN)).astype(np.float32)
    r_idx = np.arange(rows, dtype=np.float32).reshape(rows, 1)
    c_idx = np.arange(cols, dtype=np.float32).reshape(1, cols)
    dy, dx = (r_idx - _APEX * rows) / rows, (c_idx - cols / 2) / rows
    radius = np.sqrt(dy**2 + dx**2)
    theta = np.arctan2(dx, np.maximum(dy, 1e-6))
    depth = _DEPTH - _APEX
    sector = (np.abs(theta) <= SECTOR_HALF_ANGLE) & (radius <= depth) & (dy > 0)
    base = np.exp(-1.1 * radius / depth) * 0.9 + 0.1
    base = base + 0.9 * np.exp(-(((radius - 0.24 * depth) / 0.012) ** 2))  # bright interface
    x, y = dx, dy
    output = np.zeros((frames, rows, cols, 3), dtype=np.uint8)
    for frame in range(frames):
        phase = 2 * math.pi * frame / max(frames, 1)
        beat = 1.0 + 0.18 * math.sin(phase)
        echo = base.copy()
        chambers = [(0.0, 0.55, 0.14 * beat, 0.2 * beat)]
        if cardiac:
            chambers.append((0.18, 0.5, 0.09 * beat, 0.13 * beat))
        else:
            chambers.append((-0.15, 0.4, 0.06, 0.04))  # a stationary, fluid-filled structure
        inside = np.zeros((rows, cols), dtype=bool)
        for cx, cy, a, b in chambers:
            inside |= ((x - cx) / a) ** 2 + ((y - cy * depth - _APEX) / b) ** 2 <= 1.0
        echo = np.where(inside, np.float32(0.06), echo)
        shift = frame % _MARGIN
        gray = echo * speckle[shift : shift + rows, (2 * shift) % _MARGIN : (2 * shift) % _MARGIN + cols] * 255
        gray = np.where(sector, np.clip(gray, 0, 255), 0).astype(np.uint8)
        output[frame] = gray[..., np.newaxis]
        if cardiac:
            flow = inside & (np.abs(x) < 0.08) & (np.abs(y - 0.5 * depth) < 0.12)
            strength = np.uint8(120 + int(100 * abs(math.sin(phase))))
            output[frame][flow] = (strength, 20, 20) if math.sin(phase) >= 0 else (20, 40, strength)
        for tick in range(1, 10):  # depth scale, one tick per tenth of the depth
            row = int((_APEX + depth * tick / 10) * rows)
            if row < rows:
                output[frame, row, max(cols - 12, 0) : max(cols - 6, 1)] = 255
    return output
