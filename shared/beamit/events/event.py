"""One domain event: its type, id, tenant, time and data, and the Pub/Sub message it becomes.

The message data is the documented webhook body (``id``, ``type``, ``createdAt``, ``data``)
plus ``tenantId`` for routing, which the delivery function strips; the message attributes
carry ``type``, ``tenantId`` and ``eventId``, so subscribers can filter and de-duplicate
without parsing. The event id is the de-duplication key from the outbox to the receiver: the
outbox record's id, every Pub/Sub message of the event, the delivery id (derived from it and
the endpoint) and the ``webhook-id`` header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beamit.clock import rfc3339, utcnow
from beamit.ids import new_id

STUDY_RECEIVED = "study.received"
STUDY_SHARED = "study.shared"
SHARE_ACCESSED = "share.accessed"
SHARE_EXPIRED = "share.expired"
EVENT_TYPES = (STUDY_RECEIVED, STUDY_SHARED, SHARE_ACCESSED, SHARE_EXPIRED)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    tenant_id: str
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def new(cls, tenant_id: str, event_type: str, data: dict[str, Any], *, at: datetime | None = None) -> Event:
        """A new event (a fresh ``evt_`` id) of a known type."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type!r}")
        return cls(new_id("evt", 24), event_type, tenant_id, at or utcnow(), dict(data))

    def envelope(self) -> dict[str, Any]:
        """The message data: the webhook body and ``tenantId``."""
        return {"id": self.id, "type": self.type, "createdAt": rfc3339(self.created_at), "tenantId": self.tenant_id,
                "data": self.data}

    def message(self) -> tuple[bytes, dict[str, str]]:
        """The Pub/Sub message: data and attributes (the same bytes on every publish)."""
        data = json.dumps(self.envelope(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return data, {"type": self.type, "tenantId": self.tenant_id, "eventId": self.id}
