"""Tenants: health systems and integrators, each an isolated namespace of data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beamit.clock import utcnow
from beamit.storage import AlreadyExists, MetadataStore
from beamit.tenancy import TenantScope


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    dashboard_client_id: str | None = None  # the dashboard's first-party OAuth client (beamit.dashboard)


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
    return Tenant(tenant_id, str(data.get("name", "")), data.get("dashboardClientId"))


def set_dashboard_client(store: MetadataStore, tenant_id: str, client_id: str) -> None:
    """Name the tenant's dashboard client (``beamit.dashboard.workspaces``)."""
    store.update(TenantScope(tenant_id).root, {"dashboardClientId": client_id})


def ensure_tenant(store: MetadataStore, tenant_id: str, name: str) -> Tenant:
    """Create the tenant unless it exists (used by bootstrap and the sandbox)."""
    existing = get_tenant(store, tenant_id)
    return existing if existing is not None else create_tenant(store, tenant_id, name)
