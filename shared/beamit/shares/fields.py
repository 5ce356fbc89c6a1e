"""Validation of ``POST /v1/shares`` bodies: E.164 phones, ``expiresIn``, optional fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import phonenumbers

from beamit.catalog.orthanc_ids import is_orthanc_id
from beamit.dicomweb.uri import InvalidUIDError, validate_uid
from beamit.errors import BadRequest

DEFAULT_EXPIRES_IN = "7d"
MIN_EXPIRY = timedelta(hours=1)
MAX_EXPIRY = timedelta(days=30)
MAX_MESSAGE = 320
MAX_STUDIES = 20
MAX_VIEWS = 1000
_EXPIRES_IN = re.compile(r"^([1-9][0-9]{0,3})([hd])$")
FIELDS = frozenset({"studyId", "studyIds", "recipientPhone", "message", "expiresIn", "allowDownload", "maxViews"})


def parse_expires_in(raw: object) -> timedelta:
    """``48h`` or ``7d``: from 1 hour to 30 days."""
    if not isinstance(raw, str) or not (match := _EXPIRES_IN.match(raw.strip())):
        raise BadRequest("'expiresIn' must be a duration such as '48h' or '7d' (hours or days)")
    amount, unit = int(match.group(1)), match.group(2)
    duration = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
    if not MIN_EXPIRY <= duration <= MAX_EXPIRY:
        raise BadRequest("'expiresIn' must be between 1h and 30d")
    return duration


def normalize_phone(raw: object) -> str:
    """The number in E.164 (``+14155551234``); only complete international numbers are taken."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise BadRequest("'recipientPhone' must be a phone number in E.164 form, e.g. +14155551234")
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        raise BadRequest("'recipientPhone' must be a phone number in E.164 form, e.g. +14155551234") from None
    if not phonenumbers.is_valid_number(number):
        raise BadRequest("'recipientPhone' is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """``+1*******1234``: enough for a person to recognise their number, not to dial it."""
    return e164[:2] + "*" * max(len(e164) - 6, 0) + e164[-4:]


@dataclass(frozen=True)
class ShareRequest:
    studies: tuple[str, ...]
    recipient_phone: str
    message: str
    expires_in: timedelta
    allow_download: bool
    max_views: int | None


def _study(raw: object, name: str) -> str:
    """A StudyInstanceUID, or an Orthanc study identifier (lower-cased; resolved on create)."""
    what = f"'{name}' must be a StudyInstanceUID or an Orthanc study identifier (five groups of eight hex digits)"
    if not isinstance(raw, str):
        raise BadRequest(what)
    if is_orthanc_id(raw):
        return raw.lower()
    try:
        return validate_uid(raw, "StudyInstanceUID")
    except InvalidUIDError as exc:
        raise BadRequest(f"{what}: {exc.reason}") from None


def parse_share_request(body: dict[str, Any]) -> ShareRequest:
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    studies: list[str] = []
    if body.get("studyId") is not None:
        studies.append(_study(body["studyId"], "studyId"))
    if body.get("studyIds") is not None:
        raw = body["studyIds"]
        if not isinstance(raw, list) or not raw:
            raise BadRequest("'studyIds' must be a non-empty array of StudyInstanceUIDs or Orthanc study identifiers")
        studies.extend(_study(item, "studyIds") for item in raw)
    if not studies:
        raise BadRequest("'studyId' (or 'studyIds') is required")
    studies = list(dict.fromkeys(studies))
    if len(studies) > MAX_STUDIES:
        raise BadRequest(f"a share holds at most {MAX_STUDIES} studies")
    message = body.get("message", "")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise BadRequest(f"'message' must be a string of at most {MAX_MESSAGE} characters")
    allow_download = body.get("allowDownload", False)
    if not isinstance(allow_download, bool):
        raise BadRequest("'allowDownload' must be true or false")
    max_views = body.get("maxViews")
    if max_views is not None and (
        isinstance(max_views, bool) or not isinstance(max_views, int) or not 1 <= max_views <= MAX_VIEWS
    ):
        raise BadRequest(f"'maxViews' must be an integer from 1 to {MAX_VIEWS}")
    return ShareRequest(
        studies=tuple(studies),
        recipient_phone=normalize_phone(body.get("recipientPhone")),
        message=message.strip(),
        expires_in=parse_expires_in(body.get("expiresIn", DEFAULT_EXPIRES_IN)),
        allow_download=allow_download,
        max_views=max_views,
    )
