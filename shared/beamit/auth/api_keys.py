"""API keys for server-to-server calls.

A key reads ``bk_<env>_<key id>_<secret>``: the key id names the stored record
(``api_keys/{key id}``, resource id ``key_<key id>``) and the 256-bit secret is kept
only as its SHA-256 digest (a fast hash is right for a high-entropy random secret;
a password KDF is for low-entropy passwords). Verification compares digests in
constant time and reads the record on every request, so a revocation applies at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beamit.auth.principal import Principal, RejectedCredential
from beamit.auth.scopes import parse_scopes
from beamit.clock import utcnow
from beamit.errors import Forbidden, NotFound, Unauthenticated
from beamit.ids import random_token
from beamit.storage import Filter, MetadataStore, Query
from beamit.tenancy import TenantScope

KEY_PATTERN = re.compile(r"^bk_(local|sandbox|live)_([a-z0-9]{16})_([a-z2-7]{52})$")
COLLECTION = "api_keys"
REMEMBERED_KEYS = 10_000
"""Keys whose last principal a process remembers (:func:`remembered_principal`)."""
_remembered: dict[str, tuple[str, Principal]] = {}  # key id -> (secret digest, principal)


@dataclass(frozen=True)
class ApiKey:
    id: str
    tenant_id: str
    name: str
    scopes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None
    hint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "api_key",
            "name": self.name,
            "scopes": sorted(self.scopes),
            "hint": self.hint,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
            "revokedAt": self.revoked_at.isoformat().replace("+00:00", "Z") if self.revoked_at else None,
            "status": "revoked" if self.revoked_at else "active",
        }


@dataclass(frozen=True)
class IssuedKey:
    """A key as created: the secret ``token`` is shown to the caller once, never again."""

    key: ApiKey
    token: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _from_record(key_id: str, data: dict[str, Any]) -> ApiKey:
    return ApiKey(
        id=f"key_{key_id}",
        tenant_id=data["tenantId"],
        name=data.get("name", ""),
        scopes=frozenset(data.get("scopes", [])),
        created_at=data["createdAt"],
        revoked_at=data.get("revokedAt"),
        hint=data.get("hint", ""),
    )


def _raw_id(key_id: str) -> str:
    raw = key_id.removeprefix("key_")
    if not re.fullmatch(r"[a-z0-9]{16}", raw):
        raise NotFound("no such API key")
    return raw


def create_key(
    store: MetadataStore,
    *,
    env_prefix: str,
    tenant: TenantScope,
    name: str,
    scopes: frozenset[str] | list[str] | str,
    created_by: str,
    grantor_scopes: frozenset[str] | None = None,
) -> IssuedKey:
    """Issue a key bound to ``tenant`` with ``scopes``.

    ``grantor_scopes`` (the caller's own scopes, when created through the API) bounds
    what can be granted: a key never gets a scope its creator lacks.
    """
    wanted = scopes if isinstance(scopes, frozenset) else parse_scopes(scopes)
    if not wanted:
        raise ValueError("an API key needs at least one scope")
    if grantor_scopes is not None and not wanted <= grantor_scopes:
        missing = ", ".join(sorted(wanted - grantor_scopes))
        raise Forbidden(f"cannot grant scopes the caller does not hold: {missing}")
    key_id = random_token(16)
    secret = base64.b32encode(secrets.token_bytes(32)).decode("ascii").rstrip("=").lower()
    token = f"{env_prefix}{key_id}_{secret}"
    record = {
        "tenantId": tenant.tenant_id,
        "name": name,
        "scopes": sorted(wanted),
        "secretSha256": _digest(secret),
        "hint": f"{env_prefix}{key_id}_…{secret[-4:]}",
        "createdAt": utcnow(),
        "createdBy": created_by,
        "revokedAt": None,
    }
    store.create(f"{COLLECTION}/{key_id}", record)
    return IssuedKey(_from_record(key_id, record), token)


def authenticate_key(store: MetadataStore, token: str) -> Principal:
    """Resolve a presented key to its principal, or raise :class:`Unauthenticated`."""
    match = KEY_PATTERN.match(token)
    if not match:
        raise Unauthenticated("malformed API key")
    _, key_id, secret = match.groups()
    data = store.get(f"{COLLECTION}/{key_id}")
    # Compare a digest even when the record is missing so timing does not reveal ids.
    expected = data.get("secretSha256", "") if data else "0" * 64
    valid = hmac.compare_digest(_digest(secret), expected)
    if not data or not valid:
        raise Unauthenticated("invalid or revoked API key")
    principal = Principal(
        tenant_id=data["tenantId"],
        scopes=frozenset(data.get("scopes", [])),
        kind="api_key",
        credential_id=f"key_{key_id}",
    )
    if data.get("revokedAt") is not None:
        _remembered.pop(key_id, None)
        raise RejectedCredential("invalid or revoked API key", principal)
    if len(_remembered) >= REMEMBERED_KEYS:
        _remembered.clear()
    _remembered[key_id] = (_digest(secret), principal)
    return principal


def remembered_principal(token: str) -> Principal | None:
    """The principal this process last resolved ``token`` to, without reading the store; ``None``
    if it has not (or the token is not an API key).

    Only a guess that lets a read start early: a key's tenant never changes, but it may have been
    revoked since, so :func:`authenticate_key` must still confirm it before anything is answered
    (:meth:`beamit.web.router.Router.dispatch` runs both at once for reads)."""
    match = KEY_PATTERN.match(token)
    if not match:
        return None
    _, key_id, secret = match.groups()
    found = _remembered.get(key_id)
    if found is None or not hmac.compare_digest(found[0], _digest(secret)):
        return None
    return found[1]


def list_keys(store: MetadataStore, tenant: TenantScope) -> list[ApiKey]:
    docs = store.query(
        Query(
            collection=COLLECTION,
            filters=(Filter("tenantId", "==", tenant.tenant_id),),
            order_by=(("createdAt", "desc"),),
            limit=200,
        )
    )
    return [_from_record(doc.id, doc.data) for doc in docs]


def get_key(store: MetadataStore, tenant: TenantScope, key_id: str) -> ApiKey:
    raw = _raw_id(key_id)
    data = store.get(f"{COLLECTION}/{raw}")
    if data is None or data.get("tenantId") != tenant.tenant_id:
        raise NotFound("no such API key")
    return _from_record(raw, data)


def revoke_key(store: MetadataStore, tenant: TenantScope, key_id: str) -> ApiKey:
    key = get_key(store, tenant, key_id)
    if key.revoked_at is None:
        store.update(f"{COLLECTION}/{_raw_id(key_id)}", {"revokedAt": utcnow()})
    return get_key(store, tenant, key_id)
