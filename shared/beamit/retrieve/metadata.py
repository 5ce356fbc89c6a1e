"""Retrieving metadata resources (PS3.18 §10.4.1.1.2, §10.4.3.3.2): DICOM JSON with BulkDataURIs.

Served from what ingest precomputed (:mod:`beamit.ingest.series_metadata`): a listing and
a few reads of the series' (or study's) chunks in the derived bucket, never a parse of the
instances. Chunks are written before the catalog commit, so they hold every committed
instance, and possibly instances whose commit failed or is still under way, which must not
appear. The catalog decides, as cheaply as it can:

- a study or series: its catalog record's exact ``instanceCount`` (one document read, made
  while the chunks are read). As the committed instances are a subset of the chunks', equal
  counts mean equal sets, and the chunks are served as they are;
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
from concurrent.futures import ThreadPoolExecutor
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
from beamit.ingest.instance import DEFER_SIZE
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
    chunks = _CHUNKS.submit(carried(read_chunks), retrieval, ref)
    try:  # the chunks are read while the catalog says what is committed
        if ref.level == "instance":
            assert ref.series is not None and ref.instance is not None
            instance = retrieval.catalog.instance(ref.study, ref.series, ref.instance)
            items = committed_metadata(chunks.result(), [instance], retrieval.blobs, retrieval.dicom_bucket,
                                       retrieval.root)
        else:
            count = retrieval.catalog.committed_count(ref)
            items = chunks.result()
            if len(items) != count:  # an ingest in flight or a failed commit: ask the catalog which
                instances = retrieval.catalog.instances(ref)
                items = committed_metadata(items, instances, retrieval.blobs, retrieval.dicom_bucket,
                                           retrieval.root)
            else:
                items = in_order(items)
    finally:
        chunks.cancel()  # if the catalog read failed first
    body = json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    media_type = representation.media_type
    etag = strong_etag("metadata", (), media_type, hashlib.sha256(body).hexdigest())
    accessed = Accessed([ref.study], sorted({series_of(i) for i in items}), [sop_of(i) for i in items])

    def parts() -> Iterable[PartOut]:
        return [PartOut(media_type, body)]

    return RetrievalPlan(representation, etag, accessed, parts,
                         {"resource": f"{ref.level}/metadata", "instanceCount": len(items)})


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
