"""Test events (``POST /v1/webhooks/{id}/test``): an event of a chosen type with sample data.

A test event is built and signed like any event, and delivered to one endpoint only: its
body is the documented shape plus ``"test": true``, and its ``data`` is made-up sample
values of the documented fields (no tenant data, no PHI). Its id is a fresh ``evt_``, so a
receiver that de-duplicates on ids treats each test as new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from beamit.clock import rfc3339, utcnow
from beamit.events import SHARE_ACCESSED, SHARE_EXPIRED, STUDY_RECEIVED, STUDY_SHARED
from beamit.ids import new_id
from beamit.webhooks.payloads import WebhookEvent

# A UID under the DICOM example root 1.2.3 would be ambiguous; 2.25 (UUID-derived, PS3.5
# §B.2) marks this one as made up.
SAMPLE_STUDY_UID = "2.25.100000000000000000000000000000000001"
SAMPLE_SHARE_ID = "share_test0000000000000000"


def sample_data(event_type: str) -> dict[str, Any]:
    """The documented ``data`` fields of ``event_type`` with made-up values."""
    now = utcnow()
    share = {
        "shareId": SAMPLE_SHARE_ID,
        "studyInstanceUID": SAMPLE_STUDY_UID,
        "studyInstanceUIDs": [SAMPLE_STUDY_UID],
        "expiresAt": rfc3339(now + timedelta(days=7)),
    }
    samples: dict[str, dict[str, Any]] = {
        STUDY_RECEIVED: {
            "studyInstanceUID": SAMPLE_STUDY_UID,
            "studyDate": now.strftime("%Y%m%d"),
            "modality": "CT",
            "patientId": "TEST-PATIENT",
            "instanceCount": 1,
            "studyDescription": "BEAMIT TEST EVENT",
            "seriesCount": 1,
            "modalities": ["CT"],
            "update": False,
            "previousInstanceCount": 0,
        },
        STUDY_SHARED: {**share, "recipientPhone": "+1*******0000", "allowDownload": False, "maxViews": None},
        SHARE_ACCESSED: {**share, "accessedAt": rfc3339(now), "viewCount": 1},
        SHARE_EXPIRED: {**share, "expiresAt": rfc3339(now), "expiredAt": rfc3339(now)},
    }
    return samples[event_type]


def sample_event(tenant_id: str, event_type: str) -> WebhookEvent:
    """A test event of ``event_type`` (one of :data:`beamit.events.EVENT_TYPES`)."""
    return WebhookEvent(new_id("evt", 24), event_type, rfc3339(utcnow()), tenant_id, sample_data(event_type),
                        test=True)
