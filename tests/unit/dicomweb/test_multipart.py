"""multipart/related parsing and encoding (RFC 2046 §5.1, PS3.18 §8.6.1.2), on raw bytes."""

from __future__ import annotations

import hashlib
import io
import re
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path

import pydicom
import pytest
import requests
from dicomweb_client.web import DICOMwebClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from beamit.dicomweb.media_types import EXPLICIT_VR_LITTLE_ENDIAN, Representation
from beamit.dicomweb.multipart import (
    MultipartError,
    Part,
    PartHeaders,
    PartOut,
    boundary_from_content_type,
    encode_parts,
    iter_parts,
    multipart_content_type,
    new_boundary,
)

Parsed = list[tuple[tuple[tuple[str, str], ...], bytes]]


class ChunkedStream:
    """A stream whose ``read`` returns at most ``sizes[i]`` bytes on the i-th call (cycling),
    like a socket; it fails the test if read again after the end was reported."""

    def __init__(self, data: bytes, sizes: Iterable[int] = (1 << 30,)) -> None:
        self._data = memoryview(data)
        self._sizes = list(sizes) or [1 << 30]
        self._calls = 0
        self._pos = 0
        self.ended = False

    def read(self, n: int = -1) -> bytes:
        assert not self.ended, "read() after end of stream"
        size = self._sizes[self._calls % len(self._sizes)]
        self._calls += 1
        take = min(n if n >= 0 else len(self._data), size, len(self._data) - self._pos)
        chunk = bytes(self._data[self._pos : self._pos + take])
        self._pos += take
        if not chunk:
            self.ended = True
        return chunk

    @property
    def position(self) -> int:
        return self._pos


def parse(
    body: bytes,
    boundary: str = "b",
    *,
    chunk_size: int = 64 << 10,
    sizes: Iterable[int] = (1 << 30,),
    max_part_bytes: int | None = None,
    **kwargs: int,
) -> Parsed:
    out: Parsed = []
    stream = ChunkedStream(body, sizes)
    for part in iter_parts(
        stream,  # type: ignore[arg-type]
        boundary,
        max_part_bytes=max_part_bytes,
        chunk_size=chunk_size,
        **kwargs,
    ):
        with part:
            data = part.body.read()
            assert len(data) == part.size
            assert part.index == len(out)
            out.append((part.headers.fields, data))
    return out


def encode(parts: Iterable[PartOut], boundary: str) -> bytes:
    return b"".join(encode_parts(parts, boundary))


def reason_of(body: bytes, boundary: str = "b", **kwargs: int) -> MultipartError:
    with pytest.raises(MultipartError) as info:
        parse(body, boundary, **kwargs)  # type: ignore[arg-type]
    return info.value


CT = ("Content-Type", "application/dicom")


# ------------------------------------------------------------------------- what clients send


