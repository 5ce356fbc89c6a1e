"""The recipient's side of a share: resolve the code, prove the phone, open a session.

1. ``/s/{code}`` resolves the code through ``share_codes/{hmac(code)}``. Every lookup is
   counted against the client's IP before it is made (:data:`CODE_LOOKUP_POLICY`, with
   :mod:`beamit.auth.throttle`: 10 at once, then an exponential delay, 429 with
   ``Retry-After``; 30 an hour at most); a code that resolves is taken off the count again,
   so only misses add up. Counters are Firestore documents shared by every instance.
2. Before any image, a one-time code (6 digits, 10 minutes, kept as an HMAC under the
   share-code key) is texted to the share's phone: one per 30 seconds, and at most
   :data:`SMS_PER_DAY` a UTC day, per share (so a code holder cannot flood the patient).
3. The answer is counted against the client's IP (:data:`OTP_IP_POLICY`), then checked in a
   transaction with the share: a wrong one counts on the share (5 wrong answers lock it: status
   ``locked``, which GET /v1/shares/{id} shows and its owner can undo with ``unlock`` or
   ``reissue``, :mod:`beamit.shares.service`). The right one opens a viewer session, counts
   the view (count, first and last access; ``maxViews``) and records ``share.accessed`` in the
   same transaction (:mod:`beamit.events.outbox`), then publishes it. Challenges issued before
   the share was last unlocked or re-issued are void.

Each limit is reported in the ``RateLimit`` fields of the answer (:mod:`beamit.auth.rate_limits`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from beamit import events, logs
from beamit.auth import rate_limits
from beamit.auth.rate_limits import QuotaPolicy, ServiceLimit
from beamit.auth.throttle import Counter, LoginThrottle, ThrottlePolicy, throttle_key
from beamit.clock import rfc3339, utcnow
from beamit.errors import BadRequest, Gone, NotFound, RateLimited, Unauthenticated
from beamit.ids import new_id
from beamit.shares import codes
from beamit.shares.sessions import IssuedSession, new_session
from beamit.shares.share import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    MAX_VERIFICATION_FAILURES,
    REVOKED,
    Share,
    code_path,
    event_data,
    share_path,
)
from beamit.sms import SmsError, sms_sender
from beamit.storage import Services, Transaction, Write
from beamit.tenancy import TenantScope

CHALLENGES = "share_challenges"
OTP_LIFETIME = timedelta(minutes=10)
OTP_RESEND_AFTER = timedelta(seconds=30)

SMS_PER_DAY = 10
"""Verification texts one share may cause in a UTC day (with one per 30 s at most)."""

CODE_LOOKUP_POLICY = ThrottlePolicy(
    name="share-code-ip", free_attempts=10, base_delay=timedelta(seconds=2), max_delay=timedelta(minutes=5),
    lockout_after=30, window=timedelta(hours=1),
)
OTP_IP_POLICY = ThrottlePolicy(
    name="share-otp-ip", free_attempts=10, base_delay=timedelta(seconds=2), max_delay=timedelta(minutes=5),
    lockout_after=30, window=timedelta(hours=1),
)
OTP_SHARE_POLICY = QuotaPolicy("share-otp", MAX_VERIFICATION_FAILURES)
"""Wrong one-time codes a share takes before it locks (no window: until its owner unlocks it)."""
SMS_POLICY = QuotaPolicy("share-sms", SMS_PER_DAY, 86400)

GONE_MESSAGES = {
    EXPIRED: ("share_expired", "This link has expired."),
    REVOKED: ("share_revoked", "This link has been withdrawn by its sender."),
    LOCKED: ("share_locked", "This link is locked after too many wrong verification codes."),
}


class WrongCode(Unauthenticated):
    code = "wrong_code"


def _retry_after(until: datetime) -> dict[str, str]:
    return rate_limits.retry_after(until, utcnow())


def _counter(policy: ThrottlePolicy, kind: str, ip: str | None) -> Counter:
    return Counter(policy, throttle_key(kind, ip or "unknown"))


def resolve_code(svc: Services, raw_code: str, ip: str | None) -> Share:
    """The share a code names, throttled per client; :class:`NotFound` for unknown codes."""
    throttle = LoginThrottle(svc.metadata)
    attempt = throttle.reserve([_counter(CODE_LOOKUP_POLICY, "share-code-ip", ip)])  # counted before the lookup
    if attempt.refused_until is not None:
        raise RateLimited("too many share codes tried; wait and try again",
                          headers=_retry_after(attempt.refused_until))
    code = codes.normalize_share_code(raw_code)
    digest = codes.share_code_digest(svc.settings, code) if code else None
    entry = svc.metadata.get(code_path(digest)) if digest else None
    record = None
    if entry is not None:
        record = svc.metadata.get(share_path(TenantScope(entry["tenantId"]), entry["shareId"]))
    if record is None:
        raise NotFound("this link is not valid", code="share_not_found")  # the miss stays counted
    throttle.release(attempt)
    share = Share.from_record(record)
    if share.code_digest != digest:  # the share was re-issued with a new code
        raise Gone("This link was replaced by a newer one. Use the latest link you were sent.",
                   code="share_link_replaced")
    return share


def require_viewable(share: Share, now: datetime | None = None) -> None:
    """410 with a reason the viewer page shows, unless the share may be opened."""
    status = share.effective_status(now)
    if status != ACTIVE:
        code, message = GONE_MESSAGES[status]
        raise Gone(message, code=code)
    if share.views_exhausted:
        raise Gone("This link has been opened as many times as its sender allowed.", code="share_view_limit")


def phone_hint(share: Share) -> str:
    return "•••• " + share.recipient_phone[-2:]


@dataclass(frozen=True)
class Challenge:
    id: str
    expires_at: datetime
    phone_hint: str


def start_verification(svc: Services, share: Share) -> Challenge:
    """Text a fresh one-time code to the share's phone: at most one per 30 s and
    :data:`SMS_PER_DAY` a UTC day per share."""
    require_viewable(share)
    now = utcnow()
    path = share_path(TenantScope(share.tenant_id), share.id)
    day = now.date().isoformat()
    next_day = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)

    def claim(txn: Transaction) -> int:
        verification = (txn.get(path) or {}).get("verification") or {}
        sent = int(verification.get("smsCount") or 0) if verification.get("smsDay") == day else 0
        limit = ServiceLimit(SMS_POLICY, SMS_PER_DAY - sent, rate_limits.seconds_until(next_day, now))
        rate_limits.report(limit)
        if sent >= SMS_PER_DAY:
            raise RateLimited(f"this link has had its {SMS_PER_DAY} verification texts for today; try again "
                              "tomorrow or ask the sender for help", headers=_retry_after(next_day))
        last = verification.get("lastSentAt")
        if last is not None and now - last < OTP_RESEND_AFTER:
            raise RateLimited("a code was just sent; wait a moment before asking for another",
                              headers=_retry_after(last + OTP_RESEND_AFTER))
        txn.write(Write("merge", path, {"verification": {"lastSentAt": now, "smsDay": day, "smsCount": sent + 1}}))
        return sent + 1

    sent = svc.metadata.run_transaction(claim)
    rate_limits.report(ServiceLimit(SMS_POLICY, SMS_PER_DAY - sent, rate_limits.seconds_until(next_day, now)))
    otp = f"{secrets.randbelow(1_000_000):06d}"
    challenge_id = new_id("chl", 24)
    expires_at = now + OTP_LIFETIME
    svc.metadata.create(f"{CHALLENGES}/{challenge_id}", {
        "tenantId": share.tenant_id,
        "shareId": share.id,
        "otpDigest": codes.keyed_digest(svc.settings, "otp", challenge_id, otp),
        "createdAt": now,
        "expiresAt": expires_at,
        "used": False,
    })
    try:
        text = f"Your BeamIt verification code is {otp}. It expires in 10 minutes."
        sms_sender(svc).send(share.recipient_phone, text, tenant_id=share.tenant_id, purpose="verification")
    except SmsError as exc:
        logs.warning("verification SMS not sent", tenantId=share.tenant_id, shareId=share.id, error=str(exc)[:200])
        raise Gone("The verification code could not be sent; try again later.", code="sms_failed") from None
    return Challenge(challenge_id, expires_at, phone_hint(share))


@dataclass(frozen=True)
class Verified:
    share: Share
    session: IssuedSession


def verify(svc: Services, share: Share, challenge_id: str, otp: str, ip: str | None) -> Verified:
    """Check the one-time code; open a session, or count the failure (lock at 5)."""
    if not isinstance(challenge_id, str) or not challenge_id.startswith("chl_") or len(challenge_id) > 40:
        raise BadRequest("'challengeId' is missing or malformed")
    if not isinstance(otp, str) or not otp.strip().isdigit() or len(otp.strip()) != 6:
        raise BadRequest("the code is the 6 digits of the text message")
    throttle = LoginThrottle(svc.metadata)
    attempt = throttle.reserve([_counter(OTP_IP_POLICY, "share-otp-ip", ip)])  # counted before it is checked
    if attempt.refused_until is not None:
        raise RateLimited("too many verification attempts; wait and try again",
                          headers=_retry_after(attempt.refused_until))
    require_viewable(share)
    scope = TenantScope(share.tenant_id)
    path = share_path(scope, share.id)
    challenge_path = f"{CHALLENGES}/{challenge_id}"
    digest = codes.keyed_digest(svc.settings, "otp", challenge_id, otp.strip())
    now = utcnow()
    accessed: list[events.Event] = []  # the share.accessed event the transaction recorded

    def check(txn: Transaction) -> tuple[str, dict[str, Any], IssuedSession | None]:
        record = txn.get(path)
        challenge = txn.get(challenge_path)
        if record is None:
            raise NotFound("this link is not valid", code="share_not_found")
        current = Share.from_record(record)
        require_viewable(current, now)
        if (challenge is None or challenge.get("shareId") != share.id or challenge.get("used")
                or challenge["expiresAt"] <= now
                or (current.reset_at is not None and challenge["createdAt"] < current.reset_at)):
            return "stale", record, None
        if not hmac.compare_digest(challenge["otpDigest"], digest):
            failures = current.verification_failures + 1
            update: dict[str, Any] = {"verification": {"failures": failures}}
            if failures >= MAX_VERIFICATION_FAILURES:
                update = {"status": LOCKED, "verification": {"failures": failures, "lockedAt": now}}
                txn.write(Write("merge", code_path(current.code_digest), {"state": LOCKED}))
            txn.write(Write("merge", path, update))
            return ("locked" if failures >= MAX_VERIFICATION_FAILURES else "wrong"), {
                **record, "verification": {"failures": failures}}, None
        session = new_session(svc, current, now)
        views = {"count": current.view_count + 1, "firstAccessAt": current.first_access_at or now,
                 "lastAccessAt": now}
        txn.write(Write("update", challenge_path, {"used": True}))
        txn.write(Write("merge", path, {"views": views, "verification": {"failures": 0}}))
        txn.write(Write("create", session.path, session.record))
        opened = Share.from_record({**record, "views": views})
        accessed[:] = [events.Event.new(share.tenant_id, events.SHARE_ACCESSED, {
            **event_data(opened), "accessedAt": rfc3339(now), "viewCount": opened.view_count}, at=now)]
        txn.write(events.record(accessed[0]))
        return "ok", {**record, "views": views, "verification": {**(record.get("verification") or {}),
                                                                   "failures": 0}}, session

    outcome, record, session = svc.metadata.run_transaction(check)
    failures = int((record.get("verification") or {}).get("failures") or 0)
    rate_limits.report(ServiceLimit(OTP_SHARE_POLICY, MAX_VERIFICATION_FAILURES - failures))
    if outcome == "stale":
        raise Gone("This code has expired or was already used; ask for a new one.", code="code_expired")
    if outcome in ("wrong", "locked"):  # the attempt stays counted against the IP
        if outcome == "locked":
            logs.info("share locked after wrong verification codes", tenantId=share.tenant_id, shareId=share.id)
            code, message = GONE_MESSAGES[LOCKED]
            raise Gone(message, code=code)
        left = MAX_VERIFICATION_FAILURES - int(record["verification"]["failures"])
        raise WrongCode(f"That code is not right. {left} attempt{'s' if left != 1 else ''} left.")
    assert session is not None
    throttle.release(attempt)
    events.publish(svc, accessed)  # recorded with the view; a failure leaves it to the event sweep
    return Verified(Share.from_record(record), session)
