"""The delivered body of an event: exactly the documented fields, nothing else.

Producers publish ``{"id", "type", "createdAt", "tenantId", "data"}`` (:mod:`beamit.events`);
the body a receiver gets is ``{"id", "type", "createdAt", "data"}``: ``tenantId`` is for
routing only (a test event, :mod:`beamit.webhooks.samples`, also carries ``"test": true``).
``study.received`` data is cut to its documented fields (the public docs' six, then
``seriesCount``, ``modalities``, ``update``, ``previousInstanceCount``: docs/webhooks.md), so
a field a producer adds later does not leak (PHI stays out of payloads beyond the documented
fields); the share events carry their data as their producers publish it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from beamit.events import EVENT_TYPES, STUDY_RECEIVED
from beamit.tenancy import TENANT_ID

DOCUMENTED_DATA_FIELDS: dict[str, tuple[str, ...]] = {
    STUDY_RECEIVED: (
        "studyInstanceUID",
        "studyDate",
        "modality",
        "patientId",
        "instanceCount",
        "studyDescription",
        "seriesCount",
        "modalities",
        "update",
        "previousInstanceCount",
    ),
}
EVENT_ID = re.compile(r"^evt_[a-z0-9]{8,64}$")


class MalformedEvent(ValueError):
    """A message on the events topic that is not a well-formed event (it cannot be delivered)."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created_at: str
    tenant_id: str
    data: dict[str, Any]
    test: bool = False

    @classmethod
    def from_envelope(cls, envelope: object) -> WebhookEvent:
        """Validate a published envelope (the Pub/Sub message data, parsed)."""
        if not isinstance(envelope, dict):
            raise MalformedEvent("the event is not a JSON object")
        event_id, event_type = envelope.get("id"), envelope.get("type")
        created_at, tenant_id, data = envelope.get("createdAt"), envelope.get("tenantId"), envelope.get("data")
        if not isinstance(event_id, str) or not EVENT_ID.match(event_id):
            raise MalformedEvent("the event has no valid id")
        if event_type not in EVENT_TYPES:
            raise MalformedEvent(f"unknown event type {str(event_type)[:40]!r}")
        if not isinstance(tenant_id, str) or not TENANT_ID.match(tenant_id):
            raise MalformedEvent("the event has no valid tenantId")
        if not isinstance(created_at, str) or not isinstance(data, dict):
            raise MalformedEvent("the event lacks createdAt or data")
        return cls(event_id, str(event_type), created_at, tenant_id, data)

    def delivered_data(self) -> dict[str, Any]:
        fields = DOCUMENTED_DATA_FIELDS.get(self.type)
        if fields is None:
            return {key: value for key, value in self.data.items() if key != "tenantId"}
        return {key: self.data.get(key) for key in fields}

    def body(self) -> bytes:
        """The raw body every attempt sends (and signs), byte for byte."""
        payload: dict[str, Any] = {"id": self.id, "type": self.type, "createdAt": self.created_at,
                                   "data": self.delivered_data()}
        if self.test:
            payload["test"] = True
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
