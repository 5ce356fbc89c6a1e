"""``/v1/shares`` against the local stack: the documented contract and what goes beyond it."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from beamit.auth.scopes import SHARES_READ, STUDIES_READ, STUDIES_WRITE
from beamit.shares.codes import ALPHABET
from tests.share_flow import create_share, outbox, plain_firestore, random_phone, store_ct


@pytest.fixture(scope="module")
def db(stack):
    return plain_firestore(stack.settings.project_id)


@pytest.fixture
def study(api, tenant):
    return store_ct(api, tenant, slices=3)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_create_matches_the_documented_response(api, stack, tenant, study, db):
    phone = random_phone()
    response = api.post("/v1/shares", headers=tenant.headers, json={
        "studyId": study.uid, "recipientPhone": phone, "message": "Your CT scan results are ready to view",
        "expiresIn": "7d"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"share_[a-z0-9]+", body["id"])
    assert re.fullmatch(rf"BM-[{ALPHABET}]{{6}}", body["shareCode"])
    assert not set("01OIL") & set(body["shareCode"][3:])
    assert body["shareUrl"] == f"{stack.url}/s/{body['shareCode']}"
    assert body["status"] == "active"
    expires = _at(body["expiresAt"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    assert body["expiresAt"].endswith("Z")
    assert body["qrCode"].startswith("data:image/png;base64,")
    assert base64.b64decode(body["qrCode"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert body["allowDownload"] is False
    # The SMS holds the link and the integrator's message, nothing else.
    messages = outbox(db, phone, "share_link")
    assert len(messages) == 1
    assert messages[0]["body"] == f"Your CT scan results are ready to view\n{body['shareUrl']}"
    assert messages[0]["tenantId"] == tenant.id


def test_get_and_list(api, tenant, study):
    first = create_share(api, tenant, study.uid)
    second = create_share(api, tenant, study.uid, expiresIn="48h", allowDownload=True, maxViews=3)
    got = api.get(f"/v1/shares/{second['id']}", headers=tenant.headers)
    assert got.status_code == 200
    share = got.json()
    assert share["id"] == second["id"] and share["status"] == "active"
    assert share["studyId"] == study.uid and share["studyIds"] == [study.uid]
    assert share["allowDownload"] is True and share["maxViews"] == 3
    assert share["views"] == {"count": 0, "firstAccessAt": None, "lastAccessAt": None}
    assert re.fullmatch(r"\+1\*+\d{4}", share["recipientPhone"])
    assert "shareCode" not in share and "shareUrl" not in share
    listed = api.get("/v1/shares", headers=tenant.headers).json()
    assert [s["id"] for s in listed["data"]][:2] == [second["id"], first["id"]]
    page = api.get("/v1/shares?limit=1", headers=tenant.headers).json()
    assert page["hasMore"] and [s["id"] for s in page["data"]] == [second["id"]]
    rest = api.get(f"/v1/shares?limit=1&startingAfter={second['id']}", headers=tenant.headers).json()
    assert [s["id"] for s in rest["data"]] == [first["id"]]
    by_status = api.get("/v1/shares?status=revoked", headers=tenant.headers).json()
    assert by_status["data"] == []
    assert api.get("/v1/shares?limit=0", headers=tenant.headers).status_code == 400
    assert api.get("/v1/shares?status=nope", headers=tenant.headers).status_code == 400


def test_revoke_and_extend(api, tenant, study):
    share = create_share(api, tenant, study.uid, expiresIn="1d")
    extended = api.post(f"/v1/shares/{share['id']}/extend", headers=tenant.headers, json={"expiresIn": "2d"})
    assert extended.status_code == 200, extended.text
    assert _at(extended.json()["expiresAt"]) - _at(share["expiresAt"]) == timedelta(days=2)
    too_far = api.post(f"/v1/shares/{share['id']}/extend", headers=tenant.headers, json={"expiresIn": "30d"})
    assert too_far.status_code == 400
    revoked = api.post(f"/v1/shares/{share['id']}/revoke", headers=tenant.headers)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["revokedAt"]
    again = api.post(f"/v1/shares/{share['id']}/extend", headers=tenant.headers, json={"expiresIn": "1d"})
    assert again.status_code == 409
    other = create_share(api, tenant, study.uid)
    deleted = api.delete(f"/v1/shares/{other['id']}", headers=tenant.headers)
    assert deleted.status_code == 200 and deleted.json()["status"] == "revoked"
    assert api.get(f"/v1/shares/{other['id']}", headers=tenant.headers).json()["status"] == "revoked"


def test_idempotency_key(api, tenant, study, db):
    phone = random_phone()
    body = {"studyId": study.uid, "recipientPhone": phone, "message": "hello", "expiresIn": "7d"}
    headers = {**tenant.headers, "Idempotency-Key": "order-4711"}
    first = api.post("/v1/shares", headers=headers, json=body)
    assert first.status_code == 201
    replay = api.post("/v1/shares", headers=headers, json=body)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert len(outbox(db, phone, "share_link")) == 1  # no second share, no second SMS
    changed = api.post("/v1/shares", headers=headers, json={**body, "message": "other"})
    assert changed.status_code == 409
    assert changed.json()["error"]["type"] == "idempotency_key_reused"
    listed = api.get("/v1/shares", headers=tenant.headers).json()["data"]
    assert [s["id"] for s in listed].count(first.json()["id"]) == 1 and len(listed) == 1
    # The key is per tenant: another tenant's identical key is a different request.
    fresh = api.post("/v1/shares", headers={**tenant.headers, "Idempotency-Key": "order-4712"}, json=body)
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]


@pytest.mark.parametrize("phone", ["415-555-1234", "+1415555", "+999123456789", "not a phone", "", 4155551234])
def test_invalid_phone_numbers_are_400(api, tenant, study, phone):
    response = api.post("/v1/shares", headers=tenant.headers,
                        json={"studyId": study.uid, "recipientPhone": phone, "expiresIn": "7d"})
    assert response.status_code == 400
    assert "recipientPhone" in response.json()["error"]["message"]


def test_phone_numbers_are_normalised_to_e164(api, tenant, study, db):
    share = create_share(api, tenant, study.uid, phone="+1 (415) 234-5678")
    record = db.document(f"tenants/{tenant.id}/shares/{share['id']}").get().to_dict()
    assert record["recipientPhone"] == "+14152345678"


@pytest.mark.parametrize("expires_in", ["0h", "31d", "721h", "7w", "7", "-1d", "1.5d", 7])
def test_expires_in_out_of_bounds_or_malformed_is_400(api, tenant, study, expires_in):
    response = api.post("/v1/shares", headers=tenant.headers,
                        json={"studyId": study.uid, "recipientPhone": random_phone(), "expiresIn": expires_in})
    assert response.status_code == 400
    assert "expiresIn" in response.json()["error"]["message"]


def test_expires_in_bounds_and_default(api, tenant, study):
    hour = create_share(api, tenant, study.uid, expiresIn="1h")
    month = create_share(api, tenant, study.uid, expiresIn="30d")
    body = {"studyId": study.uid, "recipientPhone": random_phone()}
    default = api.post("/v1/shares", headers=tenant.headers, json=body).json()
    now = datetime.now(UTC)
    assert abs(_at(hour["expiresAt"]) - (now + timedelta(hours=1))) < timedelta(minutes=1)
    assert abs(_at(month["expiresAt"]) - (now + timedelta(days=30))) < timedelta(minutes=1)
    assert abs(_at(default["expiresAt"]) - (now + timedelta(days=7))) < timedelta(minutes=1)


def test_unknown_and_other_tenants_studies_are_404(api, make_tenant, tenant, study):
    unknown = api.post("/v1/shares", headers=tenant.headers,
                       json={"studyId": "1.2.3.4.5.6.7", "recipientPhone": random_phone()})
    assert unknown.status_code == 404
    other = make_tenant()
    cross = api.post("/v1/shares", headers=other.headers,
                     json={"studyId": study.uid, "recipientPhone": random_phone()})
    assert cross.status_code == 404
    share = create_share(api, tenant, study.uid)
    assert api.get(f"/v1/shares/{share['id']}", headers=other.headers).status_code == 404
    assert api.post(f"/v1/shares/{share['id']}/revoke", headers=other.headers).status_code == 404
    assert api.get("/v1/shares", headers=other.headers).json()["data"] == []
    several = api.post("/v1/shares", headers=tenant.headers, json={
        "studyIds": [study.uid, "1.2.3.4.5.6.7"], "recipientPhone": random_phone()})
    assert several.status_code == 404


def test_bad_bodies_are_400(api, tenant, study):
    phone = random_phone()
    for body in [{"recipientPhone": phone}, {"studyId": "not-a-uid", "recipientPhone": phone},
                 {"studyId": study.uid, "recipientPhone": phone, "maxViews": 0},
                 {"studyId": study.uid, "recipientPhone": phone, "allowDownload": "yes"},
                 {"studyId": study.uid, "recipientPhone": phone, "message": "x" * 321},
                 {"studyId": study.uid, "recipientPhone": phone, "surprise": 1}]:
        assert api.post("/v1/shares", headers=tenant.headers, json=body).status_code == 400, body


def test_several_studies(api, tenant, study):
    other = store_ct(api, tenant, seed=12, slices=2)
    share = api.post("/v1/shares", headers=tenant.headers, json={
        "studyIds": [study.uid, other.uid], "recipientPhone": random_phone()})
    assert share.status_code == 201
    got = api.get(f"/v1/shares/{share.json()['id']}", headers=tenant.headers).json()
    assert got["studyIds"] == [study.uid, other.uid]
    by_study = api.get(f"/v1/shares?studyId={other.uid}", headers=tenant.headers).json()["data"]
    assert [s["id"] for s in by_study] == [share.json()["id"]]


def test_authentication_and_scopes(api, make_tenant, study):
    assert api.post("/v1/shares", json={}).status_code == 401
    assert api.get("/v1/shares").status_code == 401
    assert api.get("/v1/shares", headers={"Authorization": "Bearer bk_local_nope"}).status_code == 401
    reader = make_tenant([SHARES_READ])
    assert api.post("/v1/shares", headers=reader.headers,
                    json={"studyId": study.uid, "recipientPhone": random_phone()}).status_code == 403
    assert api.get("/v1/shares", headers=reader.headers).status_code == 200
    no_shares = make_tenant([STUDIES_READ, STUDIES_WRITE])
    assert api.get("/v1/shares", headers=no_shares.headers).status_code == 403
    assert api.post("/v1/shares/share_x/revoke", headers=reader.headers).status_code == 403


def test_share_codes_are_never_stored_in_plaintext(api, tenant, study, db):
    created = create_share(api, tenant, study.uid, allowDownload=True)
    code = created["shareCode"]
    replayed = api.post("/v1/shares", headers={**tenant.headers, "Idempotency-Key": "k-1"},
                        json={"studyId": study.uid, "recipientPhone": random_phone()}).json()
    dumped = []
    for path in ["share_codes", f"tenants/{tenant.id}/shares", f"tenants/{tenant.id}/share_requests",
                 f"tenants/{tenant.id}/audit_events"]:
        dumped += [json.dumps(doc.to_dict(), default=repr) for doc in db.collection(path).stream()]
    text = "\n".join(dumped)
    assert dumped
    for secret in (code, code[3:], replayed["shareCode"], replayed["shareCode"][3:]):
        assert secret not in text
    record = db.document(f"tenants/{tenant.id}/shares/{created['id']}").get().to_dict()
    assert re.fullmatch(r"[0-9a-f]{64}", record["codeDigest"])
    assert db.document(f"share_codes/{record['codeDigest']}").get().to_dict()["shareId"] == created["id"]


def test_share_actions_are_audited(api, svc, tenant, study):
    share = create_share(api, tenant, study.uid)
    api.post(f"/v1/shares/{share['id']}/revoke", headers=tenant.headers)
    records = api.get("/v1/audit?limit=50", headers=tenant.headers).json()["data"]
    actions = {(r["action"], r["outcome"]) for r in records if (r.get("resources") or {}).get("share") == share["id"]}
    assert ("POST /v1/shares", 201) in actions
    assert ("POST /v1/shares/<share_id>/revoke", 200) in actions


def test_study_shared_event_is_published(api, tenant, study, webhook_sink):
    sink = webhook_sink(tenant, ["study.shared"])
    share = create_share(api, tenant, study.uid)
    event = sink.wait_for("study.shared")
    assert event["data"]["shareId"] == share["id"]
    assert event["data"]["studyInstanceUID"] == study.uid
    assert event["data"]["expiresAt"] == share["expiresAt"]
    assert re.fullmatch(r"\+1\*+\d{4}", event["data"]["recipientPhone"])
    assert share["shareCode"] not in json.dumps(event)


@pytest.fixture
def webhook_sink(api):
    from tests.share_flow import EventSink

    made = []

    def make(tenant, events):
        made.append(EventSink(api, tenant, events))
        return made[-1]

    yield make
    for sink in made:
        sink.close()


def _orthanc_id(api, tenant, study) -> str:
    from beamit.catalog.orthanc_ids import orthanc_study_id

    found = api.get(f"/v1/dicomweb/studies?StudyInstanceUID={study.uid}", headers=tenant.headers).json()
    return orthanc_study_id(found[0]["00100020"]["Value"][0], study.uid)


def test_the_documented_body_with_an_orthanc_study_id_creates_the_share(api, make_tenant, tenant, study):
    orthanc_id = _orthanc_id(api, tenant, study)
    body = {"studyId": orthanc_id, "recipientPhone": "+14155551234",
            "message": "Your CT scan results are ready to view", "expiresIn": "7d"}
    response = api.post("/v1/shares", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["studyIds"] == [study.uid]
    share = api.get(f"/v1/shares/{response.json()['id']}", headers=tenant.headers).json()
    assert share["studyId"] == study.uid
    # Upper case, and mixed with the same study's UID: one study.
    both = api.post("/v1/shares", headers=tenant.headers, json={
        "studyIds": [orthanc_id.upper(), study.uid], "recipientPhone": random_phone()})
    assert both.status_code == 201 and both.json()["studyIds"] == [study.uid]
    # Another tenant holding no such study gets 404, whatever the identifier.
    other = make_tenant()
    cross = api.post("/v1/shares", headers=other.headers, json={**body, "recipientPhone": random_phone()})
    assert cross.status_code == 404 and cross.json()["error"]["type"] == "study_not_found"


def test_unknown_and_malformed_study_ids(api, tenant, study):
    unknown = api.post("/v1/shares", headers=tenant.headers, json={
        "studyId": "00000000-11111111-22222222-33333333-44444444", "recipientPhone": random_phone()})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "study_not_found"
    placeholder = api.post("/v1/shares", headers=tenant.headers, json={
        "studyId": "ORTHANC_STUDY_ID", "recipientPhone": random_phone()})
    assert placeholder.status_code == 400
    assert placeholder.json()["error"]["message"].startswith("'studyId' must be a StudyInstanceUID or an Orthanc")
    assert api.get("/v1/shares", headers=tenant.headers).json()["data"] == []


def test_an_unknown_starting_after_cursor_is_400(api, tenant):
    """Found by the OpenAPI fuzzing: it was an undocumented 404."""
    for cursor in ("share_nosuchshare0000000", "S\u00f3x"):
        response = api.get("/v1/shares", params={"startingAfter": cursor}, headers=tenant.headers)
        assert response.status_code == 400 and "startingAfter" in response.json()["error"]["message"]
