"""Frames by byte range (and by whole-object fallback) on every pydicom sample with pixels."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import generate_frames
from pydicom.uid import UID

from beamit.catalog import StoredInstance
from beamit.catalog.commit import instance_record
from beamit.dicomweb.uri import ElementPath
from beamit.dicomweb.wado.frames import FrameError, NoPixelData
from beamit.ingest.instance import md5_of, parse_instance
from beamit.retrieve.bulkdata import BulkDataNotFound, bulk_value
from beamit.retrieve.frame_source import EARLY_HEAD_BYTES, HEADER_SPAN, EarlyHead, FrameSource
from tests.dicom_samples import ct_instance, part10_bytes, pixel_sample_paths
from tests.memory_blobs import MemoryBlobs


def store(blobs: MemoryBlobs, raw: bytes) -> StoredInstance:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = parse_instance(io.BytesIO(raw))
    blob = f"t-unit/{parsed.study_uid}/{parsed.series_uid}/{parsed.sop_instance_uid}.dcm"
    blobs.put("dicom", blob, raw)
    parsed.md5_b64 = md5_of(io.BytesIO(raw))  # as ingest records it (Cloud Storage's, from the upload)
    return StoredInstance.from_record(instance_record(parsed, blob))


def decoded(path: Path) -> tuple[pydicom.Dataset, np.ndarray] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        try:
            return ds, ds.pixel_array
        except Exception:
            return None


def frames_of(ds: pydicom.Dataset, pixels: np.ndarray) -> list[np.ndarray]:
    return list(pixels) if int(ds.get("NumberOfFrames") or 1) > 1 else [pixels]


SAMPLES = [p for p in pixel_sample_paths() if decoded(p) is not None]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_frames_match_pydicom(path):
    blobs = MemoryBlobs()
    instance = store(blobs, path.read_bytes())
    source = FrameSource(blobs, "dicom", instance)
    ds, pixels = decoded(path)
    expected = frames_of(ds, pixels)
    ts = UID(instance.transfer_syntax)
    stored_frames = list(generate_frames(ds.PixelData, number_of_frames=len(expected))) if ts.is_encapsulated else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert source.number_of_frames == len(expected)
        for number, want in enumerate(expected, start=1):
            frame = source.frame(number)
            assert np.array_equal(source.decode(frame), want)
            if stored_frames is not None:
                assert frame.data == stored_frames[number - 1]
                assert source.octets(frame) == np.ascontiguousarray(want, dtype=want.dtype.newbyteorder("<")).tobytes()
            elif int(ds.SamplesPerPixel) == 1 and int(ds.BitsAllocated) >= 8:  # native: the stored layout
                assert source.octets(frame) == np.ascontiguousarray(want, dtype=want.dtype.newbyteorder("<")).tobytes()


def test_indexed_frames_are_range_reads():
    blobs = MemoryBlobs()
    instance = store(blobs, part10_bytes(ct_instance()))
    source = FrameSource(blobs, "dicom", instance)
    frame = source.frame(1)
    assert np.array_equal(source.decode(frame), pydicom.dcmread(io.BytesIO(part10_bytes(ct_instance()))).pixel_array)
    # The first frame starts where Pixel Data's value does: the attributes come in the same read.
    (offset, length), = instance.pixel.frame_ranges(1)
    assert source.indexed and blobs.reads == [(instance.blob, 0, offset + length)]
    assert source.header.Rows == 128 and "PixelData" not in source.header


def test_a_frame_far_into_pixel_data_and_the_attributes_are_two_range_reads():
    blobs = MemoryBlobs()
    ds = ct_instance()  # 128x128 16-bit: 32 KiB a frame; made a native 6-frame image
    frames = [(ds.pixel_array + 100 * n).astype(ds.pixel_array.dtype) for n in range(6)]
    ds.NumberOfFrames = 6
    ds.PixelData = b"".join(f.tobytes() for f in frames)
    instance = store(blobs, part10_bytes(ds))
    source = FrameSource(blobs, "dicom", instance)
    value_offset = instance.pixel.value_offset
    far = next(n for n in range(1, 7) if instance.pixel.frame_ranges(n)[0][0] - value_offset > HEADER_SPAN)
    (offset, length), = instance.pixel.frame_ranges(far)
    assert np.array_equal(source.decode(source.frame(far)), frames[far - 1])
    assert blobs.reads == [(instance.blob, offset, offset + length), (instance.blob, 0, value_offset)]


def test_deflated_and_big_endian_fall_back_to_the_whole_object():
    for name in ("image_dfl.dcm", "MR_small_bigendian.dcm"):
        path = next(p for p in SAMPLES if p.name == name)
        blobs = MemoryBlobs()
        source = FrameSource(blobs, "dicom", store(blobs, path.read_bytes()))
        source.frame(1)
        assert not source.indexed and blobs.reads == [(source.instance.blob, None, None)]


def test_frame_numbers_are_checked():
    blobs = MemoryBlobs()
    path = next(p for p in SAMPLES if p.name == "SC_rgb_rle_2frame.dcm")
    source = FrameSource(blobs, "dicom", store(blobs, path.read_bytes()))
    source.check([1, 2])
    with pytest.raises(FrameError, match="frame 3 does not exist: the instance has 2 frames"):
        source.check([1, 3])


def test_instance_without_pixel_data_has_no_frames():
    ds = ct_instance()
    del ds.PixelData
    blobs = MemoryBlobs()
    source = FrameSource(blobs, "dicom", store(blobs, part10_bytes(ds)))
    with pytest.raises(NoPixelData):
        source.check([1])


def test_bulk_values():
    path = next(p for p in SAMPLES if p.name == "examples_overlay.dcm")
    blobs = MemoryBlobs()
    source = FrameSource(blobs, "dicom", store(blobs, path.read_bytes()))
    ds, _ = decoded(path)
    assert bulk_value(source, ElementPath(0x60003000)) == ds[0x60003000].value
    with pytest.raises(BulkDataNotFound):
        bulk_value(source, ElementPath(0x00100010))  # Patient's Name: not binary
    with pytest.raises(BulkDataNotFound):
        bulk_value(source, ElementPath(0x00091001))


def test_big_endian_bulk_values_are_little_endian():
    path = next(p for p in SAMPLES if p.name == "MR_small_bigendian.dcm")
    blobs = MemoryBlobs()
    source = FrameSource(blobs, "dicom", store(blobs, path.read_bytes()))
    ds, pixels = decoded(path)
    assert bulk_value(source, ElementPath(0x7FE00010)) == pixels.astype("<i2").tobytes()


@pytest.mark.parametrize(
    ("allocated", "stored", "signed"),
    [(8, 8, 0), (8, 8, 1), (8, 6, 0), (16, 16, 0), (16, 16, 1), (16, 12, 0), (16, 12, 1), (16, 10, 1),
     (32, 32, 0), (32, 32, 1), (32, 24, 1)],
)
def test_native_frames_decode_as_pydicom_does(allocated: int, stored: int, signed: int) -> None:
    """The numpy fast path gives pydicom's ``pixel_array``, unused high bits (overlays, noise)
    included: masked off, or sign-extended from Bits Stored."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    from beamit.dicomweb.wado.frames import native_pixels

    rng = np.random.default_rng(allocated * 100 + stored + signed)
    raw = rng.integers(0, 256, size=7 * 5 * allocated // 8, dtype=np.uint8).tobytes()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 7, 5, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = allocated, stored, stored - 1, signed
    ds.PixelData = raw
    ds["PixelData"].VR = "OW" if allocated > 8 else "OB"
    fast = native_pixels(raw, ds)
    assert fast is not None
    expected = ds.pixel_array
    assert fast.dtype == expected.dtype and fast.shape == expected.shape
    assert np.array_equal(fast, expected)
    assert native_pixels(raw[:-1], ds) is None  # short data: left to pydicom
    ds.SamplesPerPixel = 3
    assert native_pixels(raw, ds) is None


def test_a_frame_read_early_is_the_frame_read_later():
    blobs = MemoryBlobs()
    instance = store(blobs, part10_bytes(ct_instance()))
    early = FrameSource(blobs, "dicom", instance)
    early.read_early(1)
    assert early.frame(1) == FrameSource(blobs, "dicom", instance).frame(1)


def test_an_early_read_that_failed_is_read_again():
    import dataclasses

    blobs = MemoryBlobs()
    stored = store(blobs, part10_bytes(ct_instance()))
    instance = dataclasses.replace(stored, blob=stored.blob + ".later")
    source = FrameSource(blobs, "dicom", instance)
    source.read_early(1)
    with pytest.raises(KeyError):
        source._early[1].result()  # the object was not there yet
    blobs.put("dicom", instance.blob, blobs.read("dicom", stored.blob))
    assert source.frame(1) == FrameSource(blobs, "dicom", stored).frame(1)  # read again, now found


def test_the_first_frame_comes_from_the_early_head_without_another_read():
    blobs = MemoryBlobs()
    raw = part10_bytes(ct_instance())
    instance = store(blobs, raw)
    head = EarlyHead(blobs, "dicom", instance.blob).of(instance, 1)
    assert head == raw  # a 32 KiB image: all of it
    assert blobs.reads == [(instance.blob, 0, EARLY_HEAD_BYTES)]
    source = FrameSource(blobs, "dicom", instance, head=head)
    assert source.frame(1) == FrameSource(MemoryBlobs(), "dicom", instance, head=raw).frame(1)
    assert np.array_equal(source.decode(source.frame(1)), pydicom.dcmread(io.BytesIO(raw)).pixel_array)
    assert source.header.Rows == 128 and "PixelData" not in source.header
    assert blobs.reads == [(instance.blob, 0, EARLY_HEAD_BYTES)]  # nothing read after the record


def test_the_early_head_is_used_only_for_the_object_the_record_names():
    import dataclasses

    blobs = MemoryBlobs()
    stored = store(blobs, part10_bytes(ct_instance()))
    assert EarlyHead(blobs, "dicom", stored.blob).of(dataclasses.replace(stored, blob=stored.blob + ".x"), 1) is None
    assert EarlyHead(blobs, "dicom", stored.blob).of(dataclasses.replace(stored, md5=""), 1) is None
    assert EarlyHead(blobs, "dicom", stored.blob).of(stored, 2) is None  # no such frame
    # Deleted and stored again with other bytes under the same UIDs: the record's MD5 is not the object's.
    again = ct_instance()
    again.PixelData = bytes(len(again.PixelData))
    blobs.put("dicom", stored.blob, part10_bytes(again))
    assert EarlyHead(blobs, "dicom", stored.blob).of(stored, 1) is None
    # Not there: the frame is read after the record, as before.
    missing = dataclasses.replace(stored, blob=stored.blob + ".later")
    assert EarlyHead(blobs, "dicom", missing.blob).of(missing, 1) is None


def test_a_frame_past_the_early_head_is_read_by_its_range():
    blobs = MemoryBlobs()
    ds = ct_instance()  # made a native image of 32 frames of 32 KiB: frames 32 and up end past 1 MiB
    frames = [(ds.pixel_array + n).astype(ds.pixel_array.dtype) for n in range(40)]
    ds.NumberOfFrames = 40
    ds.PixelData = b"".join(f.tobytes() for f in frames)
    instance = store(blobs, part10_bytes(ds))
    early = EarlyHead(blobs, "dicom", instance.blob)
    assert early.of(instance, 1) is not None
    last = next(n for n in range(1, 41) if sum(instance.pixel.frame_ranges(n)[-1]) > EARLY_HEAD_BYTES)
    assert early.of(instance, last) is None
    source = FrameSource(blobs, "dicom", instance, head=early.of(instance, 1))
    blobs.reads.clear()
    assert np.array_equal(source.decode(source.frame(last)), frames[last - 1])
    (offset, length), = instance.pixel.frame_ranges(last)
    assert blobs.reads == [(instance.blob, offset, offset + length)]  # the attributes came with the head