def test_dicomweb_client_stow_body() -> None:
    """The exact body dicomweb-client's store_instances() sends (leading CRLF, quoted
    boundary), with real DICOM files; each part must load with pydicom."""
    files = [get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")]
    payloads = [Path(str(f)).read_bytes() for f in files]
    content_type = (
        'multipart/related; type="application/dicom"; '
        'boundary="0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1"'
    )
    body = DICOMwebClient._encode_multipart_message(payloads, content_type)
    assert body.startswith(b"\r\n--0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1\r\n")
    boundary = boundary_from_content_type(content_type)
    assert boundary == "0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1"
    for chunk_size in (1, 7, 4096, 1 << 20):
        parts = list(
            iter_parts(io.BytesIO(body), boundary, max_part_bytes=None, chunk_size=chunk_size)
        )
        try:
            assert [p.content_type for p in parts] == ["application/dicom"] * 2
            assert [p.body.read() for p in parts] == payloads
            for part, path in zip(parts, files, strict=True):
                part.body.seek(0)
                ds = pydicom.dcmread(part.body)
                assert ds.SOPInstanceUID == pydicom.dcmread(str(path)).SOPInstanceUID
        finally:
            for part in parts:
                part.close()


def test_curl_style_body_with_preamble_padding_and_epilogue() -> None:
    body = (
        b"This is a preamble, ignored.\r\n"
        b"--b \t \r\n"
        b"content-type: application/dicom\r\n"
        b"CONTENT-LOCATION: file1.dcm\r\n"
        b"\r\n"
        b"DICM...\r\n"
        b"--b\t\r\n"
        b"Content-Type: application/dicom\r\n"
        b"\r\n"
        b"second\r\n"
        b"--b-- \r\n"
        b"This is the epilogue.  It is also to be ignored.\r\n"
    )
    parts = list(iter_parts(io.BytesIO(body), "b", max_part_bytes=None))
    try:
        first, second = parts
        assert first.headers["Content-Type"] == "application/dicom"
        assert first.headers["content-location"] == first.content_location == "file1.dcm"
        assert "CONTENT-TYPE" in first.headers
        assert first.body.read() == b"DICM..."
        assert second.body.read() == b"second"
        media_type = second.media_type()
        assert media_type is not None and media_type.essence == "application/dicom"
    finally:
        for part in parts:
            part.close()


def test_bare_lf_header_lines_and_folding() -> None:
    body = b"--b\nContent-Type: application/dicom\nX-Long: one\n  two\n\ndata\r\n--b--"
    [(fields, data)] = parse(body)
    assert fields == (CT, ("X-Long", "one two"))
    assert data == b"data"


def test_empty_parts_and_parts_without_headers() -> None:
    body = (
        b"--b\r\n\r\n\r\n"  # no headers, empty body (blank line, then CRLF of the delimiter)
        b"--b\r\n\r\n"  # no headers, empty body, blank line doubling as the delimiter's CRLF
        b"--b\r\nContent-Type: a/b\r\n\r\n"  # headers, empty body, same trick
        b"--b\r\nContent-Type: a/b\r\n\r\n\r\n"  # headers, empty body
        b"--b\r\n\r\nno headers\r\n"
        b"--b--"
    )
    assert parse(body) == [
        ((), b""),
        ((), b""),
        ((("Content-Type", "a/b"),), b""),
        ((("Content-Type", "a/b"),), b""),
        ((), b"no headers"),
    ]
    for chunk_size in range(1, len(body) + 2):
        assert parse(body, chunk_size=chunk_size) == parse(body), chunk_size


def test_body_with_only_a_close_delimiter_has_no_parts() -> None:
    """RFC 2046 wants at least one part; an empty multipart is left to the caller to refuse."""
    assert parse(b"--b--\r\n") == []
    assert parse(b"\r\n--b--") == []
    assert parse(b"preamble\r\n--b--\r\nepilogue") == []


def test_repeated_header_fields_are_joined() -> None:
    headers = PartHeaders([("X-A", "1"), ("x-a", "2"), ("Content-Type", "a/b")])
    assert headers["x-A"] == "1, 2"
    assert len(headers) == 2
    assert dict(headers) == {"x-a": "1, 2", "content-type": "a/b"}
    assert "x-b" not in headers


# ------------------------------------------------------------- delimiters split across reads

NEAR_MISSES = [
    b"\r\n--bound",  # a prefix of the delimiter
    b"\r\n--boundaryX\r\n",  # a longer boundary is not ours
    b"\r\n--boundary-\r\n",  # one dash is not a close delimiter
    b"x--boundary\r\n",  # no CRLF before it
    b"\n--boundary\r\n",  # bare LF before it
    b"\r\r\n-\r\n--\r\n--b\r\n--boundar\r\n--boundary\x00",
    b"\r\n--boundary \t x\r\n",  # padding then junk
]


@pytest.mark.parametrize("near_miss", NEAR_MISSES)
def test_near_miss_delimiters_are_body_content_at_every_chunk_size(near_miss: bytes) -> None:
    body_a = b"A" + near_miss + b"Z"
    body = (
        b"--boundary\r\nContent-Type: a/b\r\n\r\n"
        + body_a
        + b"\r\n--boundary\r\n\r\n"
        + b"B"
        + near_miss
        + b"\r\n--boundary--\r\n"
    )
    expected = [((("Content-Type", "a/b"),), body_a), ((), b"B" + near_miss)]
    for chunk_size in range(1, len(body) + 2):
        assert parse(body, "boundary", chunk_size=chunk_size) == expected, chunk_size


def test_every_split_point_of_a_realistic_body() -> None:
    boundary = new_boundary()
    parts = [
        PartOut("application/dicom", b"DICM" + bytes(range(256)) * 3),
        PartOut("application/dicom", b""),
        PartOut("application/octet-stream", b"\r\n--" + boundary[:-1].encode() + b"\r\n"),
    ]
    body = encode(parts, boundary)
    expected = parse(body, boundary)
    assert [data for _, data in expected] == [p.body for p in parts]
    # two reads, split at every byte offset
    for split in range(1, len(body) + 1):
        assert parse(body, boundary, sizes=[split, 1 << 30]) == expected, split


# ------------------------------------------------------------------------ property: round trip

bchar_boundary = st.from_regex(
    r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]", fullmatch=True
)
header_name = st.from_regex(r"X-[A-Za-z0-9-]{1,12}", fullmatch=True)
header_value = (
    st.text(
        alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]),
        min_size=1,
        max_size=30,
    )
    .map(lambda s: s.strip(" \t"))
    .filter(bool)
)


