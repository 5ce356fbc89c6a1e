"""Audit records as FHIR R4 ``AuditEvent`` resources (in a ``Bundle``).

The mapping follows the DICOM audit message of PS3.15 §A.5 as FHIR carries it (FHIR R4
AuditEvent "DICOM" mapping, IHE BALP):

- ``type``: the record's event code in the DICOM code system (110112 Query, ...);
  ``subtype``: the API operation (``GET /v1/...``), and for sign-ins DCM 110122 Login
- ``action``: C/R/U/D by HTTP method; E (execute) for queries and authentication
- ``recorded``, ``outcome`` (0 success, 4 minor failure for 4xx, 8 serious failure for 5xx)
- ``agent``: the caller (DCM 110153 Source Role ID: user, API key or client, with its IP
  and credential) and BeamIt (110152 Destination Role ID)
- ``source``: the BeamIt API of the tenant
- ``entity``: each StudyInstanceUID (DCM 110180, a system object in the report role)
  and the request id (BALP ``XrequestId``)
"""

from __future__ import annotations

from typing import Any

from beamit.audit.chain import time_key
from beamit.audit.event_codes import QUERY, USER_AUTHENTICATION
from beamit.storage import Document

DCM = "http://dicom.nema.org/resources/ontology/DCM"
EVENT_NAMES = {
    "110100": "Application Activity",
    "110103": "DICOM Instances Accessed",
    "110104": "DICOM Instances Transferred",
    "110106": "Export",
    "110107": "Import",
    "110112": "Query",
    "110113": "Security Alert",
    "110114": "User Authentication",
}
OPERATION_SYSTEM = "https://api.beamit.health/fhir/CodeSystem/api-operation"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
BALP_ENTITY = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
_ACTIONS = {"POST": "C", "GET": "R", "HEAD": "R", "PUT": "U", "PATCH": "U", "DELETE": "D"}


def action_code(event_code: str, action: str) -> str:
    if event_code in (QUERY, USER_AUTHENTICATION):
        return "E"
    return _ACTIONS.get(action.split(" ", 1)[0], "E")


def outcome_code(status: int) -> str:
    return "0" if status < 400 else "4" if status < 500 else "8"


def _identity_system(base_url: str, identifier: str) -> str:
    for prefix, path in (("usr_", "/v1/auth/users"), ("key_", "/v1/api-keys"), ("cli_", "/v1/auth/clients")):
        if identifier.startswith(prefix):
            return base_url + path
    return base_url + "/v1/principals"


def audit_event(doc: Document, tenant_id: str, base_url: str) -> dict[str, Any]:
    data = doc.data
    event_code = str(data.get("eventCode", "110100"))
    action = str(data.get("action", ""))
    status = int(data.get("outcome", 0))
    subtype = [{"system": OPERATION_SYSTEM, "code": action, "display": action}]
    if event_code == USER_AUTHENTICATION and data.get("details", {}).get("event") == "login":
        subtype.append({"system": DCM, "code": "110122", "display": "Login"})
    principal = data.get("principal") or data.get("credentialId") or "unknown"
    caller: dict[str, Any] = {
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": {"system": _identity_system(base_url, principal), "value": principal}},
        "requestor": True,
    }
    if data.get("credentialId") and data.get("credentialId") != principal:
        caller["altId"] = data["credentialId"]
    if data.get("sourceIp"):
        caller["network"] = {"address": data["sourceIp"], "type": "2"}
    entities: list[dict[str, Any]] = [
        {
            "what": {
                "identifier": {
                    "type": {"coding": [{"system": DCM, "code": "110180", "display": "Study Instance UID"}]},
                    "value": uid,
                }
            },
            "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "3", "display": "Report"},
        }
        for uid in data.get("resources", {}).get("studies", []) or []
    ]
    if data.get("requestId"):
        entities.append({"what": {"identifier": {"value": data["requestId"]}},
                         "type": {"system": BALP_ENTITY, "code": "XrequestId", "display": "Request Id"}})
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": doc.id,
        "type": {"system": DCM, "code": event_code, "display": EVENT_NAMES.get(event_code, event_code)},
        "subtype": subtype,
        "action": action_code(event_code, action),
        "recorded": time_key(data["time"]),
        "outcome": outcome_code(status),
        "outcomeDesc": f"HTTP {status}",
        "agent": [
            caller,
            {
                "type": {"coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]},
                "who": {"display": "BeamIt API"},
                "requestor": False,
                "network": {"address": base_url, "type": "5"},
            },
        ],
        "source": {
            "site": tenant_id,
            "observer": {"display": "BeamIt API"},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
    }
    if entities:
        event["entity"] = entities
    return event


def bundle(docs: list[Document], tenant_id: str, base_url: str, self_url: str, next_url: str | None,
           timestamp: str) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": timestamp,
        "link": links,
        "entry": [
            {"fullUrl": f"{base_url}/v1/audit/{doc.id}", "resource": audit_event(doc, tenant_id, base_url),
             "search": {"mode": "match"}}
            for doc in docs
        ],
    }
