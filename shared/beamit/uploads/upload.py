"""Upload records (``tenants/{t}/uploads/{id}``) and their per-file outcomes.

One document per upload is both the registration (who, what, where, until when) and the
ingest job (status, cursor, counts, studies). Per-file outcomes live in the subcollection
``files`` (one document per file, keyed by its position), since an archive of thousands of
files would not fit Firestore's 1 MiB per document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from beamit.clock import rfc3339, utcnow
from beamit.errors import NotFound, Unavailable
from beamit.ids import new_id
from beamit.storage import Filter, MetadataStore, Query, Services, Write
from beamit.tenancy import TenantScope
from beamit.uploads import naming
from beamit.uploads.limits import UPLOAD_TTL

UPLOADS = "uploads"
FILES = "files"

PENDING = "pending"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"
EXPIRED = "expired"  # reported only: a pending upload past its expiry
TERMINAL = frozenset({COMPLETED, FAILED})

MAX_LISTED_STUDIES = 1000
FILES_PER_BATCH = 450  # Firestore: at most 500 writes per batch

FileStatus = Literal["stored", "failed", "skipped"]


def upload_path(scope: TenantScope, upload_id: str) -> str:
    return scope.document(UPLOADS, upload_id)


def file_path(scope: TenantScope, upload_id: str, index: int) -> str:
    return scope.document(UPLOADS, upload_id, FILES, f"{index:05d}")


def zero_counts() -> dict[str, int]:
    return {"files": 0, "stored": 0, "failed": 0, "skipped": 0}


@dataclass(frozen=True)
class Upload:
    id: str
    tenant_id: str
    record: dict[str, Any]

    @property
    def scope(self) -> TenantScope:
        return TenantScope(self.tenant_id)

    @property
    def path(self) -> str:
        return upload_path(self.scope, self.id)

    @property
    def object_name(self) -> str:
        return str(self.record["objectName"])

    @property
    def filename(self) -> str:
        return str(self.record.get("filename", ""))

    @property
    def expires_at(self) -> datetime:
        expires: datetime = self.record["expiresAt"]
        return expires

    def status(self, now: datetime | None = None) -> str:
        status = str(self.record.get("status", PENDING))
        if status == PENDING and (now or utcnow()) >= self.expires_at:
            return EXPIRED
        return status

    def to_json(self, files: list[FileOutcome] | None = None, files_have_more: bool = False) -> dict[str, Any]:
        """The API shape (``GET /v1/uploads/{id}``)."""
        rec = self.record
        body: dict[str, Any] = {
            "id": self.id,
            "object": "upload",
            "status": self.status(),
            "filename": rec.get("filename"),
            "contentType": rec.get("contentType"),
            "size": rec.get("size"),
            "createdAt": _time(rec.get("createdAt")),
            "expiresAt": _time(rec.get("expiresAt")),
            "startedAt": _time(rec.get("startedAt")),
            "completedAt": _time(rec.get("completedAt")),
            "counts": {**zero_counts(), **(rec.get("counts") or {})},
            "studies": list(rec.get("studies") or []),
            "error": rec.get("error"),
        }
        if files is not None:
            body["files"] = [f.to_json() for f in files]
            body["filesHaveMore"] = files_have_more
        return body


def _time(value: Any) -> str | None:
    return rfc3339(value) if isinstance(value, datetime) else None


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file of an upload (a member of an archive, or the file itself)."""

    index: int
    name: str
    status: FileStatus
    sop_instance_uid: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    already_stored: bool | None = None
    failure_reason: int | None = None  # DICOM FailureReason (0008,1197), as in STOW-RS responses
    skip_reason: str | None = None  # "dicomdir" or "os_metadata"
    message: str | None = None
    quarantine_object: str | None = None  # gs://quarantine-bucket/name

    def to_record(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "status": self.status,
            "sopInstanceUID": self.sop_instance_uid,
            "studyInstanceUID": self.study_uid,
            "seriesInstanceUID": self.series_uid,
            "alreadyStored": self.already_stored,
            "failureReason": self.failure_reason,
            "skipReason": self.skip_reason,
            "message": self.message,
            "quarantineObject": self.quarantine_object,
        }

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in self.to_record().items() if value is not None}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> FileOutcome:
        return cls(
            index=int(data["index"]),
            name=str(data.get("name", "")),
            status=data["status"],
            sop_instance_uid=data.get("sopInstanceUID"),
            study_uid=data.get("studyInstanceUID"),
            series_uid=data.get("seriesInstanceUID"),
            already_stored=data.get("alreadyStored"),
            failure_reason=data.get("failureReason"),
            skip_reason=data.get("skipReason"),
            message=data.get("message"),
            quarantine_object=data.get("quarantineObject"),
        )


