"""One ingest: a STOW-RS request or one uploaded file/archive, instance by instance.

``add`` validates an instance and starts storing its bytes (``ifGenerationMatch=0`` on a
deterministic name, several uploads in flight); ``finish`` waits for them, writes the
precomputed series metadata, commits the catalog and returns per-instance outcomes. The
commit records each study's arrival, from which the event sweep announces ``study.received``
once the study is quiet (:mod:`beamit.events.arrivals`): nothing is published here.
``abort`` (e.g. a truncated request body) removes every object this session created, so
nothing is half-written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

from beamit import logs
from beamit.catalog import Catalog
from beamit.dicomweb.pixel_limits import PixelLimits
from beamit.dicomweb.stow import (
    DUPLICATE_SOP_INSTANCE,
    PROCESSING_FAILURE,
    FailedInstance,
    ReferencedInstance,
    StoreResult,
)
from beamit.failpoints import INGEST_BEFORE_COMMIT, failpoint
from beamit.ids import new_id
from beamit.ingest import layout, series_metadata
from beamit.ingest.instance import InstanceRejected, ParsedInstance, md5_of, parse_instance, part10_stream
from beamit.storage import AlreadyExists, Services
from beamit.storage.trace import carried
from beamit.tenancy import TenantScope

MAX_IN_FLIGHT = 8
CHUNK_INSTANCES = 100

_UPLOADS = ThreadPoolExecutor(max_workers=8 * MAX_IN_FLIGHT, thread_name_prefix="ingest-upload")
"""Upload threads shared by the sessions of a process, each session holding at most
:data:`MAX_IN_FLIGHT` of them (its ``_slots``). A pool per session started up to eight threads per
STOW-RS request (about 4% of its CPU); these are started once and kept."""


class IngestSession:
    def __init__(
        self, svc: Services, tenant: TenantScope, *, expected_study: str | None = None, source: str = "stow-rs"
    ) -> None:
        self._svc = svc
        self._tenant = tenant
        self._catalog = Catalog(svc.metadata, tenant)
        self._expected_study = expected_study
        self._source = source
        self._bucket = svc.settings.bucket("dicom")
        self._pixel_limits = PixelLimits(svc.settings.max_decode_pixels, svc.settings.max_instance_pixels)
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._lock = threading.Lock()
        self._futures: list[Future[None]] = []
        self._seen: dict[str, ParsedInstance] = {}
        self._ready: list[ParsedInstance] = []
        # Stored instances whose metadata is not yet in a chunk; written every CHUNK_INSTANCES
        # so a large request's memory does not grow with its instance count.
        self._unwritten: list[ParsedInstance] = []
        self._chunk_names: list[str] = []
        self._level_json: dict[tuple[str, str], dict[str, Any]] = {}
        self._created_objects: dict[str, str] = {}  # SOP Instance UID -> object name
        self.result = StoreResult()

    # -- receiving ------------------------------------------------------------------------------

    def add(
        self, fp: BinaryIO, release: Callable[[], None] = lambda: None, *, transfer_syntax: str | None = None
    ) -> ParsedInstance | FailedInstance:
        """Validate one instance and start storing it. ``release`` frees ``fp`` once stored.

        An instance that is not yet a Part 10 file (no preamble; or a bare data set in
        ``transfer_syntax``, the part's media type parameter) is stored as one: see
        :func:`beamit.ingest.instance.part10_stream`. Returns the failure if the instance was
        refused at once, else the parsed instance (its stored/failed outcome is known after
        :meth:`finish`): callers that track outcomes per file, such as bucket uploads, key them by it.
        """
        try:
            fp, release = part10_stream(fp, release, transfer_syntax)
            parsed = parse_instance(fp, expected_study=self._expected_study, limits=self._pixel_limits)
        except InstanceRejected as rejected:
            release()
            self._fail(rejected.failure)
            return rejected.failure
        earlier = self._seen.get(parsed.sop_instance_uid)
        if earlier is not None:  # the same instance twice in one request
            release()
            # Its size and CRC32C, both of the whole file, tell a second copy from another instance
            # (the MD5 is Cloud Storage's, known only once the earlier one is stored).
            if (earlier.size, earlier.crc32c_b64) != (parsed.size, parsed.crc32c_b64):
                failure = _failure(
                    parsed,
                    DUPLICATE_SOP_INSTANCE,
                    "the request holds two different instances with this SOPInstanceUID",
                )
                self._fail(failure)
                return failure
            return earlier
        self._share_level_json(parsed)
        self._seen[parsed.sop_instance_uid] = parsed
        self._slots.acquire()
        self._futures.append(_UPLOADS.submit(carried(self._store_bytes), parsed, fp, release))
        self._write_metadata_chunks(force=False)
        return parsed

    def _share_level_json(self, parsed: ParsedInstance) -> None:
        """Instances of one study (series) mostly carry the same study (series) attributes: keep
        one copy of equal DICOM JSON, so a large request's memory does not grow with them."""
        study = self._level_json.setdefault(("study", parsed.study_uid), parsed.study)
        if study is not parsed.study and study == parsed.study:
            parsed.study = study
        series = self._level_json.setdefault(("series", parsed.series_uid), parsed.series)
        if series is not parsed.series and series == parsed.series:
            parsed.series = series

    def _store_bytes(self, parsed: ParsedInstance, fp: BinaryIO, release: Callable[[], None]) -> None:
        name = layout.instance_object(
            self._tenant.tenant_id, parsed.study_uid, parsed.series_uid, parsed.sop_instance_uid
        )
        try:
            fp.seek(0)
            try:
                # Conditional on absence: an instance already stored (a retry, a concurrent
                # request) is refused by the bucket and compared below. No stat first: that
                # would cost every new instance a round trip to spare a retry its upload.
                stored = self._svc.blobs.put(
                    self._bucket,
                    name,
                    fp,
                    content_type="application/dicom",
                    if_absent=True,
                    metadata={"sopClassUID": parsed.sop_class_uid},
                )
                parsed.md5_b64 = stored.md5_hash or md5_of(fp)
                with self._lock:
                    self._created_objects[parsed.sop_instance_uid] = name
            except AlreadyExists:
                existing = self._svc.blobs.stat(self._bucket, name)
                parsed.md5_b64 = md5_of(fp)
                if existing is None or existing.md5_hash != parsed.md5_b64:
                    # Policy (conformance statement): an instance is immutable once stored.
                    self._fail(
                        _failure(
                            parsed,
                            DUPLICATE_SOP_INSTANCE,
                            "an instance with this SOPInstanceUID and different content is stored",
                        )
                    )
                    return
            with self._lock:
                self._ready.append(parsed)
                self._unwritten.append(parsed)
        except Exception as exc:
            logs.error("instance storage failed", error=type(exc).__name__, tenantId=self._tenant.tenant_id)
            self._fail(_failure(parsed, PROCESSING_FAILURE, "the instance could not be stored; retry the request"))
        finally:
            release()
            self._slots.release()

    def _write_metadata_chunks(self, *, force: bool) -> None:
        """Move stored instances' precomputed metadata to the derived bucket (one chunk per
        series per slice) and drop it from memory. Readers keep only committed instances,
        so chunks written before the commit never leak."""
        with self._lock:
            if not self._unwritten or (not force and len(self._unwritten) < CHUNK_INSTANCES):
                return
            batch, self._unwritten = self._unwritten, []
        names = series_metadata.write_chunks(
            self._svc.blobs, self._svc.settings.bucket("derived"), self._tenant.tenant_id, batch, new_id("chunk", 16)
        )
        self._chunk_names += names
        for parsed in batch:
            parsed.park(keep_instance=force)  # at the end the commit comes next: no need to park its JSON

    def refuse(self, failure: FailedInstance) -> None:
        """Record an instance refused before it could be parsed (e.g. a part that is not DICOM)."""
        self._fail(failure)

    def _fail(self, failure: FailedInstance) -> None:
        with self._lock:
            self.result.failed.append(failure)

    def _wait(self) -> None:
        for future in self._futures:
            future.result()

    # -- ending ---------------------------------------------------------------------------------

    def abort(self) -> None:
        """Discard the session: delete every object it created; nothing is committed."""
        self._wait()
        self._delete(self._chunk_names, self._svc.settings.bucket("derived"))
        self._delete_uncommitted()

    def _delete_uncommitted(self) -> None:
        """Delete the objects this session created unless a catalog record now names them
        (a concurrent request storing the same bytes may have committed it)."""
        sops = list(self._created_objects)
        committed = self._catalog.existing_instances(sops)
        self._delete([self._created_objects[s] for s, exists in zip(sops, committed) if not exists])

    def _delete(self, names: list[str], bucket: str | None = None) -> None:
        for name in names:
            try:
                self._svc.blobs.delete(bucket or self._bucket, name)
            except Exception:
                logs.warning("could not delete an uncommitted object", tenantId=self._tenant.tenant_id)

    def finish(self) -> StoreResult:
        self._wait()
        ready = sorted(self._ready, key=lambda p: (p.study_uid, p.series_uid, p.instance_number or 0))
        if not ready:
            return self.result
        blob_names = {
            p.sop_instance_uid: layout.instance_object(
                self._tenant.tenant_id, p.study_uid, p.series_uid, p.sop_instance_uid
            )
            for p in ready
        }
        derived = self._svc.settings.bucket("derived")
        try:
            self._write_metadata_chunks(force=True)
            failpoint(INGEST_BEFORE_COMMIT)
            committed = self._catalog.commit(ready, blob_names, new_objects=set(self._created_objects))
        except Exception as exc:
            logs.error("catalog commit failed", error=type(exc).__name__, tenantId=self._tenant.tenant_id)
            exists = self._catalog.existing_instances([p.sop_instance_uid for p in ready])
            if not any(exists):
                self._delete(self._chunk_names, derived)
            self._delete_uncommitted()
            for parsed, found in zip(ready, exists):
                if not found:
                    self._fail(_failure(parsed, PROCESSING_FAILURE, "the instance could not be committed; retry"))
                else:
                    self.result.stored.append(_referenced(parsed, newly_stored=True))
            return self.result
        created = {p.sop_instance_uid for p in committed.created}
        for parsed in ready:
            self.result.stored.append(_referenced(parsed, newly_stored=parsed.sop_instance_uid in created))
        return self.result


def _referenced(parsed: ParsedInstance, *, newly_stored: bool) -> ReferencedInstance:
    return ReferencedInstance(parsed.study_uid, parsed.series_uid, parsed.sop_instance_uid, parsed.sop_class_uid,
                              newly_stored)


def _failure(parsed: ParsedInstance, reason: int, message: str) -> FailedInstance:
    return FailedInstance(
        reason, message, parsed.sop_class_uid, parsed.sop_instance_uid, parsed.study_uid, parsed.series_uid
    )
