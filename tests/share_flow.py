"""Helpers of the share tests: a synthetic CT stored by STOW-RS, shares, the SMS outbox,
the viewer's verification flow (as a browser would do it, with the session cookie)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from beamit.sandbox import Kind, SandboxConfig, generate_study, part10_bytes
from beamit.shares.sessions import COOKIE
from tests.conftest import Api
from tests.dicom_samples import multipart
from tests.support import TenantCredentials, client_session, poll_until

SHARE_URL = re.compile(r"https?://\S+/s/(BM-[A-Z0-9]{6})")
OTP = re.compile(r"\b(\d{6})\b")


def plain_firestore(project: str) -> firestore.Client:
    """The plain Firestore client (FIRESTORE_EMULATOR_HOST is set by the stack fixture)."""
    return firestore.Client(project=project, credentials=AnonymousCredentials())


@dataclass(frozen=True)
class StoredStudy:
    uid: str
    series: str
    instances: tuple[str, ...]


def store_ct(api: Api, tenant: TenantCredentials, seed: int = 11, slices: int = 10) -> StoredStudy:
    study = generate_study(seed, 0, SandboxConfig(kinds=(Kind.CT,), scale=0.25, ct_slices=slices))
    datasets = list(study.datasets())
    body, content_type = multipart([part10_bytes(ds) for ds in datasets])
    response = api.post("/v1/dicomweb/studies", data=body, headers={**tenant.headers, "Content-Type": content_type})
    assert response.status_code == 200, response.text
    return StoredStudy(study.study_uid, str(datasets[0].SeriesInstanceUID),
                       tuple(str(ds.SOPInstanceUID) for ds in datasets))


def random_phone() -> str:
    return f"+1415{random.randint(2, 9)}{random.randint(0, 999999):06d}"


def create_share(api: Api, tenant: TenantCredentials, study: str, phone: str | None = None,
                 **fields: Any) -> dict[str, Any]:
    body = {"studyId": study, "recipientPhone": phone or random_phone(), "message": "Your CT scan results are ready",
            "expiresIn": "7d", **fields}
    response = api.post("/v1/shares", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def outbox(db: firestore.Client, phone: str, purpose: str | None = None, wait: float = 5.0) -> list[dict[str, Any]]:
    """The outbox messages to ``phone`` (oldest first), waiting briefly for at least one."""

    def messages() -> list[dict[str, Any]]:
        found = [doc.to_dict() for doc in db.collection("sms_outbox").where(
            filter=firestore.FieldFilter("to", "==", phone)).stream()]
        return sorted((m for m in found if purpose is None or m["purpose"] == purpose), key=lambda m: m["createdAt"])

    return poll_until(messages, timeout=wait, what=f"an SMS ({purpose or 'any'}) to {phone}")


class Viewer:
    """A browser on its own client IP (:func:`~tests.support.client_session`), calling the gateway."""

    def __init__(self, api: Api) -> None:
        self.base_url = api.base_url
        self.client = client_session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.client.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


class Recipient(Viewer):
    """The patient's browser, through the viewer API (requests does not send Secure cookies
    over http, so the session cookie is passed by hand)."""

    def __init__(self, api: Api, db: firestore.Client, code: str, phone: str) -> None:
        super().__init__(api)
        self.api, self.db, self.code, self.phone = api, db, code, phone
        self.token: str | None = None

    def request_code(self) -> requests.Response:
        return self.post("/s/api/verification", json={"code": self.code})

    def last_otp(self) -> str:
        match = OTP.search(outbox(self.db, self.phone, "verification")[-1]["body"])
        assert match
        return match.group(1)

    def answer(self, challenge: str, otp: str) -> requests.Response:
        response = self.post("/s/api/session", json={"code": self.code, "challengeId": challenge, "otp": otp})
        if response.status_code == 201:
            self.token = response.cookies.get(COOKIE)
        return response

    def sign_in(self) -> requests.Response:
        started = self.request_code()
        assert started.status_code == 201, started.text
        opened = self.answer(started.json()["challengeId"], self.last_otp())
        assert opened.status_code == 201, opened.text
        return opened

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Cookie"] = f"{COOKIE}={self.token}"
        return super().get(path, headers=headers, **kwargs)


class EventSink:
    """A webhook endpoint of ``tenant`` for ``events``, collecting the delivered bodies."""

    def __init__(self, api: Api, tenant: TenantCredentials, events: list[str]) -> None:
        from tests.webhook_receiver import Receiver

        self.receiver = Receiver()
        response = api.post("/v1/webhooks", json={"url": self.receiver.url, "events": events},
                            headers=tenant.headers)
        assert response.status_code == 201, response.text

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 30.0) -> dict[str, Any]:
        import json

        found = self.receiver.wait_for(count, timeout, where=lambda r: json.loads(r.body)["type"] == event_type)
        return dict(json.loads(found[-1].body))

    def wait_for_event(self, event_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The body of the event ``event_id`` once it was delivered."""
        import json

        (found,) = self.receiver.wait_for(1, timeout, where=lambda r: json.loads(r.body)["id"] == event_id)
        return dict(json.loads(found.body))

    def bodies(self, event_type: str) -> list[dict[str, Any]]:
        import json

        return [b for b in (json.loads(r.body) for r in self.receiver.requests) if b["type"] == event_type]

    def close(self) -> None:
        self.receiver.close()
