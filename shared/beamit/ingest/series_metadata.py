"""Precomputed instance metadata (DICOM JSON with BulkDataURIs), kept per series.

Each ingest writes one chunk per series it touched: a JSON array of the new instances'
metadata, at ``{tenant}/{study}/{series}/metadata/{chunk}.json`` in the derived bucket.
Serving a series' metadata is a listing and a few reads, never a parse of the instances;
a study's metadata is its series' chunks. Instances appear in a chunk before their
Firestore commit, and readers keep only committed ones, so a failed commit never leaks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from beamit.ingest import layout
from beamit.ingest.instance import STORED_ROOT, ParsedInstance
from beamit.storage import BlobStore
from beamit.storage.trace import carried

SOP_INSTANCE_UID = "00080018"
INSTANCE_NUMBER = "00200013"

_CHUNK_READS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="metadata-chunks")
"""Reads of a study's chunks, all at once; threads kept between requests (one started per read
made them start, and so finish, one after another)."""


def write_chunks(
    blobs: BlobStore, bucket: str, tenant_id: str, instances: Iterable[ParsedInstance], chunk_id: str
) -> list[str]:
    """Write one chunk per series; returns the object names written."""
    by_series: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for inst in instances:
        by_series[(inst.study_uid, inst.series_uid)].append(inst.metadata)
    names = []
    for (study, series), items in by_series.items():
        name = layout.series_metadata_chunk(tenant_id, study, series, chunk_id)
        blobs.put(
            bucket,
            name,
            json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
            content_type="application/json",
        )
        names.append(name)
    return names


def _instance_number(item: dict[str, Any]) -> int:
    try:
        return int(item.get(INSTANCE_NUMBER, {}).get("Value", [0])[0])
    except (TypeError, ValueError, IndexError):
        return 0


def read_metadata(
    blobs: BlobStore, bucket: str, prefix: str, public_root: str, committed: set[str] | None = None
) -> list[dict[str, Any]]:
    """All instance metadata under ``prefix`` (a study or series), deduplicated by SOP
    Instance UID, ordered by series then InstanceNumber, BulkDataURIs under ``public_root``.

    ``committed``, when given, keeps only those SOP Instance UIDs.
    """
    names = [info.name for info in blobs.list(bucket, prefix) if "/metadata/" in info.name]
    def read_text(name: str) -> str:
        return blobs.read(bucket, name).decode("utf-8")

    texts = list(_CHUNK_READS.map(carried(read_text), sorted(names)))
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, text in zip(sorted(names), texts):
        series_key = name.rsplit("/metadata/", 1)[0]
        for item in json.loads(text.replace(STORED_ROOT, public_root)):
            sop = item.get(SOP_INSTANCE_UID, {}).get("Value", [""])[0]
            if committed is not None and sop not in committed:
                continue
            seen.setdefault(sop, (series_key, item))
    ordered = sorted(seen.values(), key=lambda pair: (pair[0], _instance_number(pair[1])))
    return [item for _, item in ordered]


def remove_instances(blobs: BlobStore, bucket: str, tenant_id: str, study: str, series: str,
                     sops: set[str]) -> int:
    """Take ``sops`` out of the series' metadata chunks (a chunk left empty is deleted); returns
    how many chunks changed. Readers already keep only committed instances; this removes the
    deleted instances' attributes from the derived data too."""
    changed = 0
    prefix = layout.series_metadata_prefix(tenant_id, study, series)
    for info in list(blobs.list(bucket, prefix)):
        items = json.loads(blobs.read(bucket, info.name).decode("utf-8"))
        kept = [item for item in items if item.get(SOP_INSTANCE_UID, {}).get("Value", [""])[0] not in sops]
        if len(kept) == len(items):
            continue
        changed += 1
        if kept:
            blobs.put(bucket, info.name, json.dumps(kept, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
                      content_type="application/json")
        else:
            blobs.delete(bucket, info.name)
    return changed
