"""Building and parsing DICOMweb URIs (PS3.18 §10.4.1, §8.2, Annex F.2.6 BulkDataURI).

Every URI BeamIt hands out is built here from the configured public base URL of the DICOMweb
root (e.g. ``https://api.beamit.health/v1/dicomweb``), never from the request's ``Host``.

Resource paths, relative to the root (PS3.18 Table 10.4.1-1)::

    studies/{study}[/series/{series}[/instances/{instance}]]             RetrieveURL
    .../metadata                                                         Metadata
    .../rendered, .../instances/{instance}/frames/{frames}/rendered      Rendered
    .../instances/{instance}/frames/{frames}                             Frames
    .../instances/{instance}/bulkdata/{element path}                     BulkDataURI

BulkDataURI scheme
------------------
Every bulk element, Pixel Data included, gets
``{instance RetrieveURL}/bulkdata/{element path}``; an element path names an element by
the chain of sequence tag / 0-based item index pairs above it, e.g. ``7FE00010`` or
``00540016/0/00181072`` (Radiopharmaceutical Information Sequence, item 0, Radionuclide Total
Dose).  Tags are 8 upper-case hex digits, as in the DICOM JSON Model's attribute names (Annex
F.2.2).  Pixel Data thus uses the same route as all other bulk data (as in the Google Cloud
Healthcare API); per-frame access stays available at ``.../frames/{n}``.  The handler turns an
element path back into an element with :meth:`ElementPath.parse` and
``beamit.dicomweb.dicom_json.element_at``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "DicomwebPath",
    "DicomwebRoot",
    "DicomwebURIError",
    "ElementPath",
    "InvalidUIDError",
    "ResourceRef",
    "format_frame_list",
    "parse_dicomweb_path",
    "parse_frame_list",
    "validate_uid",
]


class DicomwebURIError(ValueError):
    """A DICOMweb URI, path, UID, frame list or element path is invalid."""


class InvalidUIDError(DicomwebURIError):
    """A UID violates PS3.5 §9.1; ``uid`` and ``reason`` say which and why."""

    def __init__(self, uid: str, what: str, reason: str) -> None:
        self.uid = uid
        self.what = what
        self.reason = reason
        super().__init__(f"invalid {what} {uid!r}: {reason} (PS3.5 §9.1)")


_UID_MAX_LENGTH = 64


def validate_uid(uid: str, what: str = "UID") -> str:
    """Return ``uid`` if it is a valid UID per PS3.5 §9.1, else raise :class:`InvalidUIDError`.

    A UID is at most 64 characters of dot-separated components made of digits; a component is
    never empty and has no leading zero unless it is exactly ``0``.  ``what`` names the UID in
    the message (e.g. ``"StudyInstanceUID"``).
    """
    if not uid:
        raise InvalidUIDError(uid, what, "it is empty")
    if len(uid) > _UID_MAX_LENGTH:
        raise InvalidUIDError(uid, what, f"it is {len(uid)} characters long, the maximum is 64")
    bad = next((c for c in uid if c not in "0123456789."), None)
    if bad is not None:
        raise InvalidUIDError(uid, what, f"character {bad!r} is not a digit or '.'")
    for position, component in enumerate(uid.split("."), start=1):
        if not component:
            raise InvalidUIDError(uid, what, f"component {position} is empty")
        if len(component) > 1 and component[0] == "0":
            raise InvalidUIDError(
                uid, what, f"component {position} ({component!r}) has a leading zero"
            )
    return uid


@dataclass(frozen=True)
class ResourceRef:
    """A study, series or instance, by UID (validated on construction)."""

    study: str
    series: str | None = None
    instance: str | None = None

    def __post_init__(self) -> None:
        validate_uid(self.study, "StudyInstanceUID")
        if self.series is not None:
            validate_uid(self.series, "SeriesInstanceUID")
        if self.instance is not None:
            if self.series is None:
                raise DicomwebURIError("an instance reference needs its SeriesInstanceUID")
            validate_uid(self.instance, "SOPInstanceUID")

    @property
    def level(self) -> Literal["study", "series", "instance"]:
        if self.instance is not None:
            return "instance"
        return "series" if self.series is not None else "study"

    @property
    def path(self) -> str:
        """The path relative to the DICOMweb root, e.g. ``studies/1.2/series/1.3``."""
        path = f"studies/{self.study}"
        if self.series is not None:
            path += f"/series/{self.series}"
        if self.instance is not None:
            path += f"/instances/{self.instance}"
        return path

    def require_instance(self) -> None:
        if self.instance is None:
            raise DicomwebURIError(f"{self.path} is a {self.level}, an instance is needed here")


_TAG_RE = re.compile(r"[0-9A-Fa-f]{8}")
_INDEX_RE = re.compile(r"0|[1-9][0-9]{0,8}")
_MAX_DEPTH = 32


@dataclass(frozen=True)
class ElementPath:
    """An element of a data set, possibly nested in sequence items.

    ``items`` are the ``(sequence tag, 0-based item index)`` steps from the top-level data set
    down to the item holding ``tag``.  The text form is ``SSSSSSSS/i/.../TTTTTTTT``.
    """

    tag: int
    items: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        for tag in (self.tag, *(seq for seq, _ in self.items)):
            if not 0 <= tag <= 0xFFFFFFFF:
                raise DicomwebURIError(f"element path tag {tag:#x} is not a 32-bit tag")
        if any(index < 0 for _, index in self.items):
            raise DicomwebURIError("element path item indices start at 0")

    @classmethod
    def parse(cls, text: str) -> ElementPath:
        """Parse ``7FE00010`` or ``00540016/0/00181072`` (see the module docstring)."""
        segments = text.strip("/").split("/")
        if len(segments) % 2 == 0:
            raise DicomwebURIError(
                f"invalid element path {text!r}: expected tag(/item/tag)*, "
                f"got {len(segments)} segments"
            )
        if len(segments) > 2 * _MAX_DEPTH + 1:
            raise DicomwebURIError(f"invalid element path {text!r}: nested too deeply")
        tags: list[int] = []
        indices: list[int] = []
        for position, segment in enumerate(segments):
            if position % 2 == 0:
                if not _TAG_RE.fullmatch(segment):
                    raise DicomwebURIError(
                        f"invalid element path {text!r}: {segment!r} is not an 8 hex digit tag"
                    )
                tags.append(int(segment, 16))
            else:
                if not _INDEX_RE.fullmatch(segment):
                    raise DicomwebURIError(
                        f"invalid element path {text!r}: {segment!r} is not an item index"
                    )
                indices.append(int(segment))
        return cls(tags[-1], tuple(zip(tags[:-1], indices, strict=True)))

    def child(self, index: int, tag: int) -> ElementPath:
        """The path of ``tag`` inside item ``index`` of the sequence this path names."""
        return ElementPath(tag, (*self.items, (self.tag, index)))

    def __str__(self) -> str:
        parts = [f"{seq:08X}/{index}" for seq, index in self.items]
        parts.append(f"{self.tag:08X}")
        return "/".join(parts)


def parse_frame_list(text: str) -> tuple[int, ...]:
    """Parse a PS3.18 §10.4.1.1.4 frame list ``1,2,5`` (1-based frame numbers)."""
    frames: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or not item.isascii() or int(item) < 1:
            raise DicomwebURIError(
                f"invalid frame list {text!r}: {item!r} is not a frame number (1, 2, ...)"
            )
        frames.append(int(item))
    return tuple(frames)


def format_frame_list(frames: Sequence[int]) -> str:
    if not frames or any(f < 1 for f in frames):
        raise DicomwebURIError(f"invalid frame numbers {list(frames)!r}: need one or more >= 1")
    return ",".join(str(f) for f in frames)


@dataclass(frozen=True)
class DicomwebRoot:
    """The public base URL of the DICOMweb service, and the URIs built from it."""

    base_url: str

    def __post_init__(self) -> None:
        url = self.base_url.rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DicomwebURIError(f"DICOMweb base URL {self.base_url!r} is not an http(s) URL")
        if parts.query or parts.fragment:
            raise DicomwebURIError(
                f"DICOMweb base URL {self.base_url!r} must not have a query or fragment"
            )
        object.__setattr__(self, "base_url", url)

    def retrieve_url(self, ref: ResourceRef) -> str:
        """RetrieveURL of a study, series or instance (PS3.18 §10.4.1.1.1-3)."""
        return f"{self.base_url}/{ref.path}"

    def study_url(self, study: str) -> str:
        return self.retrieve_url(ResourceRef(study))

    def series_url(self, study: str, series: str) -> str:
        return self.retrieve_url(ResourceRef(study, series))

    def instance_url(self, study: str, series: str, instance: str) -> str:
        return self.retrieve_url(ResourceRef(study, series, instance))

    def metadata_url(self, ref: ResourceRef) -> str:
        return f"{self.retrieve_url(ref)}/metadata"

    def rendered_url(self, ref: ResourceRef, frames: Sequence[int] | None = None) -> str:
        """Rendered resource; with ``frames`` the rendered frames of an instance."""
        if frames is None:
            return f"{self.retrieve_url(ref)}/rendered"
        return f"{self.frames_url(ref, frames)}/rendered"

    def frames_url(self, ref: ResourceRef, frames: Sequence[int]) -> str:
        ref.require_instance()
        return f"{self.retrieve_url(ref)}/frames/{format_frame_list(frames)}"

    def bulkdata_url(self, ref: ResourceRef, path: ElementPath) -> str:
        """BulkDataURI of the element at ``path`` in an instance (see the module docstring)."""
        ref.require_instance()
        return f"{self.retrieve_url(ref)}/bulkdata/{path}"

    def parse_url(self, url: str) -> DicomwebPath:
        """Parse a URI previously built by this root (e.g. a BulkDataURI sent back by a client)."""
        prefix = self.base_url + "/"
        if not url.startswith(prefix):
            raise DicomwebURIError(f"{url!r} is not under the DICOMweb root {self.base_url!r}")
        remainder = url[len(prefix) :]
        if "?" in remainder or "#" in remainder:
            remainder = re.split(r"[?#]", remainder, maxsplit=1)[0]
        return parse_dicomweb_path(remainder)


Resource = Literal["retrieve", "metadata", "rendered", "frames", "bulkdata", "thumbnail"]


_LEAF_RESOURCES: dict[str, Resource] = {
    "metadata": "metadata",
    "rendered": "rendered",
    "thumbnail": "thumbnail",
}


@dataclass(frozen=True)
class DicomwebPath:
    """A parsed resource path: which study/series/instance and which sub-resource."""

    ref: ResourceRef
    resource: Resource = "retrieve"
    frames: tuple[int, ...] = ()
    element: ElementPath | None = None


def parse_dicomweb_path(path: str) -> DicomwebPath:
    """Parse a path relative to the DICOMweb root, e.g.
    ``studies/1.2/series/1.3/instances/1.4/frames/1,2/rendered``.

    Raises :class:`DicomwebURIError` (or :class:`InvalidUIDError`) naming the bad segment.
    """
    segments = path.strip("/").split("/")
    uids: list[str] = []
    expected = ("studies", "series", "instances")
    i = 0
    while i < len(segments) and len(uids) < 3 and segments[i] == expected[len(uids)]:
        if i + 1 >= len(segments) or not segments[i + 1]:
            raise DicomwebURIError(f"invalid DICOMweb path {path!r}: {segments[i]!r} without a UID")
        uids.append(segments[i + 1])
        i += 2
    if not uids:
        raise DicomwebURIError(f"invalid DICOMweb path {path!r}: must start with 'studies/'")
    ref = ResourceRef(*uids)
    rest = segments[i:]
    if not rest:
        return DicomwebPath(ref)
    head = rest[0]
    if len(rest) == 1 and head in _LEAF_RESOURCES:
        return DicomwebPath(ref, _LEAF_RESOURCES[head])
    if head == "frames" and ref.level == "instance" and len(rest) in (2, 3):
        frames = parse_frame_list(rest[1])
        if len(rest) == 2:
            return DicomwebPath(ref, "frames", frames)
        if rest[2] in ("rendered", "thumbnail"):
            return DicomwebPath(ref, _LEAF_RESOURCES[rest[2]], frames)
    if head == "bulkdata" and ref.level == "instance" and len(rest) >= 2:
        return DicomwebPath(ref, "bulkdata", element=ElementPath.parse("/".join(rest[1:])))
    raise DicomwebURIError(
        f"invalid DICOMweb path {path!r}: unexpected {'/'.join(rest)!r} after the {ref.level}"
    )
