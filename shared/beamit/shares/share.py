"""The share document and its API representation.

``tenants/{t}/shares/{share_id}`` holds the share: studies, recipient (E.164), message,
the code's keyed digest (never the code), status, expiry, view statistics and the
verification state. ``share_codes/{digest}`` is the directory the public viewer resolves a
code through (the URL names no tenant): ``tenantId``, ``shareId``, ``expiresAt`` and
``state`` (``active`` until the share is revoked, locked or expired), which is also what
the scheduled expiry sweep queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beamit.clock import rfc3339, utcnow
from beamit.errors import NotFound
from beamit.shares.fields import mask_phone
from beamit.tenancy import TenantScope

SHARES = "shares"
CODES = "share_codes"
ACTIVE, REVOKED, EXPIRED, LOCKED = "active", "revoked", "expired", "locked"
STATUSES = (ACTIVE, REVOKED, EXPIRED, LOCKED)
MAX_VERIFICATION_FAILURES = 5


def share_path(scope: TenantScope, share_id: str) -> str:
    if not share_id.startswith("share_"):
        raise NotFound("no such share")
    try:
        return scope.document(SHARES, share_id)
    except ValueError:
        raise NotFound("no such share") from None


def code_path(digest: str) -> str:
    return f"{CODES}/{digest}"


@dataclass(frozen=True)
class Share:
    id: str
    tenant_id: str
    studies: tuple[str, ...]
    recipient_phone: str
    message: str
    status: str
    created_at: datetime
    expires_at: datetime
    allow_download: bool
    max_views: int | None
    view_count: int
    first_access_at: datetime | None
    last_access_at: datetime | None
    verification_failures: int
    revoked_at: datetime | None
    locked_at: datetime | None
    code_digest: str
    reset_at: datetime | None = None
    """When the owner last unlocked or re-issued the share: one-time codes sent before are void."""
    reissued_at: datetime | None = None
    """When the owner last re-issued the code: viewer sessions opened before have ended."""

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Share:
        views = record.get("views") or {}
        verification = record.get("verification") or {}
        return cls(
            id=record["id"],
            tenant_id=record["tenantId"],
            studies=tuple(record["studies"]),
            recipient_phone=record["recipientPhone"],
            message=record.get("message", ""),
            status=record["status"],
            created_at=record["createdAt"],
            expires_at=record["expiresAt"],
            allow_download=bool(record.get("allowDownload")),
            max_views=record.get("maxViews"),
            view_count=int(views.get("count") or 0),
            first_access_at=views.get("firstAccessAt"),
            last_access_at=views.get("lastAccessAt"),
            verification_failures=int(verification.get("failures") or 0),
            revoked_at=record.get("revokedAt"),
            locked_at=verification.get("lockedAt"),
            code_digest=record["codeDigest"],
            reset_at=verification.get("resetAt"),
            reissued_at=record.get("reissuedAt"),
        )

    def effective_status(self, now: datetime | None = None) -> str:
        """``expired`` as soon as the expiry passes, before the sweep records it."""
        if self.status == ACTIVE and self.expires_at <= (now or utcnow()):
            return EXPIRED
        return self.status

    @property
    def views_exhausted(self) -> bool:
        return self.max_views is not None and self.view_count >= self.max_views

    def to_json(self) -> dict[str, Any]:
        def time(value: datetime | None) -> str | None:
            return rfc3339(value) if value is not None else None

        return {
            "id": self.id,
            "object": "share",
            "studyId": self.studies[0],
            "studyIds": list(self.studies),
            "recipientPhone": mask_phone(self.recipient_phone),
            "message": self.message,
            "status": self.effective_status(),
            "createdAt": time(self.created_at),
            "expiresAt": time(self.expires_at),
            "revokedAt": time(self.revoked_at),
            "reissuedAt": time(self.reissued_at),
            "allowDownload": self.allow_download,
            "maxViews": self.max_views,
            "views": {
                "count": self.view_count,
                "firstAccessAt": time(self.first_access_at),
                "lastAccessAt": time(self.last_access_at),
            },
            "verification": {
                "failures": self.verification_failures,
                "maxFailures": MAX_VERIFICATION_FAILURES,
                "lockedAt": time(self.locked_at),
            },
        }


def event_data(share: Share) -> dict[str, Any]:
    """The fields every share event carries (docs/sharing.md): ids and times, no PHI values."""
    return {
        "shareId": share.id,
        "studyInstanceUID": share.studies[0],
        "studyInstanceUIDs": list(share.studies),
        "expiresAt": rfc3339(share.expires_at),
    }
