"""The local SMS provider: messages are written to the Firestore collection ``sms_outbox``.

``make dev`` prints each new message on its console (:func:`new_messages`); tests read the
collection. Outside ``local`` and ``sandbox`` the outbox is never chosen by default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beamit.clock import utcnow
from beamit.ids import new_id
from beamit.storage import Filter, MetadataStore, Query

COLLECTION = "sms_outbox"


class OutboxSender:
    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def send(self, to: str, body: str, *, tenant_id: str, purpose: str) -> str:
        message_id = new_id("sms", 20)
        self._store.create(
            f"{COLLECTION}/{message_id}",
            {"to": to, "body": body, "tenantId": tenant_id, "purpose": purpose, "createdAt": utcnow()},
        )
        return message_id


def new_messages(store: MetadataStore, since: datetime) -> list[dict[str, Any]]:
    """Messages written after ``since``, oldest first (one single-field range query)."""
    docs = store.query(
        Query(COLLECTION, filters=(Filter("createdAt", ">", since),), order_by=(("createdAt", "asc"),), limit=100)
    )
    return [{"id": doc.id, **doc.data} for doc in docs]
