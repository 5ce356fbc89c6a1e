"""Reading the audit trail: filters, newest first, cursor paging.

Records are ordered by ``sortKey`` (``<RFC 3339 time with microseconds>|<record id>``):
unique, so a cursor (the last ``sortKey`` seen) pages exactly, and time ranges are range
filters on the same field, so every query is served by one composite index (declared in
``terraform/firestore_indexes.tf``, checked by tests/unit/audit).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from beamit.audit.chain import EVENTS, time_key
from beamit.storage import Document, Filter, MetadataStore, Query
from beamit.tenancy import TenantScope

STUDIES_FIELD = "resources.studies"
_SORT_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|aud_[a-z0-9]{24}$")


AuditRecord = Document
"""A stored audit record (its id is the document's)."""


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class AuditFilter:
    study: str | None = None  # a StudyInstanceUID in the record's resources
    principal: str | None = None  # user id, API key id or client id
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    action: str | None = None  # method and route template, e.g. "POST /v1/shares"

    def names(self) -> list[str]:
        names = ("study", "principal", "since", "until", "action")
        return [name for name in names if getattr(self, name) is not None]


@dataclass(frozen=True)
class AuditPage:
    records: list[Document]
    next_cursor: str | None


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor("malformed cursor") from None
    if not _SORT_KEY.match(value):
        raise InvalidCursor("malformed cursor")
    return value


def search_query(tenant: TenantScope, flt: AuditFilter, limit: int, after: str | None = None) -> Query:
    filters: list[Filter] = []
    if flt.action is not None:
        filters.append(Filter("action", "==", flt.action))
    if flt.principal is not None:
        filters.append(Filter("principal", "==", flt.principal))
    if flt.study is not None:
        filters.append(Filter(STUDIES_FIELD, "array_contains", flt.study))
    if flt.since is not None:
        filters.append(Filter("sortKey", ">=", time_key(flt.since)))
    if flt.until is not None:
        filters.append(Filter("sortKey", "<", time_key(flt.until)))
    return Query(
        collection=tenant.collection(EVENTS),
        filters=tuple(filters),
        order_by=(("sortKey", "desc"),),
        limit=limit,
        start_after=(after,) if after else None,
    )


def search(store: MetadataStore, tenant: TenantScope, flt: AuditFilter, limit: int,
           cursor: str | None = None) -> AuditPage:
    """One page of matching records, newest first; ``next_cursor`` if there are more."""
    after = decode_cursor(cursor) if cursor else None
    docs = store.query(search_query(tenant, flt, limit + 1, after))
    more = len(docs) > limit
    docs = docs[:limit]
    return AuditPage(docs, encode_cursor(docs[-1].data["sortKey"]) if more and docs else None)


def get_record(store: MetadataStore, tenant: TenantScope, record_id: str) -> Document | None:
    """One record of the tenant's trail by id, or ``None``."""
    if not record_id.startswith("aud_") or "/" in record_id:
        return None
    path = tenant.document(EVENTS, record_id)
    data = store.get(path)
    return None if data is None else Document(path, data)


def record_json(doc: Document) -> dict[str, Any]:
    data = doc.data
    return {
        "id": doc.id,
        "object": "audit_event",
        "time": data["time"].isoformat().replace("+00:00", "Z"),
        "action": data.get("action"),
        "eventCode": data.get("eventCode"),
        "outcome": data.get("outcome"),
        "principal": data.get("principal"),
        "credentialId": data.get("credentialId"),
        "requestId": data.get("requestId"),
        "phi": data.get("phi", False),
        "resources": data.get("resources", {}),
        "details": data.get("details", {}),
        "sourceIp": data.get("sourceIp"),
        "userAgent": data.get("userAgent"),
        "chain": {"id": data.get("chain"), "seq": data.get("seq"), "prevHash": data.get("prevHash"),
                  "hash": data.get("hash")},
    }
