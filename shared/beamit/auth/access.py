"""Ending access (HIPAA §164.308(a)(3)(ii)(C), termination procedures): disable and enable a
user, revoke an OAuth client, list and revoke a user's grants.

Each operation first changes the user or client record, which sign-in, code redemption,
refresh and client lookup read, then revokes the grants it ends
(:func:`beamit.auth.oauth.grants.revoke_grants`), which every request's one batched read of
its token and grant sees. In that order a sign-in racing the change cannot leave a live
grant behind: a grant created after the sweep started is refused when its code is redeemed.
A call that fails half way is repeated as it is (each step is idempotent).

API keys are not users' credentials: revoke them with ``DELETE /v1/api-keys/{id}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from beamit.auth import users
from beamit.auth.oauth import clients, grants
from beamit.auth.oauth.tokens import GRANT_LIFETIME
from beamit.clock import utcnow
from beamit.errors import Forbidden
from beamit.storage import MetadataStore
from beamit.tenancy import TenantScope


@dataclass(frozen=True)
class Ended:
    """What an operation ended: the grants it revoked now."""

    revoked_grants: int


def disable_user(store: MetadataStore, tenant: TenantScope, user_id: str, *, by: str,
                 grantor_scopes: frozenset[str] | None = None) -> tuple[users.User, Ended]:
    """Disable the user and revoke every grant: the user's tokens stop at the next request."""
    user = users.set_disabled(store, tenant, user_id, True, by=by, grantor_scopes=grantor_scopes)
    revoked = grants.revoke_grants(store, tenant, user_id=user.id, reason="user_disabled")
    return user, Ended(revoked)


def enable_user(store: MetadataStore, tenant: TenantScope, user_id: str, *, by: str,
                grantor_scopes: frozenset[str] | None = None) -> users.User:
    """Let the user sign in again. Grants revoked when the user was disabled stay revoked."""
    return users.set_disabled(store, tenant, user_id, False, by=by, grantor_scopes=grantor_scopes)


def revoke_client(store: MetadataStore, tenant: TenantScope, client_id: str, *, by: str,
                  grantor_scopes: frozenset[str] | None = None) -> tuple[clients.OAuthClient, Ended]:
    """Revoke the client for good (the authorization server no longer finds it) and every
    grant issued to it. Revoking a revoked client repeats the sweep and changes nothing else."""
    client = clients.get_client(store, tenant, client_id)
    if grantor_scopes is not None and not client.scopes <= grantor_scopes:
        missing = ", ".join(sorted(client.scopes - grantor_scopes))
        raise Forbidden(f"cannot revoke a client with scopes the caller does not hold: {missing}")
    if client.revoked_at is None:
        store.update(f"{clients.COLLECTION}/{client_id}", {"revokedAt": utcnow(), "revokedBy": by})
        client = clients.get_client(store, tenant, client_id)
    revoked = grants.revoke_grants(store, tenant, client_id=client_id, reason="client_revoked")
    return client, Ended(revoked)


def user_grants(store: MetadataStore, tenant: TenantScope, user_id: str,
                lifetime: timedelta = GRANT_LIFETIME) -> list[grants.Grant]:
    """The user's grants that are not revoked, newest first (404 for an unknown user)."""
    users.get_user(store, tenant, user_id)
    return grants.list_user_grants(store, tenant, user_id, lifetime)


def revoke_user_grants(store: MetadataStore, tenant: TenantScope, user_id: str, *,
                       grantor_scopes: frozenset[str] | None = None) -> Ended:
    """Revoke every grant of the user (the user may sign in again: to stop that, disable)."""
    users.require_grantor(users.get_user(store, tenant, user_id), grantor_scopes)
    return Ended(grants.revoke_grants(store, tenant, user_id=user_id, reason="revoked_by_admin"))


def revoke_user_grant(store: MetadataStore, tenant: TenantScope, user_id: str, grant_id: str, *,
                      grantor_scopes: frozenset[str] | None = None,
                      lifetime: timedelta = GRANT_LIFETIME) -> grants.Grant:
    """Revoke one grant of the user (``grt_...``)."""
    users.require_grantor(users.get_user(store, tenant, user_id), grantor_scopes)
    return grants.revoke_user_grant(store, tenant, user_id, grant_id, reason="revoked_by_admin", lifetime=lifetime)
