"""A small Cloud KMS v1 REST emulator (test/dev stand-in only, NOT secure storage).

It speaks enough of ``cloudkms.googleapis.com/v1`` for the real ``google-cloud-kms``
client with ``transport="rest"`` to run against it unchanged: key rings, crypto keys,
crypto key versions, symmetric encrypt/decrypt (AES-256-GCM), asymmetric signing
(EC P-256/P-384, RSA PKCS#1 v1.5 and PSS) and public-key export.  See README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NamedTuple

import google_crc32c
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

JSON = dict[str, Any]
Handler = Callable[[Request, dict[str, str]], JSON]

# --- enums (names and the numbers used with ``$alt=json;enum-encoding=int``) -------------

PURPOSES = {"CRYPTO_KEY_PURPOSE_UNSPECIFIED": 0, "ENCRYPT_DECRYPT": 1, "ASYMMETRIC_SIGN": 5,
            "ASYMMETRIC_DECRYPT": 6, "RAW_ENCRYPT_DECRYPT": 7, "MAC": 9,
            "KEY_ENCAPSULATION": 10, "AES_WRAPPING": 11}
STATES = {"CRYPTO_KEY_VERSION_STATE_UNSPECIFIED": 0, "ENABLED": 1, "DISABLED": 2,
          "DESTROYED": 3, "DESTROY_SCHEDULED": 4, "PENDING_GENERATION": 5}
PROTECTION_LEVELS = {"PROTECTION_LEVEL_UNSPECIFIED": 0, "SOFTWARE": 1, "HSM": 2,
                     "EXTERNAL": 3, "EXTERNAL_VPC": 4, "HSM_SINGLE_TENANT": 5}


class Algorithm(NamedTuple):
    """A supported CryptoKeyVersionAlgorithm."""

    number: int
    purpose: str
    kind: str  # "aes" | "ec" | "rsa-pkcs1" | "rsa-pss"
    size: int  # RSA modulus bits (0 otherwise)
    hash: str  # "sha256" | "sha384" | "sha512" | ""


ALGORITHMS = {
    "GOOGLE_SYMMETRIC_ENCRYPTION": Algorithm(1, "ENCRYPT_DECRYPT", "aes", 0, ""),
    "EC_SIGN_P256_SHA256": Algorithm(12, "ASYMMETRIC_SIGN", "ec", 0, "sha256"),
    "EC_SIGN_P384_SHA384": Algorithm(13, "ASYMMETRIC_SIGN", "ec", 0, "sha384"),
    "RSA_SIGN_PSS_2048_SHA256": Algorithm(2, "ASYMMETRIC_SIGN", "rsa-pss", 2048, "sha256"),
    "RSA_SIGN_PSS_3072_SHA256": Algorithm(3, "ASYMMETRIC_SIGN", "rsa-pss", 3072, "sha256"),
    "RSA_SIGN_PSS_4096_SHA256": Algorithm(4, "ASYMMETRIC_SIGN", "rsa-pss", 4096, "sha256"),
    "RSA_SIGN_PSS_4096_SHA512": Algorithm(15, "ASYMMETRIC_SIGN", "rsa-pss", 4096, "sha512"),
    "RSA_SIGN_PKCS1_2048_SHA256": Algorithm(5, "ASYMMETRIC_SIGN", "rsa-pkcs1", 2048, "sha256"),
    "RSA_SIGN_PKCS1_3072_SHA256": Algorithm(6, "ASYMMETRIC_SIGN", "rsa-pkcs1", 3072, "sha256"),
    "RSA_SIGN_PKCS1_4096_SHA256": Algorithm(7, "ASYMMETRIC_SIGN", "rsa-pkcs1", 4096, "sha256"),
    "RSA_SIGN_PKCS1_4096_SHA512": Algorithm(16, "ASYMMETRIC_SIGN", "rsa-pkcs1", 4096, "sha512"),
}
ALGORITHM_NUMBERS = {"CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED": 0} | {
    name: alg.number for name, alg in ALGORITHMS.items()}
# Response fields holding enums, converted to numbers when the client asks for them.
ENUM_FIELDS = {"purpose": PURPOSES, "state": STATES, "protectionLevel": PROTECTION_LEVELS,
               "algorithm": ALGORITHM_NUMBERS}
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}

ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
DEFAULT_DESTROY_SCHEDULED_DURATION = "2592000s"  # 30 days, as in the real service
MAX_DATA = 64 * 1024
# Ciphertext layout: MAGIC | version id (uint32 BE) | 96-bit nonce | AES-GCM(ct || tag).
CT_MAGIC = b"\x00KMS"
CT_HEADER = struct.Struct(">4sI12s")


class ApiError(Exception):
    """An error answered in Google's JSON error shape."""

    HTTP: ClassVar[dict[str, int]] = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404,
            "ALREADY_EXISTS": 409, "INTERNAL": 500, "UNIMPLEMENTED": 501}

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, self.HTTP[status]

    def to_json(self) -> JSON:
        """Return ``{"error": {"code", "message", "status"}}``."""
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def _not_enabled(name: str, state: str) -> ApiError:
    return ApiError("FAILED_PRECONDITION",
                    f"{name} is not enabled, current state is: {state}.")