@st.composite
def bodies(draw: st.DrawFn, boundary: str) -> bytes:
    pieces = st.one_of(
        st.binary(max_size=40),
        st.sampled_from([b"\r\n", b"\r", b"\n", b"--", b"\r\n--", b" ", b"\t"]),
        st.integers(0, len(boundary)).map(lambda n: b"\r\n--" + boundary[:n].encode()),
    )
    return b"".join(draw(st.lists(pieces, max_size=12)))


@st.composite
def part_sets(draw: st.DrawFn) -> tuple[str, list[PartOut]]:
    boundary = draw(st.one_of(bchar_boundary, st.builds(new_boundary)))
    delimiter = b"\r\n--" + boundary.encode()
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        body = draw(bodies(boundary))
        if delimiter in b"\r\n" + body:  # RFC 2046: the delimiter must not occur in a part
            body = body.replace(b"--", b"__")
        parts.append(
            PartOut(
                draw(st.sampled_from(["application/dicom", "application/octet-stream", "a/b"])),
                body if draw(st.booleans()) else _chunks(body, draw(st.integers(1, 7))),
                draw(st.dictionaries(header_name, header_value, max_size=3)),
            )
        )
    return boundary, parts


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    part_set=part_sets(),
    chunk_size=st.integers(1, 64),
    sizes=st.lists(st.integers(1, 50), min_size=1, max_size=8),
)
def test_encode_then_parse_round_trips(
    part_set: tuple[str, list[PartOut]], chunk_size: int, sizes: list[int]
) -> None:
    boundary, parts = part_set
    body = encode(parts, boundary)
    expected = [
        (
            (("Content-Type", p.content_type), *p.headers.items()),
            p.body if isinstance(p.body, bytes) else b"".join(p.body),
        )
        for p in parts
    ]
    assert parse(body, boundary, chunk_size=chunk_size, sizes=sizes) == expected
    # the same with a preamble and an epilogue
    framed = b"preamble\r\n" + body + b"epilogue --" + boundary.encode() + b"--\r\n"
    assert parse(framed, boundary, chunk_size=chunk_size) == expected


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("content_type", "reason", "fragment"),
    [
        (None, "invalid_content_type", "no Content-Type"),
        ("", "invalid_content_type", "not a media type"),
        ("application/dicom", "invalid_content_type", "'application/dicom' is not multipart"),
        ("multipart/*; boundary=x", "invalid_content_type", "is not multipart"),
        ('multipart/related; type="application/dicom', "invalid_content_type", "unterminated"),
        ('multipart/related; type="application/dicom"', "missing_boundary", "no boundary"),
        ('multipart/related; type="application/dicom"; boundary=""', "missing_boundary", "empty"),
        ("multipart/related; boundary=", "invalid_content_type", "empty value"),
        ('multipart/related; boundary="' + "x" * 201 + '"', "invalid_boundary", "1-200"),
        ('multipart/related; boundary="a\\\x01b"', "invalid_boundary", "printable"),
    ],
)
def test_boundary_from_content_type_errors(
    content_type: str | None, reason: str, fragment: str
) -> None:
    with pytest.raises(MultipartError) as info:
        boundary_from_content_type(content_type)
    assert info.value.reason == reason
    assert fragment in str(info.value)


