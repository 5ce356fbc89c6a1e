"""Adapters for Google Cloud services, each behind a small Protocol.

Domain code depends on the Protocols in :mod:`beamit.storage.protocols` and gets the
implementations from :func:`beamit.storage.services`. The implementations use the real
Google client libraries; locally the same clients talk to the emulators.
"""

from beamit.storage.protocols import (
    DOCUMENT_NAME,
    AlreadyExists,
    AnyOf,
    ArrayUnion,
    BlobInfo,
    BlobStore,
    Document,
    EventBus,
    Filter,
    Increment,
    KeyService,
    MetadataStore,
    Minimum,
    ObjectRange,
    PreconditionFailed,
    Query,
    ServerTimestamp,
    Transaction,
    Write,
    field_path,
)
from beamit.storage.services import Services, reset_services, services

__all__ = [
    "DOCUMENT_NAME",
    "AlreadyExists",
    "ArrayUnion",
    "BlobInfo",
    "BlobStore",
    "Document",
    "EventBus",
    "AnyOf",
    "Filter",
    "Increment",
    "KeyService",
    "MetadataStore",
    "Minimum",
    "ObjectRange",
    "PreconditionFailed",
    "Query",
    "ServerTimestamp",
    "Services",
    "Transaction",
    "Write",
    "field_path",
    "reset_services",
    "services",
]
