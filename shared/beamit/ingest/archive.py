"""Reading a ``.zip`` of DICOM files member by member, with zip bomb caps.

The archive is read through a seekable reader (ranged reads of the object), and each
member is inflated into a spooled temporary file for the ingest core: never the whole
archive, and never more than one member being inflated at a time.

What is not an instance (PS3.10 §8: a File-set holds instances plus the ``DICOMDIR``
directory file, whose records only point at the instances) is classified before reading:

- ``DICOMDIR`` is *skipped* (reason ``dicomdir``): the instances it indexes are members
  of the archive themselves;
- entries archivers add (``__MACOSX/``, ``._*`` AppleDouble files, ``.DS_Store``,
  ``Thumbs.db``, ``desktop.ini``) are *skipped* (reason ``os_metadata``);
- directories are not files and are not listed;
- every other member is given to the ingest core; one that is not a DICOM instance
  fails (0xC000) and is quarantined like any refused file.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from beamit.dicomweb.stow import CANNOT_UNDERSTAND, OUT_OF_RESOURCES
from beamit.uploads import limits

SPOOL_IN_MEMORY_BYTES = 16 << 20
COPY_CHUNK = 1 << 20

DICOMDIR = "dicomdir"
OS_METADATA = "os_metadata"
_OS_METADATA_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
DICOM_MAGIC_OFFSET = 128  # PS3.10 §7.1: 128-byte preamble, then "DICM"


class ArchiveRefused(Exception):
    """The archive as a whole is refused (unreadable, or over a cap); nothing is extracted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MemberUnreadable(Exception):
    """A member's bytes cannot be inflated (damaged data, CRC mismatch, unsupported method)."""


@dataclass(frozen=True)
class Member:
    """One file of the archive, at ``index`` among its files (directories excluded)."""

    index: int
    info: zipfile.ZipInfo
    skip_reason: str | None = None
    refusal: tuple[int, str] | None = None  # (DICOM failure reason, message): refused unread

    @property
    def name(self) -> str:
        return self.info.filename

    @property
    def size(self) -> int:
        return int(self.info.file_size)


def looks_like_zip(head: bytes) -> bool:
    return head[:4] in ZIP_SIGNATURES


def looks_like_dicom(head: bytes) -> bool:
    return head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM"


def skip_reason(name: str) -> str | None:
    parts = [p for p in name.replace("\\", "/").split("/") if p]
    if not parts:
        return None
    base = parts[-1]
    if base.upper() == "DICOMDIR":
        return DICOMDIR
    if "__MACOSX" in parts[:-1] or base.startswith("._") or base.lower() in _OS_METADATA_NAMES:
        return OS_METADATA
    return None


def plan_members(
    infos: list[zipfile.ZipInfo],
    *,
    max_members: int = limits.MAX_ARCHIVE_MEMBERS,
    max_total_bytes: int = limits.MAX_ARCHIVE_UNCOMPRESSED_BYTES,
    max_member_bytes: int = limits.MAX_MEMBER_BYTES,
) -> list[Member]:
    """Classify every file of the archive, or refuse the archive (:class:`ArchiveRefused`).

    The caps are checked on the sizes the central directory declares, before any member
    is inflated; zipfile never inflates a member beyond its declared size.
    """
    files = [info for info in infos if not info.is_dir()]
    if len(files) > max_members:
        raise ArchiveRefused(
            "too_many_members", f"the archive holds {len(files)} files; at most {max_members} are accepted"
        )
    total = sum(info.file_size for info in files)
    if total > max_total_bytes:
        raise ArchiveRefused(
            "archive_too_large",
            f"the archive inflates to {total} bytes; at most {max_total_bytes} are accepted",
        )
    members = []
    for index, info in enumerate(files):
        reason = skip_reason(info.filename)
        refusal: tuple[int, str] | None = None
        if reason is None:
            if info.flag_bits & 0x1:
                refusal = (CANNOT_UNDERSTAND, "the member is encrypted")
            elif info.file_size > max_member_bytes:
                refusal = (OUT_OF_RESOURCES, f"the member inflates to more than {max_member_bytes} bytes")
        members.append(Member(index, info, reason, refusal))
    return members


def chunks(
    members: list[Member], *, max_members: int = limits.CHUNK_MEMBERS, max_bytes: int = limits.CHUNK_BYTES
) -> Iterator[list[Member]]:
    """Consecutive runs of members, each at most ``max_members`` files and about ``max_bytes``."""
    chunk: list[Member] = []
    size = 0
    for member in members:
        if chunk and (len(chunk) >= max_members or size + member.size > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(member)
        size += member.size
    if chunk:
        yield chunk


def extract(archive: zipfile.ZipFile, member: Member) -> BinaryIO:
    """The member's bytes in a spooled temporary file, rewound (the caller closes it)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)
    try:
        with archive.open(member.info) as source:
            shutil.copyfileobj(source, spool, COPY_CHUNK)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        spool.close()
        raise MemberUnreadable(f"the member cannot be inflated: {type(exc).__name__}") from None
    if spool.tell() != member.size:
        spool.close()
        raise MemberUnreadable("the member's size differs from its directory entry")
    spool.seek(0)
    return cast(BinaryIO, spool)
