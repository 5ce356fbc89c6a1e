"""OAuth 2.0 scopes (RFC 6749 §3.3) BeamIt endpoints declare and credentials carry."""

from __future__ import annotations

STUDIES_READ = "studies:read"
STUDIES_WRITE = "studies:write"
STUDIES_DELETE = "studies:delete"
SHARES_READ = "shares:read"
SHARES_WRITE = "shares:write"
WEBHOOKS_MANAGE = "webhooks:manage"
AUDIT_READ = "audit:read"
KEYS_MANAGE = "keys:manage"

ALL_SCOPES: frozenset[str] = frozenset(
    {STUDIES_READ, STUDIES_WRITE, STUDIES_DELETE, SHARES_READ, SHARES_WRITE, WEBHOOKS_MANAGE, AUDIT_READ, KEYS_MANAGE}
)


class UnknownScope(ValueError):
    """A requested scope is not one of :data:`ALL_SCOPES`."""


def parse_scopes(raw: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """Scopes from a space/comma separated string or a list; unknown scopes raise."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else [s.strip() for s in raw]
    scopes = frozenset(s for s in items if s)
    unknown = sorted(scopes - ALL_SCOPES)
    if unknown:
        raise UnknownScope(f"unknown scope(s): {', '.join(unknown)}")
    return scopes
