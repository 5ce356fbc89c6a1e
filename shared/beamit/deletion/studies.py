"""Deleting a study, a series or an instance: bytes, derived data, records, shares.

Page by page (:data:`beamit.catalog.removal.PAGE` instances): the page's DICOM objects,
cached thumbnails and kept renderings are deleted first, then their records in one transaction that keeps the
parents' counts and child lists exact. A request that stops half way (a timeout, a crash)
leaves records only of instances whose bytes may be gone, still found by the next page query:
another ``DELETE`` finishes the work, and one of something already gone changes nothing. The
precomputed metadata goes last (a study's or series' whole prefix; an instance is taken out of
its series' chunks), with a sweep of the study's or series' prefix in the DICOM bucket for
objects without records (an ingest abandoned half way).

Active (or locked) shares holding the study are revoked before anything is deleted when a
study is deleted, and after the deletion when a series or instance deletion took the study's
last instance.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from beamit import logs
from beamit.catalog import Catalog, StoredInstance
from beamit.catalog.removal import Removal
from beamit.dicomweb.uri import ResourceRef
from beamit.ingest import layout, series_metadata
from beamit.retrieve.rendered_cache import rendered_prefix
from beamit.retrieve.thumbnails import thumbnail_prefix
from beamit.shares.service import revoke_study_shares
from beamit.storage import Services
from beamit.tenancy import TenantScope

MAX_PAGES = 100_000
"""A bound on the page loop (10 million instances), so a bug cannot loop for ever."""


@dataclass
class DeletionResult:
    """What one request deleted (zero when everything was already gone)."""

    removal: Removal = field(default_factory=Removal)
    objects: int = 0
    shares_revoked: list[str] = field(default_factory=list)
    study_deleted: bool = False


def delete_resource(svc: Services, tenant: TenantScope, ref: ResourceRef) -> DeletionResult:
    """Delete the study, series or instance ``ref`` of ``tenant`` (see the module docstring)."""
    catalog = Catalog(svc.metadata, tenant)
    result = DeletionResult()
    if ref.series is None:
        result.shares_revoked += revoke_study_shares(svc, tenant, ref.study)
    dicom, derived = svc.settings.bucket("dicom"), svc.settings.bucket("derived")
    for _ in range(MAX_PAGES):
        page = catalog.instance_page(ref)
        if not page:
            break
        result.objects += _delete_objects(svc, dicom, derived, tenant, page)
        result.removal.add(catalog.remove([i.sop_instance for i in page]))
    if ref.instance is None:  # a study or a series: everything under its prefix
        prefix = layout.resource_prefix(tenant.tenant_id, ref.study, ref.series)
        result.objects += _delete_prefix(svc, derived, prefix) + _delete_prefix(svc, dicom, prefix)
    elif ref.series is not None:
        series_metadata.remove_instances(svc.blobs, derived, tenant.tenant_id, ref.study, ref.series, {ref.instance})
    if ref.series is not None:  # what was kept of the study (and series) holds the deleted instances
        for compacted in {layout.compacted_metadata(tenant.tenant_id, ref.study),
                          layout.compacted_metadata(tenant.tenant_id, ref.study, ref.series)}:
            svc.blobs.delete(derived, compacted)
    result.study_deleted = ref.series is None or ref.study in result.removal.studies
    if result.study_deleted and catalog.studies([ref.study])[0] is None:
        result.shares_revoked += [s for s in revoke_study_shares(svc, tenant, ref.study)
                                  if s not in result.shares_revoked]
    return result


def _delete_objects(svc: Services, dicom: str, derived: str, tenant: TenantScope,
                    page: list[StoredInstance]) -> int:
    """The page's DICOM objects and cached thumbnails (several deletes in flight)."""
    def delete(instance: StoredInstance) -> int:
        svc.blobs.delete(dicom, instance.blob)
        rendered = rendered_prefix(tenant.tenant_id, instance.study, instance.series, instance.sop_instance)
        return (1 + _delete_prefix(svc, derived, thumbnail_prefix(tenant.tenant_id, instance))
                + _delete_prefix(svc, derived, rendered))

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="delete") as pool:
        return sum(pool.map(delete, page))


def _delete_prefix(svc: Services, bucket: str, prefix: str) -> int:
    names = [info.name for info in svc.blobs.list(bucket, prefix)]
    for name in names:
        svc.blobs.delete(bucket, name)
    if names:
        logs.info("deleted objects", bucket=bucket, count=len(names))
    return len(names)