def test_boundary_from_content_type_accepts_what_clients_send() -> None:
    for content_type, boundary in [
        ('multipart/related; type="application/dicom"; boundary=abc', "abc"),
        ("multipart/related;type=application/dicom;boundary=abc", "abc"),
        ('Multipart/Related; Boundary="a b:c=d"; type="application/dicom"', "a b:c=d"),
        ("multipart/related; boundary=----=_Part_0_1.2", "----=_Part_0_1.2"),
        ("multipart/form-data; boundary=x", "x"),
    ]:
        assert boundary_from_content_type(content_type) == boundary


def test_iter_parts_rejects_empty_and_unprintable_boundaries() -> None:
    with pytest.raises(MultipartError) as info:
        list(iter_parts(io.BytesIO(b""), "", max_part_bytes=None))
    assert info.value.reason == "missing_boundary"
    with pytest.raises(MultipartError) as info:
        list(iter_parts(io.BytesIO(b""), "a\r\nb", max_part_bytes=None))
    assert info.value.reason == "invalid_boundary"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "the body is empty"),
        (b"not multipart at all", "no boundary line"),
        (b"-b\r\n\r\nx\r\n", "no boundary line"),  # close, but not the boundary
        (b"x--b\r\n\r\nx\r\n--bx", "no boundary line"),  # not at the start of a line
        (b"--bb\r\n\r\nx\r\n--bb--", "no boundary line"),  # a different boundary
        (b"--B\r\n\r\nx\r\n--B--", "no boundary line"),  # boundaries are case-sensitive
    ],
)
def test_body_not_starting_with_the_boundary(body: bytes, fragment: str) -> None:
    for chunk_size in (1, 3, 1024):
        error = reason_of(body, chunk_size=chunk_size)
        assert error.reason == "no_opening_boundary"
        assert fragment in str(error)
        assert "'--b'" in str(error)


def test_preamble_is_bounded() -> None:
    body = b"x" * 5000 + b"\r\n--b\r\n\r\ndata\r\n--b--"
    assert parse(body, chunk_size=100, max_preamble_bytes=6000) == [((), b"data")]
    error = reason_of(body, chunk_size=100, max_preamble_bytes=4000)
    assert error.reason == "no_opening_boundary"
    assert "none in the first 4000 bytes" in str(error)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"--b\r\n\r\ndata", "ends inside part 1"),
        (b"--b\r\n\r\ndata\r\n", "ends inside part 1"),
        (b"--b\r\n\r\ndata\r\n--b", "ends inside part 1"),  # no line end, no "--"
        (b"--b\r\n\r\ndata\r\n--b-", "ends inside part 1"),
        (b"--b\r\n\r\ndata\r\n--b  ", "ends inside part 1"),
        (b"--b\r\n\r\ndata\r\n--b\r", "ends inside part 1"),
        (b"--b\r\n\r\none\r\n--b\r\n\r\ntwo", "ends inside part 2"),
        (b"--b\r\n", "ends inside the part headers"),
        (b"--b\r\nContent-Type: a/b\r\n", "ends inside the part headers"),
        (b"--b\r\nContent-Type: a/b", "ends inside the part headers"),
    ],
)
def test_truncated_bodies(body: bytes, fragment: str) -> None:
    for chunk_size in (1, 2, 5, 1024):
        error = reason_of(body, chunk_size=chunk_size)
        assert error.reason == "truncated"
        assert fragment in str(error)
        assert error.offset == len(body)


def test_truncated_after_the_opening_boundary_line_only() -> None:
    assert reason_of(b"--b").reason == "no_opening_boundary"
    assert reason_of(b"--b\r").reason == "no_opening_boundary"


def test_part_size_limit() -> None:
    body = encode([PartOut("a/b", b"x" * 100), PartOut("a/b", b"y" * 101)], "b")
    for chunk_size in (1, 7, 64, 4096):
        error = reason_of(body, chunk_size=chunk_size, max_part_bytes=100)
        assert error.reason == "part_too_large"
        assert "part 2 is larger than the limit of 100 bytes" in str(error)
    assert len(parse(body, max_part_bytes=101)) == 2


