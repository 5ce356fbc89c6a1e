"""POST /v1/shares/{id}/reissue: a locked (or active) share gets a new link; the old one stops
at once and its sessions end; expired and revoked shares are refused; malformed,
unauthenticated, wrong-scope and other-tenant requests change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore

from tests.integration.test_shares_viewer import open_share
from tests.share_flow import SHARE_URL, Recipient, outbox, plain_firestore


@pytest.fixture(scope="module")
def db(stack):
    return plain_firestore(stack.settings.project_id)


@pytest.fixture(scope="module")
def owner(svc):
    from tests.integration.test_wado import new_tenant

    return new_tenant(svc)


@pytest.fixture(scope="module")
def ct(api, owner):
    from tests.share_flow import store_ct

    return store_ct(api, owner, seed=23, slices=2)


def lock(recipient: Recipient) -> None:
    challenge = recipient.request_code().json()["challengeId"]
    wrong = f"{(int(recipient.last_otp()) + 1) % 1_000_000:06d}"
    for _ in range(5):
        recipient.answer(challenge, wrong)


def test_a_locked_share_is_reissued_with_a_new_link(api, db, owner, ct):
    share, recipient = open_share(api, db, owner, ct.uid, message="Your images are ready")
    lock(recipient)
    assert api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()["status"] == "locked"

    response = api.post(f"/v1/shares/{share['id']}/reissue", headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == share["id"] and body["status"] == "active" and body["reissuedAt"]
    assert body["shareCode"] != share["shareCode"] and body["shareUrl"].endswith(body["shareCode"])
    assert body["qrCode"].startswith("data:image/png;base64,") and body["smsStatus"] == "sent"
    assert body["verification"]["failures"] == 0 and body["verification"]["lockedAt"] is None
    assert body["expiresAt"] == share["expiresAt"] and body["studyIds"] == [ct.uid]

    # The recipient is texted the new link with the share's message; the new link works.
    texts = outbox(db, recipient.phone, "share_link")
    assert len(texts) == 2 and texts[-1]["body"].startswith("Your images are ready")
    assert SHARE_URL.search(texts[-1]["body"]).group(1) == body["shareCode"]
    fresh = Recipient(api, db, body["shareCode"], recipient.phone)
    fresh.sign_in()
    assert fresh.get("/s/api/session").status_code == 200

    # The old link is refused with a plain reason, before any code is sent.
    page = api.get(f"/s/{share['shareCode']}", headers=recipient.headers)
    assert page.status_code == 410 and "replaced" in page.text
    old = recipient.request_code()
    assert old.status_code == 410 and old.json()["error"]["type"] == "share_link_replaced"
    got = api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()
    assert got["status"] == "active" and "shareCode" not in got and "qrCode" not in got


def test_reissue_ends_the_sessions_of_the_old_link(api, db, owner, ct):
    share, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    assert recipient.get("/s/api/session").status_code == 200
    assert api.post(f"/v1/shares/{share['id']}/reissue", headers=owner.headers).status_code == 200
    ended = recipient.get("/s/api/session")
    assert ended.status_code == 401 and ended.json()["error"]["type"] == "session_ended"


def test_expired_and_revoked_shares_are_not_reissued(api, db, owner, ct):
    revoked, _ = open_share(api, db, owner, ct.uid)
    api.post(f"/v1/shares/{revoked['id']}/revoke", headers=owner.headers)
    expired, _ = open_share(api, db, owner, ct.uid)
    db.document(f"tenants/{owner.id}/shares/{expired['id']}").update(
        {"expiresAt": datetime.now(UTC) - timedelta(minutes=1)})
    for share, status in ((revoked, "revoked"), (expired, "expired")):
        response = api.post(f"/v1/shares/{share['id']}/reissue", headers=owner.headers)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["type"] == "share_not_reissuable" and status in response.json()["error"][
            "message"]
    # Nothing changed: no new code was left behind for either.
    for share in (revoked, expired):
        record = db.document(f"tenants/{owner.id}/shares/{share['id']}").get().to_dict()
        assert record.get("reissuedAt") is None
        codes = list(db.collection("share_codes").where(
            filter=firestore.FieldFilter("shareId", "==", share["id"])).stream())
        assert len(codes) == 1


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"json": {"recipientPhone": "+14155550100"}}, 400),
        ({"json": ["x"]}, 400),
        ({"data": "{", "headers": {"Content-Type": "application/json"}}, 400),
        ({"data": "x", "headers": {"Content-Type": "text/plain"}}, 415),
    ],
)
def test_malformed_requests_change_nothing(api, db, owner, ct, kwargs, status):
    share, _ = open_share(api, db, owner, ct.uid)
    headers = {**owner.headers, **kwargs.pop("headers", {})}
    response = api.post(f"/v1/shares/{share['id']}/reissue", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()["reissuedAt"] is None


def test_unauthenticated_wrong_scope_and_other_tenants(api, db, owner, ct, make_tenant):
    share, _ = open_share(api, db, owner, ct.uid)
    path = f"/v1/shares/{share['id']}/reissue"
    assert api.post(path).status_code == 401
    reader = make_tenant(scopes=["shares:read", "studies:read"])
    refused = api.post(path, headers=reader.headers)
    assert refused.status_code == 403 and "shares:write" in refused.json()["error"]["message"]
    other = make_tenant()
    assert api.post(path, headers=other.headers).status_code == 404
    assert api.post("/v1/shares/share_doesnotexist00000000/reissue", headers=owner.headers).status_code == 404
    assert api.post("/v1/shares/nope/reissue", headers=owner.headers).status_code == 404
    assert api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()["reissuedAt"] is None
