"""The shared study as a ZIP: the original DICOM files and a DICOMDIR (PS3.10 §8, PS3.3 §F).

The DICOMDIR is built by :class:`pydicom.fileset.FileSet` from each instance's header only
(read up to the pixel data); the ZIP is then streamed: the DICOMDIR first, then every
instance's original bytes, chunk by chunk from Cloud Storage, under the File ID the
DICOMDIR gives it (``PT000000/ST000000/SE000000/IM000000``). Memory stays bounded by one
chunk, whatever the study's size; the headers staged for the FileSet are small.
"""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pydicom
from pydicom.fileset import FileSet

from beamit import logs
from beamit.catalog import StoredInstance
from beamit.storage import BlobStore


class _Chunks(io.RawIOBase):
    """A write-only, unseekable stream whose written bytes are collected for the generator."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def dicomdir(blobs: BlobStore, bucket: str, instances: Sequence[StoredInstance]) -> tuple[bytes, dict[str, str]]:
    """The DICOMDIR's bytes and each SOP Instance UID's File ID path (``/``-separated)."""
    fileset = FileSet()
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="beamit-dicomdir-") as root:
        warnings.simplefilter("ignore")
        for instance in instances:
            reader = blobs.open_reader(bucket, instance.blob, chunk_size=256 << 10)
            try:
                header = pydicom.dcmread(reader, stop_before_pixels=True, force=True)
            finally:
                reader.close()
            try:
                fileset.add(header)
            except (ValueError, AttributeError, KeyError) as exc:  # a SOP class without a DICOMDIR record
                logs.info("instance left out of the DICOMDIR", error=type(exc).__name__)
        fileset.write(root)
        paths = {str(item.SOPInstanceUID): "/".join(Path(item.path).relative_to(root).parts) for item in fileset}
        data = (Path(root) / "DICOMDIR").read_bytes()
    return data, paths


def study_zip(blobs: BlobStore, bucket: str, instances: Sequence[StoredInstance]) -> Iterator[bytes]:
    """The ZIP, as chunks; instances the DICOMDIR could not hold go under ``OTHER/``."""
    index, paths = dicomdir(blobs, bucket, instances)
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("DICOMDIR", index)
        yield sink.take()
        for number, instance in enumerate(instances):
            name = paths.get(instance.sop_instance) or f"OTHER/IM{number:06d}.dcm"
            with archive.open(zipfile.ZipInfo(name), "w", force_zip64=True) as member:
                for chunk in blobs.stream(bucket, instance.blob):
                    member.write(chunk)
                    if sink.parts:
                        yield sink.take()
            yield sink.take()
    yield sink.take()
