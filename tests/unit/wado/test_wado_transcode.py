"""Transfer Syntax conversion to Explicit VR Little Endian (PS3.18 §8.7.3.5) on pydicom's samples."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest

from beamit.dicomweb.wado.transcode import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    TranscodeError,
    can_decode,
    swap_bytes,
    to_explicit_vr_little_endian,
)
from tests.dicom_samples import pixel_sample_paths

SAMPLES = pixel_sample_paths()


def read(data: bytes) -> tuple[pydicom.Dataset, np.ndarray | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(io.BytesIO(data))
        try:
            return ds, ds.pixel_array
        except Exception:
            return ds, None


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_every_decodable_sample_converts_to_the_same_pixels(path):
    raw = path.read_bytes()
    original, pixels = read(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            converted = to_explicit_vr_little_endian(raw)
        except TranscodeError:
            assert pixels is None, "a sample pydicom decodes must convert"
            return
    if original.file_meta.TransferSyntaxUID == EXPLICIT_VR_LITTLE_ENDIAN:
        assert converted == raw  # nothing to do: the bytes as stored
    ds, out = read(converted)
    assert ds.file_meta.TransferSyntaxUID == EXPLICIT_VR_LITTLE_ENDIAN
    assert ds.SOPInstanceUID == original.SOPInstanceUID  # decompression is not a new instance
    if pixels is not None:
        assert np.array_equal(out, pixels)


def test_lossy_data_stay_flagged():
    path = next(p for p in SAMPLES if p.name == "SC_rgb_jpeg_dcmtk.dcm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds, _ = read(to_explicit_vr_little_endian(path.read_bytes()))
    assert ds.LossyImageCompression == "01"


def test_decoders_available():
    for ts in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.201",
               "1.2.840.10008.1.2.5", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"):
        assert can_decode(ts)
    assert not can_decode("1.2.840.10008.1.2.4.100")


def test_swap_bytes():
    assert swap_bytes(b"\x01\x02\x03\x04", 2) == b"\x02\x01\x04\x03"
    assert swap_bytes(b"\x01\x02\x03\x04\x05", 4) == b"\x04\x03\x02\x01\x05"
    assert swap_bytes(b"\x01", 2) == b"\x01"