def _precondition(resource: str, value: str, field_name: str) -> ApiError:
    return ApiError("FAILED_PRECONDITION", f"The request cannot be fulfilled. Resource "
                    f"{resource} has value {value} in field {field_name}.")


# --- small helpers ---------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64d(value: Any, field_name: str) -> bytes:
    """Decode a proto3-JSON ``bytes`` field (standard or URL-safe, padding optional)."""
    if value is None:
        return b""
    if not isinstance(value, str):
        raise ApiError("INVALID_ARGUMENT", f"Invalid value for bytes field {field_name}.")
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        raise ApiError("INVALID_ARGUMENT", f"Invalid base64 in field {field_name}.") from None


def crc32c(data: bytes) -> int:
    """CRC32C checksum as used by the KMS integrity fields."""
    return int(google_crc32c.value(data))


def _check_crc(body: JSON, crc_field: str, data: bytes, data_field: str) -> bool:
    """Verify an optional ``*Crc32c`` request field (int64: a JSON string or number)."""
    if body.get(crc_field) is None:
        return False
    try:
        expected = int(body[crc_field])
    except (TypeError, ValueError):
        raise ApiError("INVALID_ARGUMENT", f"Invalid int64 in field {_snake(crc_field)}.") from None
    if expected != crc32c(data):
        raise ApiError("INVALID_ARGUMENT", f"The checksum in field {_snake(crc_field)} did "
                       f"not match the data in field {_snake(data_field)}.")
    return True


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _enum_in(table: dict[str, int], value: Any, field_name: str, default: str) -> str:
    """Read an enum sent either by name or (``enum-encoding=int``) by number."""
    if value is None or value == 0 or value == "":
        return default
    if isinstance(value, int):
        for name, number in table.items():
            if number == value:
                return name
        raise ApiError("INVALID_ARGUMENT", f"Unsupported value {value} for {field_name}.")
    if isinstance(value, str) and value in table:
        return value
    raise ApiError("INVALID_ARGUMENT", f"Unsupported value {value!r} for {field_name}.")


def _numeric_enums(value: Any) -> Any:
    """Rewrite enum names to numbers throughout a response (``enum-encoding=int``)."""
    if isinstance(value, dict):
        return {k: ENUM_FIELDS[k].get(v, v) if k in ENUM_FIELDS and isinstance(v, str)
                else v if k == "labels" else _numeric_enums(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numeric_enums(v) for v in value]
    return value


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)s", duration)
    if not match:
        raise ApiError("INVALID_ARGUMENT", f"Invalid duration {duration!r}.")
    return float(match.group(1))


def _check_id(value: str | None, field_name: str) -> str:
    if not value or not ID_RE.match(value):
        raise ApiError("INVALID_ARGUMENT", f"{field_name} must match [a-zA-Z0-9_-]{{1,63}}.")
    return value


# --- state -----------------------------------------------------------------------------

@dataclass
class Version:
    """A CryptoKeyVersion with its key material (AES key or PKCS#8 DER private key)."""

    number: int
    state: str
    create_time: str
    material: bytes
    destroy_time: str | None = None


