"""Object names of uploads: in the inbox bucket, and in the quarantine bucket.

Built and parsed in one place. The inbox name carries the tenant and the upload id, so
the ingest function finds the upload record from the name alone (and then checks that the
record names exactly this object).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

UPLOAD_ID = re.compile(r"^upl_[a-z0-9]{20}$")
_INBOX_OBJECT = re.compile(r"^uploads/(?P<tenant>[a-z][a-z0-9-]{2,39})/(?P<upload>upl_[a-z0-9]{20})/(?P<file>[^/]+)$")

ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
DICOM_TYPE = "application/dicom"


@dataclass(frozen=True)
class InboxObject:
    tenant_id: str
    upload_id: str


def inbox_object(tenant_id: str, upload_id: str, content_type: str) -> str:
    """``uploads/{tenant}/{upload id}/upload.{zip|dcm|bin}``: never the client's file name."""
    extension = "zip" if content_type in ZIP_TYPES else "dcm" if content_type == DICOM_TYPE else "bin"
    return f"uploads/{tenant_id}/{upload_id}/upload.{extension}"


def parse_inbox_object(name: str) -> InboxObject | None:
    """The tenant and upload an inbox object name claims, or None if it is not an upload's."""
    match = _INBOX_OBJECT.match(name)
    return None if match is None else InboxObject(match["tenant"], match["upload"])


def quarantined_upload(tenant_id: str, upload_id: str) -> str:
    """The whole uploaded object (an archive refused whole, or a single refused file)."""
    return f"{tenant_id}/{upload_id}/upload"


def quarantined_member(tenant_id: str, upload_id: str, index: int) -> str:
    """One refused member of an archive, by its position (member names stay in the records)."""
    return f"{tenant_id}/{upload_id}/files/{index:05d}"


def quarantined_superseded(tenant_id: str, upload_id: str, generation: int) -> str:
    """A second object written at an upload's name after its job ended."""
    return f"{tenant_id}/{upload_id}/superseded-{generation}"


def quarantined_unregistered(name: str, generation: int) -> str:
    """An inbox object no upload record names: keyed by a digest of its name (the name is in
    the sidecar), since its claimed tenant is not to be trusted."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return f"unregistered/{digest}-{generation}/object"


def sidecar(quarantine_object: str) -> str:
    """The JSON sidecar beside a quarantined object, holding why it is there."""
    return f"{quarantine_object}.reason.json"
