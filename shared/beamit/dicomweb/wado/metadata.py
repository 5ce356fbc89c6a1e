"""Metadata resources (PS3.18 §10.4.1.1.2, §10.4.3.3.2): DICOM JSON with BulkDataURIs.

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
from collections.abc import Sequence
from typing import Any

from pydicom import dcmread

from beamit import catalog, logs
from beamit.dicomweb.dicom_json import instance_metadata
from beamit.dicomweb.uri import DicomwebRoot, ResourceRef
from beamit.dicomweb.wado.etags import strong_etag
from beamit.dicomweb.wado.instances import StoredInstance
from beamit.errors import NotFound
from beamit.ingest import layout
from beamit.ingest.instance import DEFER_SIZE
from beamit.ingest.series_metadata import INSTANCE_NUMBER, SOP_INSTANCE_UID, read_metadata
from beamit.storage import BlobStore, MetadataStore
from beamit.tenancy import TenantScope

SERIES_INSTANCE_UID = "0020000E"


def read_chunks(blobs: BlobStore, derived_bucket: str, tenant_id: str, ref: ResourceRef,
                root: DicomwebRoot) -> list[dict[str, Any]]:
    """Every precomputed item of ``ref``'s study or series (one per SOP Instance UID),
    committed or not."""
    prefix = layout.series_metadata_prefix(tenant_id, ref.study, ref.series)
    return read_metadata(blobs, derived_bucket, prefix, root.base_url)


def committed_count(store: MetadataStore, scope: TenantScope, ref: ResourceRef) -> int:
    """The catalog's exact instance count of a study or series; :class:`NotFound` if none."""
    if ref.series is None:
        record = catalog.get_study(store, scope, ref.study)
    else:
        record = store.get(catalog.series_path(scope, ref.series))
        if record is not None and record.get("studyUID") != ref.study:
            record = None
    if record is None or not record.get("instanceCount"):
        raise NotFound(f"no such {ref.level}")
    return int(record["instanceCount"])


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
    return sorted(items, key=lambda item: (_first(item, SERIES_INSTANCE_UID), _number(item), sop_of(item)))


def metadata_etag(body: bytes, media_type: str) -> str:
    return strong_etag("metadata", (), media_type, hashlib.sha256(body).hexdigest())


def sop_of(item: dict[str, Any]) -> str:
    return _first(item, SOP_INSTANCE_UID)


def series_of(item: dict[str, Any]) -> str:
    return _first(item, SERIES_INSTANCE_UID)


def _first(item: dict[str, Any], tag: str) -> str:
    values = item.get(tag, {}).get("Value") or [""]
    return str(values[0])


def _number(item: dict[str, Any]) -> int:
    try:
        return int(item.get(INSTANCE_NUMBER, {}).get("Value", [0])[0])
    except (TypeError, ValueError, IndexError):
        return 0


def _rebuild(blobs: BlobStore, bucket: str, instance: StoredInstance, root: DicomwebRoot) -> dict[str, Any]:
    ds = dcmread(io.BytesIO(blobs.read(bucket, instance.blob)), defer_size=DEFER_SIZE)
    return instance_metadata(ds, root, suppress_invalid_tags=True)
