"""DICOM test data: pydicom's sample files and small synthetic instances."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid


def pixel_sample_paths() -> list[Path]:
    """Every sample pydicom ships (offline) with Pixel Data, File Meta and the four UIDs that
    pydicom can write back (a few samples are deliberately malformed)."""
    base = Path(get_testdata_file("CT_small.dcm")).parent  # type: ignore[arg-type]
    found = []
    for path in sorted(base.glob("*.dcm")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=False)
        except Exception:
            continue
        if "PixelData" not in ds or not all(
            k in ds for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
        ):
            continue
        if "TransferSyntaxUID" not in ds.file_meta:
            continue
        try:  # a client re-encodes the data set: skip samples pydicom itself cannot write back
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds.save_as(io.BytesIO())
        except Exception:
            continue
        found.append(path)
    return found


def reference_level_json(ds: Dataset, level: str) -> dict:
    """The DICOM JSON of ``ds``'s attributes at a catalog level, converted by pydicom alone: the
    reference ingest's own projection of the instance metadata is checked against."""
    from beamit.ingest.levels import LEVEL_TAGS

    subset = Dataset()
    for tag in LEVEL_TAGS[level]:
        if tag in ds:
            subset.add(ds[tag])
    return dict(subset.to_json_dict(
        bulk_data_threshold=1 << 20, bulk_data_element_handler=lambda _e: "", suppress_invalid_tags=True))


def part10_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def ct_instance(study: str | None = None, series: str | None = None, number: int = 1) -> Dataset:
    """A copy of pydicom's CT_small with fresh (or given) UIDs."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = series or generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = number
    return ds


def multipart(
    parts: list[bytes],
    boundary: str = "beamit-test-boundary",
    part_type: str = "application/dicom",
) -> tuple[bytes, str]:
    """A STOW-RS body and its Content-Type, as dicomweb-client writes them."""
    body = b""
    for part in parts:
        body += f"\r\n--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode() + part
    body += f"\r\n--{boundary}--".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def decompression_bomb(study: str | None = None, frames: int = 1) -> Dataset:
    """A JPEG 2000 instance of a few kilobytes whose header says each frame is 65,535 x
    65,535 RGB (12.9 G samples): what a decoder would allocate before reading the bitstream."""
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless

    ds = ct_instance(study)
    del ds.PixelData
    ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
    ds.Rows = ds.Columns = 65535
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = frames
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + bytes(64)] * frames)
    ds["PixelData"].VR = "OB"
    return ds
