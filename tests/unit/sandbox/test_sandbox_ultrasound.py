"""The ultrasound cine loop: RGB frames of a sector scan."""

from __future__ import annotations

import numpy as np

from beamit.sandbox.ultrasound import cine_loop, sector_bounds


def test_frames_are_rgb_sector_scans_that_move() -> None:
    loop = cine_loop(120, 160, 6, cardiac=True, seed=[1])
    assert loop.shape == (6, 120, 160, 3) and loop.dtype == np.uint8
    assert not loop[:, 0, :20].any()  # outside the sector, at the top left
    assert loop[:, 60, 80].any()  # inside it
    assert not np.array_equal(loop[0], loop[3])
    red_or_blue = (loop[..., 0] != loop[..., 1]) | (loop[..., 2] != loop[..., 1])
    assert red_or_blue.any()  # the colour-flow box


def test_abdominal_loop_is_grey_and_deterministic() -> None:
    loop = cine_loop(60, 80, 3, cardiac=False, seed=[2])
    assert (loop[..., 0] == loop[..., 1]).all() and (loop[..., 1] == loop[..., 2]).all()
    assert np.array_equal(loop, cine_loop(60, 80, 3, cardiac=False, seed=[2]))


def test_sector_bounds_lie_inside_the_image() -> None:
    min_x, min_y, max_x, max_y = sector_bounds(480, 640)
    assert 0 <= min_x < 320 < max_x < 640 and 0 <= min_y < max_y < 480