# -- registering ------------------------------------------------------------------------------------


def create_upload(
    svc: Services, scope: TenantScope, *, filename: str, content_type: str, size: int, created_by: str
) -> tuple[Upload, str]:
    """Register an upload and open its resumable session; returns the record and the session URI.

    The record is written first, so every object that can ever be finalized under the
    session has a record; the URI is returned to the caller once and never stored.
    """
    upload_id = new_id("upl", 20)
    now = utcnow()
    bucket = svc.settings.bucket("inbox")
    name = naming.inbox_object(scope.tenant_id, upload_id, content_type)
    record: dict[str, Any] = {
        "filename": filename,
        "contentType": content_type,
        "size": size,
        "bucket": bucket,
        "objectName": name,
        "createdAt": now,
        "expiresAt": now + UPLOAD_TTL,
        "createdBy": created_by,
        "status": PENDING,
        "attempts": 0,
        "cursor": 0,
        "counts": zero_counts(),
        "studies": [],
        "error": None,
    }
    path = upload_path(scope, upload_id)
    svc.metadata.create(path, record)
    try:
        url = svc.blobs.create_upload_session(
            bucket,
            name,
            content_type=content_type,
            size=size,
            metadata={"tenantId": scope.tenant_id, "uploadId": upload_id},
        )
    except Exception as exc:
        svc.metadata.update(
            path,
            {
                "status": FAILED,
                "error": {"code": "session_not_created", "message": "the upload session could not be created"},
            },
        )
        raise Unavailable("the upload session could not be created; retry") from exc
    return Upload(upload_id, scope.tenant_id, record), url


# -- reading --------------------------------------------------------------------------------------------


def find_upload(store: MetadataStore, scope: TenantScope, upload_id: str) -> Upload | None:
    if not naming.UPLOAD_ID.match(upload_id):
        return None
    data = store.get(upload_path(scope, upload_id))
    return None if data is None else Upload(upload_id, scope.tenant_id, data)


def get_upload(store: MetadataStore, scope: TenantScope, upload_id: str) -> Upload:
    """The caller's tenant's upload, or 404 (another tenant's ids are simply not found)."""
    upload = find_upload(store, scope, upload_id)
    if upload is None:
        raise NotFound("no such upload")
    return upload


def files_query(upload: Upload, *, limit: int, starting_after: int | None = None) -> Query:
    """Files in order of position; only those of the current job (``index < counts.files``)."""
    count = int((upload.record.get("counts") or {}).get("files", 0))
    return Query(
        collection=upload.scope.collection(UPLOADS, upload.id, FILES),
        filters=(Filter("index", "<", count),),
        order_by=(("index", "asc"),),
        limit=limit,
        start_after=None if starting_after is None else (starting_after,),
    )


def list_files(
    store: MetadataStore, upload: Upload, *, limit: int, starting_after: int | None = None
) -> tuple[list[FileOutcome], bool]:
    """Up to ``limit`` file outcomes after position ``starting_after``, and whether more follow."""
    docs = store.query(files_query(upload, limit=limit + 1, starting_after=starting_after))
    files = [FileOutcome.from_record(doc.data) for doc in docs]
    return files[:limit], len(files) > limit


def write_files(store: MetadataStore, upload: Upload, outcomes: list[FileOutcome]) -> None:
    """Record outcomes (idempotent: a file's document is keyed by its position)."""
    writes = [Write("set", file_path(upload.scope, upload.id, o.index), o.to_record()) for o in outcomes]
    for start in range(0, len(writes), FILES_PER_BATCH):
        store.commit(writes[start : start + FILES_PER_BATCH])
