"""A tenant's webhook endpoints (``tenants/{t}/webhooks/{whk_id}``) and their signing secrets.

The signing secret is generated here, returned once (at creation and at rotation) and
stored only encrypted with the Cloud KMS ``secrets`` key, the tenant and endpoint id as
additional authenticated data (a ciphertext copied to another endpoint does not decrypt).
Rotation keeps the replaced secret for an overlap window, during which deliveries are
signed with both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beamit.clock import rfc3339, utcnow
from beamit.errors import BadRequest, NotFound
from beamit.events import EVENT_TYPES
from beamit.ids import new_id
from beamit.storage import Query, Services, Transaction, Write
from beamit.tenancy import TenantScope
from beamit.webhooks.destinations import DestinationPolicy, RefusedDestination, check_url
from beamit.webhooks.signatures import SigningSecrets, new_signing_secret

WEBHOOKS = "webhooks"
ENDPOINT_ID = re.compile(r"^whk_[a-z0-9]{20}$")
SECRETS_KEY = "secrets"
MAX_ENDPOINTS = 20
MAX_DESCRIPTION = 500
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
FIELDS = frozenset({"url", "events", "enabled", "description"})
DELETE_BATCH = 400


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    tenant_id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    description: str
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None

    @classmethod
    def from_record(cls, endpoint_id: str, data: dict[str, Any]) -> WebhookEndpoint:
        previous = data.get("previousSecret") or {}
        return cls(
            id=endpoint_id,
            tenant_id=data["tenantId"],
            url=data["url"],
            events=tuple(data.get("events", [])),
            enabled=bool(data.get("enabled")),
            description=data.get("description", ""),
            created_at=data["createdAt"],
            updated_at=data.get("updatedAt", data["createdAt"]),
            disabled_reason=data.get("disabledReason"),
            disabled_at=data.get("disabledAt"),
            failing_since=data.get("failingSince"),
            previous_secret_expires_at=previous.get("expiresAt"),
        )

    def receives(self, event_type: str) -> bool:
        return self.enabled and event_type in self.events

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        expires = self.previous_secret_expires_at
        if expires is not None and expires <= (now or utcnow()):
            expires = None
        return {
            "id": self.id,
            "object": "webhook_endpoint",
            "url": self.url,
            "events": list(self.events),
            "enabled": self.enabled,
            "description": self.description,
            "status": "enabled" if self.enabled else "disabled",
            "disabledReason": self.disabled_reason,
            "disabledAt": rfc3339(self.disabled_at) if self.disabled_at else None,
            "failingSince": rfc3339(self.failing_since) if self.failing_since else None,
            "previousSecretExpiresAt": rfc3339(expires) if expires else None,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
        }


@dataclass(frozen=True)
class IssuedSecret:
    """An endpoint with its new signing secret: shown to the caller now, never again."""

    endpoint: WebhookEndpoint
    secret: str


def endpoint_path(scope: TenantScope, endpoint_id: str) -> str:
    """The endpoint's document path; an id that cannot be one is simply not found."""
    if not isinstance(endpoint_id, str) or not ENDPOINT_ID.match(endpoint_id):
        raise NotFound("no such webhook endpoint")
    return scope.document(WEBHOOKS, endpoint_id)


def _aad(scope: TenantScope, endpoint_id: str) -> bytes:
    return f"{scope.tenant_id}/{endpoint_id}".encode()


# --- validation ---------------------------------------------------------------------------------


