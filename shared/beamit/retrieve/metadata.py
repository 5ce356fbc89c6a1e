"""Retrieving metadata resources (PS3.18 §10.4.1.1.2, §10.4.3.3.2): DICOM JSON with BulkDataURIs.

Served from what ingest precomputed (:mod:`beamit.ingest.series_metadata`): a listing and
a few reads of the series' (or study's) chunks in the derived bucket, never a parse of the
instances. Chunks are written before the catalog commit, so they hold every committed
instance, and possibly instances whose commit failed or is still under way, which must not
appear. The catalog decides, as cheaply as it can:

- a study or series: its catalog record's exact ``instanceCount`` and version (the time of its
  last change; one document read, made while the study's or series' *compacted* metadata is
  read: one object holding what the last consistent read served, and the version it was made
  at). A compacted object of the record's current version is served as it is: every commit and
  every removal of instances changes the version, so a deletion followed by a store that leaves
  the count as it was still makes it stale. Otherwise the chunks are listed and read; as the
  committed instances are a subset of the chunks' (a deletion takes its instances out of them),
  equal counts mean equal sets, and the chunks are served as they are and compacted for the
  next read (written without making this answer wait). A deletion also removes the compacted
  objects of its study and series: deleted patients' metadata is not kept;
- otherwise (an ingest in flight, a failed commit), the catalog's instance records of the
  study or series give the committed SOP Instance UIDs to keep; a committed instance missing
  from every chunk (a lost chunk) is rebuilt from its stored object;
- an instance: its catalog record, read anyway to find it.

BulkDataURIs are stored under a placeholder root and served under the configured public
DICOMweb root (``settings.public_base_url + "/v1/dicomweb"``), never the request's Host.
Items follow the retrieve order (series, Instance Number, SOP Instance UID).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pydicom import dcmread

from beamit import logs
from beamit.catalog import StoredInstance
from beamit.dicomweb.dicom_json import first_value, instance_metadata
from beamit.dicomweb.media_types import metadata_offers
from beamit.dicomweb.multipart import PartOut
from beamit.dicomweb.uri import DicomwebRoot, ResourceRef
from beamit.dicomweb.wado.etags import strong_etag
from beamit.ingest import layout
from beamit.ingest.instance import DEFER_SIZE, STORED_ROOT
from beamit.ingest.series_metadata import read_metadata
from beamit.retrieve.plan import Accessed, Retrieval, RetrievalPlan, negotiated
from beamit.storage import BlobStore
from beamit.storage.trace import carried

_CHUNKS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="wado-metadata")
"""Chunk reads started beside the catalog read (threads kept between requests)."""

SERIES_INSTANCE_UID = "0020000E"
SOP_INSTANCE_UID = "00080018"
INSTANCE_NUMBER = "00200013"


def plan_metadata(retrieval: Retrieval, ref: ResourceRef, accept: str | None) -> RetrievalPlan:
    """The metadata of a study, series or instance (module docstring): its items are read
    while the catalog says which are committed, and the validator is the body's digest."""
    representation = negotiated(accept, metadata_offers())
    chunks: Future[list[dict[str, Any]]] | None = None
    body: bytes | None = None
    if ref.level == "instance":
        chunks = _CHUNKS.submit(carried(read_chunks), retrieval, ref)
    else:
        compacted = _CHUNKS.submit(carried(read_compacted), retrieval, ref)
    try:  # what was precomputed is read while the catalog says what is committed
        if chunks is not None:
            assert ref.series is not None and ref.instance is not None
            instance = retrieval.catalog.instance(ref.study, ref.series, ref.instance)
            items = committed_metadata(chunks.result(), [instance], retrieval.blobs, retrieval.dicom_bucket,
                                       retrieval.root)
        else:
            count, version = retrieval.catalog.committed_state(ref)
            kept_version, text = compacted.result() or ("", None)
            kept = _items_of(text)
            if text is not None and kept is not None and version and kept_version == version and len(kept) == count:
                items, body = kept, text.encode("utf-8")
            else:
                items = read_chunks(retrieval, ref)
                if len(items) != count:  # an ingest in flight or a failed commit: ask the catalog which
                    instances = retrieval.catalog.instances(ref)
                    items = committed_metadata(items, instances, retrieval.blobs, retrieval.dicom_bucket,
                                               retrieval.root)
                else:
                    items = in_order(items)
                    body = _json_body(items)
                    if version:
                        _keep_compacted(retrieval, ref, body, version)
    finally:
        if chunks is not None:
            chunks.cancel()  # if the catalog read failed first
    if body is None:
        body = _json_body(items)
    media_type = representation.media_type
    etag = strong_etag("metadata", (), media_type, hashlib.sha256(body).hexdigest())
    accessed = Accessed([ref.study], sorted({series_of(i) for i in items}), [sop_of(i) for i in items])

    def parts() -> Iterable[PartOut]:
        return [PartOut(media_type, body)]

    return RetrievalPlan(representation, etag, accessed, parts,
                         {"resource": f"{ref.level}/metadata", "instanceCount": len(items)})


