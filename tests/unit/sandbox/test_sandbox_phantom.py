"""CT and MR phantoms: cartoon anatomy, not noise; deterministic; varying by slice."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from beamit.sandbox.phantom import CTPhantom, MRPhantom

SIZE = 128


def at(image: NDArray[np.generic], x: float, y: float) -> float:
    """The value at normalised coordinates (x, y) in [-1, 1], averaged over 3x3 pixels."""
    col, row = round((x + 1) / 2 * SIZE - 0.5), round((y + 1) / 2 * SIZE - 0.5)
    return float(image[row - 1 : row + 2, col - 1 : col + 2].astype(np.float64).mean())


def neighbour_correlation(image: NDArray[np.generic]) -> float:
    values = image.astype(np.float64)
    return float(np.corrcoef(values[:, :-1].ravel(), values[:, 1:].ravel())[0, 1])


def test_ct_slice_is_signed_hounsfield_plus_1024_with_anatomy() -> None:
    phantom = CTPhantom(SIZE, SIZE, [0.25, 0.85], seed=[1], contrast=False)
    chest = phantom(0)
    assert chest.dtype == np.int16 and chest.shape == (SIZE, SIZE)
    hu = chest.astype(np.int32) - 1024
    assert at(hu, -0.33, 0.11) < -600  # right lung
    assert at(hu, 0.33, 0.11) < -600  # left lung
    assert at(hu, 0.0, 0.51) > 150  # vertebral body
    assert -150 < at(hu, 0.1, 0.17) < 200  # heart, no contrast
    assert at(hu, 0.0, -0.75) < -900  # air in front of the patient
    assert chest[0, 0] == -2000  # outside the reconstruction circle: negative stored values
    assert neighbour_correlation(chest) > 0.9  # an image, not noise


def test_ct_slices_differ_along_the_body_and_contrast_enhances() -> None:
    plain = CTPhantom(SIZE, SIZE, [0.1, 0.6, 0.9], seed=[1], contrast=False)
    enhanced = CTPhantom(SIZE, SIZE, [0.1, 0.6, 0.9], seed=[1], contrast=True)
    slices = [plain(i) for i in range(3)]
    assert not np.array_equal(slices[0], slices[1]) and not np.array_equal(slices[1], slices[2])
    assert at(slices[0], -0.33, 0.11) < at(slices[2], -0.33, 0.11)  # lung at the top, not in the pelvis
    assert at(enhanced(1), 0.3, 0.39) > at(plain(1), 0.3, 0.39) + 80  # kidney enhances


def test_phantoms_are_deterministic_and_seeded() -> None:
    a = CTPhantom(SIZE, SIZE, [0.3], seed=[4, 2], contrast=True)(0)
    b = CTPhantom(SIZE, SIZE, [0.3], seed=[4, 2], contrast=True)(0)
    c = CTPhantom(SIZE, SIZE, [0.3], seed=[4, 3], contrast=True)(0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_mr_contrast_follows_the_weighting() -> None:
    t1 = MRPhantom(SIZE, SIZE, [0.5], seed=[1], weighting="T1")(0)
    t2 = MRPhantom(SIZE, SIZE, [0.5], seed=[1], weighting="T2")(0)
    for image in (t1, t2):
        assert image.dtype == np.uint16 and int(image.max()) <= 4095
        assert neighbour_correlation(image) > 0.8  # structure, not noise (white noise: 0)
    ventricle = (-0.08, -0.04)
    assert at(t2, *ventricle) > 3 * at(t1, *ventricle)  # CSF bright on T2, dark on T1
    white_matter = (-0.3, 0.3)
    assert at(t1, *white_matter) > at(t2, *white_matter)
    assert at(t1, 0.95, 0.95) < 100  # air


def test_unknown_weighting_is_refused() -> None:
    with pytest.raises(ValueError):
        MRPhantom(SIZE, SIZE, [0.5], seed=[1], weighting="FLAIR")
