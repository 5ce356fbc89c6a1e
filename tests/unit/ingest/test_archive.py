"""Reading upload archives: what is skipped, the zip bomb caps, chunks, damaged members."""

from __future__ import annotations

import io
import zipfile

import pytest

from beamit.dicomweb.stow import CANNOT_UNDERSTAND, OUT_OF_RESOURCES
from beamit.ingest import archive
from beamit.ingest.archive import ArchiveRefused, MemberUnreadable


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("DICOMDIR", "dicomdir"),
        ("CD/dicomdir", "dicomdir"),
        ("__MACOSX/CD/._IM0001", "os_metadata"),
        ("CD/._IM0001", "os_metadata"),
        ("CD/.DS_Store", "os_metadata"),
        ("Thumbs.db", "os_metadata"),
        ("CD/desktop.ini", "os_metadata"),
        ("CD/IM0001", None),
        ("IM0001.dcm", None),
        ("notes.txt", None),
        ("DICOMDIR.bak", None),
        ("__MACOSX", None),
    ],
)
def test_skip_reason(name, reason):
    assert archive.skip_reason(name) == reason


def test_plan_lists_files_only_in_order_and_classifies_them():
    zf = make_zip({"CD/": b"", "CD/DICOMDIR": b"x", "CD/IM1": b"y", "__MACOSX/CD/._IM1": b"z", "a.txt": b"t"})
    plan = archive.plan_members(zf.infolist())
    assert [(m.index, m.name, m.skip_reason) for m in plan] == [
        (0, "CD/DICOMDIR", "dicomdir"),
        (1, "CD/IM1", None),
        (2, "__MACOSX/CD/._IM1", "os_metadata"),
        (3, "a.txt", None),
    ]
    assert all(m.refusal is None for m in plan)


def test_too_many_members_refuses_the_archive():
    zf = make_zip({f"IM{n}": b"" for n in range(4)})
    assert len(archive.plan_members(zf.infolist(), max_members=4)) == 4
    with pytest.raises(ArchiveRefused) as refused:
        archive.plan_members(zf.infolist(), max_members=3)
    assert refused.value.code == "too_many_members"


def test_declared_uncompressed_total_over_the_cap_refuses_the_archive():
    zf = make_zip({"a": b"\0" * 600, "b": b"\0" * 600})  # compresses to a few bytes each
    archive.plan_members(zf.infolist(), max_total_bytes=1200)
    with pytest.raises(ArchiveRefused) as refused:
        archive.plan_members(zf.infolist(), max_total_bytes=1199)
    assert refused.value.code == "archive_too_large"


def test_member_over_the_cap_and_encrypted_member_are_refused_unread():
    zf = make_zip({"big": b"\0" * 100, "small": b"\0"})
    zf.infolist()[1].flag_bits |= 0x1  # as an encrypting archiver marks it
    big, small = archive.plan_members(zf.infolist(), max_member_bytes=99)
    assert big.refusal is not None and big.refusal[0] == OUT_OF_RESOURCES
    assert small.refusal == (CANNOT_UNDERSTAND, "the member is encrypted")


def test_chunks_bound_members_and_bytes():
    zf = make_zip({f"m{n}": b"\0" * 10 for n in range(7)})
    plan = archive.plan_members(zf.infolist())
    assert [len(c) for c in archive.chunks(plan, max_members=3, max_bytes=1000)] == [3, 3, 1]
    assert [len(c) for c in archive.chunks(plan, max_members=100, max_bytes=25)] == [2, 2, 2, 1]
    assert [len(c) for c in archive.chunks(plan, max_members=100, max_bytes=1)] == [1] * 7  # one member always fits
    assert list(archive.chunks([], max_members=3, max_bytes=10)) == []


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_extract_gives_the_member_bytes_rewound(compression):
    data = bytes(range(256)) * 1000
    zf = make_zip({"IM1": data}, compression)
    [member] = archive.plan_members(zf.infolist())
    with archive.extract(zf, member) as fp:
        assert fp.read() == data


def test_damaged_member_is_unreadable():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("IM1", b"A" * 1000)
    raw = bytearray(buffer.getvalue())
    raw[100] ^= 0xFF  # inside the stored data: the CRC no longer matches
    zf = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    [member] = archive.plan_members(zf.infolist())
    with pytest.raises(MemberUnreadable):
        archive.extract(zf, member)


def test_sniffing():
    dicom = b"\0" * 128 + b"DICM" + b"\2\0"
    assert archive.looks_like_dicom(dicom) and not archive.looks_like_zip(dicom)
    assert archive.looks_like_zip(b"PK\x03\x04rest") and not archive.looks_like_dicom(b"PK\x03\x04rest")
    assert archive.looks_like_zip(b"PK\x05\x06" + b"\0" * 18)  # an empty archive