def _events(value: object) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'events' must be a non-empty array of event types: {', '.join(EVENT_TYPES)}")
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise BadRequest(f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    return [t for t in EVENT_TYPES if t in value]


def validate_fields(body: dict[str, Any], policy: DestinationPolicy, *, partial: bool) -> dict[str, Any]:
    """The stored fields a create (``partial=False``) or update body sets; 400 for anything wrong."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(FIELDS))}")
    if not partial:
        missing = [name for name in ("url", "events") if name not in body]
        if missing:
            raise BadRequest(f"missing field(s): {', '.join(missing)}")
    elif not body:
        raise BadRequest(f"nothing to change: send one or more of {', '.join(sorted(FIELDS))}")
    fields: dict[str, Any] = {}
    if "url" in body:
        try:
            fields["url"] = check_url(body["url"], policy)
        except RefusedDestination as exc:
            raise BadRequest(str(exc)) from None
    if "events" in body:
        fields["events"] = _events(body["events"])
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise BadRequest("'enabled' must be true or false")
        fields["enabled"] = body["enabled"]
    if "description" in body:
        description = body["description"]
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise BadRequest(f"'description' must be a string of at most {MAX_DESCRIPTION} characters")
        fields["description"] = description
    return fields


def overlap_from(body: dict[str, Any]) -> timedelta:
    """``overlapSeconds`` of a rotation request: 0 to 7 days, 24 hours by default."""
    unknown = sorted(set(body) - {"overlapSeconds"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: overlapSeconds")
    raw = body.get("overlapSeconds", int(DEFAULT_OVERLAP.total_seconds()))
    limit = int(MAX_OVERLAP.total_seconds())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= limit:
        raise BadRequest(f"'overlapSeconds' must be an integer from 0 to {limit}")
    return timedelta(seconds=raw)


# --- repository ---------------------------------------------------------------------------------


def create_endpoint(svc: Services, scope: TenantScope, fields: dict[str, Any]) -> IssuedSecret:
    """Store a new endpoint (``fields`` from :func:`validate_fields`) with a new secret."""
    if svc.metadata.count(Query(collection=scope.collection(WEBHOOKS))) >= MAX_ENDPOINTS:
        raise BadRequest(f"a tenant can have at most {MAX_ENDPOINTS} webhook endpoints", code="limit_exceeded")
    endpoint_id = new_id("whk")
    secret = new_signing_secret()
    now = utcnow()
    record = {
        "tenantId": scope.tenant_id,
        "url": fields["url"],
        "events": fields["events"],
        "enabled": fields.get("enabled", True),
        "description": fields.get("description", ""),
        "secret": {
            "ciphertext": svc.keys.encrypt(SECRETS_KEY, secret.encode(), aad=_aad(scope, endpoint_id)),
            "createdAt": now,
        },
        "previousSecret": None,
        "createdAt": now,
        "updatedAt": now,
        "disabledReason": None,
        "disabledAt": None,
        "failingSince": None,
    }
    svc.metadata.create(endpoint_path(scope, endpoint_id), record)
    return IssuedSecret(WebhookEndpoint.from_record(endpoint_id, record), secret)


def list_endpoints(svc: Services, scope: TenantScope) -> list[WebhookEndpoint]:
    """The tenant's endpoints, newest first."""
    docs = svc.metadata.query(
        Query(collection=scope.collection(WEBHOOKS), order_by=(("createdAt", "desc"),), limit=MAX_ENDPOINTS * 5)
    )
    return [WebhookEndpoint.from_record(doc.id, doc.data) for doc in docs]


def get_record(svc: Services, scope: TenantScope, endpoint_id: str) -> dict[str, Any]:
    data = svc.metadata.get(endpoint_path(scope, endpoint_id))
    if data is None:
        raise NotFound("no such webhook endpoint")
    return data


def get_endpoint(svc: Services, scope: TenantScope, endpoint_id: str) -> WebhookEndpoint:
    return WebhookEndpoint.from_record(endpoint_id, get_record(svc, scope, endpoint_id))


def update_endpoint(svc: Services, scope: TenantScope, endpoint_id: str, fields: dict[str, Any]) -> WebhookEndpoint:
    """Apply validated ``fields``; enabling an endpoint clears why it was disabled."""
    path = endpoint_path(scope, endpoint_id)
    changes: dict[str, Any] = {**fields, "updatedAt": utcnow()}
    if fields.get("enabled") is True:
        changes.update({"disabledReason": None, "disabledAt": None, "failingSince": None})
    elif fields.get("enabled") is False:
        changes.update({"disabledAt": changes["updatedAt"]})
    try:
        svc.metadata.update(path, changes)
    except KeyError:
        raise NotFound("no such webhook endpoint") from None
    return get_endpoint(svc, scope, endpoint_id)


def delete_endpoint(svc: Services, scope: TenantScope, endpoint_id: str) -> None:
    """Delete the endpoint and its delivery log (queued retries are dropped when they come due)."""
    path = endpoint_path(scope, endpoint_id)
    get_record(svc, scope, endpoint_id)
    svc.metadata.delete(path)
    deliveries = f"{path}/deliveries"
    while True:
        docs = svc.metadata.query(Query(collection=deliveries, limit=DELETE_BATCH))
        if not docs:
            break
        svc.metadata.commit([Write("delete", doc.path) for doc in docs])


def rotate_secret(svc: Services, scope: TenantScope, endpoint_id: str, overlap: timedelta) -> IssuedSecret:
    """A new secret; the replaced one stays valid for ``overlap`` (deliveries carry both signatures)."""
    path = endpoint_path(scope, endpoint_id)
    get_record(svc, scope, endpoint_id)
    secret = new_signing_secret()
    ciphertext = svc.keys.encrypt(SECRETS_KEY, secret.encode(), aad=_aad(scope, endpoint_id))
    now = utcnow()

    def swap(txn: Transaction) -> None:
        data = txn.get(path)
        if data is None:
            raise NotFound("no such webhook endpoint")
        previous = None
        if overlap > timedelta(0):
            previous = {"ciphertext": data["secret"]["ciphertext"], "expiresAt": now + overlap}
        txn.write(
            Write(
                "update",
                path,
                {"secret": {"ciphertext": ciphertext, "createdAt": now}, "previousSecret": previous, "updatedAt": now},
            )
        )

    svc.metadata.run_transaction(swap)
    return IssuedSecret(get_endpoint(svc, scope, endpoint_id), secret)


def signing_secrets(svc: Services, scope: TenantScope, endpoint_id: str, record: dict[str, Any]) -> SigningSecrets:
    """Decrypt the endpoint's secret, and the replaced one while its overlap lasts."""
    aad = _aad(scope, endpoint_id)
    current = svc.keys.decrypt(SECRETS_KEY, record["secret"]["ciphertext"], aad=aad).decode()
    previous_record = record.get("previousSecret")
    previous = None
    if previous_record and previous_record["expiresAt"] > utcnow():
        previous = svc.keys.decrypt(SECRETS_KEY, previous_record["ciphertext"], aad=aad).decode()
    return SigningSecrets(current, previous)


# --- health: failure streaks and automatic disabling ------------------------------------------


def disable_endpoint(svc: Services, scope: TenantScope, endpoint_id: str, reason: str) -> None:
    now = utcnow()
    try:
        svc.metadata.update(
            endpoint_path(scope, endpoint_id),
            {"enabled": False, "disabledReason": reason, "disabledAt": now, "updatedAt": now},
        )
    except KeyError:
        pass  # deleted meanwhile


def mark_failing(svc: Services, scope: TenantScope, endpoint_id: str, since: datetime | None) -> None:
    """Start (``since``) or end (``None``) the endpoint's run of failed attempts."""
    try:
        svc.metadata.update(endpoint_path(scope, endpoint_id), {"failingSince": since})
    except KeyError:
        pass
