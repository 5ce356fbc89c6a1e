"""Roles of a tenant's users and the scopes each one may hold (RBAC).

An OAuth access token carries the scopes the client asked for, cut down to what the
client may ask for and to what the signed-in user's role allows (RFC 6749 §3.3: the
authorization server may issue fewer scopes than requested).
"""

from __future__ import annotations

from beamit.auth.scopes import (
    ALL_SCOPES,
    AUDIT_READ,
    SHARES_READ,
    SHARES_WRITE,
    STUDIES_READ,
    STUDIES_WRITE,
    WEBHOOKS_MANAGE,
)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": ALL_SCOPES,  # the only role that may hold studies:delete
    "clinician": frozenset({STUDIES_READ, SHARES_READ, SHARES_WRITE}),
    "integration": frozenset({STUDIES_READ, STUDIES_WRITE, SHARES_WRITE, WEBHOOKS_MANAGE}),
    "auditor": frozenset({AUDIT_READ}),
}

ROLES: tuple[str, ...] = tuple(ROLE_SCOPES)


class UnknownRole(ValueError):
    """A role that is not one of :data:`ROLES`."""


def role_scopes(role: str) -> frozenset[str]:
    """The scopes a user of ``role`` may hold; unknown roles raise :class:`UnknownRole`."""
    try:
        return ROLE_SCOPES[role]
    except KeyError:
        raise UnknownRole(f"unknown role {role!r}: one of {', '.join(ROLES)}") from None
