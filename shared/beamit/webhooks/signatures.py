"""Signing secrets and the signature headers of a webhook delivery.

Two signatures, with the same secret:

- ``X-BeamIt-Signature: sha256=<hex>``: HMAC-SHA256 of the raw body, keyed with the secret
  string exactly as shown at creation (``whsec_...``, UTF-8): the documented contract.
- Standard Webhooks (https://www.standardwebhooks.com, "Signature scheme"): ``webhook-id``
  (the event id, the same on every retry), ``webhook-timestamp`` (unix seconds) and
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the
  base64-decoded part of the secret after ``whsec_``. It binds the timestamp, so receivers
  can refuse replays.

While a rotated-out secret is still valid both headers carry one signature per secret, the
new one first: ``sha256=<new>,sha256=<old>`` and ``v1,<new> v1,<old>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "BeamIt-Webhooks/1.0"


def new_signing_secret() -> str:
    """``whsec_`` and 32 random bytes in base64 (the Standard Webhooks secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


@dataclass(frozen=True)
class SigningSecrets:
    """The endpoint's secret, and the one it replaced while that is still valid."""

    current: str
    previous: str | None = None

    def all(self) -> tuple[str, ...]:
        return (self.current,) if self.previous is None else (self.current, self.previous)


def beamit_signature(keys: SigningSecrets, body: bytes) -> str:
    """``X-BeamIt-Signature``: ``sha256=<hex HMAC-SHA256(secret, body)>`` per valid secret, comma-separated."""
    return ",".join(
        "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest() for secret in keys.all()
    )


def standard_signature(keys: SigningSecrets, message_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,<base64>`` per valid secret, space-separated (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()).decode("ascii")
        for secret in keys.all()
    )


def delivery_headers(
    keys: SigningSecrets, *, event_id: str, event_type: str, delivery_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header of one delivery attempt (``docs/webhooks.md``, "Headers")."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-BeamIt-Event": event_type,
        "X-BeamIt-Delivery": delivery_id,
        "X-BeamIt-Timestamp": str(timestamp),
        "X-BeamIt-Signature": beamit_signature(keys, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(keys, event_id, timestamp, body),
    }
