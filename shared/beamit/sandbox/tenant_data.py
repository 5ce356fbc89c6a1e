"""A sandbox tenant's data: more synthetic studies, or a fresh start (``/v1/sandbox``).

Only where synthetic data is all there is: ``BEAMIT_ENV`` ``local`` or ``sandbox``
(``Settings.sandbox_tools``); the API answers 404 everywhere else.

- :func:`seed_studies` generates studies (:mod:`beamit.sandbox`) and stores them through the
  one ingest core, as STOW-RS does: the catalog, the bytes, the precomputed metadata and
  ``study.received`` events, exactly as for an integrator's own studies.
- :func:`reset_tenant_data` deletes the tenant's studies (catalog records, DICOM objects and
  derived objects) and shares (their codes, verification challenges, viewer sessions and
  idempotency records). It keeps what is configuration or evidence: API keys, users, OAuth
  clients, webhook endpoints and their delivery logs, uploads, and the audit trail.
"""

from __future__ import annotations

import io
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from beamit.catalog import Catalog
from beamit.dicomweb.stow import StoreResult
from beamit.ingest.session import IngestSession
from beamit.sandbox.config import SandboxConfig
from beamit.sandbox.datasets import generate_study
from beamit.sandbox.writer import part10_bytes
from beamit.shares.share import CODES, SHARES
from beamit.storage import Filter, MetadataStore, Query, Services, Write
from beamit.tenancy import TenantScope

MAX_SEED_COUNT = 10
SEED_CONFIG = SandboxConfig(scale=0.5, ct_slices=12, mr_slices=6, us_frames=8, projection_shape=(1024, 820))
"""Half-size images (CT 256x256, radiographs 512x410) and short series: about 1 MB a study,
generated in well under a second, every modality in turn."""
DELETE_BATCH = 400
BLOB_BUCKETS = ("dicom", "derived")
# Share records outside tenants/{t}: the code directory, verification challenges, viewer sessions.
SHARE_SIDE_COLLECTIONS = (CODES, "share_challenges", "share_sessions")
TENANT_COLLECTIONS = (SHARES, "share_requests")


def seed_studies(svc: Services, scope: TenantScope, count: int, seed: int | None = None,
                 config: SandboxConfig = SEED_CONFIG) -> StoreResult:
    """Store ``count`` synthetic studies. With ``seed`` the same studies every time (stored
    once: the same instances again change nothing); without, new ones."""
    if seed is None:
        seed, start = secrets.randbelow(1 << 31), secrets.randbelow(10_000)
    else:
        start = 0
    session = IngestSession(svc, scope, source="sandbox")
    try:
        for index in range(start, start + count):
            for dataset in generate_study(seed, index, config).datasets():
                session.add(io.BytesIO(part10_bytes(dataset)))
    except BaseException:
        session.abort()
        raise
    return session.finish()


@dataclass
class ResetReport:
    records: dict[str, int] = field(default_factory=dict)
    objects: int = 0


def _delete_all(store: MetadataStore, query: Query) -> int:
    deleted = 0
    while True:
        docs = store.query(Query(query.collection, filters=query.filters, limit=DELETE_BATCH))
        if not docs:
            return deleted
        store.commit([Write("delete", doc.path) for doc in docs])
        deleted += len(docs)


def reset_tenant_data(svc: Services, scope: TenantScope) -> ResetReport:
    """Delete the tenant's studies and shares (see the module docstring for what stays)."""
    report = ResetReport()
    mine = (Filter("tenantId", "==", scope.tenant_id),)
    for name in SHARE_SIDE_COLLECTIONS:
        report.records[name] = _delete_all(svc.metadata, Query(name, filters=mine))
    report.records.update(Catalog(svc.metadata, scope).delete_all_records())
    for name in TENANT_COLLECTIONS:
        report.records[name] = _delete_all(svc.metadata, Query(scope.collection(name)))
    objects = [(blob.bucket, blob.name) for role in BLOB_BUCKETS
               for blob in svc.blobs.list(svc.settings.bucket(role), scope.blob_prefix())]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="sandbox-reset") as pool:
        list(pool.map(lambda item: svc.blobs.delete(*item), objects))
    report.objects = len(objects)
    return report