def _items_of(text: str | None) -> list[dict[str, Any]] | None:
    try:
        found = json.loads(text) if text is not None else None
    except ValueError:
        return None  # unreadable: the chunks are read instead
    return found if isinstance(found, list) else None


def _json_body(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def read_compacted(retrieval: Retrieval, ref: ResourceRef) -> tuple[str, str] | None:
    """The compacted metadata of ``ref``'s study or series: the catalog version it was made at
    (:meth:`~beamit.catalog.repository.Catalog.committed_state`) and its JSON text (BulkDataURIs
    under the public root); ``None`` when there is none (or it cannot be read: the chunks are
    then). It serves only while the record's version is the same: a deletion or a store since
    makes it stale, whatever the count."""
    name = layout.compacted_metadata(retrieval.tenant_id, ref.study, ref.series)
    try:
        data = retrieval.blobs.read(retrieval.derived_bucket, name)
    except Exception:
        return None
    version, _, text = data.decode("utf-8").partition("\n")
    return version, text.replace(STORED_ROOT, retrieval.root.base_url)


def _keep_compacted(retrieval: Retrieval, ref: ResourceRef, body: bytes, version: str) -> None:
    """Write what this read served as the compacted metadata (its first line the catalog
    version it was made at), not waiting for it."""
    name = layout.compacted_metadata(retrieval.tenant_id, ref.study, ref.series)
    stored = (version + "\n" + body.decode("utf-8").replace(retrieval.root.base_url, STORED_ROOT)).encode("utf-8")

    def put() -> None:
        try:
            retrieval.blobs.put(retrieval.derived_bucket, name, stored, content_type="application/json")
        except Exception as exc:
            logs.warning("compacted metadata not written", error=type(exc).__name__)

    _CHUNKS.submit(carried(put))


def read_chunks(retrieval: Retrieval, ref: ResourceRef) -> list[dict[str, Any]]:
    """Every precomputed item of ``ref``'s study or series (one per SOP Instance UID),
    committed or not."""
    prefix = layout.series_metadata_prefix(retrieval.tenant_id, ref.study, ref.series)
    return read_metadata(retrieval.blobs, retrieval.derived_bucket, prefix, retrieval.root.base_url)


def committed_metadata(items: list[dict[str, Any]], instances: Sequence[StoredInstance], blobs: BlobStore,
                       dicom_bucket: str, root: DicomwebRoot) -> list[dict[str, Any]]:
    """The items of ``instances`` (the catalog's committed ones); any missing from the
    precomputed ``items`` rebuilt from the stored object."""
    wanted = {i.sop_instance for i in instances}
    kept = [item for item in items if sop_of(item) in wanted]
    found = {sop_of(item) for item in kept}
    missing = [i for i in instances if i.sop_instance not in found]
    if missing:
        logs.warning("precomputed metadata missing: rebuilt from the stored objects", count=len(missing))
        kept += [_rebuild(blobs, dicom_bucket, i, root) for i in missing]
    return in_order(kept)


def in_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Retrieve order: Series Instance UID, Instance Number, SOP Instance UID."""
    return sorted(items, key=lambda item: (series_of(item), _number(item), sop_of(item)))


def sop_of(item: dict[str, Any]) -> str:
    return str(first_value(item, SOP_INSTANCE_UID) or "")


def series_of(item: dict[str, Any]) -> str:
    return str(first_value(item, SERIES_INSTANCE_UID) or "")


def _number(item: dict[str, Any]) -> int:
    try:
        return int(first_value(item, INSTANCE_NUMBER) or 0)
    except (TypeError, ValueError):
        return 0


def _rebuild(blobs: BlobStore, bucket: str, instance: StoredInstance, root: DicomwebRoot) -> dict[str, Any]:
    ds = dcmread(io.BytesIO(blobs.read(bucket, instance.blob)), defer_size=DEFER_SIZE)
    return instance_metadata(ds, root, suppress_invalid_tags=True)
