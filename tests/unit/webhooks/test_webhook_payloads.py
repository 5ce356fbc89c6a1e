"""Delivered bodies carry the documented fields only; malformed events are refused."""

from __future__ import annotations

import json

import pytest

from beamit.webhooks.payloads import MalformedEvent, WebhookEvent

ENVELOPE = {
    "id": "evt_0123456789abcdefghijklmn",
    "type": "study.received",
    "createdAt": "2026-02-20T10:30:00Z",
    "tenantId": "acme-health",
    "data": {
        "studyInstanceUID": "1.2.840.113619.2.1",
        "studyDate": "20260220",
        "modality": "CT",
        "patientId": "patient_xyz",
        "instanceCount": 256,
        "studyDescription": "CT ABDOMEN PELVIS W CONTRAST",
        "seriesCount": 3,
        "modalities": ["CT"],
        "update": False,
        "previousInstanceCount": 0,
        "patientName": "DOE^JOHN",  # not documented: must not leave
    },
}


def test_study_received_body_is_exactly_the_documented_shape():
    event = WebhookEvent.from_envelope(ENVELOPE)
    body = json.loads(event.body())
    assert list(body) == ["id", "type", "createdAt", "data"]
    assert body["id"] == ENVELOPE["id"] and body["createdAt"] == ENVELOPE["createdAt"]
    # The public docs' six fields in their order, then the additions docs/webhooks.md documents.
    assert list(body["data"]) == ["studyInstanceUID", "studyDate", "modality", "patientId", "instanceCount",
                                  "studyDescription", "seriesCount", "modalities", "update",
                                  "previousInstanceCount"]
    assert body["data"]["modalities"] == ["CT"] and body["data"]["update"] is False
    assert b"tenantId" not in event.body() and b"DOE^JOHN" not in event.body()


def test_share_events_carry_their_data_without_tenant_id():
    envelope = {**ENVELOPE, "type": "share.accessed",
                "data": {"shareId": "share_abc", "studyInstanceUID": "1.2.3", "tenantId": "acme-health"}}
    body = json.loads(WebhookEvent.from_envelope(envelope).body())
    assert body["data"] == {"shareId": "share_abc", "studyInstanceUID": "1.2.3"}
    assert "tenantId" not in body


def test_non_ascii_is_kept_as_utf8():
    envelope = {**ENVELOPE, "data": {**ENVELOPE["data"], "studyDescription": "Thorax ä 胸部"}}
    assert "胸部".encode() in WebhookEvent.from_envelope(envelope).body()


@pytest.mark.parametrize(
    "change",
    [
        {"id": "nope"},
        {"id": None},
        {"type": "study.deleted"},
        {"tenantId": "Bad Tenant"},
        {"tenantId": None},
        {"data": "x"},
        {"createdAt": 5},
    ],
)
def test_malformed_envelopes_are_refused(change):
    with pytest.raises(MalformedEvent):
        WebhookEvent.from_envelope({**ENVELOPE, **change})
    with pytest.raises(MalformedEvent):
        WebhookEvent.from_envelope(["not", "an", "object"])


def test_the_study_received_fields_are_the_documented_ones():
    """docs/webhooks.md's example body and docs/openapi.yaml's StudyReceivedData list exactly the
    fields a delivery carries, in its order."""
    import re
    from importlib import resources
    from pathlib import Path

    import yaml

    from beamit.webhooks.payloads import DOCUMENTED_DATA_FIELDS

    fields = list(DOCUMENTED_DATA_FIELDS["study.received"])
    spec = yaml.safe_load(resources.files("beamit").joinpath("openapi.yaml").read_text("utf-8"))
    assert list(spec["components"]["schemas"]["StudyReceivedData"]["properties"]) == fields
    assert spec["components"]["schemas"]["StudyReceivedData"]["required"] == fields
    guide = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text("utf-8")
    example = re.search(r"## Events\n.*?```json\n(.*?)```", guide, re.S)
    assert example is not None
    assert list(json.loads(example.group(1))["data"]) == fields


def test_a_test_event_has_every_documented_field():
    from beamit.webhooks.payloads import DOCUMENTED_DATA_FIELDS
    from beamit.webhooks.samples import sample_event

    body = json.loads(sample_event("acme-health", "study.received").body())
    assert list(body["data"]) == list(DOCUMENTED_DATA_FIELDS["study.received"])
    assert None not in body["data"].values()