def test_part_size_limit_stops_reading_early() -> None:
    big = encode([PartOut("a/b", b"x" * 1_000_000)], "b")
    stream = ChunkedStream(big)
    with pytest.raises(MultipartError, match="larger than the limit"):
        list(iter_parts(stream, "b", max_part_bytes=1000, chunk_size=512))  # type: ignore[arg-type]
    assert stream.position < 4096


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        (b"no colon here\r\n", "is not a 'Name: value' header field"),
        (b"Bad Name: x\r\n", "is not a 'Name: value' header field"),
        (b"Content-Type : a/b\r\n", "is not a 'Name: value' header field"),
        (b": empty name\r\n", "is not a 'Name: value' header field"),
        (b" folded-first: x\r\n", "continuation line"),
        (b"X-A: a\rb\r\n", "control character"),
        (b"X-A: a\x00b\r\n", "control character"),
        (b"X-A: " + b"v" * 20000 + b"\r\n", "header block exceeds 16384 bytes"),
        (b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(200)), "exceeds 16384"),
    ],
)
def test_malformed_part_headers(headers: bytes, fragment: str) -> None:
    body = b"--b\r\nContent-Type: a/b\r\n\r\nok\r\n--b\r\n" + headers + b"\r\ndata\r\n--b--"
    for chunk_size in (1, 13, 1 << 16):
        error = reason_of(body, chunk_size=chunk_size)
        assert error.reason == "malformed_part_headers"
        assert fragment in str(error)
        assert "part 2" in str(error)


def test_errors_close_the_spool_of_the_failing_part() -> None:
    body = b"--b\r\n\r\n" + b"x" * 100
    generator = iter_parts(io.BytesIO(body), "b", max_part_bytes=None, chunk_size=8)
    with pytest.raises(MultipartError):
        next(generator)


def test_reading_stops_at_the_close_delimiter() -> None:
    body = encode([PartOut("a/b", b"x")], "b")
    for chunk_size in (1, 2, 3):
        stream = ChunkedStream(body + b"epilogue that must not be read" * 100, [chunk_size])
        parts = list(iter_parts(stream, "b", max_part_bytes=None, chunk_size=chunk_size))  # type: ignore[arg-type]
        for part in parts:
            part.close()
        assert stream.position <= len(body) + chunk_size


# -------------------------------------------------------------------------------- spooling


def test_large_parts_roll_over_to_disk_and_are_rewound() -> None:
    body = encode([PartOut("a/b", b"s" * 100), PartOut("a/b", b"L" * 5000)], "b")
    small, large = iter_parts(io.BytesIO(body), "b", max_part_bytes=None, spool_bytes=1000)
    with small, large:
        assert not small.body._rolled  # type: ignore[attr-defined]
        assert large.body._rolled  # type: ignore[attr-defined]
        assert small.body.tell() == 0 and large.body.tell() == 0
        assert large.body.read() == b"L" * 5000
    assert large.body.closed


