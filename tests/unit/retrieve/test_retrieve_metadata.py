"""Study metadata: the first consistent read is kept compacted, and later reads serve it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from beamit.dicomweb.uri import DicomwebRoot, ResourceRef
from beamit.ingest import layout
from beamit.ingest.instance import STORED_ROOT
from beamit.retrieve.metadata import plan_metadata
from beamit.retrieve.plan import Retrieval
from beamit.tenancy import TenantScope
from tests.memory_blobs import MemoryBlobs

STUDY, SERIES = "1.2.3", "1.2.3.4"
ROOT = DicomwebRoot("https://beamit.example/v1/dicomweb")


def item(sop: str, number: int) -> dict:
    return {"0020000E": {"vr": "UI", "Value": [SERIES]}, "00080018": {"vr": "UI", "Value": [sop]},
            "00200013": {"vr": "IS", "Value": [number]},
            "7FE00010": {"vr": "OW", "BulkDataURI": f"{STORED_ROOT}/studies/{STUDY}/x/{sop}"}}


@dataclass
class Catalog:
    """The study record's count and version (the time of its last change)."""

    count: int
    version: str = "2026-12-04T10:00:00+00:00"
    scope: TenantScope = field(default_factory=lambda: TenantScope("acme"))

    def committed_state(self, ref: ResourceRef) -> tuple[int, str]:
        return self.count, self.version


def write_chunk(blobs: MemoryBlobs, name: str, items: list[dict]) -> None:
    import json

    blobs.put("derived", layout.series_metadata_chunk("acme", STUDY, SERIES, name), json.dumps(items).encode())


def wait_for(blobs: MemoryBlobs, name: str) -> None:
    deadline = time.monotonic() + 5
    while blobs.stat("derived", name) is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_consistent_read_is_compacted_and_served_the_same_until_the_record_changes():
    blobs = MemoryBlobs()
    write_chunk(blobs, "a", [item("1.2.3.4.2", 2)])
    write_chunk(blobs, "b", [item("1.2.3.4.1", 1)])
    catalog = Catalog(2)
    retrieval = Retrieval(catalog, blobs, "dicom", "derived", ROOT)  # type: ignore[arg-type]
    ref = ResourceRef(STUDY)
    first = plan_metadata(retrieval, ref, None)
    compacted = layout.compacted_metadata("acme", STUDY)
    wait_for(blobs, compacted)
    assert STORED_ROOT.encode() in blobs.read("derived", compacted)  # kept under the placeholder root
    reads_before = len(blobs.reads)
    second = plan_metadata(retrieval, ref, None)
    assert second.etag == first.etag  # byte for byte the same body
    assert len(blobs.reads) == reads_before + 1  # the compacted object only, no chunk
    body = b"".join(p.body for p in second.parts())
    assert ROOT.base_url.encode() in body and STORED_ROOT.encode() not in body

    write_chunk(blobs, "c", [item("1.2.3.4.3", 3)])
    catalog.count, catalog.version = 3, "2026-12-04T10:00:05+00:00"  # a new instance: what was kept is stale
    third = plan_metadata(retrieval, ref, None)
    assert third.accessed.instances == ["1.2.3.4.1", "1.2.3.4.2", "1.2.3.4.3"]


def test_what_was_kept_is_stale_once_the_record_changed_even_at_the_same_count():
    """One instance deleted and another stored: the count is as before, the version is not."""
    blobs = MemoryBlobs()
    write_chunk(blobs, "a", [item("1.2.3.4.1", 1), item("1.2.3.4.2", 2)])
    catalog = Catalog(2)
    retrieval = Retrieval(catalog, blobs, "dicom", "derived", ROOT)  # type: ignore[arg-type]
    ref = ResourceRef(STUDY)
    plan_metadata(retrieval, ref, None)
    wait_for(blobs, layout.compacted_metadata("acme", STUDY))
    blobs.delete("derived", layout.series_metadata_chunk("acme", STUDY, SERIES, "a"))
    write_chunk(blobs, "b", [item("1.2.3.4.2", 2), item("1.2.3.4.3", 3)])
    catalog.version = "2026-12-04T10:01:00+00:00"
    assert plan_metadata(retrieval, ref, None).accessed.instances == ["1.2.3.4.2", "1.2.3.4.3"]
