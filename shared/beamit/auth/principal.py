"""The authenticated caller of a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from beamit.errors import Unauthenticated

CredentialKind = Literal["api_key", "oauth", "share_session"]


@dataclass(frozen=True)
class Principal:
    """A credential resolved to its tenant and scopes.

    ``tenant_id`` is the only tenant this request may read or write: every repository
    takes it (through :class:`beamit.tenancy.TenantScope`), so no code path can cross it.
    """

    tenant_id: str
    scopes: frozenset[str]
    kind: CredentialKind
    credential_id: str
    subject: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class RejectedCredential(Unauthenticated):
    """A genuine credential that no longer works (revoked, expired): refused like any
    other, but whose tenant is known, so the router audits the attempt."""

    def __init__(self, message: str, principal: Principal) -> None:
        super().__init__(message)
        self.principal = principal
