"""Domain events published to the events topic, fanned out to webhooks.

Message data is the documented webhook body (``id``, ``type``, ``createdAt``, ``data``)
plus ``tenantId`` for routing, which the delivery function strips; message attributes
carry ``type`` and ``tenantId`` so subscribers can filter without parsing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from beamit.clock import rfc3339, utcnow
from beamit.ids import new_id
from beamit.storage import Services

STUDY_RECEIVED = "study.received"
STUDY_SHARED = "study.shared"
SHARE_ACCESSED = "share.accessed"
SHARE_EXPIRED = "share.expired"
EVENT_TYPES = (STUDY_RECEIVED, STUDY_SHARED, SHARE_ACCESSED, SHARE_EXPIRED)


def publish_event(svc: Services, tenant_id: str, event_type: str, data: dict[str, Any]) -> str:
    """Publish one event; returns its ``evt_`` id."""
    return publish_events(svc, tenant_id, event_type, [data])[0]


def publish_events(svc: Services, tenant_id: str, event_type: str, items: Sequence[dict[str, Any]]) -> list[str]:
    """Publish one event of ``event_type`` per item of data, together; returns their ``evt_`` ids."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    ids, messages = [], []
    for data in items:
        event_id = new_id("evt", 24)
        body = {"id": event_id, "type": event_type, "createdAt": rfc3339(utcnow()), "tenantId": tenant_id, "data": data}
        ids.append(event_id)
        messages.append(
            (
                json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
                {"type": event_type, "tenantId": tenant_id},
            )
        )
    if messages:
        svc.events.publish_many(svc.settings.topic("events"), messages)
    return ids
