"""Registered OAuth clients (RFC 6749 §2).

A client is ``oauth_clients/{cli_...}`` (a top-level collection like ``api_keys``: the
authorization server finds a client by its id alone, then works in its tenant). It is
*public* (a browser or native app: no secret) or *confidential* (authenticates at the token
endpoint with ``client_secret_basic`` or ``client_secret_post``). Every client must use PKCE
S256 (RFC 9700 §2.1.1), unless a confidential client is registered with
``pkce_required=False`` (for integrations written to the documented request without it).

A revoked client (``revokedAt``, :func:`beamit.auth.access.revoke_client`) is not found by
the authorization server: no new codes, tokens or refreshes.

Client secrets are 256-bit random strings shown once at creation and kept only as their
SHA-256 digest, like API keys: a fast hash is right for a high-entropy secret, and the
server never needs the secret back (no ``client_secret_jwt``), so encrypting it with KMS
would only add a way to recover it.

Redirect URIs are registered in full and matched exactly, character for character
(RFC 6749 §3.1.2.3, RFC 9700 §4.1.3): ``https`` URLs, ``http`` on a loopback address
(RFC 8252 §7.3) or a private-use scheme (``com.example.app:/cb``, RFC 8252 §7.1); never a
fragment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from beamit.auth.scopes import ALL_SCOPES, parse_scopes
from beamit.clock import rfc3339, utcnow
from beamit.errors import Forbidden, NotFound
from beamit.ids import random_token
from beamit.storage import Filter, MetadataStore, Query
from beamit.tenancy import TenantScope

COLLECTION = "oauth_clients"
CLIENT_ID = re.compile(r"^cli_[a-z0-9]{24}$")
SECRET_PREFIX = "bcs_"
MAX_REDIRECT_URIS = 10
GRANT_TYPES = ("authorization_code", "refresh_token")
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class InvalidClientSpec(ValueError):
    """A client registration with a bad name, redirect URI or scope."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OAuthClient(ClientMixin):  # type: ignore[misc]
    client_id: str
    tenant_id: str
    name: str
    redirect_uris: tuple[str, ...]
    public: bool
    scopes: frozenset[str]
    created_at: datetime
    secret_sha256: str | None = None
    revoked_at: datetime | None = None
    pkce_required: bool = True

    # --- authlib.oauth2.rfc6749.ClientMixin -------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 6749 §3.1.2.3: with several registered URIs the request must name one.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may ask for (all of its scopes if none were
        requested, RFC 6749 §3.3); ``None`` (invalid_scope) if that leaves nothing."""
        wanted = set(scope_to_list(scope)) if scope else set(self.scopes)
        allowed = sorted(wanted & self.scopes)
        return " ".join(allowed) if allowed else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.public or not self.secret_sha256:
            return False
        return hmac.compare_digest(_digest(client_secret), self.secret_sha256)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none" if self.public else method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES

    # --- ours -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.client_id,
            "object": "oauth_client",
            "clientId": self.client_id,
            "name": self.name,
            "type": "public" if self.public else "confidential",
            "redirectUris": list(self.redirect_uris),
            "scopes": sorted(self.scopes),
            "tokenEndpointAuthMethods": ["none"] if self.public else list(CONFIDENTIAL_AUTH_METHODS),
            "pkceRequired": self.pkce_required,
            "createdAt": rfc3339(self.created_at),
            "revokedAt": rfc3339(self.revoked_at) if self.revoked_at else None,
            "status": "revoked" if self.revoked_at else "active",
        }


@dataclass(frozen=True)
class IssuedClient:
    """A client as registered: ``client_secret`` (confidential clients) is shown once."""

    client: OAuthClient
    client_secret: str | None


def validate_redirect_uri(uri: str) -> str:
    if not isinstance(uri, str) or not uri or len(uri) > 2000 or uri != uri.strip():
        raise InvalidClientSpec("a redirect URI is a non-empty absolute URI of at most 2000 characters")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise InvalidClientSpec(f"not a valid URI: {uri}") from None
    if parts.fragment or "#" in uri:
        raise InvalidClientSpec("a redirect URI must not contain a fragment (RFC 6749 section 3.1.2)")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname:
        try:
            loopback = parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return uri
        raise InvalidClientSpec("http redirect URIs are allowed only on a loopback address (RFC 8252 section 7.3)")
    if "." in parts.scheme and parts.scheme not in ("http", "https") and parts.path:
        return uri  # private-use scheme of a native app (RFC 8252 section 7.1)
    raise InvalidClientSpec(f"unsupported redirect URI: {uri}")


def _from_record(client_id: str, data: dict[str, Any]) -> OAuthClient:
    return OAuthClient(
        client_id=client_id,
        tenant_id=data["tenantId"],
        name=data.get("name", ""),
        redirect_uris=tuple(data.get("redirectUris", ())),
        public=bool(data.get("public")),
        scopes=frozenset(data.get("scopes", ())),
        created_at=data["createdAt"],
        secret_sha256=data.get("secretSha256"),
        revoked_at=data.get("revokedAt"),
        pkce_required=bool(data.get("public")) or data.get("pkceRequired", True) is not False,
    )


def create_client(
    store: MetadataStore,
    tenant: TenantScope,
    *,
    name: str,
    redirect_uris: list[str] | tuple[str, ...],
    public: bool,
    scopes: frozenset[str] | list[str] | str | None = None,
    created_by: str,
    grantor_scopes: frozenset[str] | None = None,
    pkce_required: bool = True,
) -> IssuedClient:
    """Register a client of ``tenant``; ``scopes`` (default: all, or all the grantor holds)
    bounds every token it can obtain. Raises :class:`InvalidClientSpec` or ``UnknownScope``."""
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise InvalidClientSpec("'name' is 1 to 100 characters")
    if public and not pkce_required:
        raise InvalidClientSpec("a public client always uses PKCE (it has no secret)")
    if not redirect_uris or len(redirect_uris) > MAX_REDIRECT_URIS:
        raise InvalidClientSpec(f"register 1 to {MAX_REDIRECT_URIS} redirect URIs")
    uris = tuple(dict.fromkeys(validate_redirect_uri(u) for u in redirect_uris))
    if scopes is None:
        allowed = ALL_SCOPES if grantor_scopes is None else ALL_SCOPES & grantor_scopes
    else:
        allowed = scopes if isinstance(scopes, frozenset) else parse_scopes(scopes)
    if not allowed:
        raise InvalidClientSpec("a client needs at least one scope")
    if grantor_scopes is not None and not allowed <= grantor_scopes:
        missing = ", ".join(sorted(allowed - grantor_scopes))
        raise Forbidden(f"cannot grant scopes the caller does not hold: {missing}")
    client_id = f"cli_{random_token(24)}"
    secret = None
    if not public:
        secret = SECRET_PREFIX + base64.b32encode(secrets.token_bytes(32)).decode("ascii").rstrip("=").lower()
    record = {
        "tenantId": tenant.tenant_id,
        "name": name.strip(),
        "redirectUris": list(uris),
        "public": public,
        "scopes": sorted(allowed),
        "secretSha256": _digest(secret) if secret else None,
        "createdAt": utcnow(),
        "createdBy": created_by,
        "revokedAt": None,
        "pkceRequired": pkce_required,
    }
    store.create(f"{COLLECTION}/{client_id}", record)
    return IssuedClient(_from_record(client_id, record), secret)


def find_client(store: MetadataStore, client_id: str | None) -> OAuthClient | None:
    """The active client with this id, in any tenant (the authorization server's lookup)."""
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        return None
    data = store.get(f"{COLLECTION}/{client_id}")
    if data is None or data.get("revokedAt") is not None:
        return None
    return _from_record(client_id, data)


def get_client(store: MetadataStore, tenant: TenantScope, client_id: str) -> OAuthClient:
    data = store.get(f"{COLLECTION}/{client_id}") if CLIENT_ID.match(client_id) else None
    if data is None or data.get("tenantId") != tenant.tenant_id:
        raise NotFound("no such OAuth client")
    return _from_record(client_id, data)


def list_clients_query(tenant: TenantScope) -> Query:
    return Query(
        collection=COLLECTION,
        filters=(Filter("tenantId", "==", tenant.tenant_id),),
        order_by=(("createdAt", "desc"),),
        limit=200,
    )


def list_clients(store: MetadataStore, tenant: TenantScope) -> list[OAuthClient]:
    return [_from_record(doc.id, doc.data) for doc in store.query(list_clients_query(tenant))]
