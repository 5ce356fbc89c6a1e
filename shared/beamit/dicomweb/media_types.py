"""Media types and content negotiation for DICOMweb.

Parses ``Content-Type`` and ``Accept`` field values (RFC 9110 §8.3.1, §12.5.1) and selects the
representation of a resource that a user agent asked for (PS3.18 §8.7.5-§8.7.8).

Negotiation model
-----------------
A WADO-RS handler describes what it *can* produce for the target resource as an ordered list of
:class:`Representation` offers (server preference first) and calls :func:`negotiate` with the
request's ``Accept`` value.  Ready-made offer lists follow PS3.18 Table 10.4.4-1:
:func:`instance_offers`, :func:`metadata_offers`, :func:`pixel_data_offers`,
:func:`bulkdata_offers` and :func:`rendered_offers`.

:func:`negotiate` walks the acceptable media ranges by descending quality and specificity and
returns the first offer (in server order) that the range matches.  A range without a
``transfer-syntax`` parameter accepts the *default* Transfer Syntax of the part media type
(PS3.18 §8.7.3, Tables 8.7.3-2, 8.7.3-4 and 8.7.3-5; e.g. Explicit VR Little Endian for
``application/octet-stream``, JPEG Lossless SV1 for ``image/jpeg``).  Only when no range matches
that way is a second, lenient pass made in which a missing ``transfer-syntax`` accepts any
Transfer Syntax of the requested media type: this is PS3.18 §8.7.3's exception for an origin
server that "has only access to the pixel data in lossy compressed form" (the offers say what the
server has).  ``transfer-syntax=*`` accepts any Transfer Syntax in both passes.  When nothing
matches, :class:`NotAcceptableError` is raised (406, PS3.18 §8.7.8.1).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = [
    "ANY_TRANSFER_SYNTAX",
    "DICOM",
    "DICOM_JSON",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "FORBIDDEN_TRANSFER_SYNTAXES",
    "JSON",
    "OCTET_STREAM",
    "AcceptedType",
    "MediaType",
    "MediaTypeError",
    "NotAcceptableError",
    "Representation",
    "bulkdata_offers",
    "compressed_media_type",
    "default_transfer_syntax",
    "format_media_type",
    "instance_offers",
    "metadata_offers",
    "negotiate",
    "parse_accept",
    "parse_media_type",
    "pixel_data_offers",
    "rendered_offers",
]


class MediaTypeError(ValueError):
    """A media type or ``Accept`` value is malformed, or no representation is acceptable."""


# --------------------------------------------------------------------------------------------
# Transfer Syntax <-> media type tables (PS3.18 §8.7.3)
# --------------------------------------------------------------------------------------------

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
"""Default Transfer Syntax of ``application/dicom`` and ``application/octet-stream``."""

FORBIDDEN_TRANSFER_SYNTAXES = frozenset({"1.2.840.10008.1.2", "1.2.840.10008.1.2.2"})
"""Implicit VR Little Endian and Explicit VR Big Endian "shall not be used with Web Services"
(PS3.18 §8.7.3)."""

ANY_TRANSFER_SYNTAX = "*"
"""The ``transfer-syntax=*`` wildcard (PS3.18 §8.7.3.5.2).  As the Transfer Syntax of an *offer*
it means "each part in the Transfer Syntax it is stored in" (e.g. a study whose instances differ)."""

OCTET_STREAM = "application/octet-stream"
DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
JSON = "application/json"

# PS3.18 Table 8.7.3-5 (compressed Bulkdata).  The first Transfer Syntax of each media type is
# the one marked Default (D); the fragmentable MPEG variants (PS3.5 §A.4.5/A.4.6) are listed with
# their base syntax.
_COMPRESSED_MEDIA_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "image/jpeg",
        (
            "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1 (D)
            "1.2.840.10008.1.2.4.50",  # JPEG Baseline 8 bit
            "1.2.840.10008.1.2.4.51",  # JPEG Extended 12 bit
            "1.2.840.10008.1.2.4.57",  # JPEG Lossless
        ),
    ),
    ("image/dicom-rle", ("1.2.840.10008.1.2.5",)),
    ("image/jls", ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81")),
    ("image/jp2", ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91")),
    ("image/jpx", ("1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93")),
    (
        "image/jphc",
        ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"),
    ),
    (
        "video/mpeg2",
        (
            "1.2.840.10008.1.2.4.100",
            "1.2.840.10008.1.2.4.100.1",
            "1.2.840.10008.1.2.4.101",
            "1.2.840.10008.1.2.4.101.1",
        ),
    ),
    (
        "video/mp4",
        (
            "1.2.840.10008.1.2.4.102",
            "1.2.840.10008.1.2.4.102.1",
            "1.2.840.10008.1.2.4.103",
            "1.2.840.10008.1.2.4.103.1",
            "1.2.840.10008.1.2.4.104",
            "1.2.840.10008.1.2.4.104.1",
            "1.2.840.10008.1.2.4.105",
            "1.2.840.10008.1.2.4.105.1",
            "1.2.840.10008.1.2.4.106",
            "1.2.840.10008.1.2.4.106.1",
        ),
    ),
    ("video/h265", ("1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108")),
)

_MEDIA_TYPE_OF_TS: Mapping[str, str] = MappingProxyType(
    {ts: media for media, syntaxes in _COMPRESSED_MEDIA_TYPES for ts in syntaxes}
)

_DEFAULT_TS: Mapping[str, str] = MappingProxyType(
    {
        DICOM: EXPLICIT_VR_LITTLE_ENDIAN,  # Table 8.7.3-2
        OCTET_STREAM: EXPLICIT_VR_LITTLE_ENDIAN,  # Table 8.7.3-4
        **{media: syntaxes[0] for media, syntaxes in _COMPRESSED_MEDIA_TYPES},  # Table 8.7.3-5
    }
)

# Pre-registration names still sent by clients (dicomweb-client accepts both spellings).
_ALIASES: Mapping[str, str] = MappingProxyType(
    {"image/x-jls": "image/jls", "image/x-dicom-rle": "image/dicom-rle"}
)


def compressed_media_type(transfer_syntax: str) -> str | None:
    """Return the PS3.18 Table 8.7.3-5 media type of a compressed Transfer Syntax, else ``None``.

    ``None`` means the pixel data of that Transfer Syntax is native (uncompressed) and is served
    as ``application/octet-stream`` (Table 8.7.3-4).
    """
    return _MEDIA_TYPE_OF_TS.get(transfer_syntax)


def default_transfer_syntax(media_type: str) -> str | None:
    """Return the RESTful default Transfer Syntax of a DICOM or Bulkdata media type (PS3.18
    Tables 8.7.3-2, 8.7.3-4, 8.7.3-5), or ``None`` if it has none (JSON, rendered images)."""
    return _DEFAULT_TS.get(_canonical(media_type.strip().lower()))


def _canonical(essence: str) -> str:
    return _ALIASES.get(essence, essence)


# --------------------------------------------------------------------------------------------
# Parsing (RFC 9110 §5.6, §8.3.1)
# --------------------------------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TOKEN_RE = re.compile(_TOKEN)
_TYPE_RE = re.compile(rf"({_TOKEN})/({_TOKEN})")
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)
_OWS = " \t"
_QVALUE_RE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")


@dataclass(frozen=True)
class MediaType:
    """A parsed media type or media range (``type/subtype`` plus parameters).

    ``type`` and ``subtype`` are lower-cased (they are case-insensitive, RFC 9110 §8.3.1);
    parameter names are lower-cased, values are unquoted but otherwise kept as sent.
    """

    type: str
    subtype: str
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", self.type.lower())
        object.__setattr__(self, "subtype", self.subtype.lower())
        object.__setattr__(
            self, "params", MappingProxyType({k.lower(): v for k, v in self.params.items()})
        )

    @property
    def essence(self) -> str:
        """``type/subtype`` without parameters."""
        return f"{self.type}/{self.subtype}"

    @property
    def is_range(self) -> bool:
        """True for ``*/*`` and ``type/*`` (RFC 9110 §12.5.1)."""
        return self.type == "*" or self.subtype == "*"

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (case-insensitive), or ``None``."""
        return self.params.get(name.lower())

    def covers(self, essence: str) -> bool:
        """Whether this media range includes the concrete media type ``essence``."""
        type_, _, subtype = _canonical(essence.lower()).partition("/")
        if self.type == "*":
            return True
        if self.type != type_:
            return False
        return self.subtype == "*" or _canonical(self.essence) == f"{type_}/{subtype}"

    def __str__(self) -> str:
        return format_media_type(self.essence, self.params)


def parse_media_type(header: str) -> MediaType:
    """Parse one media type or media range, e.g. a ``Content-Type`` value.

    Grammar (RFC 9110 §8.3.1, §5.6.6)::

        media-type = type "/" subtype parameters
        parameters = *( OWS ";" OWS [ parameter ] )
        parameter  = parameter-name "=" parameter-value

    Quoted values may contain ``;``, ``,`` and backslash escapes.  Beyond the RFC, whitespace
    around ``=`` is tolerated and unquoted values may contain ``/`` (OHIF sends
    ``type=application/octet-stream``).  Wildcards (``*/*``, ``image/*``) are accepted because
    the same syntax is used for ``Accept`` ranges and the ``type`` parameter.

    Raises:
        MediaTypeError: with the offending offset for anything else.
    """
    text = header.strip(_OWS)
    match = _TYPE_RE.match(text)
    if match is None:
        raise MediaTypeError(f"not a media type: {header!r} (expected type/subtype)")
    type_, subtype = match.group(1).lower(), match.group(2).lower()
    if type_ == "*" and subtype != "*":
        raise MediaTypeError(f"not a media type: {header!r} ('*/{subtype}' is not a range)")
    params: dict[str, str] = {}
    pos, end = match.end(), len(text)
    while True:
        pos = _skip_ows(text, pos)
        if pos >= end:
            break
        if text[pos] != ";":
            raise MediaTypeError(
                f"malformed media type {header!r}: unexpected {text[pos]!r} at offset {pos}"
            )
        pos = _skip_ows(text, pos + 1)
        if pos >= end or text[pos] == ";":
            continue  # empty parameter, allowed by RFC 9110 §5.6.6
        name_match = _TOKEN_RE.match(text, pos)
        if name_match is None:
            raise MediaTypeError(
                f"malformed media type {header!r}: expected a parameter name at offset {pos}"
            )
        name = name_match.group().lower()
        pos = _skip_ows(text, name_match.end())
        if pos >= end or text[pos] != "=":
            raise MediaTypeError(
                f"malformed media type {header!r}: parameter {name!r} has no value"
            )
        pos = _skip_ows(text, pos + 1)
        if pos < end and text[pos] == '"':
            value, pos = _parse_quoted(text, pos, header)
        else:
            stop = text.find(";", pos)
            stop = end if stop < 0 else stop
            value = text[pos:stop].rstrip(_OWS)
            if not value:
                raise MediaTypeError(
                    f"malformed media type {header!r}: parameter {name!r} has an empty value"
                )
            bad = next((c for c in value if not _unquoted_ok(c)), None)
            if bad is not None:
                raise MediaTypeError(
                    f"malformed media type {header!r}: {bad!r} in unquoted value of {name!r}"
                )
            pos = stop
        if name in params:
            raise MediaTypeError(
                f"malformed media type {header!r}: parameter {name!r} given twice (RFC 6838 §4.3)"
            )
        params[name] = value
    return MediaType(type_, subtype, params)


