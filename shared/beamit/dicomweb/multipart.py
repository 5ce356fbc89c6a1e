"""``multipart/related`` bodies (RFC 2046 §5.1, RFC 2387) for STOW-RS and WADO-RS (PS3.18 §8.6.1.2).

Parsing is streaming: :func:`iter_parts` reads the body in fixed-size chunks and spools each part
to a :class:`tempfile.SpooledTemporaryFile`, so memory use is bounded by the chunk size and the
spool threshold, whatever the size of the request or of a part.  Encoding is a generator
(:func:`encode_parts`) whose part bodies may themselves be iterables of chunks, so a stored
object can be relayed without buffering.

Grammar accepted (RFC 2046 §5.1.1)::

    multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part
                      *( CRLF dash-boundary transport-padding CRLF body-part )
                      CRLF dash-boundary "--" [transport-padding CRLF epilogue]

Leniencies: part header lines may end in a bare LF; boundary lines may end in a bare LF; a part
may have no headers.  Delimiters inside the body must be ``CRLF--boundary``.  Reading stops at the
close delimiter; the epilogue is not read.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Protocol, Self

from beamit.dicomweb.media_types import (
    MediaType,
    MediaTypeError,
    format_media_type,
    parse_media_type,
)

__all__ = [
    "MultipartError",
    "Part",
    "PartHeaders",
    "PartOut",
    "boundary_from_content_type",
    "encode_parts",
    "iter_parts",
    "multipart_content_type",
    "new_boundary",
]

Reason = Literal[
    "invalid_content_type",
    "missing_boundary",
    "invalid_boundary",
    "no_opening_boundary",
    "truncated",
    "part_too_large",
    "malformed_part_headers",
    "invalid_part",
]


class MultipartError(ValueError):
    """A multipart body or its ``Content-Type`` is invalid.

    ``reason`` is a stable machine-readable code (for the HTTP problem response), ``offset`` the
    byte offset in the body where the problem was detected, if known.
    """

    def __init__(self, reason: Reason, message: str, *, offset: int | None = None) -> None:
        self.reason: Reason = reason
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


# --------------------------------------------------------------------------------------------
# Boundaries and Content-Type
# --------------------------------------------------------------------------------------------

_BCHARS_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_MAX_PARSE_BOUNDARY = 200


def new_boundary() -> str:
    """A fresh random boundary (32 hex digits: RFC 2046 legal and never needs quoting)."""
    return secrets.token_hex(16)


def _check_boundary(boundary: str, *, strict: bool) -> bytes:
    """Validate a boundary: RFC 2046 §5.1.1 ``bchars`` (1-70) when ``strict`` (what we send);
    when parsing, any 1-200 printable ASCII characters, because clients are not all strict."""
    if not boundary:
        raise MultipartError("missing_boundary", "the multipart boundary is empty")
    if strict:
        if not _BCHARS_RE.fullmatch(boundary):
            raise MultipartError(
                "invalid_boundary",
                f"boundary {boundary!r} is not 1-70 RFC 2046 bchars (and must not end in space)",
            )
    elif len(boundary) > _MAX_PARSE_BOUNDARY or not all(" " <= c <= "~" for c in boundary):
        raise MultipartError(
            "invalid_boundary",
            f"boundary {boundary[:80]!r} must be 1-{_MAX_PARSE_BOUNDARY} printable ASCII characters",
        )
    return boundary.encode("ascii")


def boundary_from_content_type(content_type: str | None) -> str:
    """Return the ``boundary`` parameter of a ``multipart/*`` ``Content-Type``.

    Raises:
        MultipartError: ``invalid_content_type`` if the value is absent, unparsable or not
            multipart (respond 415); ``missing_boundary`` / ``invalid_boundary`` otherwise
            (respond 400).
    """
    if content_type is None:
        raise MultipartError("invalid_content_type", "the request has no Content-Type")
    try:
        media_type = parse_media_type(content_type)
    except MediaTypeError as exc:
        raise MultipartError("invalid_content_type", str(exc)) from exc
    if media_type.type != "multipart" or media_type.is_range:
        raise MultipartError(
            "invalid_content_type", f"Content-Type {media_type.essence!r} is not multipart"
        )
    boundary = media_type.param("boundary")
    if boundary is None:
        raise MultipartError(
            "missing_boundary", f"Content-Type {content_type!r} has no boundary parameter"
        )
    _check_boundary(boundary, strict=False)
    return boundary


def multipart_content_type(
    part_type: str, boundary: str, transfer_syntax: str | None = None
) -> str:
    """``multipart/related; type="<part_type>"[; transfer-syntax=<uid>]; boundary=<boundary>``
    (PS3.18 §8.7.3.5.1)."""
    _check_boundary(boundary, strict=True)
    params = {"type": part_type}
    if transfer_syntax is not None:
        params["transfer-syntax"] = transfer_syntax
    params["boundary"] = boundary
    return format_media_type("multipart/related", params)


# --------------------------------------------------------------------------------------------
# Parsed parts
# --------------------------------------------------------------------------------------------


class PartHeaders(Mapping[str, str]):
    """The header fields of a part; lookup is case-insensitive.

    Repeated fields are joined with ``", "`` (RFC 9110 §5.3); :attr:`fields` keeps them as sent.
    """

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self.fields: tuple[tuple[str, str], ...] = tuple(fields)
        merged: dict[str, list[str]] = {}
        for name, value in self.fields:
            merged.setdefault(name.lower(), []).append(value)
        self._merged = {name: ", ".join(values) for name, values in merged.items()}

    def __getitem__(self, name: str) -> str:
        return self._merged[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._merged

    def __iter__(self) -> Iterator[str]:
        return iter(self._merged)

    def __len__(self) -> int:
        return len(self._merged)

    def __repr__(self) -> str:
        return f"PartHeaders({list(self.fields)!r})"


@dataclass(eq=False)
class Part:
    """One parsed body part: its headers and its body, spooled and rewound.

    The part owns ``body``; close it (or use the part as a context manager) when done.
    """

    index: int
    headers: PartHeaders
    body: tempfile.SpooledTemporaryFile[bytes]
    size: int

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def media_type(self) -> MediaType | None:
        """The parsed ``Content-Type`` (``None`` if absent); raises ``MediaTypeError``."""
        content_type = self.content_type
        return None if content_type is None else parse_media_type(content_type)

    @property
    def content_location(self) -> str | None:
        return self.headers.get("content-location")

    def close(self) -> None:
        self.body.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Streaming parser
# --------------------------------------------------------------------------------------------

_LF = 0x0A
_CR = 0x0D
_PADDING = b" \t"
_MAX_PADDING = 1024
_FIELD_NAME_RE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

_MORE, _NOT, _OPEN, _CLOSE = range(4)


class Readable(Protocol):
    """What :func:`iter_parts` reads from: ``read(n)`` only."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Buffer:
    """A growable window onto the stream; ``offset`` is the stream offset of ``data[0]``."""

    def __init__(self, stream: Readable, chunk_size: int) -> None:
        self.stream = stream
        self.chunk_size = chunk_size
        self.data = bytearray()
        self.offset = 0
        self.eof = False

    def fill(self) -> bool:
        """Read one more chunk; False at end of stream."""
        if self.eof:
            return False
        chunk = self.stream.read(self.chunk_size)
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True

    def consume(self, count: int) -> None:
        del self.data[:count]
        self.offset += count


def _boundary_tail(data: bytearray, pos: int, eof: bool) -> tuple[int, int]:
    """Classify what follows ``--boundary`` at ``pos``: the end of an opening/encapsulation
    boundary line, a close delimiter, not a delimiter at all, or "need more data"."""
    end = len(data)
    if end - pos < 2 and not eof:
        return _MORE, pos
    if data[pos : pos + 2] == b"--":
        return _CLOSE, pos + 2
    k = pos
    while k < end and data[k] in _PADDING:
        k += 1
        if k - pos > _MAX_PADDING:
            return _NOT, pos
    if k == end:
        return (_NOT, pos) if eof else (_MORE, pos)
    if data[k] == _LF:
        return _OPEN, k + 1
    if data[k] == _CR:
        if k + 1 == end:
            return (_NOT, pos) if eof else (_MORE, pos)
        if data[k + 1] == _LF:
            return _OPEN, k + 2
    return _NOT, pos


def iter_parts(
    stream: Readable,
    boundary: str,
    *,
    max_part_bytes: int | None,
    spool_bytes: int = 8 << 20,
    chunk_size: int = 64 << 10,
    max_header_bytes: int = 16 << 10,
    max_preamble_bytes: int = 64 << 10,
) -> Iterator[Part]:
    """Parse a ``multipart/related`` body from ``stream``, yielding each :class:`Part` in turn.

    Args:
        stream: the body; only ``read(n)`` is used.  Reading stops after the close delimiter.
        boundary: the ``boundary`` parameter (see :func:`boundary_from_content_type`).
        max_part_bytes: limit on a part's body size (``None``: unlimited).
        spool_bytes: a part body larger than this is spooled to a temporary file.
        chunk_size: bytes per ``read``.
        max_header_bytes: limit on a part's header block.
        max_preamble_bytes: how far to look for the first boundary.

    Each part is complete (read up to its closing delimiter) when yielded; the caller owns it
    and must close it.  A body whose first boundary line is the close delimiter yields no parts
    (RFC 2046 requires one; the caller decides whether that is an error).  Errors are
    :class:`MultipartError` with ``reason`` one of
    ``missing_boundary``, ``invalid_boundary``, ``no_opening_boundary``, ``truncated``,
    ``part_too_large`` and ``malformed_part_headers``.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    dash_boundary = b"--" + _check_boundary(boundary, strict=False)
    buf = _Buffer(stream, chunk_size)
    if not _skip_preamble(buf, dash_boundary, max_preamble_bytes):
        return
    delimiter = b"\r\n" + dash_boundary
    index = 0
    while True:
        headers, body_skip = _read_headers(buf, index, max_header_bytes)
        # owned by the yielded Part, hence no `with`
        spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(
            max_size=spool_bytes
        )
        try:
            size, closed = _read_body(buf, delimiter, body_skip, spool, index, max_part_bytes)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        yield Part(index, headers, spool, size)
        if closed:
            return
        index += 1


def _skip_preamble(buf: _Buffer, dash_boundary: bytes, limit: int) -> bool:
    """Consume the preamble and the first boundary line.  False if it is a close delimiter
    (a body with no parts)."""
    search = 0
    while True:
        data = buf.data
        i = data.find(dash_boundary, search)
        if i >= 0 and ((i == 0 and buf.offset == 0) or (i > 0 and data[i - 1] == _LF)):
            kind, end = _boundary_tail(data, i + len(dash_boundary), buf.eof)
            if kind == _MORE:
                buf.fill()
                continue
            if kind in (_OPEN, _CLOSE):
                buf.consume(end)
                return kind == _OPEN
        if i >= 0:
            search = i + 1
            continue
        # keep what could be the LF before and the start of a boundary split across reads
        keep = len(dash_boundary)
        if len(data) > keep:
            buf.consume(len(data) - keep)
        search = 0
        if buf.offset > limit:
            raise MultipartError(
                "no_opening_boundary",
                f"the body does not start with the boundary line "
                f"{dash_boundary.decode('ascii')!r} (none in the first {limit} bytes)",
            )
        if not buf.fill():
            what = "the body is empty" if buf.offset + len(buf.data) == 0 else "no boundary line"
            raise MultipartError(
                "no_opening_boundary",
                f"{what}: expected {dash_boundary.decode('ascii')!r} at the start of the body",
                offset=buf.offset + len(buf.data),
            )


def _read_headers(buf: _Buffer, index: int, limit: int) -> tuple[PartHeaders, int]:
    """Parse a part's header block.  Leaves the blank line's CRLF in the buffer (so that an
    empty body followed directly by the delimiter is found) and returns its length to skip."""
    fields: list[tuple[str, str]] = []
    start = buf.offset
    while True:
        newline = buf.data.find(b"\n")
        while newline < 0:
            if len(buf.data) > limit:
                raise MultipartError(
                    "malformed_part_headers",
                    f"part {index + 1}: header block exceeds {limit} bytes",
                    offset=start,
                )
            if not buf.fill():
                raise MultipartError(
                    "truncated",
                    f"part {index + 1}: the body ends inside the part headers",
                    offset=buf.offset + len(buf.data),
                )
            newline = buf.data.find(b"\n")
        line = bytes(buf.data[:newline])
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            if newline == 1:  # CRLF: keep it, it may double as the delimiter's CRLF
                return PartHeaders(fields), 2
            buf.consume(1)
            return PartHeaders(fields), 0
        line_offset = buf.offset
        buf.consume(newline + 1)
        if buf.offset - start > limit:
            raise MultipartError(
                "malformed_part_headers",
                f"part {index + 1}: header block exceeds {limit} bytes",
                offset=start,
            )
        fields.append(_parse_field(line, fields, index, line_offset))


def _parse_field(
    line: bytes, fields: list[tuple[str, str]], index: int, offset: int
) -> tuple[str, str]:
    if b"\r" in line or b"\x00" in line:
        raise MultipartError(
            "malformed_part_headers",
            f"part {index + 1}: control character in header line {line[:80]!r}",
            offset=offset,
        )
    if line[:1] in (b" ", b"\t"):  # obsolete line folding (RFC 9112 §5.2)
        if not fields:
            raise MultipartError(
                "malformed_part_headers",
                f"part {index + 1}: continuation line {line[:80]!r} before any header field",
                offset=offset,
            )
        previous_name, previous_value = fields.pop()
        return previous_name, f"{previous_value} {_decode(line.strip(_PADDING))}"
    raw_name, colon, raw_value = line.partition(b":")
    if not colon or not _FIELD_NAME_RE.fullmatch(raw_name):
        raise MultipartError(
            "malformed_part_headers",
            f"part {index + 1}: {line[:80]!r} is not a 'Name: value' header field",
            offset=offset,
        )
    return raw_name.decode("ascii"), _decode(raw_value.strip(_PADDING))


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _read_body(
    buf: _Buffer,
    delimiter: bytes,
    skip: int,
    spool: tempfile.SpooledTemporaryFile[bytes],
    index: int,
    max_part_bytes: int | None,
) -> tuple[int, bool]:
    """Copy the body up to the next delimiter into ``spool``; return (size, was it the last).

    The buffer starts with ``skip`` bytes that are not body: the CRLF ending the header block,
    kept because with an empty body it is also the delimiter's CRLF.  Everything before the last
    ``len(delimiter) - 1`` bytes that holds no delimiter is flushed to the spool on every read,
    so the buffer never holds much more than one chunk.
    """
    size = 0
    search = 0
    while True:
        data = buf.data
        i = data.find(delimiter, search)
        if i >= 0:
            kind, end = _boundary_tail(data, i + len(delimiter), buf.eof)
            if kind == _NOT:
                search = i + 1
                continue
            if kind != _MORE:
                size = _spool(buf, skip, i, spool, size, index, max_part_bytes)
                buf.consume(end)
                return size, kind == _CLOSE
            flush_to = i  # a delimiter, unless what follows says otherwise: read on
        else:
            flush_to = len(data) - len(delimiter) + 1
        if flush_to > skip:
            size = _spool(buf, skip, flush_to, spool, size, index, max_part_bytes)
            buf.consume(flush_to)
            skip = 0
        search = 0
        if not buf.fill() and i < 0:
            raise MultipartError(
                "truncated",
                f"the body ends inside part {index + 1}, before a "
                f"'{delimiter[2:].decode('ascii')}' delimiter line",
                offset=buf.offset + len(buf.data),
            )


def _spool(
    buf: _Buffer,
    start: int,
    stop: int,
    spool: tempfile.SpooledTemporaryFile[bytes],
    size: int,
    index: int,
    max_part_bytes: int | None,
) -> int:
    if stop <= start:
        return size
    size += stop - start
    if max_part_bytes is not None and size > max_part_bytes:
        raise MultipartError(
            "part_too_large",
            f"part {index + 1} is larger than the limit of {max_part_bytes} bytes",
            offset=buf.offset + stop,
        )
    spool.write(buf.data[start:stop])
    return size


# --------------------------------------------------------------------------------------------
# Encoder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartOut:
    """A part to send: its ``Content-Type``, extra header fields (e.g. ``Content-Location``,
    PS3.18 §8.6.1.2) and a body given as bytes or as an iterable of byte chunks."""

    content_type: str
    body: bytes | Iterable[bytes]
    headers: Mapping[str, str] = field(default_factory=dict)


def encode_parts(parts: Iterable[PartOut], boundary: str) -> Iterator[bytes]:
    """Encode parts as a ``multipart/related`` body, lazily.

    Yields the boundary/header block of each part, then its body chunks as given (chunk
    iterables are consumed only as the output is), then the close delimiter.  ``boundary`` must
    be RFC 2046 legal (see :func:`new_boundary`) and must not occur in the bodies.
    """
    dash_boundary = b"--" + _check_boundary(boundary, strict=True)
    prefix = b""
    for part in parts:
        yield prefix + dash_boundary + b"\r\n" + _header_block(part)
        if isinstance(part.body, bytes | bytearray | memoryview):
            if part.body:
                yield bytes(part.body)
        else:
            for chunk in part.body:
                if chunk:
                    yield chunk
        prefix = b"\r\n"
    yield prefix + dash_boundary + b"--\r\n"


def _header_block(part: PartOut) -> bytes:
    lines = [("Content-Type", part.content_type), *part.headers.items()]
    out = bytearray()
    for name, value in lines:
        if not _FIELD_NAME_RE.fullmatch(name.encode("ascii", "replace")):
            raise MultipartError("invalid_part", f"invalid header field name {name!r}")
        if any(c in value for c in "\r\n\x00"):
            raise MultipartError("invalid_part", f"header field {name!r} contains a line break")
        out += f"{name}: {value}\r\n".encode()
    return bytes(out + b"\r\n")
