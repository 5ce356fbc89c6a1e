"""Pub/Sub push requests and Cloud Scheduler calls: the envelope and the OIDC token.

A push is ``{"message": {"data": <base64>, "attributes": {...}, "messageId": ...,
"publishTime": ...}, "subscription": ...}`` (https://cloud.google.com/pubsub/docs/push).
In production each push (and each Cloud Scheduler call) carries ``Authorization: Bearer
<Google-signed OIDC token>`` whose audience is the function's URL: verified here with
``google.oauth2.id_token.verify_oauth2_token`` against ``settings.push_audience`` when
``settings.verify_push_oidc`` (outside ``local``). The emulator pushes without a token.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from typing import Any

from beamit.errors import Unauthenticated
from beamit.settings import Settings


class MalformedPush(ValueError):
    """The request is not a Pub/Sub push (redelivering it cannot help)."""


@dataclass(frozen=True)
class PushMessage:
    data: bytes
    attributes: dict[str, str]
    message_id: str
    publish_time: str | None
    subscription: str | None

    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MalformedPush(f"message data is not JSON: {exc}") from None


def parse_push(raw: bytes) -> PushMessage:
    """The message of a push request body."""
    try:
        push = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedPush("the push body is not JSON") from None
    message = push.get("message") if isinstance(push, dict) else None
    if not isinstance(message, dict):
        raise MalformedPush("the push has no message")
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise MalformedPush("message data is not base64") from None
    attributes = message.get("attributes")
    attributes = {} if attributes is None else attributes
    if not isinstance(attributes, dict):
        raise MalformedPush("message attributes are not an object")
    return PushMessage(
        data=data,
        attributes={str(k): str(v) for k, v in attributes.items()},
        message_id=str(message.get("messageId") or message.get("message_id") or ""),
        publish_time=message.get("publishTime"),
        subscription=push.get("subscription"),
    )


@functools.cache
def _transport() -> Any:
    import google.auth.transport.requests
    import requests

    return google.auth.transport.requests.Request(session=requests.Session())


def verify_push_token(authorization: str | None, settings: Settings) -> dict[str, Any] | None:
    """Check the OIDC token of a push or scheduler call (when ``settings.verify_push_oidc``);
    returns its claims, or ``None`` when verification is off. Raises :class:`Unauthenticated`."""
    if not settings.verify_push_oidc:
        return None
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a push needs an OIDC bearer token")
    if not settings.push_audience:
        raise Unauthenticated("push verification is on but BEAMIT_PUSH_AUDIENCE is not set")
    from google.auth import exceptions as auth_exceptions
    from google.oauth2 import id_token

    try:
        claims: dict[str, Any] = id_token.verify_oauth2_token(  # type: ignore[no-untyped-call]
            token.strip(), _transport(), audience=settings.push_audience
        )
    except (ValueError, auth_exceptions.GoogleAuthError):
        raise Unauthenticated("invalid push token") from None
    # Which service account may call is Cloud Run's invoker IAM (terraform/functions.tf).
    return claims
