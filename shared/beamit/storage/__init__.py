"""Adapters for Google Cloud services, each behind a small Protocol.

Domain code depends on the Protocols in :mod:`beamit.storage.protocols` and gets the
implementations from :func:`beamit.storage.services`. The implementations use the real
Google client libraries; locally the same clients talk to the emulators.
"""

from beamit.storage.protocols import (
    AlreadyExists,
    BlobInfo,
    BlobStore,
    Document,
    EventBus,
    Filter,
    KeyService,
    MetadataStore,
    PreconditionFailed,
    Query,
    Transaction,
    Write,
)
from beamit.storage.services import Services, reset_services, services

__all__ = [
    "AlreadyExists",
    "BlobInfo",
    "BlobStore",
    "Document",
    "EventBus",
    "Filter",
    "KeyService",
    "MetadataStore",
    "PreconditionFailed",
    "Query",
    "Services",
    "Transaction",
    "Write",
    "reset_services",
    "services",
]
