"""Signing secrets and signature headers, checked by the docs' snippets and by the
Standard Webhooks reference library, as receivers would check them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from beamit.webhooks.signatures import (
    SigningSecrets,
    beamit_signature,
    delivery_headers,
    new_signing_secret,
    standard_signature,
)
from tests.webhook_receiver import docs_snippet, python_verifier

BODY = json.dumps({"id": "evt_abc123", "type": "study.received", "createdAt": "2026-02-20T10:30:00Z",
                   "data": {"studyInstanceUID": "1.2.3", "instanceCount": 1}}, separators=(",", ":")).encode()


def headers_for(keys: SigningSecrets, body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    return delivery_headers(keys, event_id="evt_abc123", event_type="study.received",
                            delivery_id="dlv_0123456789abcdef01234567",
                            timestamp=int(time.time()) if timestamp is None else timestamp, body=body)


def test_secret_is_whsec_and_32_random_bytes_in_base64():
    secret = new_signing_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_signing_secret() != secret


def test_beamit_signature_is_hex_hmac_of_the_body_with_the_secret_string():
    secret = new_signing_secret()
    expected = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert beamit_signature(SigningSecrets(secret), BODY) == f"sha256={expected}"


def test_standard_signature_follows_the_spec():
    secret = new_signing_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, b"evt_abc123.1771583400." + BODY, hashlib.sha256).digest()
    assert standard_signature(SigningSecrets(secret), "evt_abc123", 1771583400, BODY) == (
        "v1," + base64.b64encode(digest).decode())


def test_headers_of_a_delivery():
    secret = new_signing_secret()
    headers = headers_for(SigningSecrets(secret), timestamp=1771583400)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-BeamIt-Event"] == "study.received"
    assert headers["X-BeamIt-Delivery"] == "dlv_0123456789abcdef01234567"
    assert headers["X-BeamIt-Timestamp"] == headers["webhook-timestamp"] == "1771583400"
    assert headers["webhook-id"] == "evt_abc123"
    assert headers["X-BeamIt-Signature"].startswith("sha256=") and "," not in headers["X-BeamIt-Signature"]
    assert headers["webhook-signature"].startswith("v1,") and " " not in headers["webhook-signature"]


def test_the_standard_webhooks_library_verifies_our_signature():
    secret = new_signing_secret()
    assert Webhook(secret).verify(BODY, headers_for(SigningSecrets(secret))) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(BODY, headers_for(SigningSecrets(secret)))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers_for(SigningSecrets(secret)))


def test_during_rotation_both_secrets_sign_new_first():
    old, new = new_signing_secret(), new_signing_secret()
    headers = headers_for(SigningSecrets(new, old))
    beamit = headers["X-BeamIt-Signature"].split(",")
    assert beamit == [beamit_signature(SigningSecrets(new), BODY), beamit_signature(SigningSecrets(old), BODY)]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


# --- the docs' Python snippet, as a receiver copies it -------------------------------------------


@pytest.fixture(scope="module")
def verifier():
    return python_verifier()


def test_docs_python_snippet_accepts_a_genuine_delivery(verifier):
    secret = new_signing_secret()
    assert verifier["verify_webhook"](secret, headers_for(SigningSecrets(secret)), BODY) == json.loads(BODY)
    lowered = {k.lower(): v for k, v in headers_for(SigningSecrets(secret)).items()}
    assert verifier["verify_webhook"](secret, lowered, BODY)["id"] == "evt_abc123"


def test_docs_python_snippet_accepts_either_secret_during_rotation(verifier):
    old, new = new_signing_secret(), new_signing_secret()
    headers = headers_for(SigningSecrets(new, old))
    assert verifier["verify_webhook"](old, headers, BODY)["type"] == "study.received"
    assert verifier["verify_webhook"](new, headers, BODY)["type"] == "study.received"


@pytest.mark.parametrize("case", ["tampered body", "wrong secret", "stale timestamp", "future timestamp",
                                  "no signature", "timestamp changed", "id changed", "no timestamp"])
def test_docs_python_snippet_refuses(verifier, case):
    secret = new_signing_secret()
    headers, body, used = headers_for(SigningSecrets(secret)), BODY, secret
    if case == "tampered body":
        body = BODY.replace(b'"instanceCount":1', b'"instanceCount":2')
    elif case == "wrong secret":
        used = new_signing_secret()
    elif case == "stale timestamp":
        headers = headers_for(SigningSecrets(secret), timestamp=int(time.time()) - 301)
    elif case == "future timestamp":
        headers = headers_for(SigningSecrets(secret), timestamp=int(time.time()) + 301)
    elif case == "no signature":
        headers = {k: v for k, v in headers.items() if k != "X-BeamIt-Signature"}
    elif case == "timestamp changed":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    elif case == "id changed":
        headers["webhook-id"] = "evt_other"
    elif case == "no timestamp":
        del headers["webhook-timestamp"]
    with pytest.raises(verifier["InvalidWebhook"]):
        verifier["verify_webhook"](used, headers, body)


# --- the docs' Node snippet ------------------------------------------------------------------------

NODE_DRIVER = """
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
for (const c of cases) {
  const headers = Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k.toLowerCase(), v]));
  try {
    verifyWebhook(c.secret, headers, Buffer.from(c.body, "base64"));
    console.log("ok");
  } catch (e) {
    console.log("refused");
  }
}
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_docs_node_snippet_verifies_like_the_python_one():
    secret, old = new_signing_secret(), new_signing_secret()
    genuine = headers_for(SigningSecrets(secret))
    cases = [
        (secret, genuine, BODY, "ok"),
        (old, headers_for(SigningSecrets(secret, old)), BODY, "ok"),
        (secret, genuine, BODY + b" ", "refused"),
        (new_signing_secret(), genuine, BODY, "refused"),
        (secret, headers_for(SigningSecrets(secret), timestamp=int(time.time()) - 301), BODY, "refused"),
    ]
    payload = json.dumps([{"secret": s, "headers": h, "body": base64.b64encode(b).decode()}
                          for s, h, b, _ in cases])
    result = subprocess.run(["node", "-e", docs_snippet("node") + NODE_DRIVER], input=payload,
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == [expected for *_, expected in cases]
