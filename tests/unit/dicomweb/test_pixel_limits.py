"""Pixel limits: what an instance may declare, what one decode may produce (decompression bombs)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from beamit.dicomweb.pixel_limits import DEFAULT_DECODE, DEFAULT_INSTANCE, PixelGeometry, PixelLimits, TooManyPixels
from beamit.dicomweb.wado.frames import FrameDecodeError, FrameTooLarge, split_frames
from beamit.settings import load_settings
from tests.dicom_samples import ct_instance, decompression_bomb


def image(rows: int, columns: int, samples: int = 1, frames: int | None = None, pixels: bool = True) -> Dataset:
    ds = Dataset()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, columns, samples
    if frames is not None:
        ds.NumberOfFrames = frames
    if pixels:
        ds.PixelData = b"\0\0"
    return ds


def test_the_defaults_are_the_settings_defaults():
    settings = load_settings({})
    assert (settings.max_decode_pixels, settings.max_instance_pixels) == (DEFAULT_DECODE, DEFAULT_INSTANCE)
    assert DEFAULT_DECODE == 2**27 and DEFAULT_INSTANCE == 2**35


def test_real_images_fit_and_bombs_do_not():
    limits = PixelLimits()
    for fits in (image(4096, 5625), image(5456, 8192, 3), image(512, 512, 1, 1000), image(256, 256, 3, 170_000)):
        limits.check_stored(fits)
    with pytest.raises(TooManyPixels, match="a frame of 65535 x 65535 x 3 samples is over the limit of 134217728"):
        limits.check_stored(decompression_bomb())
    with pytest.raises(TooManyPixels, match="over the limit of 34359738368 pixel samples per instance"):
        limits.check_stored(image(256, 256, 3, 200_000))
    limits.check_stored(image(65535, 65535, 3, pixels=False))  # no pixel data: nothing to decode
    limits.check_stored(ct_instance())


def test_a_decode_of_several_frames_counts_them_all():
    limits = PixelLimits(decode=1000)
    limits.check_decode(image(10, 10, 1, pixels=False), frames=10)
    with pytest.raises(TooManyPixels, match="decoding 11 frames of 10 x 10 x 1 samples"):
        limits.check_decode(image(10, 10, 1, pixels=False), frames=11)
    assert PixelGeometry.declared(image(3, 4, 3, frames=5)).total_samples == 180


def test_frames_that_are_not_there_are_not_cut():
    ds = ct_instance()
    ds.NumberOfFrames = 2**31 - 1  # each frame would be 0 bytes long
    with pytest.raises(FrameDecodeError, match="fewer than the 2147483647 frames"):
        split_frames(ds, 2**31 - 1, False, PixelLimits())
    packed = image(64, 64, 1, frames=4096)
    packed.BitsAllocated = 1
    with pytest.raises(FrameTooLarge):
        split_frames(packed, 4096, False, PixelLimits(decode=64 * 64 * 100))
