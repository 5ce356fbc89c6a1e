"""The audit trail through /v1/audit: every call recorded (refused ones included), filters
and paging, the FHIR export, tamper evidence (a record edited in Firestore is found by the
chain check), and PHI reads that fail closed when their record cannot be written."""

from __future__ import annotations

import json

import pytest

from beamit.auth.api_keys import create_key
from beamit.ids import new_id
from tests.dicom_samples import ct_instance, multipart, part10_bytes
from tests.support import AUDIT_FAILURE_TENANT, client_session, new_tenant, poll_until


def call(api, method: str, path: str, headers: dict[str, str], **kwargs) -> str:
    """Make a call with our own request id; returns it."""
    request_id = new_id("req")
    response = api.request(method, path, headers={**headers, "X-Request-Id": request_id}, **kwargs)
    assert response.headers["X-Request-Id"] == request_id
    return request_id


def trail(api, headers: dict[str, str], **params) -> list[dict]:
    records, cursor = [], None
    while True:
        page = api.get("/v1/audit", params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert page.status_code == 200, page.text
        records += page.json()["data"]
        cursor = page.json()["nextCursor"]
        if not cursor:
            return records


@pytest.fixture
def study_calls(api, tenant):
    """A STOW-RS of one study, retrievals, and other calls; (study uid, request ids by name)."""
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    ids = {
        "stow": call(api, "POST", "/v1/dicomweb/studies", {**tenant.headers, "Content-Type": content_type},
                     data=body),
        "metadata": call(api, "GET", f"/v1/dicomweb/studies/{ds.StudyInstanceUID}/metadata", tenant.headers),
        "keys": call(api, "GET", "/v1/api-keys", tenant.headers),
        "missing": call(api, "GET", "/v1/api-keys/key_doesnotexist0000", tenant.headers),
    }
    return str(ds.StudyInstanceUID), ids


def test_every_call_is_recorded(api, tenant, study_calls):
    study, ids = study_calls
    records = {r["requestId"]: r for r in trail(api, tenant.headers)}
    assert set(ids.values()) <= set(records)
    stow = records[ids["stow"]]
    assert stow["action"] == "POST /v1/dicomweb/studies" and stow["eventCode"] == "110107"
    assert stow["phi"] is True and stow["resources"]["studies"] == [study] and stow["outcome"] == 200
    assert stow["principal"] == tenant.key_id == stow["credentialId"]
    assert stow["sourceIp"] and stow["userAgent"].startswith("python-requests")
    meta = records[ids["metadata"]]
    assert meta["action"] == "GET /v1/dicomweb/studies/<study>/metadata" and meta["phi"] is True
    missing = records[ids["missing"]]
    assert missing["outcome"] == 404 and missing["action"] == "GET /v1/api-keys/<key_id>"
    assert all(r["chain"]["hash"] and r["chain"]["seq"] >= 1 for r in records.values())


def test_the_source_ip_is_the_address_the_proxy_saw_not_what_the_client_wrote(api, tenant):
    """The gateway, like the load balancer, appends the client's socket address to X-Forwarded-For;
    entries the client wrote itself are never taken for its address."""
    client = client_session()
    request_id = new_id("req")
    response = client.get(f"{api.base_url}/v1/api-keys", timeout=60, headers={
        **tenant.headers, "X-Request-Id": request_id, "X-Forwarded-For": "203.0.113.7, 198.51.100.9"})
    assert response.status_code == 200
    record = next(r for r in trail(api, tenant.headers) if r["requestId"] == request_id)
    assert record["sourceIp"] == client.source_address


def test_filters_and_paging(api, tenant, make_tenant, study_calls):
    study, ids = study_calls
    by_study = trail(api, tenant.headers, study=study)
    assert {r["requestId"] for r in by_study} == {ids["stow"], ids["metadata"]}
    everything = trail(api, tenant.headers)
    times = [r["time"] for r in everything]
    assert times == sorted(times, reverse=True)  # newest first
    paged = trail(api, tenant.headers, limit=2)
    assert len({r["id"] for r in paged}) == len(paged)  # no record twice
    not_audit_reads = [r["id"] for r in everything if r["action"] != "GET /v1/audit"]
    assert [r["id"] for r in paged if r["action"] != "GET /v1/audit"] == not_audit_reads
    # A time range.
    middle = next(r for r in everything if r["requestId"] == ids["metadata"])
    since = trail(api, tenant.headers, since=middle["time"])
    assert ids["metadata"] in {r["requestId"] for r in since} and ids["stow"] not in {r["requestId"] for r in since}
    until = trail(api, tenant.headers, until=middle["time"])
    assert ids["stow"] in {r["requestId"] for r in until} and ids["metadata"] not in {r["requestId"] for r in until}
    both = trail(api, tenant.headers, study=study, since=middle["time"], principal=tenant.key_id)
    assert [r["requestId"] for r in both] == [ids["metadata"]]
    # By principal: another key's calls only.
    other = api.post("/v1/api-keys", json={"name": "other", "scopes": ["keys:manage"]}, headers=tenant.headers).json()
    other_call = call(api, "GET", "/v1/api-keys", {"Authorization": f"Bearer {other['key']}"})
    mine = trail(api, tenant.headers, principal=other["id"])
    assert [r["requestId"] for r in mine] == [other_call]


@pytest.mark.parametrize("params", [
    {"study": "1.2.abc"}, {"since": "yesterday"}, {"since": "2026-01-01T00:00:00"}, {"limit": "0"},
    {"limit": "201"}, {"cursor": "!!!"}, {"since": "2026-02-02T00:00:00Z", "until": "2026-02-01T00:00:00Z"},
])
def test_bad_queries_are_400(api, tenant, params):
    response = api.get("/v1/audit", params=params, headers=tenant.headers)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request"


def test_fhir_export(api, stack, tenant, study_calls):
    study, ids = study_calls
    response = api.get("/v1/audit/export", params={"format": "fhir", "study": study}, headers=tenant.headers)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/fhir+json"
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    events = [e["resource"] for e in bundle["entry"]]
    assert {e["resourceType"] for e in events} == {"AuditEvent"} and len(events) == 2
    stow = next(e for e in events if e["type"]["code"] == "110107")
    assert stow["type"]["system"] == "http://dicom.nema.org/resources/ontology/DCM"
    assert stow["action"] == "C" and stow["outcome"] == "0" and stow["recorded"].endswith("Z")
    assert stow["subtype"][0]["code"] == "POST /v1/dicomweb/studies"
    assert stow["agent"][0]["who"]["identifier"]["value"] == tenant.key_id
    assert stow["source"]["site"] == tenant.id
    assert study in [e["what"]["identifier"]["value"] for e in stow["entity"]]
    retrieve = next(e for e in events if e["subtype"][0]["code"].endswith("/metadata"))
    assert retrieve["action"] == "R"
    full_url = bundle["entry"][0]["fullUrl"]
    assert full_url.startswith(f"{stack.url}/v1/audit/aud_")
    single = api.get(full_url.removeprefix(stack.url), headers=tenant.headers)
    assert single.status_code == 200 and single.json()["id"] == bundle["entry"][0]["resource"]["id"]
    assert api.get("/v1/audit/export", params={"format": "csv"}, headers=tenant.headers).status_code == 400


def test_chain_check_detects_a_modified_record(api, svc, make_tenant):
    tenant = make_tenant()
    request_ids = [call(api, "GET", "/v1/api-keys", tenant.headers) for _ in range(6)]
    verified = api.get("/v1/audit/verify", headers=tenant.headers)
    assert verified.status_code == 200
    assert verified.json()["valid"] is True and verified.json()["problems"] == []
    assert verified.json()["records"] >= 6
    # Someone with database access edits a record with the plain client.
    record = next(r for r in trail(api, tenant.headers) if r["requestId"] == request_ids[2])
    svc.metadata.update(tenant.scope.document("audit_events", record["id"]), {"outcome": 403})
    report = api.get("/v1/audit/verify", headers=tenant.headers).json()
    assert report["valid"] is False
    assert {"recordId": record["id"], "chain": record["chain"]["id"], "seq": record["chain"]["seq"],
            "problem": "hash_mismatch"} in report["problems"]
    # Deleting one is found as well.
    other = next(r for r in trail(api, tenant.headers) if r["requestId"] == request_ids[4])
    svc.metadata.delete(tenant.scope.document("audit_events", other["id"]))
    problems = api.get("/v1/audit/verify", headers=tenant.headers).json()["problems"]
    assert {p["problem"] for p in problems if p["chain"] == other["chain"]["id"]} & {
        "head_mismatch", "sequence_gap", "broken_link"}


def test_scope_and_tenant_isolation(api, make_tenant):
    a, b = make_tenant(), make_tenant()
    no_audit = make_tenant(scopes=["keys:manage"])
    assert api.get("/v1/audit", headers=no_audit.headers).status_code == 403
    b_call = call(api, "GET", "/v1/api-keys", b.headers)
    b_record = next(r for r in trail(api, b.headers) if r["requestId"] == b_call)
    assert api.get(f"/v1/audit/{b_record['id']}", headers=a.headers).status_code == 404
    assert b_call not in {r["requestId"] for r in trail(api, a.headers)}


def test_use_of_a_revoked_key_is_recorded(api, tenant):
    key = api.post("/v1/api-keys", json={"name": "gone", "scopes": ["keys:manage"]}, headers=tenant.headers).json()
    api.delete(f"/v1/api-keys/{key['id']}", headers=tenant.headers)
    attempt = call(api, "GET", "/v1/api-keys", {"Authorization": f"Bearer {key['key']}"})
    record = next(r for r in trail(api, tenant.headers, principal=key["id"]) if r["requestId"] == attempt)
    assert record["outcome"] == 401 and record["details"] == {"authentication": "rejected"}


def gateway_log_entries(stack, request_id: str, message: str | None = None) -> list[dict]:
    """The gateway's structured log lines (Cloud Logging's format) of one request."""
    entries = []
    for line in (stack.log_dir / "gateway.log").read_text(errors="replace").splitlines():
        if request_id in line and line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logging.googleapis.com/labels", {}).get("requestId") == request_id and (
                    message is None or entry["message"] == message):
                entries.append(entry)
    return entries


