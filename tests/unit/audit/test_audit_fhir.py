"""Audit records as FHIR R4 AuditEvent resources."""

from __future__ import annotations

from datetime import UTC, datetime

from beamit.audit.fhir import DCM, action_code, audit_event, bundle, outcome_code
from beamit.storage import Document

BASE = "https://api.beamit.health"


def doc(**fields) -> Document:
    data = {"time": datetime(2026, 2, 20, 10, 30, 0, 5000, tzinfo=UTC), "action": "GET /v1/dicomweb/studies/{study}",
            "eventCode": "110104", "outcome": 200, "principal": "usr_aaaaaaaaaaaaaaaaaaaa",
            "credentialId": "cli_bbbbbbbbbbbbbbbbbbbbbbbb", "requestId": "req_1234567890",
            "resources": {"studies": ["1.2.840.1", "1.2.840.2"]}, "sourceIp": "203.0.113.5", **fields}
    return Document("tenants/acme/audit_events/aud_x", data)


def test_retrieval_maps_to_a_dicom_audit_event():
    event = audit_event(doc(), "acme", BASE)
    assert event["resourceType"] == "AuditEvent" and event["id"] == "aud_x"
    assert event["type"] == {"system": DCM, "code": "110104", "display": "DICOM Instances Transferred"}
    assert event["subtype"][0]["code"] == "GET /v1/dicomweb/studies/{study}"
    assert event["action"] == "R" and event["outcome"] == "0"
    assert event["recorded"] == "2026-02-20T10:30:00.005000Z"
    caller = event["agent"][0]
    assert caller["requestor"] is True and caller["network"] == {"address": "203.0.113.5", "type": "2"}
    assert caller["who"]["identifier"] == {"system": f"{BASE}/v1/auth/users", "value": "usr_aaaaaaaaaaaaaaaaaaaa"}
    assert caller["altId"] == "cli_bbbbbbbbbbbbbbbbbbbbbbbb"
    assert event["source"]["site"] == "acme"
    studies = [e for e in event["entity"] if e["type"]["code"] == "2"]
    assert [e["what"]["identifier"]["value"] for e in studies] == ["1.2.840.1", "1.2.840.2"]
    assert studies[0]["what"]["identifier"]["type"]["coding"][0]["code"] == "110180"
    assert any(e["type"]["code"] == "XrequestId" and e["what"]["identifier"]["value"] == "req_1234567890"
               for e in event["entity"])


def test_login_and_actions_and_outcomes():
    login = audit_event(doc(eventCode="110114", action="POST /v1/auth/authorize", outcome=401,
                            details={"event": "login"}, resources={}), "acme", BASE)
    assert login["action"] == "E" and login["outcome"] == "4"
    assert {"system": DCM, "code": "110122", "display": "Login"} in login["subtype"]
    assert "entity" in login and all(e["type"]["code"] != "2" for e in login["entity"])
    assert action_code("110107", "POST /v1/dicomweb/studies") == "C"
    assert action_code("110100", "DELETE /v1/api-keys/{key_id}") == "D"
    assert action_code("110112", "GET /v1/dicomweb/studies") == "E"
    assert [outcome_code(s) for s in (200, 302, 404, 503)] == ["0", "0", "4", "8"]


def test_bundle():
    out = bundle([doc()], "acme", BASE, f"{BASE}/v1/audit/export?format=fhir", f"{BASE}/next", "2026-02-20T11:00:00Z")
    assert out["resourceType"] == "Bundle" and out["type"] == "searchset"
    assert out["entry"][0]["fullUrl"] == f"{BASE}/v1/audit/aud_x"
    assert [link["relation"] for link in out["link"]] == ["self", "next"]
