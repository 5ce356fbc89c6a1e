"""Chest radiographs: MONOCHROME1 (CR) stores the inverse of MONOCHROME2 (DX)."""

from __future__ import annotations

import numpy as np

from beamit.sandbox.radiograph import MAX_VALUE, attenuation, chest_radiograph


def test_frontal_view_attenuation_has_lungs_spine_and_heart() -> None:
    a = attenuation(200, 160, "PA")
    row, col = (lambda y: round((y + 1) / 2 * 200)), (lambda x: round((x + 1) / 2 * 160))
    lung, spine, outside = a[row(-0.1), col(-0.38)], a[row(-0.1), col(0.0)], a[2, 2]
    assert outside < lung < spine <= 1.0
    assert not np.array_equal(a, attenuation(200, 160, "LL"))


def test_cr_is_the_inverse_of_dx_and_bone_displays_white_in_both() -> None:
    rows, cols = 500, 410
    dx = chest_radiograph(rows, cols, "PA", seed=[3], monochrome1=False).astype(np.int32)
    cr = chest_radiograph(rows, cols, "PA", seed=[3], monochrome1=True).astype(np.int32)
    assert dx.shape == cr.shape == (rows, cols) and int(max(dx.max(), cr.max())) <= MAX_VALUE
    assert int(np.abs(cr + dx - MAX_VALUE).max()) <= 1
    lung = (slice(int(rows * 0.42), int(rows * 0.48)), slice(int(cols * 0.28), int(cols * 0.34)))
    spine = (slice(int(rows * 0.42), int(rows * 0.48)), slice(int(cols * 0.49), int(cols * 0.51)))
    assert dx[lung].mean() < dx[spine].mean()  # MONOCHROME2: attenuation is bright
    assert cr[lung].mean() > cr[spine].mean()  # MONOCHROME1: low values display white


def test_full_size_is_fast_enough_to_make_and_deterministic() -> None:
    a = chest_radiograph(2500, 2048, "LL", seed=[1, 2], monochrome1=True)
    assert a.shape == (2500, 2048) and a.dtype == np.uint16
    assert np.array_equal(a[::97, ::89], chest_radiograph(2500, 2048, "LL", seed=[1, 2], monochrome1=True)[::97, ::89])
