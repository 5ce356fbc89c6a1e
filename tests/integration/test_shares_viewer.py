"""The recipient's side: ``/s/{code}``, the SMS one-time code, the share-scoped session and its
WADO-RS reads, throttling, lockout, revocation, expiry (and ``share.expired``), downloads; and
the owner's re-issue of a locked share (``POST /v1/shares/{id}/reissue``)."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pydicom
import pytest
from google.cloud import firestore
from PIL import Image

from beamit.devstack.scheduler import tick
from beamit.events import SHARE_EXPIRED, publish_event
from beamit.shares.sessions import COOKIE, session_path
from beamit.shares.share import share_path
from tests.share_flow import (
    SHARE_URL,
    EventSink,
    Recipient,
    Viewer,
    create_share,
    outbox,
    plain_firestore,
    random_phone,
    store_ct,
)


@pytest.fixture(scope="module")
def db(stack):
    return plain_firestore(stack.settings.project_id)


@pytest.fixture(scope="module")
def owner(svc):
    from tests.support import new_tenant

    return new_tenant(svc)


@pytest.fixture(scope="module")
def ct(api, owner):
    return store_ct(api, owner, seed=21, slices=10)


@pytest.fixture
def sink(api, owner):
    made = EventSink(api, owner, ["study.shared", "share.accessed", "share.expired"])
    yield made
    made.close()


def open_share(api, db, owner, study, **fields):
    phone = random_phone()
    share = create_share(api, owner, study, phone=phone, **fields)
    link = outbox(db, phone, "share_link")[-1]["body"]
    code = SHARE_URL.search(link).group(1)
    assert code == share["shareCode"]
    return share, Recipient(api, db, code, phone)


def image_of(response) -> Image.Image:
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def test_the_whole_recipient_flow(api, stack, db, owner, ct, sink):
    share, recipient = open_share(api, db, owner, ct.uid)
    page = recipient.get(f"/s/{recipient.code}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "no-store" in page.headers["Cache-Control"]
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert recipient.code not in page.text  # the page carries no data
    for asset in ("viewer.js", "viewer.css"):
        response = api.get(f"/s/assets/{asset}")
        assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
        assert "localStorage" not in response.text and "indexedDB" not in response.text
    # Nothing before the phone is proven.
    assert recipient.get("/s/api/session").status_code == 401
    assert recipient.get(f"/s/api/studies/0/series/{ct.series}/thumbnail").status_code == 401
    started = recipient.request_code()
    assert started.status_code == 201
    assert started.json()["phoneHint"].endswith(recipient.phone[-2:])
    sms = outbox(db, recipient.phone, "verification")[-1]["body"]
    assert recipient.code not in sms and "CT" not in sms
    opened = recipient.answer(started.json()["challengeId"], recipient.last_otp())
    assert opened.status_code == 201, opened.text
    cookie = opened.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie
    manifest = recipient.get("/s/api/session")
    assert manifest.status_code == 200 and "no-store" in manifest.headers["Cache-Control"]
    studies = manifest.json()["studies"]
    assert len(studies) == 1 and studies[0]["modalities"] == ["CT"]
    images = studies[0]["series"][0]["images"]
    assert [i["uid"] for i in images] == list(ct.instances)
    base = f"/s/api/studies/0/series/{ct.series}/instances/{images[0]['uid']}"
    rendered = recipient.get(f"{base}/frames/1/rendered", headers={"Accept": "image/jpeg"})
    assert rendered.headers["Content-Type"] == "image/jpeg" and "no-store" in rendered.headers["Cache-Control"]
    assert image_of(rendered).size == (128, 128)
    windowed = recipient.get(f"{base}/frames/1/rendered?window=-600,1500", headers={"Accept": "image/jpeg"})
    assert windowed.content != rendered.content
    assert image_of(recipient.get(f"/s/api/studies/0/series/{ct.series}/thumbnail")).size[0] <= 128
    metadata = recipient.get("/s/api/studies/0/metadata")
    assert metadata.status_code == 200 and len(metadata.json()) == 10
    assert recipient.get(f"{base}/frames/1").status_code == 200
    # The owner sees the view, and gets share.accessed.
    got = api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()
    assert got["views"]["count"] == 1 and got["views"]["firstAccessAt"] and got["views"]["lastAccessAt"]
    event = sink.wait_for("share.accessed")
    assert event["data"]["shareId"] == share["id"] and event["data"]["studyInstanceUID"] == ct.uid
    assert event["data"]["viewCount"] == 1 and "recipientPhone" not in event["data"]
    # Views are audited under the tenant, naming the share.
    records = api.get(f"/v1/audit?principal={share['id']}&limit=100", headers=owner.headers).json()["data"]
    codes = {(r["eventCode"], r["action"].split(" ")[1]) for r in records}
    assert ("110103", "/s/api/studies/<index>/series/<series>/instances/<instance>/frames/<frames>/rendered") in codes
    assert ("110114", "/s/api/session") in codes
    assert all(r["principal"] == share["id"] for r in records)


def test_the_session_reads_only_the_shared_studies(api, db, owner, ct):
    other = store_ct(api, owner, seed=22, slices=2)
    _, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    assert recipient.get("/s/api/studies/1/metadata").status_code == 404
    # Another study's series or instances under the shared study's index are not found.
    assert recipient.get(f"/s/api/studies/0/series/{other.series}/thumbnail").status_code == 404
    path = f"/s/api/studies/0/series/{other.series}/instances/{other.instances[0]}/frames/1/rendered"
    assert recipient.get(path).status_code == 404
    path = f"/s/api/studies/0/series/{ct.series}/instances/{other.instances[0]}/frames/1/rendered"
    assert recipient.get(path).status_code == 404
    # The session cookie is no credential for the DICOMweb API.
    assert recipient.get(f"/v1/dicomweb/studies/{ct.uid}/metadata").status_code == 401
    assert recipient.get(f"/v1/shares/{ct.uid}").status_code == 401


def test_guessing_codes_is_throttled(api, db, owner, ct):
    guesser = Viewer(api)
    page = guesser.get("/s/BM-ZZZZZZ", headers={"X-Forwarded-For": "203.0.113.1"})
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "not valid" in page.text and "Traceback" not in page.text
    for n in range(9):  # a new X-Forwarded-For each time: the throttle counts the address the proxy saw
        spoofed = {"X-Forwarded-For": f"203.0.113.{n + 2}, 198.51.100.{n + 2}"}
        miss = guesser.post("/s/api/verification", json={"code": f"BM-ZZZZ{n + 2}Z"}, headers=spoofed)
        assert miss.status_code == 404
    limited = guesser.post("/s/api/verification", json={"code": "BM-ZZZZZY"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    share, _ = open_share(api, db, owner, ct.uid)  # while throttled, even a valid code is refused
    assert guesser.post("/s/api/verification", json={"code": share["shareCode"]}).status_code == 429
    assert guesser.get(f"/s/{share['shareCode']}").status_code == 429
    # Another client is not affected.
    assert Viewer(api).get(f"/s/{share['shareCode']}").status_code == 200


def test_five_wrong_codes_lock_the_share(api, db, owner, ct):
    share, recipient = open_share(api, db, owner, ct.uid)
    challenge = recipient.request_code().json()["challengeId"]
    right = recipient.last_otp()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        answer = recipient.answer(challenge, wrong)
        assert answer.status_code == 401 and f"{left} attempt" in answer.json()["error"]["message"]
    locked = recipient.answer(challenge, wrong)
    assert locked.status_code == 410 and locked.json()["error"]["type"] == "share_locked"
    assert recipient.answer(challenge, right).status_code == 410
    got = api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()
    assert got["status"] == "locked" and got["verification"]["failures"] == 5 and got["verification"]["lockedAt"]
    page = recipient.get(f"/s/{recipient.code}")
    assert page.status_code == 410 and "locked" in page.text
    assert recipient.request_code().status_code == 410
    # Whoever locked it did not lock the patient out for good: the owner unlocks it. The guessed-at
    # challenge is void (even with the right code); a new one, sent to the phone, works.
    unlocked = api.post(f"/v1/shares/{share['id']}/unlock", headers=owner.headers)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["status"] == "active" and unlocked.json()["verification"]["failures"] == 0
    assert recipient.answer(challenge, right).json()["error"]["type"] == "code_expired"
    recipient.sign_in()
    assert recipient.get(f"/s/api/studies/0/series/{ct.series}/thumbnail").status_code == 200


def test_reissue_kills_the_old_code_and_its_sessions(api, db, owner, ct):
    share, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    reissued = api.post(f"/v1/shares/{share['id']}/reissue", headers=owner.headers)
    assert reissued.status_code == 200, reissued.text
    body = reissued.json()
    assert body["id"] == share["id"] and body["status"] == "active" and body["smsStatus"] == "sent"
    assert body["shareCode"] != share["shareCode"] and body["shareUrl"].endswith(f"/s/{body['shareCode']}")
    assert SHARE_URL.search(outbox(db, recipient.phone, "share_link")[-1]["body"]).group(1) == body["shareCode"]
    ended = recipient.get(f"/s/api/studies/0/series/{ct.series}/thumbnail")
    assert ended.status_code == 401 and ended.json()["error"]["type"] == "session_ended"
    old_page = recipient.get(f"/s/{share['shareCode']}")  # the old code: its page says it was replaced
    assert old_page.status_code == 410 and "replaced" in old_page.text
    assert recipient.request_code().json()["error"]["type"] == "share_link_replaced"
    fresh = Recipient(api, db, body["shareCode"], recipient.phone)
    fresh.sign_in()
    assert fresh.get(f"/s/api/studies/0/series/{ct.series}/thumbnail").status_code == 200
    revoked = api.post(f"/v1/shares/{share['id']}/revoke", headers=owner.headers).json()
    for action in ("unlock", "reissue"):
        refused = api.post(f"/v1/shares/{share['id']}/{action}", headers=owner.headers)
        assert refused.status_code == 409 and refused.json()["error"]["type"] == "share_not_active"
    assert api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json() == {**revoked}


def test_verification_texts_are_capped_per_share_and_day(api, svc, db, owner, ct):
    share, recipient = open_share(api, db, owner, ct.uid)
    path = share_path(owner.scope, share["id"])
    today = datetime.now(UTC).date().isoformat()
    svc.metadata.set(path, {"verification": {"smsDay": today, "smsCount": 9}}, merge=True)
    last = recipient.request_code()
    assert last.status_code == 201
    assert '"share-sms";q=10;w=86400' in last.headers["RateLimit-Policy"]  # with the code lookup's
    assert '"share-sms";r=0;t=' in last.headers["RateLimit"]
    sent = len(outbox(db, recipient.phone, "verification"))
    svc.metadata.set(path, {"verification": {"lastSentAt": datetime.now(UTC) - timedelta(minutes=5)}}, merge=True)
    capped = recipient.request_code()
    assert capped.status_code == 429 and capped.json()["error"]["type"] == "rate_limited"
    until_midnight = 86400 - datetime.now(UTC).timestamp() % 86400
    assert abs(int(capped.headers["Retry-After"]) - until_midnight) <= 5
    assert len(outbox(db, recipient.phone, "verification", wait=0)) == sent  # no text sent


def test_revocation_ends_sessions_at_once(api, db, owner, ct):
    share, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    assert recipient.get(f"/s/api/studies/0/series/{ct.series}/thumbnail").status_code == 200
    api.post(f"/v1/shares/{share['id']}/revoke", headers=owner.headers)
    ended = recipient.get(f"/s/api/studies/0/series/{ct.series}/thumbnail")
    assert ended.status_code == 401 and ended.json()["error"]["type"] == "session_ended"
    page = recipient.get(f"/s/{recipient.code}")
    assert page.status_code == 410 and "withdrawn" in page.text
    assert recipient.request_code().status_code == 410


def test_expired_shares_show_no_images_and_are_swept_once(api, stack, svc, db, owner, ct, sink):
    share, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    past = datetime.now(UTC) - timedelta(minutes=1)
    digest = db.document(f"tenants/{owner.id}/shares/{share['id']}").get().to_dict()["codeDigest"]
    db.document(f"tenants/{owner.id}/shares/{share['id']}").update({"expiresAt": past})
    db.document(f"share_codes/{digest}").update({"expiresAt": past})
    assert recipient.get("/s/api/studies/0/metadata").status_code == 401
    page = recipient.get(f"/s/{recipient.code}")
    assert page.status_code == 410 and "expired" in page.text
    assert api.get(f"/v1/shares/{share['id']}", headers=owner.headers).json()["status"] == "expired"
    assert tick(stack, only=("share-expiry",))["share-expiry"] == 200
    event = sink.wait_for("share.expired")
    assert event["data"]["shareId"] == share["id"] and event["data"]["studyInstanceUID"] == ct.uid
    swept = db.document(f"tenants/{owner.id}/shares/{share['id']}").get().to_dict()
    assert swept["status"] == "expired" and swept["expiredEventAt"] is not None
    assert tick(stack, only=("share-expiry",))["share-expiry"] == 200
    # The tick returns when the sweep is over: a second expiry would have stamped the share again.
    again = db.document(f"tenants/{owner.id}/shares/{share['id']}").get().to_dict()
    assert again["expiredEventAt"] == swept["expiredEventAt"]
    # And anything it published went out before this marker: once the marker is delivered, the
    # sink's share.expired events are exactly the sweep's one and the marker.
    marker = publish_event(svc, owner.id, SHARE_EXPIRED, {"shareId": "share_marker", "studyInstanceUID": ct.uid})
    sink.wait_for_event(marker)
    assert [e["data"]["shareId"] for e in sink.bodies("share.expired")] == [share["id"], "share_marker"]


def test_sessions_expire_when_idle_or_at_their_end(api, db, owner, ct):
    _, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    assert recipient.get("/s/api/session/status").status_code == 200
    doc = db.document(session_path(recipient.token))
    record = doc.get().to_dict()
    assert record["absoluteExpiresAt"] - record["createdAt"] == timedelta(hours=2)
    assert record["idleSeconds"] == 15 * 60
    assert recipient.token not in str(record)
    doc.update({"lastSeenAt": datetime.now(UTC) - timedelta(minutes=16)})
    assert recipient.get("/s/api/session/status").status_code == 401
    _, again = open_share(api, db, owner, ct.uid)
    again.sign_in()
    db.document(session_path(again.token)).update({"absoluteExpiresAt": datetime.now(UTC) - timedelta(seconds=1)})
    assert again.get("/s/api/session").status_code == 401


def test_max_views(api, db, owner, ct):
    _, recipient = open_share(api, db, owner, ct.uid, maxViews=1)
    recipient.sign_in()
    again = recipient.request_code()
    assert again.status_code == 410 and again.json()["error"]["type"] == "share_view_limit"


def test_download_only_when_allowed(api, svc, db, owner, ct):
    _, recipient = open_share(api, db, owner, ct.uid)
    recipient.sign_in()
    refused = recipient.get("/s/api/studies/0/download")
    assert refused.status_code == 403
    share, allowed = open_share(api, db, owner, ct.uid, allowDownload=True)
    allowed.sign_in()
    response = allowed.get("/s/api/studies/0/download")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert names[0] == "DICOMDIR" and len(names) == 11
    dicomdir = pydicom.dcmread(io.BytesIO(archive.read("DICOMDIR")))
    images = [r for r in dicomdir.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE"]
    assert sorted(r.ReferencedSOPInstanceUIDInFile for r in images) == sorted(ct.instances)
    for record in images:
        name = "/".join(record.ReferencedFileID)
        stored = pydicom.dcmread(io.BytesIO(archive.read(name)))
        assert stored.SOPInstanceUID == record.ReferencedSOPInstanceUIDInFile
        assert stored.PixelData
    records = api.get(f"/v1/audit?principal={share['id']}&limit=100", headers=owner.headers).json()["data"]
    assert any(r["eventCode"] == "110106" and r["outcome"] == 200 for r in records)


def test_unknown_paths_and_other_tenants_codes(api, db, owner, ct, make_tenant):
    assert api.get("/s/assets/../../settings.py").status_code == 404
    assert api.get("/s/assets/nope.js").status_code == 404
    assert Viewer(api).post("/s/api/session", json={"code": "BM-ZZZZZZ", "challengeId": "chl_x",
                                                    "otp": "123456"}).status_code == 404
    # A challenge of one share does not open another share.
    _, first = open_share(api, db, owner, ct.uid)
    challenge = first.request_code().json()["challengeId"]
    otp = first.last_otp()
    other_tenant = make_tenant()
    theirs = store_ct(api, other_tenant, seed=23, slices=1)
    _, second = open_share(api, db, other_tenant, theirs.uid)
    second.client = first.client
    assert second.answer(challenge, otp).status_code == 410
    assert first.answer(challenge, otp).status_code == 201


# -- re-issue: a new link for a locked (or active) share ------------------------------------------------


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
    page = recipient.get(f"/s/{share['shareCode']}")
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
        assert response.json()["error"]["type"] == "share_not_active" and status in response.json()["error"][
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
