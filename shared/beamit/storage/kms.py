"""Cloud KMS implementation of :class:`~beamit.storage.protocols.KeyService`.

Secrets the application keeps (webhook signing secrets, OAuth client secrets) are
encrypted directly with a KMS key (they are far below KMS's 64 KiB plaintext limit);
CRC32C checksums are verified both ways as Google recommends.
"""

from __future__ import annotations

from collections.abc import Callable

import google_crc32c
from google.cloud import kms_v1


class KeyIntegrityError(Exception):
    """A KMS response failed its CRC32C check."""


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


class CloudKmsKeyService:
    def __init__(self, client: kms_v1.KeyManagementServiceClient, key_name: Callable[[str], str]) -> None:
        self._client = client
        self._key_name = key_name

    def encrypt(self, key: str, plaintext: bytes, aad: bytes = b"") -> bytes:
        response = self._client.encrypt(
            request={
                "name": self._key_name(key),
                "plaintext": plaintext,
                "plaintext_crc32c": _crc(plaintext),
                "additional_authenticated_data": aad,
                "additional_authenticated_data_crc32c": _crc(aad),
            }
        )
        if not response.verified_plaintext_crc32c or int(response.ciphertext_crc32c) != _crc(response.ciphertext):
            raise KeyIntegrityError("encrypt response failed its integrity check")
        return bytes(response.ciphertext)

    def decrypt(self, key: str, ciphertext: bytes, aad: bytes = b"") -> bytes:
        response = self._client.decrypt(
            request={
                "name": self._key_name(key),
                "ciphertext": ciphertext,
                "ciphertext_crc32c": _crc(ciphertext),
                "additional_authenticated_data": aad,
                "additional_authenticated_data_crc32c": _crc(aad),
            }
        )
        if int(response.plaintext_crc32c) != _crc(response.plaintext):
            raise KeyIntegrityError("decrypt response failed its integrity check")
        return bytes(response.plaintext)

    def ping(self, key: str) -> None:
        self._client.get_crypto_key(request={"name": self._key_name(key)})
