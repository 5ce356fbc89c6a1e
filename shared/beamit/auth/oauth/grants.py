"""Grants: a user's authorizations of OAuth clients, listed and revoked.

A grant (``oauth_grants/{grant}``, written by :func:`beamit.auth.oauth.tokens.save_code`) is
the family of every code, access and refresh token issued from one sign-in. Its API id is
``grt_<grant>``. Every request with an access token reads the token and its grant in one
batch, so revoking a grant (``revokedAt``) stops all its tokens at the next request; ending a
user's or a client's access is revoking their grants (:func:`revoke_grants`), which costs one
query and one batch of writes per 500 live grants, once, and nothing per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beamit.auth.oauth.tokens import GRANT_LIFETIME, GRANTS, Clock, grant_end, grant_path
from beamit.clock import rfc3339, utcnow
from beamit.errors import NotFound
from beamit.storage import Filter, MetadataStore, Query, Write
from beamit.tenancy import TenantScope

ID_PREFIX = "grt_"
_GRANT_ID = re.compile(r"^grt_([a-z0-9]{20})$")
LISTED = 200
BATCH = 500


@dataclass(frozen=True)
class Grant:
    id: str
    tenant_id: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    created_at: datetime
    ends_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.ends_at else "active"

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "id": f"{ID_PREFIX}{self.id}",
            "object": "oauth_grant",
            "clientId": self.client_id,
            "userId": self.user_id,
            "scopes": list(self.scopes),
            "createdAt": rfc3339(self.created_at),
            "endsAt": rfc3339(self.ends_at),
            "revokedAt": rfc3339(self.revoked_at) if self.revoked_at else None,
            "revokedReason": self.revoked_reason,
            "status": self.status(now),
        }


def _from_record(grant_id: str, data: dict[str, Any], lifetime: timedelta) -> Grant:
    return Grant(
        id=grant_id,
        tenant_id=data["tenantId"],
        client_id=data["clientId"],
        user_id=data["userId"],
        scopes=tuple(data.get("scopes", ())),
        created_at=data["createdAt"],
        ends_at=grant_end(data, lifetime),
        revoked_at=data.get("revokedAt"),
        revoked_reason=data.get("revokedReason"),
    )


def live_grants_query(tenant: TenantScope, *, user_id: str | None = None, client_id: str | None = None,
                      newest_first: bool = False, limit: int = BATCH) -> Query:
    """The grants of ``tenant`` not revoked yet, of one user or one client. Unordered (to
    revoke them) it is equalities only, served by single-field indexes; newest first (to
    list them) it needs the composite index declared in Terraform."""
    filters = [Filter("tenantId", "==", tenant.tenant_id)]
    if user_id is not None:
        filters.append(Filter("userId", "==", user_id))
    if client_id is not None:
        filters.append(Filter("clientId", "==", client_id))
    filters.append(Filter("revokedAt", "==", None))
    return Query(collection=GRANTS, filters=tuple(filters),
                 order_by=(("createdAt", "desc"),) if newest_first else (), limit=limit)


def list_user_grants(store: MetadataStore, tenant: TenantScope, user_id: str,
                     lifetime: timedelta = GRANT_LIFETIME) -> list[Grant]:
    """The user's grants that are not revoked (active, or past their lifetime), newest first."""
    docs = store.query(live_grants_query(tenant, user_id=user_id, newest_first=True, limit=LISTED))
    return [_from_record(doc.id, doc.data, lifetime) for doc in docs]


def revoke_grants(store: MetadataStore, tenant: TenantScope, *, reason: str, user_id: str | None = None,
                  client_id: str | None = None, clock: Clock = utcnow) -> int:
    """Revoke every live grant of a user or a client of ``tenant``; returns how many. Safe to
    repeat (a retry after a failure finishes the job)."""
    if user_id is None and client_id is None:
        raise ValueError("name a user or a client")
    revoked = 0
    while True:
        docs = store.query(live_grants_query(tenant, user_id=user_id, client_id=client_id))
        if not docs:
            return revoked
        now = clock()
        store.commit([Write("update", grant_path(doc.id), {"revokedAt": now, "revokedReason": reason})
                      for doc in docs])
        revoked += len(docs)


def revoke_user_grant(store: MetadataStore, tenant: TenantScope, user_id: str, grant_id: str, *, reason: str,
                      lifetime: timedelta = GRANT_LIFETIME, clock: Clock = utcnow) -> Grant:
    """Revoke one grant of the user (``grt_...``); 404 for anyone else's. Revoking a revoked
    grant changes nothing."""
    match = _GRANT_ID.match(grant_id)
    data = store.get(grant_path(match.group(1))) if match else None
    if match is None or data is None or data.get("tenantId") != tenant.tenant_id or data.get("userId") != user_id:
        raise NotFound("no such grant")
    if data.get("revokedAt") is None:
        data = {**data, "revokedAt": clock(), "revokedReason": reason}
        store.update(grant_path(match.group(1)), {"revokedAt": data["revokedAt"], "revokedReason": reason})
    return _from_record(match.group(1), data, lifetime)
