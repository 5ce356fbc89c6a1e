"""What a handler tells the audit record of its call: a typed note the router writes.

Each route declares its DICOM audit event code where it is registered
(``router.route(..., audit=INSTANCES_ACCESSED)``); the router hands the handler a fresh
:class:`AuditNote` with that code in ``ctx.audit``, the handler fills in what it touched, and
after the response the router appends the record (:func:`beamit.audit.calls.audit_call`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from beamit.audit.event_codes import APPLICATION_ACTIVITY

_RECORD_NAMES = {"api_key": "apiKey", "oauth_client": "oauthClient"}


@dataclass
class AuditResources:
    """Ids of what the call touched (never PHI values: UIDs and BeamIt ids only)."""

    studies: list[str] | None = None
    series: list[str] | None = None
    instances: list[str] | None = None
    share: str | None = None
    webhook: str | None = None
    delivery: str | None = None
    api_key: str | None = None
    user: str | None = None
    oauth_client: str | None = None
    upload: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The ``resources`` map of the stored record (camelCase keys, unset ones left out)."""
        return {
            _RECORD_NAMES.get(f.name, f.name): value
            for f in fields(self)
            if (value := getattr(self, f.name)) is not None
        }


@dataclass(frozen=True)
class AuditActor:
    """Who acted in a call without an authenticated principal (the OAuth endpoints naming a
    client, a share link before its session, a revoked credential's attempt): the record goes
    to ``tenant_id``'s trail.

    ``claimed``: the caller named this identity without proving it (an OAuth client that did
    not authenticate, an email whose password was wrong). Such a record keeps no free text of
    the request (no User-Agent; its details are known values) and says ``claimed: true``.
    """

    tenant_id: str
    principal: str | None
    credential_id: str | None
    claimed: bool = False


@dataclass
class AuditNote:
    """The audit record of one call, as the handler describes it.

    ``event_code``: PS3.15 §A.5 (the route's declared code unless the handler changes it);
    ``phi``: PHI was read or written; ``details``: counts, filter names, steps (never PHI
    values); ``actor``: see :class:`AuditActor`; ``outcome``: the status to record when it is
    not the response's (a failed sign-in answered with the form again).
    """

    event_code: str = APPLICATION_ACTIVITY
    phi: bool = False
    resources: AuditResources = field(default_factory=AuditResources)
    details: dict[str, Any] = field(default_factory=dict)
    actor: AuditActor | None = None
    outcome: int | None = None

    def detail(self, **values: object) -> None:
        """Add details, leaving out those that are ``None``."""
        self.details.update({key: value for key, value in values.items() if value is not None})
