"""Cached factories for the cloud clients and the adapters built on them.

Clients are created lazily on first use, from :func:`beamit.settings.get_settings`, so
tests and the dev stack point them at the emulators by setting the environment first.
Each adapter, and its client library, is made when it is first used (:class:`Deferred`): a
function's cold start imports only the libraries its first request needs (a QIDO-RS search
never loads Cloud Storage, Pub/Sub or Cloud KMS).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from beamit.lazy import first_use
from beamit.settings import Settings, get_settings
from beamit.storage.protocols import BlobStore, EventBus, KeyService, MetadataStore
from beamit.storage.trace import traced

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.auth.transport.requests import AuthorizedSession

    from beamit.storage.firestore import FirestoreMetadataStore
    from beamit.storage.gcs import GcsBlobStore
    from beamit.storage.kms import CloudKmsKeyService
    from beamit.storage.pubsub import PubSubEventBus

A = TypeVar("A")


class Deferred(Generic[A]):
    """An adapter made by ``make`` on its first use (an attribute read), once, thread-safely: under
    :func:`beamit.lazy.first_use`, since making it imports its client library."""

    def __init__(self, make: Callable[[], A]) -> None:
        self._make = make
        self._made: A | None = None

    def __getattr__(self, name: str) -> Any:
        made = self._made
        if made is None:
            with first_use():
                if self._made is None:
                    self._made = self._make()
                made = self._made
        return getattr(made, name)


@dataclass(frozen=True)
class Services:
    settings: Settings
    blobs: BlobStore
    metadata: MetadataStore
    events: EventBus
    keys: KeyService


def _firestore(settings: Settings) -> FirestoreMetadataStore:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from beamit.storage.firestore import FirestoreMetadataStore

    # The client library switches to the emulator itself when FIRESTORE_EMULATOR_HOST is set.
    if settings.firestore_emulator_host:
        client = firestore.Client(project=settings.project_id, credentials=AnonymousCredentials())
    else:
        client = firestore.Client(project=settings.project_id)
    return FirestoreMetadataStore(client)


GCS_ENDPOINT = "https://storage.googleapis.com"
GCS_CONNECTIONS = 32
"""Connections the Cloud Storage client keeps open: at least the threads that share it (a
function's request threads and ingest's upload workers)."""


def _gcs_http(credentials: Credentials) -> AuthorizedSession:
    """The Cloud Storage client's HTTP session. ``trust_env`` off: requests would otherwise look
    for proxy variables and a ``.netrc`` file on every call (a measurable share of a STOW-RS
    request's CPU); functions reach Google APIs directly, never through a proxy."""
    import requests.adapters
    from google.auth.transport.requests import AuthorizedSession

    session = AuthorizedSession(credentials)
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=GCS_CONNECTIONS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _gcs(settings: Settings) -> GcsBlobStore:
    import google.auth
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[attr-defined]

    from beamit.storage.gcs import GcsBlobStore, MediaHttp

    if settings.storage_emulator_host:
        host = settings.storage_emulator_host
        endpoint = host if host.startswith("http") else f"http://{host}"
        credentials: Credentials = AnonymousCredentials()
        http = _gcs_http(credentials)
        client = storage.Client(
            project=settings.project_id,
            credentials=credentials,
            client_options={"api_endpoint": endpoint},
            _http=http,
        )
    else:
        endpoint = GCS_ENDPOINT
        credentials, _ = google.auth.default(scopes=storage.Client.SCOPE)
        http = _gcs_http(credentials)
        client = storage.Client(project=settings.project_id, credentials=credentials, _http=http)
    return GcsBlobStore(client, MediaHttp(credentials, GCS_CONNECTIONS), endpoint)


def _pubsub(settings: Settings) -> PubSubEventBus:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import pubsub_v1  # type: ignore[attr-defined]

    from beamit.storage.pubsub import PubSubEventBus

    # The client sends a batch when it is full or ``max_latency`` after its first message
    # (10 ms by default): every request that announces events would wait that long. A call's
    # messages are published together, well within 1 ms.
    batching = pubsub_v1.types.BatchSettings(max_latency=0.001)
    if settings.pubsub_emulator_host:
        publisher = pubsub_v1.PublisherClient(batch_settings=batching, credentials=AnonymousCredentials())
    else:
        publisher = pubsub_v1.PublisherClient(batch_settings=batching)
    return PubSubEventBus(publisher, settings.project_id)


def _kms(settings: Settings) -> CloudKmsKeyService:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import kms_v1

    from beamit.storage.kms import CloudKmsKeyService

    if settings.kms_endpoint:
        client = kms_v1.KeyManagementServiceClient(
            transport="rest",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": settings.kms_endpoint},
        )
    else:
        client = kms_v1.KeyManagementServiceClient()
    return CloudKmsKeyService(client, settings.kms_key_name)


@functools.cache
def services() -> Services:
    """The process-wide adapters (created on first call)."""
    settings = get_settings()
    made = Services(
        settings=settings,
        blobs=cast(BlobStore, Deferred(lambda: _gcs(settings))),
        metadata=cast(MetadataStore, Deferred(lambda: _firestore(settings))),
        events=cast(EventBus, Deferred(lambda: _pubsub(settings))),
        keys=cast(KeyService, Deferred(lambda: _kms(settings))),
    )
    return traced_services(made) if settings.trace_storage_calls else made


def traced_services(svc: Services) -> Services:
    """``svc`` whose adapters record each call into the request's trace (:mod:`beamit.storage.trace`)."""
    return Services(
        settings=svc.settings,
        blobs=traced("gcs", svc.blobs),
        metadata=traced("firestore", svc.metadata),
        events=traced("pubsub", svc.events),
        keys=traced("kms", svc.keys),
    )


def reset_services() -> None:
    """Drop cached clients (after the environment changed, in tests and the dev stack)."""
    services.cache_clear()
