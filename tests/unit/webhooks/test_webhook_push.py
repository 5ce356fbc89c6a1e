"""Pub/Sub push envelopes and the OIDC check of pushes and scheduler calls."""

from __future__ import annotations

import base64
import json

import pytest
from google.auth import exceptions as auth_exceptions
from google.oauth2 import id_token

from beamit.errors import Unauthenticated
from beamit.settings import load_settings
from beamit.webhooks.push import MalformedPush, parse_push, verify_push_token

PRODUCTION = load_settings({"BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod",
                            "BEAMIT_PUSH_AUDIENCE": "https://webhook-delivery-123.us-central1.run.app"})


def push_body(data: bytes, **message: object) -> bytes:
    return json.dumps({"message": {"data": base64.b64encode(data).decode(), "attributes": {"type": "study.received"},
                                   "messageId": "42", "publishTime": "2026-02-20T10:30:00Z", **message},
                       "subscription": "projects/p/subscriptions/s"}).encode()


def test_parse_push():
    message = parse_push(push_body(b'{"id": "evt_x"}'))
    assert message.data == b'{"id": "evt_x"}' and message.json() == {"id": "evt_x"}
    assert message.attributes == {"type": "study.received"}
    assert message.message_id == "42" and message.subscription == "projects/p/subscriptions/s"


@pytest.mark.parametrize("raw", [b"not json", b"[]", b"{}", b'{"message": 5}',
                                 b'{"message": {"data": "***"}}',
                                 b'{"message": {"data": "", "attributes": []}}'])
def test_malformed_pushes(raw):
    with pytest.raises(MalformedPush):
        parse_push(raw)


def test_message_data_that_is_not_json():
    with pytest.raises(MalformedPush):
        parse_push(push_body(b"\xff\xfe")).json()


def test_no_verification_locally():
    assert load_settings({}).verify_push_oidc is False
    assert verify_push_token(None, load_settings({})) is None


def test_production_verifies_the_token_against_the_audience(monkeypatch):
    seen = {}

    def verify(token, request, audience=None, clock_skew_in_seconds=0):
        seen.update(token=token, audience=audience)
        if token != "good":
            raise ValueError("Token has wrong audience")
        return {"email": "beamit-push@acme-prod.iam.gserviceaccount.com", "email_verified": True}

    monkeypatch.setattr(id_token, "verify_oauth2_token", verify)
    claims = verify_push_token("Bearer good", PRODUCTION)
    assert claims and claims["email_verified"]
    assert seen == {"token": "good", "audience": "https://webhook-delivery-123.us-central1.run.app"}
    for header in (None, "", "Bearer ", "Basic Z29vZA==", "Bearer bad"):
        with pytest.raises(Unauthenticated):
            verify_push_token(header, PRODUCTION)


def test_auth_errors_are_refused(monkeypatch):
    def expired(*args, **kwargs):
        raise auth_exceptions.InvalidValue("Token expired")

    monkeypatch.setattr(id_token, "verify_oauth2_token", expired)
    with pytest.raises(Unauthenticated):
        verify_push_token("Bearer t", PRODUCTION)


def test_verification_without_an_audience_refuses():
    settings = load_settings({"BEAMIT_ENV": "production", "GOOGLE_CLOUD_PROJECT": "acme-prod"})
    with pytest.raises(Unauthenticated, match="BEAMIT_PUSH_AUDIENCE"):
        verify_push_token("Bearer t", settings)
