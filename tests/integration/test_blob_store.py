"""The Cloud Storage adapter against the GCS emulator: streamed downloads give back exactly
what the plain client library stored, whatever the object's name, and fail before any byte
for a missing object."""

from __future__ import annotations

import os

import pytest
from google.api_core import exceptions as gexc
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from beamit.storage.gcs import _crc32c_of


@pytest.fixture
def plain_bucket(svc):
    client = storage.Client(
        project=svc.settings.project_id,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": svc.settings.storage_emulator_host},
    )
    return client.bucket(svc.settings.bucket("derived"))


@pytest.mark.parametrize("name", ["probe/stream/plain.dcm", "probe/stream/a b+ü#?%2F&=.dcm"])
def test_stream_gives_back_the_stored_bytes_in_chunks(svc, plain_bucket, name):
    data = os.urandom(3 * (1 << 20) + 12345)
    plain_bucket.blob(name).upload_from_string(data, content_type="application/dicom")
    chunks = list(svc.blobs.stream(plain_bucket.name, name, chunk_size=1 << 20))
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= 1 << 20 and len(chunks) >= 4  # streamed, never whole


def test_stream_of_an_empty_object(svc, plain_bucket):
    plain_bucket.blob("probe/stream/empty").upload_from_string(b"")
    assert b"".join(svc.blobs.stream(plain_bucket.name, "probe/stream/empty")) == b""


def test_stream_of_a_missing_object_is_not_found(svc, plain_bucket):
    with pytest.raises(gexc.NotFound):
        next(svc.blobs.stream(plain_bucket.name, "probe/stream/missing"))


def test_the_crc32c_is_taken_from_the_hash_header():
    assert _crc32c_of("crc32c=aQvm1g==,md5=GdcC1Q5rSTXOiznX3WfkRw==") == bytes.fromhex("690be6d6")
    assert _crc32c_of("md5=GdcC1Q5rSTXOiznX3WfkRw==") is None
    assert _crc32c_of("") is None


def test_read_whole_and_ranges(svc, plain_bucket):
    data = os.urandom(200_000)
    plain_bucket.blob("probe/read/obj").upload_from_string(data)
    read = svc.blobs.read
    bucket = plain_bucket.name
    assert read(bucket, "probe/read/obj") == data
    assert read(bucket, "probe/read/obj", 1000, 5000) == data[1000:5000]
    assert read(bucket, "probe/read/obj", 199_990) == data[199_990:]
    assert read(bucket, "probe/read/obj", None, 10) == data[:10]
    assert read(bucket, "probe/read/obj", 10, 10) == b""
    assert read(bucket, "probe/read/obj", 150_000, 400_000) == data[150_000:]  # a range past the end is cut
    with pytest.raises(gexc.NotFound):
        read(bucket, "probe/read/missing", 0, 10)


def test_a_range_comes_with_the_whole_object_s_md5(svc, plain_bucket):
    """What the early read of a frame's object (beamit.retrieve.frame_source.EarlyHead) checks
    against the instance's record: Cloud Storage's X-Goog-Hash is the whole object's."""
    data = os.urandom(300_000)
    blob = plain_bucket.blob("probe/read/ranged")
    blob.upload_from_string(data)
    blob.reload()
    found = svc.blobs.read_range(plain_bucket.name, "probe/read/ranged", 0, 1000)
    assert found.data == data[:1000] and found.md5_hash == blob.md5_hash
    whole = svc.blobs.read_range(plain_bucket.name, "probe/read/ranged", 0, 1 << 20)  # past the end: cut
    assert whole.data == data and whole.md5_hash == blob.md5_hash
    with pytest.raises(gexc.NotFound):
        svc.blobs.read_range(plain_bucket.name, "probe/read/missing", 0, 10)
