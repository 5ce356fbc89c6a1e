"""Tenants, and the scoping of every stored document: the one place tenant isolation lives.

A tenant is a health system or integrator, each an isolated namespace of data.

All tenant data sits under ``tenants/{tenant_id}/...`` in Firestore and under
``{tenant_id}/...`` in buckets. Repositories build their paths only through a
:class:`TenantScope`, which they get from the authenticated principal, so a request of
tenant A cannot name a document of tenant B: B's ids simply are not found (404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from beamit.clock import utcnow
from beamit.storage import AlreadyExists, MetadataStore

TENANTS = "tenants"
"""The collection of tenant documents; each tenant's data sits under its document."""
TENANT_ID = re.compile(r"^[a-z][a-z0-9-]{2,39}$")


class InvalidTenantId(ValueError):
    pass


@dataclass(frozen=True)
class TenantScope:
    tenant_id: str

    def __post_init__(self) -> None:
        if not TENANT_ID.match(self.tenant_id):
            raise InvalidTenantId("tenant ids are 3-40 characters: lowercase letters, digits, '-'")

    @property
    def root(self) -> str:
        return f"{TENANTS}/{self.tenant_id}"

    def collection(self, *parts: str) -> str:
        """Path of a tenant collection, e.g. ``collection("studies")``."""
        return "/".join((self.root, *parts))

    def document(self, *parts: str) -> str:
        """Path of a tenant document, e.g. ``document("studies", uid)``."""
        if any("/" in p or p in ("", ".", "..") for p in parts):
            raise ValueError("document path components must be single, non-empty segments")
        return "/".join((self.root, *parts))

    def blob_prefix(self) -> str:
        return f"{self.tenant_id}/"

    @classmethod
    def of_document(cls, path: str) -> tuple[TenantScope, str]:
        """The tenant a document path lies under and the path below its root (the inverse of
        :meth:`document`, for documents a collection-group query found across tenants)."""
        parts = path.split("/", 2)
        if len(parts) != 3 or parts[0] != "tenants":
            raise InvalidTenantId(f"not a tenant document: {path[:80]!r}")
        return cls(parts[1]), parts[2]


@dataclass(frozen=True)
class ApiKeyRateLimit:
    """The request budget of each of a tenant's API keys: ``requests`` per ``window_seconds``."""

    requests: int
    window_seconds: int = 60

    def __post_init__(self) -> None:
        if not (1 <= self.requests <= 10_000_000 and 1 <= self.window_seconds <= 86400):
            raise ValueError("an API key rate limit is 1 to 10,000,000 requests per 1 to 86,400 seconds")


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    dashboard_client_id: str | None = None  # the dashboard's first-party OAuth client (beamit.dashboard)
    api_key_rate_limit: ApiKeyRateLimit | None = None
    """``None``: the platform default (``BEAMIT_API_KEY_REQUESTS_PER_MINUTE``)."""


class TenantExists(Exception):
    pass


def create_tenant(store: MetadataStore, tenant_id: str, name: str) -> Tenant:
    scope = TenantScope(tenant_id)  # validates the id
    try:
        store.create(scope.root, {"name": name, "createdAt": utcnow()})
    except AlreadyExists as exc:
        raise TenantExists(tenant_id) from exc
    return Tenant(tenant_id, name)


def get_tenant(store: MetadataStore, tenant_id: str) -> Tenant | None:
    data: dict[str, Any] | None = store.get(TenantScope(tenant_id).root)
    if data is None:
        return None
    limit = data.get("apiKeyRateLimit") or None
    return Tenant(tenant_id, str(data.get("name", "")), data.get("dashboardClientId"),
                  ApiKeyRateLimit(int(limit["requests"]), int(limit["windowSeconds"])) if limit else None)


def set_dashboard_client(store: MetadataStore, tenant_id: str, client_id: str) -> None:
    """Name the tenant's dashboard client (``beamit.dashboard.workspaces``)."""
    store.update(TenantScope(tenant_id).root, {"dashboardClientId": client_id})


def set_api_key_rate_limit(store: MetadataStore, tenant_id: str, limit: ApiKeyRateLimit | None) -> None:
    """Set (``None``: reset to the platform default) the budget of each of the tenant's API keys."""
    value = {"requests": limit.requests, "windowSeconds": limit.window_seconds} if limit else None
    try:
        store.update(TenantScope(tenant_id).root, {"apiKeyRateLimit": value})
    except KeyError:
        raise ValueError(f"no tenant {tenant_id!r}") from None


def ensure_tenant(store: MetadataStore, tenant_id: str, name: str) -> Tenant:
    """Create the tenant unless it exists (used by bootstrap and the sandbox)."""
    existing = get_tenant(store, tenant_id)
    return existing if existing is not None else create_tenant(store, tenant_id, name)
