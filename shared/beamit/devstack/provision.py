"""Create on the emulators what Terraform creates in production (``platform.json``)."""

from __future__ import annotations

from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import kms_v1, pubsub_v1, storage  # type: ignore[attr-defined]

from beamit.deployment import load_manifest
from beamit.settings import Settings

# Local only: fake-gcs-server publishes the inbox's finalize notifications here; in
# production Eventarc delivers them to the ingest function directly.
INBOX_NOTIFICATIONS = "inbox-notifications"


def create_topics(settings: Settings) -> None:
    publisher = pubsub_v1.PublisherClient(credentials=AnonymousCredentials())
    for role in (*load_manifest().topics, INBOX_NOTIFICATIONS):
        try:
            publisher.create_topic(request={"name": publisher.topic_path(settings.project_id, settings.topic(role))})
        except gexc.Conflict:  # AlreadyExists over gRPC, Conflict over REST
            pass


def create_push_subscription(settings: Settings, topic_role: str, name: str, endpoint: str) -> None:
    """A push subscription to a local endpoint (the emulator pushes without auth headers)."""
    subscriber = pubsub_v1.SubscriberClient(credentials=AnonymousCredentials())
    path = subscriber.subscription_path(settings.project_id, f"{settings.resource_prefix}-{name}")
    try:
        subscriber.create_subscription(
            request={
                "name": path,
                "topic": subscriber.topic_path(settings.project_id, settings.topic(topic_role)),
                "push_config": {"push_endpoint": endpoint},
                "ack_deadline_seconds": 60,
            }
        )
    except gexc.Conflict:  # AlreadyExists over gRPC, Conflict over REST
        pass
    finally:
        subscriber.close()


def create_buckets(settings: Settings) -> None:
    host = settings.storage_emulator_host or ""
    client = storage.Client(
        project=settings.project_id,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": host if host.startswith("http") else f"http://{host}"},
    )
    for role in load_manifest().buckets:
        try:
            client.create_bucket(settings.bucket(role))
        except gexc.Conflict:
            pass


def create_kms_keys(settings: Settings) -> None:
    client = kms_v1.KeyManagementServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": settings.kms_endpoint},
    )
    parent = f"projects/{settings.project_id}/locations/{settings.kms_location}"
    try:
        client.create_key_ring(request={"parent": parent, "key_ring_id": settings.kms_key_ring, "key_ring": {}})
    except gexc.Conflict:  # AlreadyExists over gRPC, Conflict over REST
        pass
    ring = f"{parent}/keyRings/{settings.kms_key_ring}"
    for name, purpose in load_manifest().kms_keys.items():
        key: dict[str, object] = {"purpose": purpose}
        if purpose == "ASYMMETRIC_SIGN":
            key["version_template"] = {"algorithm": "EC_SIGN_P256_SHA256"}
        try:
            client.create_crypto_key(request={"parent": ring, "crypto_key_id": name, "crypto_key": key})
        except gexc.Conflict:  # AlreadyExists over gRPC, Conflict over REST
            pass
