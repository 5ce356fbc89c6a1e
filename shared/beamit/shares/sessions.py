"""The viewer session: short-lived, share-scoped, kept server-side as a digest.

After the recipient proves they hold the phone (:mod:`beamit.shares.access`), the viewer
gets a 256-bit random token in the cookie ``__Host-beamit_share`` (``HttpOnly; Secure;
SameSite=Strict; Path=/``: never readable by scripts, never sent cross-site, bound to
this host). ``share_sessions/{sha256(token)}`` holds the session: the share, its tenant
and studies, ``lastSeenAt`` (idle expiry, ``BEAMIT_SHARE_SESSION_IDLE_SECONDS``, 15 min)
and ``absoluteExpiresAt`` (``BEAMIT_SHARE_SESSION_MAX_SECONDS``, 2 h, never past the
share's own expiry). Every request re-reads the share too, so a revocation (or a re-issued
code) ends every session at once.

The session authenticates as a :class:`SharePrincipal`: ``kind="share_session"``, the one
scope ``studies:read``, the share's tenant, and the allow-list of the shared studies,
which viewer routes address only by their index in the share (``/s/api/studies/0/...``):
:meth:`SharePrincipal.study` is the one place a request is mapped to a study.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beamit.auth.principal import Principal
from beamit.auth.scopes import STUDIES_READ
from beamit.clock import utcnow
from beamit.errors import Forbidden, NotFound, Unauthenticated
from beamit.ids import new_id
from beamit.shares.share import ACTIVE, Share, share_path
from beamit.storage import Services
from beamit.tenancy import TenantScope

COOKIE = "__Host-beamit_share"
SESSIONS = "share_sessions"
TOUCH_EVERY = timedelta(seconds=30)  # lastSeenAt is rewritten at most this often (no hot document)


class SessionEnded(Unauthenticated):
    code = "session_ended"


@dataclass(frozen=True)
class SharePrincipal(Principal):
    share_id: str = ""
    studies: tuple[str, ...] = ()
    allow_download: bool = False

    def study(self, index: int) -> str:
        """The StudyInstanceUID at ``index`` of the share: the allow-list check of every read."""
        if not 0 <= index < len(self.studies):
            raise NotFound("no such study in this share")
        return self.studies[index]

    def require_download(self) -> None:
        if not self.allow_download:
            raise Forbidden("this share does not allow downloads", code="download_not_allowed")


def session_path(token: str) -> str:
    return f"{SESSIONS}/{hashlib.sha256(token.encode('utf-8')).hexdigest()}"


def principal_for(share: Share, session_id: str) -> SharePrincipal:
    return SharePrincipal(
        tenant_id=share.tenant_id,
        scopes=frozenset({STUDIES_READ}),
        kind="share_session",
        credential_id=session_id,
        subject=share.id,
        share_id=share.id,
        studies=share.studies,
        allow_download=share.allow_download,
    )


@dataclass(frozen=True)
class IssuedSession:
    token: str
    id: str
    record: dict[str, Any]
    path: str

    @property
    def expires_at(self) -> datetime:
        return self.record["absoluteExpiresAt"]  # type: ignore[no-any-return]


def new_session(svc: Services, share: Share, now: datetime) -> IssuedSession:
    """A session record (written by the caller, in the transaction that counts the view)."""
    token = secrets.token_urlsafe(32)
    session_id = new_id("ssn", 20)
    maximum = now + timedelta(seconds=svc.settings.share_session_max_seconds)
    record = {
        "id": session_id,
        "tenantId": share.tenant_id,
        "shareId": share.id,
        "createdAt": now,
        "lastSeenAt": now,
        "idleSeconds": svc.settings.share_session_idle_seconds,
        "absoluteExpiresAt": min(maximum, share.expires_at),
    }
    return IssuedSession(token, session_id, record, session_path(token))


def idle_expires_at(record: dict[str, Any]) -> datetime:
    return record["lastSeenAt"] + timedelta(seconds=int(record["idleSeconds"]))  # type: ignore[no-any-return]


def resolve_session(svc: Services, token: str | None, *, touch: bool) -> tuple[SharePrincipal, dict[str, Any]]:
    """The principal of a session cookie, or :class:`SessionEnded` (401)."""
    if not token or len(token) > 100:
        raise SessionEnded("no viewer session; open the share link again")
    path = session_path(token)
    record = svc.metadata.get(path)
    now = utcnow()
    if record is None or record.get("endedAt") is not None:
        raise SessionEnded("the viewer session has ended")
    if now >= record["absoluteExpiresAt"] or now >= idle_expires_at(record):
        raise SessionEnded("the viewer session has ended")
    share_record = svc.metadata.get(share_path(TenantScope(record["tenantId"]), record["shareId"]))
    if share_record is None:
        raise SessionEnded("the viewer session has ended")
    share = Share.from_record(share_record)
    if share.effective_status(now) != ACTIVE:
        raise SessionEnded("the share is no longer available")
    if share.reissued_at is not None and record["createdAt"] < share.reissued_at:
        raise SessionEnded("the link was replaced by a new one")
    if touch and now - record["lastSeenAt"] >= TOUCH_EVERY:
        svc.metadata.update(path, {"lastSeenAt": now})
        record = {**record, "lastSeenAt": now}
    return principal_for(share, record["id"]), record


def end_session(svc: Services, token: str | None) -> None:
    if token and len(token) <= 100:
        svc.metadata.delete(session_path(token))
