"""Rendered images of single frames kept in the derived bucket, read beside the catalog.

A rendered frame (one instance, one frame, one set of presentation parameters) is rendered
once and kept under ``{tenant}/{study}/{series}/rendered/{sop}/{frame}-{key}.{ext}`` (``key``:
a digest of the output parameters), beside the series' metadata and thumbnails. Its name
needs nothing from the catalog, so the object is read while the instance's record is: a
cached answer waits for one round trip, not two in a row. The object starts with the
instance's MD5 (the record's), so bytes of another instance stored under the same SOP
Instance UID are never served: a mismatch is a miss. A failed read is a miss too, and the
copy of a new rendering is written without making the answer wait for it.

The process also keeps the renderings it read or made most recently in memory
(:data:`MEMORY_BYTES`): a viewer scrolling back through a series asks for the same frames
again (its answers are ``no-store``), and the object's read is then not made at all. The
memory is checked the same way (the tag against the record the request has just read), so
it never answers for an instance that is gone or was stored again with other bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from beamit import logs
from beamit.dicomweb.uri import ResourceRef
from beamit.storage import BlobStore
from beamit.storage.trace import carried

_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="rendered-cache")

MEMORY_BYTES = 32 << 20
"""Kept renderings held in this process's memory (about 600 CT slices at 512x512)."""


class _Recent:
    """The most recently used kept objects by name, at most ``budget`` bytes in all."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, name: str) -> bytes | None:
        with self._lock:
            data = self._items.get(name)
            if data is not None:
                self._items.move_to_end(name)
            return data

    def put(self, name: str, data: bytes) -> None:
        if len(data) > self._budget // 16:  # a large rendering would push out many small ones
            return
        with self._lock:
            old = self._items.pop(name, None)
            self._size += len(data) - (len(old) if old is not None else 0)
            self._items[name] = data
            while self._size > self._budget:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


_RECENT = _Recent(MEMORY_BYTES)


def forget_recent() -> None:
    """Empty this process's memory of kept renderings (tests start from the bucket)."""
    _RECENT.clear()


def cache_object(tenant_id: str, ref: ResourceRef, frame: int, canonical: str, extension: str) -> str:
    """Where the rendering of ``frame`` of the instance ``ref`` with output parameters
    ``canonical`` (:meth:`~beamit.dicomweb.wado.render_params.RenderParams.canonical`) is kept."""
    assert ref.series is not None and ref.instance is not None
    key = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]
    return f"{rendered_prefix(tenant_id, ref.study, ref.series, ref.instance)}{frame}-{key}.{extension}"


def rendered_prefix(tenant_id: str, study: str, series: str, sop: str) -> str:
    """Where an instance's kept renderings are (removed with the instance)."""
    return f"{tenant_id}/{study}/{series}/rendered/{sop}/"


def _tag(md5: str) -> bytes:
    return md5.encode("ascii") + b"\n"


def kept_object(md5: str, image: bytes) -> bytes:
    """What is kept for a rendering of the instance with ``md5``: the tag, then the image."""
    return _tag(md5) + image


class CachedRendering:
    """The kept rendering of one frame, being read from the moment this is made."""

    def __init__(self, blobs: BlobStore, bucket: str, name: str) -> None:
        self._blobs = blobs
        self._bucket = bucket
        self._name = name
        self._key = f"{bucket}/{name}"
        recent = _RECENT.get(self._key)
        self._read: Future[bytes | None]
        if recent is not None:
            self._read = Future()
            self._read.set_result(recent)
        else:
            self._read = _POOL.submit(carried(self._fetch))

    def _fetch(self) -> bytes | None:
        try:
            data = self._blobs.read(self._bucket, self._name)
        except Exception:  # not there yet (or unreadable): render it
            return None
        _RECENT.put(self._key, data)
        return data

    def image(self, md5: str) -> bytes | None:
        """The kept image if it was rendered from the instance with ``md5``, else ``None``."""
        data = self._read.result()
        tag = _tag(md5)
        if data is None or not md5 or not data.startswith(tag):
            return None
        return data[len(tag):]

    def keep(self, md5: str, image: bytes, media_type: str) -> None:
        """Write a new rendering, without waiting for it (a failure only costs a later render)."""
        if not md5:
            return
        _RECENT.put(self._key, kept_object(md5, image))

        def put() -> None:
            try:
                self._blobs.put(self._bucket, self._name, kept_object(md5, image),
                                content_type="application/octet-stream")
            except Exception as exc:
                logs.warning("rendered image not kept", error=type(exc).__name__, mediaType=media_type)

        _POOL.submit(carried(put))
