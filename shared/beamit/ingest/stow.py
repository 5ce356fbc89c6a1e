"""STOW-RS (PS3.18 §10.5): storing the instances of one request body through the ingest core.

The body is read part by part as it arrives (never whole in memory), each DICOM part handed
to an :class:`~beamit.ingest.session.IngestSession` with its ``transfer-syntax`` parameter (what a
bare data set needs to become a Part 10 file); a part of another media type is refused
on its own (0xC000), and a malformed or oversized body stores nothing (every object the
request created is removed). The wire format (request checks, response) is
:mod:`beamit.dicomweb.stow`.
"""

from __future__ import annotations

from typing import BinaryIO, cast

from beamit.dicomweb.media_types import DICOM, MediaTypeError
from beamit.dicomweb.multipart import MultipartError, Part, Readable, iter_parts
from beamit.dicomweb.stow import CANNOT_UNDERSTAND, FailedInstance, StoreResult
from beamit.errors import BadRequest, PayloadTooLarge
from beamit.ingest.session import IngestSession
from beamit.storage import Services
from beamit.tenancy import TenantScope


def store_instances(
    svc: Services,
    tenant: TenantScope,
    body: Readable,
    boundary: str,
    *,
    study: str | None,
    content_length: int | None,
) -> StoreResult:
    """Store the instances of a ``multipart/related`` body (``study``: the Study Instance UID
    of the request path, which every instance must have). Raises 413 past
    ``settings.stow_max_request_bytes``, 400 for a malformed or empty body."""
    limit = svc.settings.stow_max_request_bytes
    too_large = (
        f"STOW-RS requests are limited to {limit} bytes; send larger studies in several requests "
        "or through a resumable upload (POST /v1/uploads)"
    )
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(too_large)
    session = IngestSession(svc, tenant, expected_study=study)
    parts = 0
    try:
        for part in iter_parts(LimitedBody(body, limit, too_large), boundary, max_part_bytes=limit,
                               chunk_size=BODY_READ_BYTES):
            parts += 1
            if not _is_dicom(part):
                part.close()
                session.refuse(FailedInstance(CANNOT_UNDERSTAND,
                                              f"part {part.index + 1} is {part.content_type!r}, not {DICOM}"))
                continue
            session.add(cast(BinaryIO, part.body), part.close, transfer_syntax=_transfer_syntax(part))
    except MultipartError as exc:
        session.abort()
        if exc.reason == "part_too_large":
            raise PayloadTooLarge(too_large) from None
        raise BadRequest(f"malformed multipart body ({exc.reason}): {exc}") from None
    except BaseException:
        session.abort()
        raise
    if parts == 0:
        session.abort()
        raise BadRequest("the request holds no instances")
    return session.finish()


def _is_dicom(part: Part) -> bool:
    """A part without a Content-Type is taken as ``application/dicom`` (the request's type)."""
    try:
        media = part.media_type()
    except MediaTypeError:
        return False
    return media is None or media.essence == DICOM


def _transfer_syntax(part: Part) -> str | None:
    """The part's ``transfer-syntax`` parameter (PS3.18 §8.7.3.5.2): a bare data set's encoding."""
    try:
        media = part.media_type()
    except MediaTypeError:
        return None
    return None if media is None else media.param("transfer-syntax")


BODY_READ_BYTES = 1 << 20
"""Bytes asked of the request body at a time. gunicorn (functions-framework's server) reads
up to 1 MiB from the socket ahead and copies what it holds on every read: 64 KiB reads cost
0.3-0.7 ms of CPU more per 512 KB instance than 1 MiB reads."""


class LimitedBody:
    """A read-only stream that raises ``PayloadTooLarge`` once more than ``limit`` bytes arrive
    (it holds for chunked bodies too, which have no Content-Length to check)."""

    def __init__(self, stream: Readable, limit: int, message: str) -> None:
        self._stream = stream
        self._limit = limit
        self._message = message
        self.received = 0

    def read(self, size: int = -1) -> bytes:
        want = self._limit + 1 - self.received if size < 0 else min(size, self._limit + 1 - self.received)
        data = self._stream.read(max(want, 1))
        self.received += len(data)
        if self.received > self._limit:
            raise PayloadTooLarge(self._message)
        return data