@dataclass
class CryptoKey:
    """A CryptoKey and its versions."""

    name: str
    purpose: str
    algorithm: str
    protection_level: str
    create_time: str
    destroy_scheduled_duration: str
    labels: dict[str, str] = field(default_factory=dict)
    extra: JSON = field(default_factory=dict)  # echoed as-is (rotationPeriod, ...)
    primary: int | None = None
    versions: dict[int, Version] = field(default_factory=dict)

    def version_name(self, number: int) -> str:
        """Resource name of version ``number``."""
        return f"{self.name}/cryptoKeyVersions/{number}"


def _generate_material(algorithm: str) -> bytes:
    alg = ALGORITHMS[algorithm]
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if alg.kind == "aes":
        return AESGCM.generate_key(bit_length=256)
    if alg.kind == "ec":
        private = ec.generate_private_key(ec.SECP256R1() if alg.hash == "sha256"
                                          else ec.SECP384R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=alg.size)
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do not log each request."""


class KmsEmulator:
    """The WSGI application: in-memory Cloud KMS state behind the v1 REST surface."""

    def __init__(self, state_file: str | None = None) -> None:
        self.state_file = state_file
        self.lock = threading.RLock()
        self.key_rings: dict[str, str] = {}  # name -> createTime
        self.keys: dict[str, CryptoKey] = {}
        if state_file and os.path.exists(state_file):
            self._load(state_file)
        elif state_file:
            os.makedirs(os.path.dirname(os.path.abspath(state_file)), exist_ok=True)
        loc = "/v1/projects/<id:project>/locations/<id:location>"
        ring = loc + "/keyRings/<id:ring>"
        key = ring + "/cryptoKeys/<id:key>"
        ver = key + "/cryptoKeyVersions/<id:version>"
        routes: list[tuple[str, str, Handler]] = [
            ("GET", loc + "/keyRings", self.list_key_rings),
            ("POST", loc + "/keyRings", self.create_key_ring),
            ("GET", ring, self.get_key_ring),
            ("GET", ring + "/cryptoKeys", self.list_crypto_keys),
            ("POST", ring + "/cryptoKeys", self.create_crypto_key),
            ("GET", key, self.get_crypto_key),
            ("POST", key + ":encrypt", self.encrypt),
            ("POST", key + ":decrypt", self.decrypt),
            ("POST", key + ":updatePrimaryVersion", self.update_primary_version),
            ("GET", key + "/cryptoKeyVersions", self.list_versions),
            ("POST", key + "/cryptoKeyVersions", self.create_version),
            ("GET", ver, self.get_version),
            ("PATCH", ver, self.update_version),
            ("POST", ver + ":encrypt", self.encrypt),
            ("POST", ver + ":destroy", self.destroy_version),
            ("POST", ver + ":restore", self.restore_version),
            ("POST", ver + ":asymmetricSign", self.asymmetric_sign),
            ("GET", ver + "/publicKey", self.get_public_key),
        ]
        self.url_map = Map([Rule(path, methods=[method], endpoint=handler)
                            for method, path, handler in routes],
                           converters={"id": _IdConverter})

    # -- WSGI plumbing ---------------------------------------------------------------

    def __call__(self, environ: JSON, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        numeric = "enum-encoding=int" in request.args.get("$alt", "")
        try:
            handler, values = self.url_map.bind_to_environ(environ).match()
            with self.lock:
                result: JSON = handler(request, values)
            status = 200
            if numeric:
                result = _numeric_enums(result)
        except ApiError as err:
            status, result = err.code, err.to_json()
        except HTTPException:
            status, result = 501, ApiError("UNIMPLEMENTED", f"The KMS emulator does not "
                                           f"implement {request.method} {request.path}.").to_json()
        except Exception as exc:
            status, result = 500, ApiError("INTERNAL", f"{type(exc).__name__}: {exc}").to_json()
        response = Response(json.dumps(result), status=status, mimetype="application/json")
        return response(environ, start_response)

    @staticmethod
    def _body(request: Request) -> JSON:
        if not request.get_data():
            return {}
        try:
            body = json.loads(request.get_data())
        except ValueError:
            raise ApiError("INVALID_ARGUMENT", "Invalid JSON payload.") from None
        if not isinstance(body, dict):
            raise ApiError("INVALID_ARGUMENT", "Invalid JSON payload.")
        return body

    # -- persistence -------------------------------------------------------------------

    def _load(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        self.key_rings = dict(data["keyRings"])
        for name, k in data["cryptoKeys"].items():
            versions = {int(n): Version(int(n), v["state"], v["createTime"],
                                        base64.b64decode(v["material"]), v.get("destroyTime"))
                        for n, v in k["versions"].items()}
            self.keys[name] = CryptoKey(
                name, k["purpose"], k["algorithm"], k["protectionLevel"], k["createTime"],
                k["destroyScheduledDuration"], k.get("labels", {}), k.get("extra", {}),
                k.get("primary"), versions)

    def _save(self) -> None:
        """Write the whole state atomically (temp file + rename) if a state file is set."""
        if not self.state_file:
            return
        keys = {name: {
            "purpose": k.purpose, "algorithm": k.algorithm, "protectionLevel": k.protection_level,
            "createTime": k.create_time, "destroyScheduledDuration": k.destroy_scheduled_duration,
            "labels": k.labels, "extra": k.extra, "primary": k.primary,
            "versions": {str(n): {"state": v.state, "createTime": v.create_time,
                                  "material": _b64e(v.material), "destroyTime": v.destroy_time}
                         for n, v in k.versions.items()}} for name, k in self.keys.items()}
        directory = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kms-state-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"format": 1, "keyRings": self.key_rings, "cryptoKeys": keys}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_file)
        except BaseException:
            os.unlink(tmp)
            raise

    # -- lookups and JSON views ----------------------------------------------------------

    @staticmethod
    def _names(v: dict[str, str]) -> tuple[str, str, str]:
        loc = f"projects/{v['project']}/locations/{v['location']}"
        ring = f"{loc}/keyRings/{v['ring']}" if "ring" in v else ""
        key = f"{ring}/cryptoKeys/{v['key']}" if "key" in v else ""
        return loc, ring, key

    def _ring(self, v: dict[str, str]) -> str:
        ring = self._names(v)[1]
        if ring not in self.key_rings:
            raise ApiError("NOT_FOUND", f"KeyRing {ring} not found.")
        return ring

    def _key(self, v: dict[str, str]) -> CryptoKey:
        self._ring(v)
        name = self._names(v)[2]
        if name not in self.keys:
            raise ApiError("NOT_FOUND", f"CryptoKey {name} not found.")
        return self.keys[name]

    def _version(self, key: CryptoKey, number: str | int) -> Version:
        try:
            return key.versions[int(number)]
        except (KeyError, ValueError):
            raise ApiError("NOT_FOUND",
                           f"CryptoKeyVersion {key.name}/cryptoKeyVersions/{number} not found."
                           ) from None

    @staticmethod
    def _version_json(key: CryptoKey, ver: Version) -> JSON:
        out: JSON = {"name": key.version_name(ver.number), "state": ver.state,
                     "protectionLevel": key.protection_level, "algorithm": key.algorithm,
                     "createTime": ver.create_time, "generateTime": ver.create_time}
        if ver.destroy_time:
            out["destroyTime"] = ver.destroy_time
        return out

    def _key_json(self, key: CryptoKey) -> JSON:
        out: JSON = {"name": key.name, "purpose": key.purpose, "createTime": key.create_time,
                     "versionTemplate": {"protectionLevel": key.protection_level,
                                         "algorithm": key.algorithm},
                     "destroyScheduledDuration": key.destroy_scheduled_duration, **key.extra}
        if key.labels:
            out["labels"] = key.labels
        if key.primary is not None:
            out["primary"] = self._version_json(key, key.versions[key.primary])
        return out

    @staticmethod
    def _page(request: Request, items: list[JSON], field_name: str) -> JSON:
        try:
            start = int(request.args.get("pageToken") or 0)
            size = int(request.args.get("pageSize") or 0) or 1000
        except ValueError:
            raise ApiError("INVALID_ARGUMENT", "Invalid page token or page size.") from None
        out: JSON = {field_name: items[start:start + size], "totalSize": len(items)}
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    def _new_version(self, key: CryptoKey) -> Version:
        number = max(key.versions, default=0) + 1
        ver = Version(number, "ENABLED", _ts(_now()), _generate_material(key.algorithm))
        key.versions[number] = ver
        return ver

    # -- KeyRings ----------------------------------------------------------------------

    def create_key_ring(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.CreateKeyRing: ``POST /v1/{parent}/keyRings?keyRingId=``."""
        ring_id = _check_id(request.args.get("keyRingId"), "key_ring_id")
        name = f"{self._names(v)[0]}/keyRings/{ring_id}"
        if name in self.key_rings:
            raise ApiError("ALREADY_EXISTS", f"KeyRing {name} already exists.")
        self.key_rings[name] = _ts(_now())
        self._save()
        return {"name": name, "createTime": self.key_rings[name]}

    def get_key_ring(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.GetKeyRing: ``GET /v1/{name=.../keyRings/*}``."""
        name = self._ring(v)
        return {"name": name, "createTime": self.key_rings[name]}

    def list_key_rings(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.ListKeyRings: ``GET /v1/{parent}/keyRings``."""
        prefix = self._names(v)[0] + "/keyRings/"
        rings = [{"name": n, "createTime": t} for n, t in self.key_rings.items()
                 if n.startswith(prefix)]
        return self._page(request, rings, "keyRings")

    # -- CryptoKeys --------------------------------------------------------------------

    def create_crypto_key(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.CreateCryptoKey: ``POST /v1/{parent}/cryptoKeys?cryptoKeyId=``.

        Honours ``skipInitialVersionCreation``; a new ENCRYPT_DECRYPT key gets version 1 as
        its primary, a new ASYMMETRIC_SIGN key gets version 1 (such keys have no primary).
        """
        ring = self._ring(v)
        key_id = _check_id(request.args.get("cryptoKeyId"), "crypto_key_id")
        name = f"{ring}/cryptoKeys/{key_id}"
        if name in self.keys:
            raise ApiError("ALREADY_EXISTS", f"CryptoKey {name} already exists.")
        body = self._body(request)
        purpose = _enum_in(PURPOSES, body.get("purpose"), "purpose", "")
        if purpose not in ("ENCRYPT_DECRYPT", "ASYMMETRIC_SIGN"):
            raise ApiError("INVALID_ARGUMENT", f"Unsupported purpose {purpose or 'unset'} "
                           "(the emulator supports ENCRYPT_DECRYPT and ASYMMETRIC_SIGN).")
        template = body.get("versionTemplate") or {}
        default = "GOOGLE_SYMMETRIC_ENCRYPTION" if purpose == "ENCRYPT_DECRYPT" else ""
        algorithm = _enum_in(ALGORITHM_NUMBERS, template.get("algorithm"),
                             "version_template.algorithm", default)
        if algorithm not in ALGORITHMS or ALGORITHMS[algorithm].purpose != purpose:
            raise ApiError("INVALID_ARGUMENT", f"Algorithm {algorithm or 'unset'} is not "
                           f"supported for purpose {purpose} by the emulator.")
        level = _enum_in(PROTECTION_LEVELS, template.get("protectionLevel"),
                         "version_template.protection_level", "SOFTWARE")
        if level not in ("SOFTWARE", "HSM"):
            raise ApiError("INVALID_ARGUMENT", f"Protection level {level} is not supported.")
        duration = body.get("destroyScheduledDuration") or DEFAULT_DESTROY_SCHEDULED_DURATION
        _seconds(duration)
        extra: JSON = {k: body[k] for k in ("rotationPeriod", "nextRotationTime") if k in body}
        key = CryptoKey(name, purpose, algorithm, level, _ts(_now()), duration,
                        dict(body.get("labels") or {}), extra)
        if request.args.get("skipInitialVersionCreation", "false").lower() != "true":
            ver = self._new_version(key)
            if purpose == "ENCRYPT_DECRYPT":
                key.primary = ver.number
        self.keys[name] = key
        self._save()
        return self._key_json(key)

    def get_crypto_key(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.GetCryptoKey: ``GET /v1/{name=.../cryptoKeys/*}``."""
        return self._key_json(self._key(v))

    def list_crypto_keys(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.ListCryptoKeys: ``GET /v1/{parent}/cryptoKeys``."""
        prefix = self._ring(v) + "/cryptoKeys/"
        keys = [self._key_json(k) for n, k in self.keys.items() if n.startswith(prefix)]
        return self._page(request, keys, "cryptoKeys")

    def update_primary_version(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.UpdateCryptoKeyPrimaryVersion: ``POST {name}:updatePrimaryVersion``."""
        key = self._key(v)
        if key.purpose != "ENCRYPT_DECRYPT":
            raise _precondition(key.name, key.purpose, "crypto_key.purpose")
        ver = self._version(key, self._body(request).get("cryptoKeyVersionId", ""))
        if ver.state != "ENABLED":
            raise _not_enabled(key.version_name(ver.number), ver.state)
        key.primary = ver.number
        self._save()
        return self._key_json(key)

    # -- CryptoKeyVersions -----------------------------------------------------------------

    def create_version(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.CreateCryptoKeyVersion: ``POST {parent}/cryptoKeyVersions``.

        Like the real API the new version does not become primary by itself.
        """
        key = self._key(v)
        ver = self._new_version(key)
        self._save()
        return self._version_json(key, ver)

    def get_version(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.GetCryptoKeyVersion: ``GET /v1/{name=.../cryptoKeyVersions/*}``."""
        key = self._key(v)
        return self._version_json(key, self._version(key, v["version"]))

    def list_versions(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.ListCryptoKeyVersions: ``GET {parent}/cryptoKeyVersions``."""
        key = self._key(v)
        items = [self._version_json(key, ver) for ver in key.versions.values()]
        return self._page(request, items, "cryptoKeyVersions")

    def update_version(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.UpdateCryptoKeyVersion (``updateMask=state`` only): PATCH."""
        key = self._key(v)
        ver = self._version(key, v["version"])
        if request.args.get("updateMask", "") != "state":
            raise ApiError("INVALID_ARGUMENT", "The emulator only supports updateMask=state.")
        state = _enum_in(STATES, self._body(request).get("state"), "state", "")
        if state not in ("ENABLED", "DISABLED") or ver.state not in ("ENABLED", "DISABLED"):
            raise _precondition(key.version_name(ver.number), ver.state,
                                "crypto_key_version.state")
        ver.state = state
        self._save()
        return self._version_json(key, ver)

    def destroy_version(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.DestroyCryptoKeyVersion: ``POST {name}:destroy``.

        The version becomes DESTROY_SCHEDULED; material is kept (so ``restore`` works) and
        is never actually destroyed by the emulator.
        """
        key = self._key(v)
        ver = self._version(key, v["version"])
        if ver.state not in ("ENABLED", "DISABLED"):
            raise _precondition(key.version_name(ver.number), ver.state,
                                "crypto_key_version.state")
        ver.state = "DESTROY_SCHEDULED"
        ver.destroy_time = _ts(_now() + timedelta(
            seconds=_seconds(key.destroy_scheduled_duration)))
        self._save()
        return self._version_json(key, ver)

    def restore_version(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.RestoreCryptoKeyVersion: ``POST {name}:restore`` (-> DISABLED)."""
        key = self._key(v)
        ver = self._version(key, v["version"])
        if ver.state != "DESTROY_SCHEDULED":
            raise _precondition(key.version_name(ver.number), ver.state,
                                "crypto_key_version.state")
        ver.state, ver.destroy_time = "DISABLED", None
        self._save()
        return self._version_json(key, ver)

    # -- symmetric crypto ----------------------------------------------------------------

    def encrypt(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.Encrypt: ``POST {name=.../cryptoKeys/**}:encrypt``.

        AES-256-GCM, random 96-bit nonce; the ciphertext embeds the version number.
        """
        key = self._key(v)
        if key.purpose != "ENCRYPT_DECRYPT":
            raise _precondition(key.name, key.purpose, "crypto_key.purpose")
        if "version" in v:
            ver = self._version(key, v["version"])
        elif key.primary is None:
            raise ApiError("FAILED_PRECONDITION", f"The request cannot be fulfilled. "
                           f"CryptoKey {key.name} has no primary CryptoKeyVersion.")
        else:
            ver = key.versions[key.primary]
        if ver.state != "ENABLED":
            raise _not_enabled(key.version_name(ver.number), ver.state)
        body = self._body(request)
        plaintext = _b64d(body.get("plaintext"), "plaintext")
        aad = _b64d(body.get("additionalAuthenticatedData"), "additional_authenticated_data")
        if len(plaintext) > MAX_DATA or len(aad) > MAX_DATA:
            raise ApiError("INVALID_ARGUMENT", "The plaintext or additional authenticated data "
                           f"is larger than {MAX_DATA} bytes.")
        verified_pt = _check_crc(body, "plaintextCrc32c", plaintext, "plaintext")
        verified_aad = _check_crc(body, "additionalAuthenticatedDataCrc32c", aad,
                                  "additionalAuthenticatedData")
        header = CT_HEADER.pack(CT_MAGIC, ver.number, os.urandom(12))
        ciphertext = header + AESGCM(ver.material).encrypt(header[-12:], plaintext, header + aad)
        return {"name": key.version_name(ver.number), "ciphertext": _b64e(ciphertext),
                "ciphertextCrc32c": str(crc32c(ciphertext)),
                "verifiedPlaintextCrc32c": verified_pt,
                "verifiedAdditionalAuthenticatedDataCrc32c": verified_aad,
                "protectionLevel": key.protection_level}

    def decrypt(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.Decrypt: ``POST {name=.../cryptoKeys/*}:decrypt``."""
        key = self._key(v)
        if key.purpose != "ENCRYPT_DECRYPT":
            raise _precondition(key.name, key.purpose, "crypto_key.purpose")
        body = self._body(request)
        ciphertext = _b64d(body.get("ciphertext"), "ciphertext")
        aad = _b64d(body.get("additionalAuthenticatedData"), "additional_authenticated_data")
        _check_crc(body, "ciphertextCrc32c", ciphertext, "ciphertext")
        _check_crc(body, "additionalAuthenticatedDataCrc32c", aad, "additionalAuthenticatedData")
        invalid = ApiError("INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.")
        if len(ciphertext) < CT_HEADER.size + 16:
            raise invalid
        magic, number, nonce = CT_HEADER.unpack_from(ciphertext)
        if magic != CT_MAGIC or number not in key.versions:
            raise invalid
        ver = key.versions[number]
        if ver.state != "ENABLED":
            raise _not_enabled(key.version_name(number), ver.state)
        header = ciphertext[:CT_HEADER.size]
        try:
            plaintext = AESGCM(ver.material).decrypt(nonce, ciphertext[CT_HEADER.size:],
                                                     header + aad)
        except InvalidTag:
            raise ApiError("INVALID_ARGUMENT", "Decryption failed: verify that 'name' refers "
                           "to the correct CryptoKey.") from None
        return {"plaintext": _b64e(plaintext), "plaintextCrc32c": str(crc32c(plaintext)),
                "usedPrimary": number == key.primary, "protectionLevel": key.protection_level}

    # -- asymmetric signing ----------------------------------------------------------------

    def _signing_version(self, v: dict[str, str]) -> tuple[CryptoKey, Version]:
        key = self._key(v)
        ver = self._version(key, v["version"])
        if key.purpose != "ASYMMETRIC_SIGN":
            raise _precondition(key.name, key.purpose, "crypto_key.purpose")
        if ver.state != "ENABLED":
            raise _not_enabled(key.version_name(ver.number), ver.state)
        return key, ver

    def asymmetric_sign(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.AsymmetricSign: ``POST {name=.../cryptoKeyVersions/*}:asymmetricSign``.

        Takes ``digest`` (``{sha256|sha384|sha512: b64}``) or raw ``data``; answers a DER
        ECDSA signature for EC keys, PKCS#1 v1.5 or PSS (salt = digest length) for RSA.
        """
        key, ver = self._signing_version(v)
        alg = ALGORITHMS[key.algorithm]
        body = self._body(request)
        digest_field, data_field = body.get("digest") or {}, body.get("data")
        if bool(digest_field) == bool(data_field):
            raise ApiError("INVALID_ARGUMENT", "Exactly one of digest or data must be set.")
        verified_digest = verified_data = False
        hash_alg = HASHES[alg.hash]()
        if data_field:
            data = _b64d(data_field, "data")
            verified_data = _check_crc(body, "dataCrc32c", data, "data")
            hasher = hashes.Hash(hash_alg)
            hasher.update(data)
            digest = hasher.finalize()
        else:
            if set(digest_field) != {alg.hash}:
                raise ApiError("INVALID_ARGUMENT", f"The digest type does not match the "
                               f"algorithm {key.algorithm}; expected digest.{alg.hash}.")
            digest = _b64d(digest_field[alg.hash], f"digest.{alg.hash}")
            verified_digest = _check_crc(body, "digestCrc32c", digest, "digest")
        if len(digest) != hash_alg.digest_size:
            raise ApiError("INVALID_ARGUMENT", f"The digest must be {hash_alg.digest_size} bytes.")
        private = serialization.load_der_private_key(ver.material, password=None)
        prehashed = utils.Prehashed(hash_alg)
        if isinstance(private, ec.EllipticCurvePrivateKey):
            signature = private.sign(digest, ec.ECDSA(prehashed))
        elif isinstance(private, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding = padding.PKCS1v15() if alg.kind == "rsa-pkcs1" else \
                padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)
            signature = private.sign(digest, pad, prehashed)
        else:  # pragma: no cover - material is always generated by this module
            raise ApiError("INTERNAL", "Unexpected key material.")
        return {"signature": _b64e(signature), "signatureCrc32c": str(crc32c(signature)),
                "verifiedDigestCrc32c": verified_digest, "verifiedDataCrc32c": verified_data,
                "name": key.version_name(ver.number), "protectionLevel": key.protection_level}

    def get_public_key(self, request: Request, v: dict[str, str]) -> JSON:
        """KeyManagementService.GetPublicKey: ``GET {name=.../cryptoKeyVersions/*}/publicKey``."""
        key, ver = self._signing_version(v)
        private = serialization.load_der_private_key(ver.material, password=None)
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"pem": pem.decode("ascii"), "algorithm": key.algorithm,
                "pemCrc32c": str(crc32c(pem)), "name": key.version_name(ver.number),
                "protectionLevel": key.protection_level}


class _IdConverter(BaseConverter):
    """A path segment up to the next ``/`` or ``:`` (so ``key:encrypt`` splits)."""

    regex = r"[^/:]+"


# --- entry points ----------------------------------------------------------------------

def make_app(state_file: str | None = None) -> KmsEmulator:
    """Return the emulator WSGI app; state is loaded from / saved to ``state_file``."""
    return KmsEmulator(state_file)


def serve(host: str = "127.0.0.1", port: int = 0, state_file: str | None = None,
          *, log_requests: bool = False) -> tuple[BaseWSGIServer, int]:
    """Start the emulator on a daemon thread; returns ``(server, bound_port)``.

    Stop it with ``server.shutdown(); server.server_close()``.
    """
    handler = WSGIRequestHandler if log_requests else _QuietHandler
    server = make_server(host, port, make_app(state_file), threaded=True,
                         request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name="kms-emulator", daemon=True)
    thread.start()
    return server, server.server_port


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m emulators.kms --host H --port P [--state-file PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m emulators.kms",
                                     description="Cloud KMS v1 REST emulator (test/dev only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099, help="0 picks a free port")
    parser.add_argument("--state-file", default=None, help="JSON file to persist keys in")
    parser.add_argument("--log-requests", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server, port = serve(args.host, args.port, args.state_file, log_requests=args.log_requests)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"KMS emulator listening on http://{host}:{port}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
