"""An in-memory :class:`beamit.storage.BlobStore` (the operations WADO-RS reading uses) for unit
tests of pure logic; the integration suite uses Cloud Storage (fake-gcs-server)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

from beamit.storage import BlobInfo, ObjectRange


class MemoryBlobs:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.reads: list[tuple[str, int | None, int | None]] = []

    def put(self, bucket: str, name: str, data: bytes, *, content_type: str = "", **_: object) -> BlobInfo:
        self.objects[(bucket, name)] = data
        return BlobInfo(bucket, name, len(data), 1, content_type)

    def read(self, bucket: str, name: str, start: int | None = None, end: int | None = None) -> bytes:
        self.reads.append((name, start, end))
        return self.objects[(bucket, name)][start:end]

    def read_range(self, bucket: str, name: str, start: int, end: int | None) -> ObjectRange:
        self.reads.append((name, start, end))
        data = self.objects[(bucket, name)]
        return ObjectRange(data[start:end], base64.b64encode(hashlib.md5(data).digest()).decode())

    def stream(self, bucket: str, name: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        data = self.objects[(bucket, name)]
        for start in range(0, len(data), chunk_size):
            yield data[start:start + chunk_size]

    def delete(self, bucket: str, name: str) -> None:
        self.objects.pop((bucket, name), None)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        data = self.objects.get((bucket, name))
        return None if data is None else BlobInfo(bucket, name, len(data), 1, None)

    def list(self, bucket: str, prefix: str = "") -> Iterator[BlobInfo]:
        for (b, name), data in sorted(self.objects.items()):
            if b == bucket and name.startswith(prefix):
                yield BlobInfo(b, name, len(data), 1, None)
