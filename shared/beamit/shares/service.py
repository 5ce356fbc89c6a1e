"""Creating and managing shares (the integrator's side, ``/v1/shares``).

Create checks every study exists in the caller's tenant (404 otherwise: another tenant's
UIDs are simply not found), draws a code, claims its digest in ``share_codes`` with a
``create`` (a collision draws again), writes the share, texts the recipient the link and
the integrator's message, and publishes ``study.shared``. The share and its event are
committed in one batch (the transactional outbox, :mod:`beamit.events.outbox`); the request
then publishes the event itself, and the event sweep does if that fails.

Re-issue (:func:`reissue_share`) gives an active or locked share a new code: the old link
stops working at once, the sessions it opened end, the verification failures start again
from zero, and the recipient is texted the new link.

``Idempotency-Key`` (Stripe style): the first request with a key claims
``tenants/{t}/share_requests/{sha256(key)}``; its response is stored there encrypted with
Cloud KMS (it holds the code), for 24 hours. The same key with the same body replays that
response; with another body it is a 409, as is a request while the first is in flight.

The owner can revoke, extend, unlock (after five wrong one-time codes locked it) or re-issue
a share (a new code, the old one dead at once): someone holding the link can lock it, but
not for good.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from beamit import events, logs
from beamit.catalog import Catalog
from beamit.catalog.orthanc_ids import is_orthanc_id
from beamit.clock import rfc3339, utcnow
from beamit.errors import BadRequest, Conflict, NotFound
from beamit.failpoints import SHARES_AFTER_CODE, failpoint
from beamit.ids import new_id
from beamit.shares import codes
from beamit.shares.fields import MAX_EXPIRY, ShareRequest, mask_phone
from beamit.shares.qr import qr_data_url
from beamit.shares.share import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    REVOKED,
    STATUSES,
    Share,
    code_path,
    event_data,
    share_path,
)
from beamit.sms import SmsError, sms_sender
from beamit.storage import AlreadyExists, Filter, Query, Services, Transaction, Write
from beamit.tenancy import TenantScope

IDEMPOTENCY = "share_requests"
IDEMPOTENCY_TTL = timedelta(hours=24)
IDEMPOTENCY_LEASE = timedelta(minutes=2)
"""How long a request may hold its Idempotency-Key pending: twice the ``shares`` function's
60-second timeout. A record pending for longer belongs to a request that died; a retry takes it
over (before, it answered 409 "in progress" for the key's whole 24 hours)."""
SECRETS_KEY = "secrets"
DEFAULT_PAGE, MAX_PAGE = 20, 100
CODE_ATTEMPTS = 8


@dataclass(frozen=True)
class Created:
    status: int
    body: dict[str, Any]


def share_url(svc: Services, code: str) -> str:
    return f"{svc.settings.share_base_url}/s/{code}"


def sms_body(url: str, message: str) -> str:
    """The text: the integrator's message and the link; nothing else (no PHI added here)."""
    return f"{message}\n{url}" if message else f"Your images are ready to view: {url}"


# -- create ---------------------------------------------------------------------------------------


def create_share(
    svc: Services, scope: TenantScope, request: ShareRequest, *, created_by: str, idempotency_key: str | None
) -> Created:
    if idempotency_key is None:
        return _create(svc, scope, request, created_by)
    if not 1 <= len(idempotency_key) <= 255:
        raise BadRequest("Idempotency-Key must be 1-255 characters")
    path = scope.document(IDEMPOTENCY, hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest())
    fingerprint = _fingerprint(request)
    now = utcnow()
    aad = path.encode("utf-8")
    try:
        svc.metadata.create(path, {"fingerprint": fingerprint, "state": "pending", "createdAt": now,
                                   "expiresAt": now + IDEMPOTENCY_TTL})
    except AlreadyExists:
        record = svc.metadata.get(path) or {}
        if record.get("expiresAt") and record["expiresAt"] <= now:
            svc.metadata.delete(path)
            return create_share(svc, scope, request, created_by=created_by, idempotency_key=idempotency_key)
        if record.get("fingerprint") != fingerprint:
            raise Conflict("this Idempotency-Key was used with a different request body",
                           code="idempotency_key_reused") from None
        if record.get("state") != "done":
            if not _take_over_abandoned(svc, path, now):
                raise Conflict("a request with this Idempotency-Key is in progress",
                               code="idempotency_in_progress") from None
        else:
            body = json.loads(svc.keys.decrypt(SECRETS_KEY, record["response"], aad=aad))
            return Created(int(record["status"]), body)
    try:
        created = _create(svc, scope, request, created_by)
    except BaseException:
        svc.metadata.delete(path)  # a failed request leaves the key free for a corrected retry
        raise
    plaintext = json.dumps(created.body, separators=(",", ":")).encode("utf-8")
    svc.metadata.update(path, {"state": "done", "status": created.status,
                               "response": svc.keys.encrypt(SECRETS_KEY, plaintext, aad=aad)})
    return created


def _take_over_abandoned(svc: Services, path: str, now: datetime) -> bool:
    """Claim an idempotency record left pending for longer than :data:`IDEMPOTENCY_LEASE` (its
    request died: a killed worker never marks it done nor deletes it); one caller wins."""

    def take(txn: Transaction) -> bool:
        record = txn.get(path)
        created = (record or {}).get("createdAt")
        if record is None or record.get("state") == "done" or not isinstance(created, datetime) \
                or created > now - IDEMPOTENCY_LEASE:
            return False
        txn.write(Write("update", path, {"createdAt": now}))
        return True

    return svc.metadata.run_transaction(take)


def _fingerprint(request: ShareRequest) -> str:
    canonical = {
        "studies": list(request.studies),
        "recipientPhone": request.recipient_phone,
        "message": request.message,
        "expiresIn": request.expires_in.total_seconds(),
        "allowDownload": request.allow_download,
        "maxViews": request.max_views,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode("utf-8")).hexdigest()


def resolve_studies(catalog: Catalog, references: tuple[str, ...]) -> tuple[str, ...]:
    """The Study Instance UIDs of ``references`` (UIDs, or Orthanc study identifiers looked up by
    their index), each a study of the catalog's tenant; 404 ``study_not_found`` otherwise."""
    uids: list[str] = []
    for reference in references:
        uid = catalog.study_by_orthanc_id(reference) if is_orthanc_id(reference) else reference
        if uid is None:
            raise NotFound("no such study in this tenant", code="study_not_found")
        uids.append(uid)
    uids = list(dict.fromkeys(uids))
    if any(study is None for study in catalog.studies(uids)):
        raise NotFound("no such study in this tenant", code="study_not_found")
    return tuple(uids)


def _create(svc: Services, scope: TenantScope, request: ShareRequest, created_by: str) -> Created:
    store = svc.metadata
    request = replace(request, studies=resolve_studies(Catalog(store, scope), request.studies))
    now = utcnow()
    share_id = new_id("share", 20)
    expires_at = now + request.expires_in
    code, digest = _claim_code(svc, scope, share_id, expires_at)
    failpoint(SHARES_AFTER_CODE)
    record = {
        "id": share_id,
        "tenantId": scope.tenant_id,
        "studies": list(request.studies),
        "recipientPhone": request.recipient_phone,
        "message": request.message,
        "codeDigest": digest,
        "status": ACTIVE,
        "createdAt": now,
        "expiresAt": expires_at,
        "allowDownload": request.allow_download,
        "maxViews": request.max_views,
        "views": {"count": 0, "firstAccessAt": None, "lastAccessAt": None},
        "verification": {"failures": 0, "lockedAt": None},
        "createdBy": created_by,
    }
    share = Share.from_record(record)
    shared = events.Event.new(scope.tenant_id, events.STUDY_SHARED, {
        **event_data(share),
        "recipientPhone": mask_phone(request.recipient_phone),
        "allowDownload": request.allow_download,
        "maxViews": request.max_views,
    }, at=now)
    try:  # the share and its study.shared event, together (beamit.events.outbox)
        store.commit([Write("create", share_path(scope, share_id), record), events.record(shared)])
    except BaseException:
        store.delete(code_path(digest))
        raise
    url = share_url(svc, code)
    sms_sent = text_link(svc, share, url)
    events.publish(svc, [shared])  # a failure leaves it to the event sweep
    body = {
        "id": share_id,
        "shareCode": code,
        "shareUrl": url,
        "expiresAt": rfc3339(expires_at),
        "status": ACTIVE,
        "studyIds": list(request.studies),
        "allowDownload": request.allow_download,
        "maxViews": request.max_views,
        "smsStatus": "sent" if sms_sent else "failed",
        "qrCode": qr_data_url(url),
    }
    return Created(201, body)


def text_link(svc: Services, share: Share, url: str) -> bool:
    """Text the recipient the link and the share's message; ``False`` if the SMS failed (the
    share stands: the caller sees ``smsStatus`` and may pass the link on itself)."""
    try:
        sms_sender(svc).send(share.recipient_phone, sms_body(url, share.message), tenant_id=share.tenant_id,
                             purpose="share_link")
    except SmsError as exc:
        logs.warning("share link SMS not sent", tenantId=share.tenant_id, shareId=share.id, error=str(exc)[:200])
        return False
    return True


def _claim_code(svc: Services, scope: TenantScope, share_id: str, expires_at: Any) -> tuple[str, str]:
    """A fresh code whose digest this share now owns in ``share_codes`` (collisions retried)."""
    for _ in range(CODE_ATTEMPTS):
        code = codes.new_share_code()
        digest = codes.share_code_digest(svc.settings, code)
        try:
            svc.metadata.create(code_path(digest), {
                "tenantId": scope.tenant_id, "shareId": share_id, "state": ACTIVE, "expiresAt": expires_at,
                "createdAt": utcnow(),
            })
        except AlreadyExists:
            logs.info("share code collision; drawing again")
            continue
        return code, digest
    raise Conflict("no free share code could be drawn; try again", code="share_code_unavailable")


# -- read --------------------------------------------------------------------------------------------


def get_share(svc: Services, scope: TenantScope, share_id: str) -> Share:
    record = svc.metadata.get(share_path(scope, share_id))
    if record is None:
        raise NotFound("no such share")
    return Share.from_record(record)


def list_shares(
    svc: Services, scope: TenantScope, *, limit: int, starting_after: str | None, status: str | None, study: str | None
) -> tuple[list[Share], bool]:
    """A tenant's shares, newest first, with cursor paging (``startingAfter`` a share id)."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"'limit' must be an integer from 1 to {MAX_PAGE}")
    if status is not None and status not in STATUSES:
        raise BadRequest(f"'status' must be one of {', '.join(STATUSES)}")
    filters: list[Filter] = []
    if status is not None:
        filters.append(Filter("status", "==", status))
    if study is not None:
        filters.append(Filter("studies", "array_contains", study))
    cursor = None
    if starting_after:
        try:
            record = svc.metadata.get(share_path(scope, starting_after))
        except NotFound:
            record = None
        if record is None:  # a bad cursor is a bad parameter, not a missing resource
            raise BadRequest("'startingAfter' must be the id of a share of this tenant (from a previous page)")
        cursor = (Share.from_record(record).created_at,)
    docs = svc.metadata.query(Query(
        scope.collection("shares"),
        filters=tuple(filters),
        order_by=(("createdAt", "desc"),),
        start_after=cursor,
        limit=limit + 1,
    ))
    shares = [Share.from_record(doc.data) for doc in docs]
    return shares[:limit], len(shares) > limit


# -- change ------------------------------------------------------------------------------------------


def revoke_share(svc: Services, scope: TenantScope, share_id: str) -> Share:
    """Revoke at once: the code stops resolving and every viewer session of it ends."""
    path = share_path(scope, share_id)
    now = utcnow()

    def revoke(txn: Transaction) -> dict[str, Any]:
        record = txn.get(path)
        if record is None:
            raise NotFound("no such share")
        if record["status"] in (ACTIVE, LOCKED):
            record = {**record, "status": REVOKED, "revokedAt": now}
            txn.write(Write("update", path, {"status": REVOKED, "revokedAt": now}))
            txn.write(Write("merge", code_path(record["codeDigest"]), {"state": REVOKED}))
        return record

    return Share.from_record(svc.metadata.run_transaction(revoke))


def revoke_study_shares(svc: Services, scope: TenantScope, study: str) -> list[str]:
    """Revoke every share (active or locked) that holds ``study``, e.g. because it was deleted;
    returns their ids. One single-field query (``studies`` array-contains), then the revokes."""
    docs = svc.metadata.query(Query(scope.collection("shares"), filters=(Filter("studies", "array_contains", study),),
                                    select=("id", "status")))
    revoked = []
    for doc in docs:
        if doc.data.get("status") in (ACTIVE, LOCKED):
            revoke_share(svc, scope, str(doc.data["id"]))
            revoked.append(str(doc.data["id"]))
    return revoked


def extend_share(svc: Services, scope: TenantScope, share_id: str, extra: timedelta) -> Share:
    """Move the expiry ``extra`` later, at most 30 days from now; only an active share."""
    path = share_path(scope, share_id)
    now = utcnow()

    def extend(txn: Transaction) -> dict[str, Any]:
        record = txn.get(path)
        if record is None:
            raise NotFound("no such share")
        share = Share.from_record(record)
        if share.effective_status(now) != ACTIVE:
            raise Conflict(f"only an active share can be extended; this one is {share.effective_status(now)}",
                           code="share_not_active")
        expires_at = share.expires_at + extra
        if expires_at > now + MAX_EXPIRY:
            raise BadRequest("a share can expire at most 30 days from now")
        txn.write(Write("update", path, {"expiresAt": expires_at}))
        txn.write(Write("merge", code_path(share.code_digest), {"expiresAt": expires_at}))
        return {**record, "expiresAt": expires_at}

    return Share.from_record(svc.metadata.run_transaction(extend))


def unlock_share(svc: Services, scope: TenantScope, share_id: str) -> Share:
    """Let the recipient verify again after too many wrong one-time codes: status ``active``,
    failures back to 0, and every one-time code sent before void (whoever guessed keeps no
    challenge to go on with). The same code keeps working. An active share with failures is
    reset the same way; one without is left as it is; a revoked or expired share is a 409."""
    path = share_path(scope, share_id)
    now = utcnow()

    def unlock(txn: Transaction) -> dict[str, Any]:
        record = txn.get(path)
        if record is None:
            raise NotFound("no such share")
        share = Share.from_record(record)
        _require_changeable(share, now, "unlocked")
        if share.status == ACTIVE and share.verification_failures == 0:
            return record
        verification = {"failures": 0, "lockedAt": None, "resetAt": now, "lastSentAt": None}
        txn.write(Write("merge", path, {"status": ACTIVE, "verification": verification}))
        txn.write(Write("merge", code_path(share.code_digest), {"state": ACTIVE}))
        return {**record, "status": ACTIVE, "verification": {**(record.get("verification") or {}), **verification}}

    return Share.from_record(svc.metadata.run_transaction(unlock))


@dataclass(frozen=True)
class Reissued:
    """A share with its new link: the code, link and QR code are shown now, never again."""

    share: Share
    code: str
    url: str
    sms_sent: bool

    def to_json(self) -> dict[str, Any]:
        return {**self.share.to_json(), "shareCode": self.code, "shareUrl": self.url,
                "smsStatus": "sent" if self.sms_sent else "failed", "qrCode": qr_data_url(self.url)}


def reissue_share(svc: Services, scope: TenantScope, share_id: str) -> Reissued:
    """A new link for an active or locked share (the owner's answer to a lock, or to a lost
    or leaked link). The old code stops resolving at once, sessions opened with it end, the
    verification failures are reset, one-time codes sent before are void and the share is active
    again; expiry and views stay."""
    current = get_share(svc, scope, share_id)
    now = utcnow()
    _require_changeable(current, now, "re-issued")
    code, digest = _claim_code(svc, scope, share_id, current.expires_at)
    path = share_path(scope, share_id)

    def swap(txn: Transaction) -> dict[str, Any]:
        record = txn.get(path)
        if record is None:
            raise NotFound("no such share")
        share = Share.from_record(record)
        _require_changeable(share, now, "re-issued")
        if share.code_digest != current.code_digest:
            raise Conflict("the share was re-issued meanwhile; reload it", code="share_changed")
        changes = {"codeDigest": digest, "status": ACTIVE, "reissuedAt": now,
                   "verification": {"failures": 0, "lockedAt": None, "resetAt": now, "lastSentAt": None}}
        txn.write(Write("update", path, changes))
        txn.write(Write("merge", code_path(share.code_digest), {"state": REVOKED}))
        return {**record, **changes}

    try:
        record = svc.metadata.run_transaction(swap)
    except BaseException:
        svc.metadata.delete(code_path(digest))  # the new code was never handed out
        raise
    share = Share.from_record(record)
    url = share_url(svc, code)
    return Reissued(share, code, url, text_link(svc, share, url))


def _require_changeable(share: Share, now: datetime, action: str) -> None:
    status = share.effective_status(now)
    if status not in (ACTIVE, LOCKED) or share.expires_at <= now:
        shown = EXPIRED if share.expires_at <= now else status
        raise Conflict(f"only an active or locked share can be {action}; this one is {shown}",
                       code="share_not_active")