class GeneratorStream(io.RawIOBase):
    """A raw stream fed by a generator of chunks: the body never exists in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


MIB = 1 << 20


@pytest.mark.parametrize(("spool_bytes", "limit"), [(8 * MIB, 12 * MIB), (1 * MIB, 3 * MIB)])
def test_memory_stays_bounded_for_a_200_mib_body(spool_bytes: int, limit: int) -> None:
    block = bytes(range(256)) * 4096  # 1 MiB, no CRLF in it
    sizes_mib = [120, 0, 80]
    boundary = new_boundary()
    expected: list[str] = []
    for size in sizes_mib:
        digest = hashlib.sha256()
        for _ in range(size):
            digest.update(block)
        expected.append(digest.hexdigest())

    def body() -> Iterator[bytes]:
        yield from encode_parts(
            (PartOut("application/dicom", (block for _ in range(n))) for n in sizes_mib), boundary
        )

    total = 0
    seen: list[str] = []
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        stream = io.BufferedReader(GeneratorStream(body()), buffer_size=64 << 10)
        for part in iter_parts(stream, boundary, max_part_bytes=None, spool_bytes=spool_bytes):
            with part:
                digest = hashlib.sha256()
                while data := part.body.read(MIB):
                    digest.update(data)
                seen.append(digest.hexdigest())
                total += part.size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == expected
    assert total == 200 * MIB
    assert peak < limit, f"peak {peak / MIB:.1f} MiB for a {total / MIB:.0f} MiB body"


# ---------------------------------------------------------------------------------- encoder


def test_encoder_output_format() -> None:
    body = encode(
        [
            PartOut("application/dicom", b"one"),
            PartOut("application/octet-stream", [b"t", b"", b"wo"], {"Content-Location": "/x"}),
        ],
        "B",
    )
    assert body == (
        b"--B\r\nContent-Type: application/dicom\r\n\r\none"
        b"\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Location: /x\r\n\r\ntwo"
        b"\r\n--B--\r\n"
    )
    assert encode([], "B") == b"--B--\r\n"


def test_encoder_is_lazy_and_relays_chunks_unbuffered() -> None:
    consumed: list[int] = []

    def source() -> Iterator[bytes]:
        for i in range(3):
            consumed.append(i)
            yield bytes([65 + i]) * 10

    chunks = encode_parts([PartOut("a/b", source())], "b")
    head = next(chunks)
    assert head.startswith(b"--b\r\n") and consumed == []
    assert next(chunks) == b"A" * 10 and consumed == [0]
    assert next(chunks) == b"B" * 10 and consumed == [0, 1]
    assert list(chunks)[-1] == b"\r\n--b--\r\n"


@pytest.mark.parametrize(
    "part",
    [
        PartOut("a/b\r\nX-Injected: 1", b""),
        PartOut("a/b", b"", {"Content-Location": "x\ny"}),
        PartOut("a/b", b"", {"Bad Name": "x"}),
        PartOut("a/b", b"", {"Nâme": "x"}),
    ],
)
def test_encoder_refuses_header_injection(part: PartOut) -> None:
    with pytest.raises(MultipartError) as info:
        encode([part], "b")
    assert info.value.reason == "invalid_part"


@pytest.mark.parametrize(
    "boundary", ["", "a" * 71, "ends with space ", "semi;colon", 'q"uote', "é"]
)
def test_encoder_requires_rfc_2046_boundaries(boundary: str) -> None:
    with pytest.raises(MultipartError):
        encode([PartOut("a/b", b"x")], boundary)


def test_new_boundary_is_legal_random_and_round_trips_through_content_type() -> None:
    boundaries = {new_boundary() for _ in range(100)}
    assert len(boundaries) == 100
    for boundary in boundaries:
        assert re.fullmatch(r"[0-9a-f]{32}", boundary)
        content_type = multipart_content_type("application/dicom", boundary)
        assert content_type == f'multipart/related; type="application/dicom"; boundary={boundary}'
        assert boundary_from_content_type(content_type) == boundary


def test_multipart_content_type_forms() -> None:
    assert multipart_content_type("application/octet-stream", "a b", EXPLICIT_VR_LITTLE_ENDIAN) == (
        'multipart/related; type="application/octet-stream"; '
        'transfer-syntax=1.2.840.10008.1.2.1; boundary="a b"'
    )
    assert boundary_from_content_type(multipart_content_type("a/b", "a b")) == "a b"
    representation = Representation("application/octet-stream", EXPLICIT_VR_LITTLE_ENDIAN, True)
    assert representation.content_type("xyz") == multipart_content_type(
        "application/octet-stream", "xyz", EXPLICIT_VR_LITTLE_ENDIAN
    )


def _fake_response(body: bytes, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.headers["Content-Type"] = content_type
    response._content = body
    response._content_consumed = True
    return response


@pytest.mark.parametrize("stream", [False, True])
def test_dicomweb_client_decodes_what_we_encode(stream: bool) -> None:
    """WADO-RS responses as dicomweb-client (what many scripts use) reads them."""
    boundary = new_boundary()
    frames = [b"\x00\x01" * 1000, b"", b"\r\n--" + boundary[:5].encode() + b"\r\n", b"last"]
    body = encode(
        (
            PartOut(
                "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
                _chunks(frame, 333),
                {"Content-Location": f"/frames/{i + 1}"},
            )
            for i, frame in enumerate(frames)
        ),
        boundary,
    )
    content_type = multipart_content_type(
        "application/octet-stream", boundary, EXPLICIT_VR_LITTLE_ENDIAN
    )
    client = DICOMwebClient("http://localhost:1/dicomweb", chunk_size=100)
    decoded = list(client._decode_multipart_message(_fake_response(body, content_type), stream))
    assert decoded == frames


def test_part_is_a_context_manager() -> None:
    body = encode([PartOut("a/b", b"x")], "b")
    [part] = list(iter_parts(io.BytesIO(body), "b", max_part_bytes=None))
    assert isinstance(part, Part)
    with part as entered:
        assert entered is part
    assert part.body.closed
