"""The KMS emulator, driven by the real ``google-cloud-kms`` REST client.

Note on exceptions: over REST, google-api-core picks the exception class from the HTTP
status alone, so a 400 surfaces as ``BadRequest`` (not ``InvalidArgument`` /
``FailedPrecondition``) and a 409 as ``Conflict`` (not ``AlreadyExists``) -- the same as
against the real service. The gRPC-style status is in the JSON body, checked via
``_status``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import google_crc32c
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import kms_v1
from werkzeug.serving import BaseWSGIServer

from emulators.kms.server import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCATION = "projects/beamit-test/locations/europe-west2"
Purpose = kms_v1.CryptoKey.CryptoKeyPurpose
Alg = kms_v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm
State = kms_v1.CryptoKeyVersion.CryptoKeyVersionState


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


def _status(exc: exceptions.GoogleAPICallError) -> str:
    assert exc.response is not None
    status: str = exc.response.json()["error"]["status"]
    return status


def _client(port: int) -> kms_v1.KeyManagementServiceClient:
    return kms_v1.KeyManagementServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
    )


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server, bound = serve("127.0.0.1", 0)
    yield bound
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def client(port: int) -> Iterator[kms_v1.KeyManagementServiceClient]:
    with _client(port) as kms:
        yield kms


@pytest.fixture(scope="module")
def ring(client: kms_v1.KeyManagementServiceClient) -> str:
    return client.create_key_ring(parent=LOCATION, key_ring_id="ring", key_ring=kms_v1.KeyRing()).name


def _key(client: kms_v1.KeyManagementServiceClient, ring: str,
         purpose: int = Purpose.ENCRYPT_DECRYPT,
         algorithm: int = Alg.GOOGLE_SYMMETRIC_ENCRYPTION,
         skip_initial_version: bool = False) -> kms_v1.CryptoKey:
    return client.create_crypto_key(request={
        "parent": ring,
        "crypto_key_id": f"k-{uuid.uuid4().hex[:12]}",
        "crypto_key": {"purpose": purpose, "version_template": {"algorithm": algorithm}},
        "skip_initial_version_creation": skip_initial_version,
    })


def _encrypt(client: kms_v1.KeyManagementServiceClient, name: str, plaintext: bytes,
             aad: bytes = b"") -> kms_v1.EncryptResponse:
    return client.encrypt(request={"name": name, "plaintext": plaintext,
                                   "additional_authenticated_data": aad})


def _decrypt(client: kms_v1.KeyManagementServiceClient, name: str, ciphertext: bytes,
             aad: bytes = b"") -> kms_v1.DecryptResponse:
    return client.decrypt(request={"name": name, "ciphertext": ciphertext,
                                   "additional_authenticated_data": aad})


# --- key rings and keys ------------------------------------------------------------------

def test_key_ring_get_list_and_duplicate(client: kms_v1.KeyManagementServiceClient,
                                         ring: str) -> None:
    assert client.get_key_ring(name=ring).name == ring
    assert ring in [r.name for r in client.list_key_rings(parent=LOCATION)]
    with pytest.raises(exceptions.Conflict) as info:
        client.create_key_ring(parent=LOCATION, key_ring_id="ring", key_ring=kms_v1.KeyRing())
    assert _status(info.value) == "ALREADY_EXISTS"
    with pytest.raises(exceptions.BadRequest):
        client.create_key_ring(parent=LOCATION, key_ring_id="bad id!", key_ring=kms_v1.KeyRing())


def test_new_symmetric_key_has_primary_version_1(client: kms_v1.KeyManagementServiceClient,
                                                 ring: str) -> None:
    key = _key(client, ring)
    assert key.purpose == Purpose.ENCRYPT_DECRYPT
    assert key.primary.name == f"{key.name}/cryptoKeyVersions/1"
    assert key.primary.state == State.ENABLED
    assert key.version_template.algorithm == Alg.GOOGLE_SYMMETRIC_ENCRYPTION
    assert client.get_crypto_key(name=key.name) == key
    with pytest.raises(exceptions.Conflict):
        client.create_crypto_key(parent=ring, crypto_key_id=key.name.rsplit("/", 1)[1],
                                 crypto_key=kms_v1.CryptoKey(purpose=Purpose.ENCRYPT_DECRYPT))


def test_labels_and_state_file_directory_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "dir" / "kms.json"  # parent directories are created
    server, port = serve("127.0.0.1", 0, str(state))
    try:
        with _client(port) as kms:
            ring = kms.create_key_ring(parent=LOCATION, key_ring_id="lbl",
                                       key_ring=kms_v1.KeyRing()).name
            key = kms.create_crypto_key(parent=ring, crypto_key_id="k", crypto_key=kms_v1.CryptoKey(
                purpose=Purpose.ENCRYPT_DECRYPT, labels={"state": "ENABLED", "app": "beamit"}))
            # Label values named like enums must not be rewritten to numbers.
            assert dict(key.labels) == {"state": "ENABLED", "app": "beamit"}
    finally:
        _stop(server)
    assert state.exists()


def test_list_crypto_keys_pages(client: kms_v1.KeyManagementServiceClient) -> None:
    ring = client.create_key_ring(parent=LOCATION, key_ring_id="paged", key_ring=kms_v1.KeyRing()).name
    made = {_key(client, ring).name for _ in range(3)}
    pager = client.list_crypto_keys(request={"parent": ring, "page_size": 2})
    assert {k.name for k in pager} == made
    assert len(list(client.list_crypto_keys(parent=ring).pages)) == 1


def test_not_found(client: kms_v1.KeyManagementServiceClient, ring: str) -> None:
    with pytest.raises(exceptions.NotFound) as info:
        client.get_crypto_key(name=f"{ring}/cryptoKeys/nope")
    assert _status(info.value) == "NOT_FOUND"
    with pytest.raises(exceptions.NotFound):
        client.encrypt(name=f"{ring}/cryptoKeys/nope", plaintext=b"x")
    with pytest.raises(exceptions.NotFound):
        client.get_key_ring(name=f"{LOCATION}/keyRings/nope")
    key = _key(client, ring)
    with pytest.raises(exceptions.NotFound):
        client.get_crypto_key_version(name=f"{key.name}/cryptoKeyVersions/9")


def test_unimplemented_method(client: kms_v1.KeyManagementServiceClient, ring: str) -> None:
    key = _key(client, ring)
    with pytest.raises(exceptions.MethodNotImplemented):
        client.mac_sign(name=f"{key.name}/cryptoKeyVersions/1", data=b"x")


def test_raw_json_uses_enum_names_without_numeric_encoding(
        client: kms_v1.KeyManagementServiceClient, ring: str, port: int) -> None:
    key = _key(client, ring)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/{key.name}") as resp:
        body = json.load(resp)
    assert body["purpose"] == "ENCRYPT_DECRYPT"
    assert body["primary"]["state"] == "ENABLED"


# --- symmetric encryption ----------------------------------------------------------------

def test_encrypt_decrypt_round_trip_with_checksums(client: kms_v1.KeyManagementServiceClient,
                                                   ring: str) -> None:
    key = _key(client, ring)
    plaintext, aad = b"patient-share-dek" * 3, b"share:123"
    enc = client.encrypt(request={
        "name": key.name, "plaintext": plaintext, "additional_authenticated_data": aad,
        "plaintext_crc32c": _crc(plaintext), "additional_authenticated_data_crc32c": _crc(aad),
    })
    assert enc.name == f"{key.name}/cryptoKeyVersions/1"
    assert enc.verified_plaintext_crc32c and enc.verified_additional_authenticated_data_crc32c
    assert enc.ciphertext_crc32c == _crc(enc.ciphertext)
    assert enc.protection_level == kms_v1.ProtectionLevel.SOFTWARE
    assert plaintext not in enc.ciphertext
    assert _encrypt(client, key.name, plaintext, aad).ciphertext != enc.ciphertext  # fresh nonce
    dec = client.decrypt(request={"name": key.name, "ciphertext": enc.ciphertext,
                                  "additional_authenticated_data": aad,
                                  "ciphertext_crc32c": _crc(enc.ciphertext)})
    assert dec.plaintext == plaintext
    assert dec.plaintext_crc32c == _crc(plaintext)
    assert dec.used_primary


def test_checksum_mismatch_is_rejected(client: kms_v1.KeyManagementServiceClient,
                                       ring: str) -> None:
    key = _key(client, ring)
    with pytest.raises(exceptions.BadRequest) as info:
        client.encrypt(request={"name": key.name, "plaintext": b"abc",
                                "plaintext_crc32c": _crc(b"abd")})
    assert _status(info.value) == "INVALID_ARGUMENT"
    with pytest.raises(exceptions.BadRequest):
        client.encrypt(request={"name": key.name, "plaintext": b"abc",
                                "additional_authenticated_data": b"a",
                                "additional_authenticated_data_crc32c": 1})
    ciphertext = _encrypt(client, key.name, b"abc").ciphertext
    with pytest.raises(exceptions.BadRequest):
        client.decrypt(request={"name": key.name, "ciphertext": ciphertext,
                                "ciphertext_crc32c": _crc(ciphertext) ^ 1})


def test_wrong_aad_fails(client: kms_v1.KeyManagementServiceClient, ring: str) -> None:
    key = _key(client, ring)
    ciphertext = _encrypt(client, key.name, b"secret", b"share:1").ciphertext
    for aad in (b"share:2", b""):
        with pytest.raises(exceptions.BadRequest, match="Decryption failed") as info:
            _decrypt(client, key.name, ciphertext, aad)
        assert _status(info.value) == "INVALID_ARGUMENT"


def test_tampered_or_foreign_ciphertext_fails(client: kms_v1.KeyManagementServiceClient,
                                              ring: str) -> None:
    key, other = _key(client, ring), _key(client, ring)
    ciphertext = bytearray(_encrypt(client, key.name, b"secret").ciphertext)
    ciphertext[-1] ^= 0x01
    for bad in (bytes(ciphertext), bytes(ciphertext[:10]), b"not a kms ciphertext at all!!!!"):
        with pytest.raises(exceptions.BadRequest, match="Decryption failed") as info:
            _decrypt(client, key.name, bad)
        assert _status(info.value) == "INVALID_ARGUMENT"
    with pytest.raises(exceptions.BadRequest, match="Decryption failed"):
        _decrypt(client, other.name, _encrypt(client, key.name, b"secret").ciphertext)


def test_rotation_keeps_old_ciphertext_decryptable(client: kms_v1.KeyManagementServiceClient,
                                                   ring: str) -> None:
    key = _key(client, ring)
    old = _encrypt(client, key.name, b"v1 data").ciphertext
    v2 = client.create_crypto_key_version(parent=key.name, crypto_key_version=kms_v1.CryptoKeyVersion())
    assert v2.name == f"{key.name}/cryptoKeyVersions/2"
    # A new symmetric version does not become primary by itself.
    assert client.get_crypto_key(name=key.name).primary.name.endswith("/1")
    assert _encrypt(client, key.name, b"x").name.endswith("/cryptoKeyVersions/1")
    updated = client.update_crypto_key_primary_version(name=key.name,
                                                       crypto_key_version_id="2")
    assert updated.primary.name == v2.name
    new = _encrypt(client, key.name, b"v2 data")
    assert new.name == v2.name
    old_dec = _decrypt(client, key.name, old)
    assert old_dec.plaintext == b"v1 data" and not old_dec.used_primary
    new_dec = _decrypt(client, key.name, new.ciphertext)
    assert new_dec.plaintext == b"v2 data" and new_dec.used_primary
    # Encrypting with an explicit version name (cryptoKeys/** in the URI) also works.
    explicit = _encrypt(client, f"{key.name}/cryptoKeyVersions/1", b"pinned")
    assert explicit.name.endswith("/cryptoKeyVersions/1")
    names = [v.name for v in client.list_crypto_key_versions(parent=key.name)]
    assert names == [f"{key.name}/cryptoKeyVersions/1", v2.name]


def test_destroyed_version_cannot_decrypt(client: kms_v1.KeyManagementServiceClient,
                                          ring: str) -> None:
    key = _key(client, ring)
    ciphertext = _encrypt(client, key.name, b"doomed").ciphertext
    destroyed = client.destroy_crypto_key_version(name=key.primary.name)
    assert destroyed.state == State.DESTROY_SCHEDULED
    assert destroyed.destroy_time.timestamp() > destroyed.create_time.timestamp()
    with pytest.raises(exceptions.BadRequest) as info:
        _decrypt(client, key.name, ciphertext)
    assert _status(info.value) == "FAILED_PRECONDITION"
    with pytest.raises(exceptions.BadRequest):
        _encrypt(client, key.name, b"more")
    with pytest.raises(exceptions.BadRequest):
        client.destroy_crypto_key_version(name=key.primary.name)
    # restore -> DISABLED, then enable -> usable again.
    restored = client.restore_crypto_key_version(name=key.primary.name)
    assert restored.state == State.DISABLED
    enabled = client.update_crypto_key_version(
        crypto_key_version=kms_v1.CryptoKeyVersion(name=key.primary.name, state=State.ENABLED),
        update_mask={"paths": ["state"]})
    assert enabled.state == State.ENABLED
    assert _decrypt(client, key.name, ciphertext).plaintext == b"doomed"


def test_skip_initial_version_creation(client: kms_v1.KeyManagementServiceClient,
                                       ring: str) -> None:
    key = _key(client, ring, skip_initial_version=True)
    assert not key.primary.name
    assert list(client.list_crypto_key_versions(parent=key.name)) == []
    with pytest.raises(exceptions.BadRequest) as info:
        _encrypt(client, key.name, b"x")
    assert _status(info.value) == "FAILED_PRECONDITION"
    v1 = client.create_crypto_key_version(parent=key.name, crypto_key_version=kms_v1.CryptoKeyVersion())
    client.update_crypto_key_primary_version(name=key.name, crypto_key_version_id="1")
    assert _encrypt(client, key.name, b"x").name == v1.name


# --- asymmetric signing ------------------------------------------------------------------

def _public_key(client: kms_v1.KeyManagementServiceClient, version: str) -> object:
    pub = client.get_public_key(name=version)
    assert pub.name == version
    assert pub.pem_crc32c == _crc(pub.pem.encode())
    assert pub.pem.startswith("-----BEGIN PUBLIC KEY-----")
    return serialization.load_pem_public_key(pub.pem.encode())


def test_ec_p256_sign_verifies_with_public_key(client: kms_v1.KeyManagementServiceClient,
                                               ring: str) -> None:
    key = _key(client, ring, Purpose.ASYMMETRIC_SIGN, Alg.EC_SIGN_P256_SHA256)
    assert not key.primary.name  # asymmetric keys have no primary version
    version = f"{key.name}/cryptoKeyVersions/1"
    public = _public_key(client, version)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(public.curve, ec.SECP256R1)
    message = b"header.payload"
    digest = hashlib.sha256(message).digest()
    resp = client.asymmetric_sign(request={"name": version, "digest": {"sha256": digest},
                                           "digest_crc32c": _crc(digest)})
    assert resp.name == version and resp.verified_digest_crc32c
    assert resp.signature_crc32c == _crc(resp.signature)
    public.verify(resp.signature, message, ec.ECDSA(hashes.SHA256()))  # DER ECDSA
    by_data = client.asymmetric_sign(request={"name": version, "data": message})
    public.verify(by_data.signature, message, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(exceptions.BadRequest):
        client.asymmetric_sign(request={"name": version,
                                        "digest": {"sha384": hashlib.sha384(message).digest()}})
    with pytest.raises(exceptions.BadRequest) as info:
        _encrypt(client, key.name, b"x")
    assert _status(info.value) == "FAILED_PRECONDITION"


@pytest.mark.parametrize("algorithm", [Alg.RSA_SIGN_PKCS1_2048_SHA256,
                                       Alg.RSA_SIGN_PSS_2048_SHA256])
def test_rsa_sign_verifies_with_public_key(client: kms_v1.KeyManagementServiceClient,
                                           ring: str, algorithm: int) -> None:
    key = _key(client, ring, Purpose.ASYMMETRIC_SIGN, algorithm)
    version = f"{key.name}/cryptoKeyVersions/1"
    public = _public_key(client, version)
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    digest = hashlib.sha256(b"claims").digest()
    signature = client.asymmetric_sign(request={"name": version,
                                                "digest": {"sha256": digest}}).signature
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15() if algorithm == Alg.RSA_SIGN_PKCS1_2048_SHA256
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32))
    public.verify(signature, digest, pad, utils.Prehashed(hashes.SHA256()))


def test_symmetric_key_has_no_public_key(client: kms_v1.KeyManagementServiceClient,
                                         ring: str) -> None:
    key = _key(client, ring)
    with pytest.raises(exceptions.BadRequest) as info:
        client.get_public_key(name=key.primary.name)
    assert _status(info.value) == "FAILED_PRECONDITION"


# --- persistence and CLI -----------------------------------------------------------------

def _stop(server: BaseWSGIServer) -> None:
    server.shutdown()
    server.server_close()


def test_state_file_persists_across_instances(tmp_path: Path) -> None:
    state = tmp_path / "kms-state.json"
    server, port = serve("127.0.0.1", 0, str(state))
    try:
        with _client(port) as kms:
            ring = kms.create_key_ring(parent=LOCATION, key_ring_id="persist", key_ring=kms_v1.KeyRing()).name
            key = _key(kms, ring)
            signer = _key(kms, ring, Purpose.ASYMMETRIC_SIGN, Alg.EC_SIGN_P256_SHA256)
            ciphertext = _encrypt(kms, key.name, b"survives restarts", b"aad").ciphertext
            pem = kms.get_public_key(name=f"{signer.name}/cryptoKeyVersions/1").pem
    finally:
        _stop(server)
    saved = json.loads(state.read_text())
    assert key.name in saved["cryptoKeys"]
    assert not list(tmp_path.glob(".kms-state-*"))  # temp files renamed away
    server, port = serve("127.0.0.1", 0, str(state))
    try:
        with _client(port) as kms:
            assert kms.get_crypto_key(name=key.name).primary.name.endswith("/1")
            assert _decrypt(kms, key.name, ciphertext, b"aad").plaintext == b"survives restarts"
            assert kms.get_public_key(name=f"{signer.name}/cryptoKeyVersions/1").pem == pem
            with pytest.raises(exceptions.Conflict):
                kms.create_key_ring(parent=LOCATION, key_ring_id="persist", key_ring=kms_v1.KeyRing())
    finally:
        _stop(server)


def test_cli_prints_listening_line_and_exits_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "cli-state.json"
    with subprocess.Popen(
        [sys.executable, "-m", "emulators.kms", "--host", "127.0.0.1", "--port", "0",
         "--state-file", str(state)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            match = re.fullmatch(r"KMS emulator listening on http://127\.0\.0\.1:(\d+)\n", line)
            assert match, line
            with _client(int(match.group(1))) as kms:
                kms.create_key_ring(parent=LOCATION, key_ring_id="cli", key_ring=kms_v1.KeyRing())
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert out == "" and err == ""
    assert f"{LOCATION}/keyRings/cli" in json.loads(state.read_text())["keyRings"]


def test_base64_of_bytes_is_standard(client: kms_v1.KeyManagementServiceClient,
                                     ring: str, port: int) -> None:
    """Raw REST callers (no client library) can send URL-safe unpadded base64 too."""
    key = _key(client, ring)
    plaintext = b"\xfb\xff\xfe"
    body = json.dumps({"plaintext": base64.urlsafe_b64encode(plaintext).decode().rstrip("=")})
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/{key.name}:encrypt",
                                 data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        ciphertext = base64.b64decode(json.load(resp)["ciphertext"])
    assert _decrypt(client, key.name, ciphertext).plaintext == plaintext
