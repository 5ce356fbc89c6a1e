"""Each emulator is really used: what the app writes, the plain client library reads back."""

from __future__ import annotations

import json

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, kms_v1, pubsub_v1, storage


def test_api_key_record_is_in_the_firestore_emulator_hashed(api, tenant, svc):
    created = api.post("/v1/api-keys", json={"name": "ci", "scopes": ["studies:read"]}, headers=tenant.headers)
    assert created.status_code == 201
    token = created.json()["key"]
    key_id = created.json()["id"].removeprefix("key_")
    client = firestore.Client(project=svc.settings.project_id, credentials=AnonymousCredentials())
    snapshot = client.document(f"api_keys/{key_id}").get()
    assert snapshot.exists
    record = snapshot.to_dict()
    assert record["tenantId"] == tenant.id
    secret = token.rsplit("_", 1)[1]
    assert secret not in json.dumps(record, default=str)  # only its hash is stored
    import hashlib

    assert record["secretSha256"] == hashlib.sha256(secret.encode()).hexdigest()


def test_blob_written_by_the_adapter_is_read_by_the_storage_client(svc):
    bucket = svc.settings.bucket("derived")
    svc.blobs.put(bucket, "probe/hello.txt", b"hello", content_type="text/plain")
    client = storage.Client(
        project=svc.settings.project_id,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": svc.settings.storage_emulator_host},
    )
    assert client.bucket(bucket).blob("probe/hello.txt").download_as_bytes() == b"hello"


def test_event_published_by_the_adapter_is_pulled_by_a_subscriber(svc):
    subscriber = pubsub_v1.SubscriberClient(credentials=AnonymousCredentials())
    project = svc.settings.project_id
    topic = subscriber.topic_path(project, svc.settings.topic("events"))
    subscription = subscriber.subscription_path(project, "probe-pull")
    subscriber.create_subscription(request={"name": subscription, "topic": topic})
    try:
        svc.events.publish(svc.settings.topic("events"), b'{"probe": true}', {"type": "probe"})
        response = subscriber.pull(request={"subscription": subscription, "max_messages": 10}, timeout=30)
        assert [m.message.data for m in response.received_messages] == [b'{"probe": true}']
        assert response.received_messages[0].message.attributes["type"] == "probe"
    finally:
        subscriber.delete_subscription(request={"subscription": subscription})
        subscriber.close()


def test_ciphertext_from_the_adapter_decrypts_with_the_kms_client(svc):
    ciphertext = svc.keys.encrypt("secrets", b"webhook secret", aad=b"tenant-a")
    client = kms_v1.KeyManagementServiceClient(
        transport="rest", credentials=AnonymousCredentials(), client_options={"api_endpoint": svc.settings.kms_endpoint}
    )
    plain = client.decrypt(
        request={
            "name": svc.settings.kms_key_name("secrets"),
            "ciphertext": ciphertext,
            "additional_authenticated_data": b"tenant-a",
        }
    )
    assert plain.plaintext == b"webhook secret"
    assert b"webhook secret" not in ciphertext
