"""Cross-sectional phantoms: axial CT (body) and MR (head) slices made of ellipses.

Anatomy is a function of the slice's normalised position ``t`` along the scanned range (0 at
the top).  To be fast the phantom is drawn at :data:`LEVELS` positions only (vectorised numpy
on a cached coordinate grid, then cached itself); a slice blends the two nearest levels and
adds noise cut from a per-series noise field at a per-slice offset.  So slices differ from
each other, look like (cartoon) anatomy, and a 512x512 slice costs about a millisecond.

CT values are stored as in a CT Image (PS3.3 §C.8.2.1): signed 16-bit, Hounsfield units =
stored value - 1024 (Rescale Intercept -1024, Slope 1), with -2000 (-3024 HU) outside the
circular reconstruction field of view.  MR values are unsigned 12-bit (PS3.3 §C.8.3.1).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["LEVELS", "CTPhantom", "Grid", "MRPhantom", "grid"]

LEVELS = 24
"""Positions along the scanned range at which a phantom is drawn."""

_NOISE_MARGIN = 32


@dataclass(frozen=True)
class Grid:
    """Normalised pixel coordinates: ``x`` (1, cols) and ``y`` (rows, 1) both in [-1, 1]."""

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    angle: NDArray[np.float32]
    radius: NDArray[np.float32]

    def ellipse(self, cx: float, cy: float, a: float, b: float) -> NDArray[np.bool_]:
        """The pixels inside the ellipse centred at (cx, cy) with semi-axes a (x) and b (y)."""
        mask: NDArray[np.bool_] = (((self.x - cx) / a) ** 2 + ((self.y - cy) / b) ** 2) <= 1.0
        return mask


@functools.lru_cache(maxsize=16)
def grid(rows: int, cols: int) -> Grid:
    x = ((np.arange(cols) + 0.5) / cols * 2 - 1).astype(np.float32).reshape(1, cols)
    y = ((np.arange(rows) + 0.5) / rows * 2 - 1).astype(np.float32).reshape(rows, 1)
    return Grid(x, y, np.arctan2(y, x).astype(np.float32), np.sqrt(x**2 + y**2).astype(np.float32))


def _paint(image: NDArray[np.float32], mask: NDArray[np.bool_], value: float) -> None:
    np.putmask(image, np.broadcast_to(mask, image.shape), np.float32(value))


@functools.lru_cache(maxsize=2 * LEVELS)
def _ct_level(rows: int, cols: int, contrast: bool, level: int) -> NDArray[np.float32]:
    """Hounsfield units of the body phantom at level ``level`` (0 = lung apices)."""
    t = level / (LEVELS - 1)
    g = grid(rows, cols)
    hu = np.full((rows, cols), -1000.0, dtype=np.float32)
    enhance = 1.0 if contrast else 0.0
    _paint(hu, (g.y >= 0.84) & (g.y <= 0.88) & (np.abs(g.x) <= 0.8), 150.0)  # table
    scale = 1.0 + 0.08 * math.exp(-(((t - 0.05) / 0.08) ** 2)) - 0.06 * t
    cy, a, b = 0.15, 0.82 * scale, 0.58 * scale
    _paint(hu, g.ellipse(0, cy, a, b), -100.0)  # subcutaneous fat
    _paint(hu, g.ellipse(0, cy, a * 0.9, b * 0.86), 40.0)  # muscle and organs
    if t < 0.5:
        ring = g.ellipse(0, cy, a * 0.88, b * 0.84) & ~g.ellipse(0, cy, a * 0.84, b * 0.8)
        _paint(hu, ring & (np.cos(g.angle * 14) > 0.55), 650.0)  # ribs
        size = math.sin(math.pi * min(t / 0.5, 1.0)) ** 0.5
        for side in (-1, 1):
            _paint(hu, g.ellipse(side * 0.33, cy - 0.04, 0.25 * max(size, 0.3), 0.4 * max(size, 0.2)), -850.0)
        if 0.18 < t < 0.48:
            _paint(hu, g.ellipse(0.1, cy + 0.02, 0.22, 0.2), 40.0 + 140.0 * enhance)  # heart
    if 0.38 < t < 0.68:
        _paint(hu, g.ellipse(-0.33, cy - 0.05, 0.32, 0.3), 55.0 + 60.0 * enhance)  # liver
        _paint(hu, g.ellipse(0.45, cy + 0.08, 0.1, 0.16), 45.0 + 70.0 * enhance)  # spleen
        _paint(hu, g.ellipse(0.22, cy - 0.2, 0.14, 0.1), -800.0)  # gastric air
    if 0.55 < t < 0.75:
        for side in (-1, 1):
            _paint(hu, g.ellipse(side * 0.3, cy + 0.24, 0.09, 0.11), 30.0 + 150.0 * enhance)  # kidneys
    if 0.62 < t < 0.95:
        for k in range(7):  # bowel loops, alternately gas and fluid
            angle = k * 0.9 + t * 6.0
            x, y = 0.38 * math.cos(angle), cy - 0.05 + 0.25 * math.sin(angle)
            _paint(hu, g.ellipse(x, y, 0.07, 0.06), -900.0 if k % 2 else 20.0 + 160.0 * enhance)
    if t > 0.78:
        for side in (-1, 1):
            _paint(hu, g.ellipse(side * 0.48, cy + 0.12, 0.1, 0.24), 900.0)  # iliac bones
            _paint(hu, g.ellipse(side * 0.48, cy + 0.12, 0.07, 0.2), 250.0)
        if t > 0.86:
            _paint(hu, g.ellipse(0, cy - 0.12, 0.16, 0.14), 10.0)  # bladder
    aorta = (0.07, cy + 0.22) if t < 0.45 else (0.04, cy + 0.2)
    _paint(hu, g.ellipse(aorta[0], aorta[1], 0.045, 0.045), 40.0 + 260.0 * enhance)
    _paint(hu, g.ellipse(0, cy + 0.36, 0.08, 0.08), 1000.0)  # vertebral body: cortex
    _paint(hu, g.ellipse(0, cy + 0.36, 0.064, 0.064), 300.0)  # and marrow
    _paint(hu, g.ellipse(0, cy + 0.47, 0.03, 0.03), 20.0)  # spinal canal
    _paint(hu, g.radius > 1.0, -3024.0)  # outside the reconstruction circle
    hu.setflags(write=False)
    return hu


_MR_TISSUES = {
    #        air  fat   bone  csf   gm    wm    vessel
    "T1": (0.0, 1800.0, 60.0, 320.0, 820.0, 1100.0, 400.0),
    "T2": (0.0, 1150.0, 50.0, 2400.0, 1350.0, 900.0, 150.0),
    "T1C": (0.0, 1800.0, 60.0, 320.0, 820.0, 1100.0, 1700.0),
}


@functools.lru_cache(maxsize=3 * LEVELS)
def _mr_level(rows: int, cols: int, weighting: str, level: int) -> NDArray[np.float32]:
    """Signal of the head phantom at level ``level`` (0 = vertex) with ``weighting``."""
    air, fat, bone, csf, gm, wm, vessel = _MR_TISSUES[weighting]
    t = level / (LEVELS - 1)
    g = grid(rows, cols)
    s = 0.55 + 0.45 * math.sin(math.pi * (0.12 + 0.7 * t))
    image = np.full((rows, cols), air, dtype=np.float32)
    _paint(image, g.ellipse(0, 0, 0.72 * s, 0.88 * s), fat)  # scalp
    _paint(image, g.ellipse(0, 0, 0.68 * s, 0.84 * s), bone)  # skull
    _paint(image, g.ellipse(0, 0, 0.63 * s, 0.79 * s), csf)
    _paint(image, g.ellipse(0, 0, 0.6 * s, 0.76 * s), gm)
    if t < 0.75:
        _paint(image, g.ellipse(0, 0, 0.47 * s, 0.62 * s), wm)
        _paint(image, (np.abs(g.x) < 0.012) & g.ellipse(0, 0, 0.6 * s, 0.76 * s), csf)  # falx
    if 0.3 < t < 0.66:
        for side in (-1, 1):
            _paint(image, g.ellipse(side * 0.08, -0.04, 0.05, 0.22), csf)  # lateral ventricles
        _paint(image, g.ellipse(0.0, 0.1, 0.05, 0.05), vessel)  # choroid plexus
    if t > 0.72:
        for side in (-1, 1):
            _paint(image, g.ellipse(side * 0.26, -0.62, 0.11, 0.1), csf)  # globes
            _paint(image, g.ellipse(side * 0.26, -0.62, 0.1, 0.09), csf * 0.9)
        _paint(image, g.ellipse(0, 0.42, 0.36, 0.26), gm)  # cerebellum
        _paint(image, g.ellipse(0, 0.1, 0.1, 0.12), wm)  # brainstem
    _paint(image, g.ellipse(0.0, -0.3, 0.015, 0.015) | g.ellipse(0.0, 0.55, 0.02, 0.02), vessel)
    image *= 1.0 + 0.1 * g.x - 0.06 * g.y  # coil sensitivity
    image.setflags(write=False)
    return image


class _SlicePhantom:
    """Blend of cached levels plus windowed noise; subclasses say what the levels are."""

    noise_sigma = 10.0

    def __init__(self, rows: int, cols: int, positions: Sequence[float], seed: Sequence[int]) -> None:
        self.rows, self.cols = rows, cols
        self.positions = list(positions)
        self.seed = list(seed)
        self._noise: NDArray[np.float32] | None = None

    def level(self, level: int) -> NDArray[np.float32]:
        raise NotImplementedError

    def signal(self, index: int) -> NDArray[np.float32]:
        """Noisy values of slice ``index`` (float)."""
        if self._noise is None:
            rng = np.random.default_rng(self.seed)
            shape = (self.rows + _NOISE_MARGIN, self.cols + _NOISE_MARGIN)
            self._noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(self.noise_sigma)
        where = min(max(self.positions[index], 0.0), 1.0) * (LEVELS - 1)
        low = int(where)
        high, weight = min(low + 1, LEVELS - 1), np.float32(where - low)
        blended = self.level(low) * (1 - weight) + self.level(high) * weight
        dy, dx = (index * 7) % _NOISE_MARGIN, (index * 13) % _NOISE_MARGIN
        result: NDArray[np.float32] = blended + self._noise[dy : dy + self.rows, dx : dx + self.cols]
        return result


class CTPhantom(_SlicePhantom):
    """Stored values (int16) of the slices of one CT series at ``positions`` (0 = apices)."""

    noise_sigma = 12.0

    def __init__(self, rows: int, cols: int, positions: Sequence[float], seed: Sequence[int], contrast: bool) -> None:
        super().__init__(rows, cols, positions, seed)
        self.contrast = contrast

    def level(self, level: int) -> NDArray[np.float32]:
        return _ct_level(self.rows, self.cols, self.contrast, level)

    def __call__(self, index: int) -> NDArray[np.int16]:
        values = self.signal(index)
        outside = grid(self.rows, self.cols).radius > 1.0
        stored = np.where(outside, np.float32(-2000.0), values + np.float32(1024.0))
        return np.clip(np.rint(stored), -2000, 4095).astype(np.int16)


class MRPhantom(_SlicePhantom):
    """Stored values (uint16, 12 bits) of the slices of one MR series with ``weighting``."""

    noise_sigma = 18.0

    def __init__(self, rows: int, cols: int, positions: Sequence[float], seed: Sequence[int], weighting: str) -> None:
        super().__init__(rows, cols, positions, seed)
        if weighting not in _MR_TISSUES:
            raise ValueError(f"unknown weighting {weighting!r}")
        self.weighting = weighting

    def level(self, level: int) -> NDArray[np.float32]:
        return _mr_level(self.rows, self.cols, self.weighting, level)

    def __call__(self, index: int) -> NDArray[np.uint16]:
        return np.clip(np.rint(np.abs(self.signal(index))), 0, 4095).astype(np.uint16)