def _skip_ows(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _OWS:
        pos += 1
    return pos


def _unquoted_ok(char: str) -> bool:
    return "!" <= char <= "~" and char not in '",;\\'


def _parse_quoted(text: str, pos: int, header: str) -> tuple[str, int]:
    """Parse an RFC 9110 §5.6.4 quoted-string starting at ``text[pos] == '"'``."""
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\":
            i += 1
            if i >= len(text):
                break
            char = text[i]
        if char in "\r\n\x00":
            raise MediaTypeError(f"malformed media type {header!r}: control character in quotes")
        out.append(char)
        i += 1
    raise MediaTypeError(f"malformed media type {header!r}: unterminated quoted string at {pos}")


def format_media_type(essence: str, params: Mapping[str, str] | None = None) -> str:
    """Serialise ``essence`` and parameters, quoting values that are not tokens.

    >>> format_media_type("multipart/related", {"type": "application/dicom", "boundary": "x"})
    'multipart/related; type="application/dicom"; boundary=x'
    """
    parts = [essence]
    for name, value in (params or {}).items():
        if not _TOKEN_RE.fullmatch(name):
            raise MediaTypeError(f"invalid media type parameter name {name!r}")
        parts.append(f"{name}={_quote(value)}")
    return "; ".join(parts)


def _quote(value: str) -> str:
    if value and all(c in _TOKEN_CHARS for c in value):
        return value
    if any(c in "\r\n\x00" for c in value):
        raise MediaTypeError(f"media type parameter value {value!r} contains a control character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------------------------
# Accept (RFC 9110 §12.5.1, PS3.18 §8.7.5, §8.7.7)
# --------------------------------------------------------------------------------------------

ANY = MediaType("*", "*")


@dataclass(frozen=True)
class AcceptedType:
    """One media range of an ``Accept`` value with its quality.

    ``media_type.params`` holds only the media type parameters; ``q`` and any accept-extension
    parameters after it are removed (RFC 9110 §12.5.1).
    """

    media_type: MediaType
    q: float = 1.0

    @property
    def essence(self) -> str:
        return self.media_type.essence

    @property
    def params(self) -> Mapping[str, str]:
        return self.media_type.params

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key: concrete type, concrete subtype, concreteness of the multipart ``type``
        parameter (0-2) and the number of other constraining parameters."""
        mt = self.media_type
        inner_level = 0
        inner = mt.param("type")
        if inner is not None:
            try:
                parsed = parse_media_type(inner)
            except MediaTypeError:
                parsed = ANY
            inner_level = (parsed.type != "*") + (parsed.subtype != "*")
        others = sum(
            1
            for name, value in mt.params.items()
            if name not in ("type", "boundary") and value != ANY_TRANSFER_SYNTAX
        )
        return (int(mt.type != "*"), int(mt.subtype != "*"), inner_level, others)

    def __str__(self) -> str:
        text = str(self.media_type)
        return text if self.q == 1.0 else f"{text}; q={self.q:g}"


def parse_accept(header: str | None) -> list[AcceptedType]:
    """Parse an ``Accept`` header (or ``accept`` query parameter, PS3.18 §8.3.3.1).

    Returns the acceptable media ranges ordered by descending ``q``, then descending
    :attr:`AcceptedType.specificity`, then order of appearance.  Ranges with ``q=0`` are
    excluded.  Commas inside quoted parameter values do not split ranges.

    Invalid members (bad syntax or an invalid qvalue) are ignored, as PS3.18 §8.7.7 requires.
    A missing or blank header, or one with no valid member at all, means ``*/*`` (RFC 9110
    §12.5.1).
    """
    if header is None or not header.strip(_OWS):
        return [AcceptedType(ANY)]
    ranked: list[tuple[float, tuple[int, int, int, int], int, AcceptedType]] = []
    valid = 0
    for index, member in enumerate(_split_list(header)):
        if not member.strip(_OWS):
            continue
        try:
            media_type = parse_media_type(member)
        except MediaTypeError:
            continue
        media_params: dict[str, str] = {}
        q: float | None = 1.0
        for name, value in media_type.params.items():
            if name == "q":
                q = float(value) if _QVALUE_RE.fullmatch(value) else None
                break  # the rest are accept-ext parameters
            media_params[name] = value
        if q is None:
            continue
        valid += 1
        if q == 0.0:
            continue
        accepted = AcceptedType(MediaType(media_type.type, media_type.subtype, media_params), q)
        ranked.append((q, accepted.specificity, index, accepted))
    if not valid:
        return [AcceptedType(ANY)]
    ranked.sort(key=lambda r: (-r[0], tuple(-s for s in r[1]), r[2]))
    return [r[3] for r in ranked]


def _split_list(header: str) -> list[str]:
    """Split an RFC 9110 §5.6.1 list on commas that are not inside a quoted-string."""
    members: list[str] = []
    start, quoted, i = 0, False, 0
    while i < len(header):
        char = header[i]
        if quoted:
            if char == "\\":
                i += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == ",":
            members.append(header[start:i])
            start = i + 1
        i += 1
    members.append(header[start:])
    return members


# --------------------------------------------------------------------------------------------
# Representations and negotiation (PS3.18 §8.7.8)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Representation:
    """One concrete representation the origin server can produce for a resource.

    Attributes:
        media_type: the media type of the payload (the *part* media type when ``multipart``),
            e.g. ``application/dicom``, ``application/octet-stream``, ``image/jpeg``.
        transfer_syntax: the Transfer Syntax UID of the encoded payload; ``None`` when the media
            type has none (JSON, rendered images); :data:`ANY_TRANSFER_SYNTAX` when each part is
            sent as stored.
        multipart: whether the payload is wrapped in ``multipart/related; type=...``
            (PS3.18 §8.6.1.2).
    """

    media_type: str
    transfer_syntax: str | None = None
    multipart: bool = False

    def __post_init__(self) -> None:
        parsed = parse_media_type(self.media_type)
        if parsed.is_range or parsed.params:
            raise MediaTypeError(
                f"a representation needs a concrete media type, got {self.media_type!r}"
            )
        object.__setattr__(self, "media_type", _canonical(parsed.essence))

    def part_content_type(self) -> str:
        """``Content-Type`` of the payload (of each part when multipart), PS3.18 §8.7.9."""
        return format_media_type(self.media_type, self._ts_param())

    def content_type(self, boundary: str | None = None) -> str:
        """``Content-Type`` of the response; ``boundary`` is required when multipart."""
        if not self.multipart:
            return self.part_content_type()
        if not boundary:
            raise MediaTypeError("a multipart/related representation needs a boundary")
        return format_media_type(
            "multipart/related",
            {"type": self.media_type, **self._ts_param(), "boundary": boundary},
        )

    def _ts_param(self) -> dict[str, str]:
        if self.transfer_syntax is None or self.transfer_syntax == ANY_TRANSFER_SYNTAX:
            return {}
        return {"transfer-syntax": self.transfer_syntax}

    def __str__(self) -> str:
        if not self.multipart:
            return self.part_content_type()
        return format_media_type("multipart/related", {"type": self.media_type, **self._ts_param()})


class NotAcceptableError(MediaTypeError):
    """No offered representation is acceptable: respond 406 (PS3.18 §8.7.8.1).

    ``offers`` lists what the resource is available as, for the 406 payload.
    """

    def __init__(self, accepted: Sequence[AcceptedType], offers: Sequence[Representation]):
        self.accepted = tuple(accepted)
        self.offers = tuple(offers)
        wanted = ", ".join(str(a) for a in self.accepted) or "(nothing: every range has q=0)"
        available = ", ".join(str(o) for o in self.offers)
        super().__init__(f"none of [{wanted}] is available; available: [{available}]")


def negotiate(
    accept: str | Sequence[AcceptedType] | None, offers: Sequence[Representation]
) -> Representation:
    """Select the representation to send (PS3.18 §8.7.8, §8.7.8.2).

    Args:
        accept: the raw ``Accept`` value (``None`` if absent) or an already parsed list.
        offers: what the server can produce, in its order of preference.  For wildcard ranges
            (``*/*``, ``multipart/related; type="*/*"``) the first offer whose Transfer Syntax is
            the default of its media type wins, so list the resource's default representation
            (PS3.18 Table 10.4.4-1) before other default-Transfer-Syntax offers.

    Returns:
        The selected offer.  Its :meth:`Representation.content_type` is the response's
        ``Content-Type`` and its ``transfer_syntax`` the Selected Transfer Syntax.

    Raises:
        NotAcceptableError: nothing offered matches (respond 406).
    """
    accepted = parse_accept(accept) if accept is None or isinstance(accept, str) else accept
    if not offers:
        raise MediaTypeError("negotiate() needs at least one offered representation")
    for strict in (True, False):
        for accepted_type in accepted:
            for offer in offers:
                if _matches(accepted_type.media_type, offer, strict=strict):
                    return offer
    raise NotAcceptableError(accepted, offers)


def _matches(media_range: MediaType, offer: Representation, *, strict: bool) -> bool:
    inner: MediaType
    if offer.multipart:
        if not media_range.covers("multipart/related"):
            return False
        if media_range.is_range:  # */* or multipart/*: the resource's default
            inner, requested_ts = ANY, None
        else:
            type_param = media_range.param("type")
            try:
                inner = ANY if type_param is None else parse_media_type(type_param)
            except MediaTypeError:
                return False
            requested_ts = media_range.param("transfer-syntax")
    else:
        if media_range.type == "multipart":
            return False
        inner, requested_ts = media_range, media_range.param("transfer-syntax")
    if not inner.covers(offer.media_type):
        return False
    return _transfer_syntax_matches(requested_ts, offer, strict=strict)


def _transfer_syntax_matches(requested: str | None, offer: Representation, *, strict: bool) -> bool:
    offered = offer.transfer_syntax
    if offered is None or requested == ANY_TRANSFER_SYNTAX:
        return True
    if requested is not None:
        return requested == offered
    if not strict:
        return True
    return offered == default_transfer_syntax(offer.media_type)


# --------------------------------------------------------------------------------------------
# Offer lists for the WADO-RS resources (PS3.18 Table 10.4.4-1)
# --------------------------------------------------------------------------------------------


def metadata_offers() -> tuple[Representation, ...]:
    """Metadata resources and QIDO/STOW responses: ``application/dicom+json`` (default) or
    plain ``application/json`` (PS3.18 §8.7.3.4, Table 10.4.4-1)."""
    return (Representation(DICOM_JSON), Representation(JSON))


def instance_offers(
    stored_transfer_syntax: str,
    *,
    transcode_to: Iterable[str] = (),
    single_part: bool = False,
) -> tuple[Representation, ...]:
    """Study/series/instance resources: ``multipart/related; type="application/dicom"``.

    Args:
        stored_transfer_syntax: how the instance is stored; :data:`ANY_TRANSFER_SYNTAX` for a
            study or series whose instances are sent each as stored.  Implicit VR Little
            Endian and Big Endian are never offered as such (PS3.18 §8.7.3).
        transcode_to: Transfer Syntaxes the handler is prepared to transcode to (typically
            :data:`EXPLICIT_VR_LITTLE_ENDIAN`, the default).
        single_part: also offer bare ``application/dicom`` (only for an Instance resource,
            PS3.18 §10.4.4).
    """
    syntaxes = [stored_transfer_syntax, *transcode_to]
    usable = [ts for ts in dict.fromkeys(syntaxes) if ts not in FORBIDDEN_TRANSFER_SYNTAXES]
    if not usable:
        raise MediaTypeError(
            f"instances stored as {stored_transfer_syntax} must be transcoded for DICOMweb "
            "(PS3.18 §8.7.3); pass transcode_to"
        )
    offers = tuple(Representation(DICOM, ts, multipart=True) for ts in usable)
    return _with_single_part(offers, single_part)


def pixel_data_offers(
    stored_transfer_syntax: str, *, decompress: bool = False, single_part: bool = False
) -> tuple[Representation, ...]:
    """Frames and Pixel Data bulkdata (PS3.18 Tables 8.7.3-4 and 8.7.3-5).

    Native pixel data is offered as ``application/octet-stream`` in Explicit VR Little Endian.
    Compressed pixel data is offered, in this order, as stored inside
    ``application/octet-stream`` (what OHIF asks for with ``transfer-syntax=*``), decompressed
    to Explicit VR Little Endian when ``decompress`` (the default for ``*/*``), and as stored
    in its own media type (e.g. ``image/jpeg``).

    ``single_part`` adds single part variants, for a single frame or bulkdata element.
    """
    media_type = compressed_media_type(stored_transfer_syntax)
    if media_type is None:
        offers: tuple[Representation, ...] = (
            Representation(OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN, multipart=True),
        )
    else:
        offers = (
            Representation(OCTET_STREAM, stored_transfer_syntax, multipart=True),
            *(
                (Representation(OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN, multipart=True),)
                if decompress
                else ()
            ),
            Representation(media_type, stored_transfer_syntax, multipart=True),
        )
    return _with_single_part(offers, single_part)


def bulkdata_offers(*, single_part: bool = False) -> tuple[Representation, ...]:
    """Bulkdata other than pixel data: little endian octets (PS3.18 Table 8.7.3-4)."""
    offers = (Representation(OCTET_STREAM, EXPLICIT_VR_LITTLE_ENDIAN, multipart=True),)
    return _with_single_part(offers, single_part)


def rendered_offers(
    media_types: Sequence[str] = ("image/jpeg", "image/png"), *, multipart: bool = False
) -> tuple[Representation, ...]:
    """Rendered resources (PS3.18 §8.7.4, Table 8.7.4-1; ``image/jpeg`` is the default for
    images).  Single part unless ``multipart`` (for multi-frame/study-level rendering)."""
    return tuple(Representation(m, multipart=multipart) for m in media_types)


def _with_single_part(
    offers: tuple[Representation, ...], single_part: bool
) -> tuple[Representation, ...]:
    if not single_part:
        return offers
    return offers + tuple(replace(o, multipart=False) for o in offers)