def test_a_scope_denied_call_is_audited_and_logged(api, stack, svc, make_tenant):
    reader = make_tenant(scopes=["studies:read"])
    refused = call(api, "GET", "/v1/api-keys", reader.headers)
    auditor = create_key(svc.metadata, env_prefix=svc.settings.api_key_prefix, tenant=reader.scope, name="auditor",
                         scopes=frozenset({"audit:read"}), created_by="pytest")
    records = trail(api, {"Authorization": f"Bearer {auditor.token}"}, principal=reader.key_id)
    record = next(r for r in records if r["requestId"] == refused)
    assert record["outcome"] == 403 and record["action"] == "GET /v1/api-keys"
    assert record["credentialId"] == reader.key_id
    assert record["details"] == {"refused": "insufficient_scope", "requiredScope": "keys:manage"}
    access = poll_until(lambda: gateway_log_entries(stack, refused, "GET /v1/api-keys 403"),
                        what="the access log line of the refused call")
    assert access[0]["tenantId"] == reader.id and access[0]["credentialId"] == reader.key_id


def test_a_phi_read_fails_closed_when_its_record_cannot_be_written(api, stack, svc):
    # BEAMIT_TEST_AUDIT_FAILURE_TENANT (tests/conftest.py): every audit append of this tenant fails.
    tenant = new_tenant(svc, tenant_id=AUDIT_FAILURE_TENANT)
    ds = ct_instance()
    body, content_type = multipart([part10_bytes(ds)])
    stored = api.post("/v1/dicomweb/studies", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert stored.status_code == 200  # a write is committed: it is answered, its record is in the logs
    study = f"/v1/dicomweb/studies/{ds.StudyInstanceUID}"
    for path in (f"{study}/metadata", study, f"/v1/dicomweb/studies?StudyInstanceUID={ds.StudyInstanceUID}"):
        request_id = new_id("req")
        response = api.get(path, headers={**tenant.headers, "X-Request-Id": request_id})
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] and response.json()["error"]["type"] == "audit_unavailable"
        assert b"CompressedSamples" not in response.content and ds.SOPInstanceUID not in response.text
        logged = poll_until(lambda rid=request_id: gateway_log_entries(stack, rid, "audit"),
                            what="the record in Cloud Logging")
        assert logged[0]["auditWritten"] is False and logged[0]["phi"] is True
        assert logged[0]["resources"]["studies"] == [ds.StudyInstanceUID]
    # A call that reads no PHI is still answered (its record is in the logs).
    assert api.get("/v1/api-keys", headers=tenant.headers).status_code == 200
