"""The dashboard's first-party OAuth client of each tenant (a *workspace*).

The dashboard signs people in with the product's own authorization code flow with PKCE
(RFC 6749 §4.1, RFC 7636). Users and OAuth clients belong to one tenant, and sign-in
checks the user in the client's tenant, so each tenant whose people use the dashboard has
one first-party **public** client: no secret, PKCE required, all scopes (a token still gets
only what the user's role allows), and the one redirect URI
``<BEAMIT_PUBLIC_URL>/dashboard/callback``, matched exactly. Provisioning registers it
(``make dev`` and the test stack for their tenants; ``beamit dashboard register`` in
production) and the tenant document names it. The page asks which workspace (tenant id)
to sign in to and looks its client up here (``GET /dashboard/api/workspaces/{tenant}``).
"""

from __future__ import annotations

from dataclasses import dataclass

from beamit.auth.oauth.clients import OAuthClient, create_client, find_client
from beamit.storage import MetadataStore
from beamit.tenancy import TENANT_ID, TenantScope, get_tenant, set_dashboard_client

CLIENT_NAME = "BeamIt dashboard"
CALLBACK_PATH = "/dashboard/callback"


def redirect_uri(public_base_url: str) -> str:
    return public_base_url.rstrip("/") + CALLBACK_PATH


@dataclass(frozen=True)
class Workspace:
    tenant_id: str
    name: str
    client: OAuthClient


def register_dashboard_client(store: MetadataStore, tenant_id: str, public_base_url: str, *,
                              created_by: str) -> OAuthClient:
    """The tenant's dashboard client: the registered one if it is active and redirects to
    this base URL, else a new one, which the tenant then names (the old one stays usable
    until it is revoked, so a change of domain does not sign anyone out)."""
    tenant = get_tenant(store, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id!r}")
    uri = redirect_uri(public_base_url)
    current = find_client(store, tenant.dashboard_client_id) if tenant.dashboard_client_id else None
    if current is not None and current.public and current.redirect_uris == (uri,):
        return current
    issued = create_client(store, TenantScope(tenant_id), name=CLIENT_NAME, redirect_uris=[uri], public=True,
                           created_by=created_by)
    set_dashboard_client(store, tenant_id, issued.client.client_id)
    return issued.client


def find_workspace(store: MetadataStore, tenant_id: str) -> Workspace | None:
    """The workspace of ``tenant_id``, if the tenant exists and has an active dashboard client."""
    if not isinstance(tenant_id, str) or not TENANT_ID.match(tenant_id):
        return None
    tenant = get_tenant(store, tenant_id)
    if tenant is None or tenant.dashboard_client_id is None:
        return None
    client = find_client(store, tenant.dashboard_client_id)
    if client is None or client.tenant_id != tenant_id:
        return None
    return Workspace(tenant_id, tenant.name, client)
