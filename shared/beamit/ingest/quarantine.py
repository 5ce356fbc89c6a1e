"""The quarantine bucket: files ingest refused, kept with the reason, never deleted outright.

Each quarantined object has a JSON sidecar ``{object}.reason.json`` (the reason code, the
DICOM failure reason when there is one, the message, the upload and the file's name in it);
objects written from bytes also carry the reason as object metadata. Whole inbox objects
are *moved*: copied here first, deleted from the inbox only after the job record that
names their quarantine copy is committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, BinaryIO

from beamit.clock import rfc3339, utcnow
from beamit.storage import Services
from beamit.uploads import naming

MAX_METADATA_MESSAGE = 512


@dataclass(frozen=True)
class Reason:
    """Why a file is quarantined: ``code`` (e.g. ``not_dicom``, ``upload_expired``), the DICOM
    FailureReason when an instance was refused, and a message without PHI."""

    code: str
    message: str
    failure_reason: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "failureReason": self.failure_reason, "message": self.message}


def object_uri(bucket: str, name: str) -> str:
    return f"gs://{bucket}/{name}"


def _sidecar(svc: Services, bucket: str, name: str, reason: Reason, context: dict[str, Any]) -> None:
    body = {"object": name, "reason": reason.to_json(), "quarantinedAt": rfc3339(utcnow()), **context}
    svc.blobs.put(
        bucket,
        naming.sidecar(name),
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
    )


def put_file(svc: Services, name: str, data: BinaryIO, reason: Reason, context: dict[str, Any]) -> str:
    """Quarantine bytes (a refused archive member) as ``name``; returns its ``gs://`` URI."""
    bucket = svc.settings.bucket("quarantine")
    metadata = {"reason": reason.code, "message": reason.message[:MAX_METADATA_MESSAGE]}
    if reason.failure_reason is not None:
        metadata["failureReason"] = f"{reason.failure_reason:04X}"
    for key in ("tenantId", "uploadId"):
        if context.get(key):
            metadata[key] = str(context[key])
    svc.blobs.put(bucket, name, data, content_type="application/octet-stream", metadata=metadata)
    _sidecar(svc, bucket, name, reason, context)
    return object_uri(bucket, name)


def copy_object(
    svc: Services, source_bucket: str, source_name: str, name: str, reason: Reason, context: dict[str, Any]
) -> str:
    """Copy a whole inbox object here as ``name`` (the caller deletes the original once its
    job record is committed); returns the copy's ``gs://`` URI."""
    bucket = svc.settings.bucket("quarantine")
    svc.blobs.copy(source_bucket, source_name, bucket, name)
    _sidecar(svc, bucket, name, reason, {"inboxObject": source_name, **context})
    return object_uri(bucket, name)
