"""Media type parsing, Accept parsing and WADO-RS content negotiation (PS3.18 §8.7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beamit.dicomweb.media_types import (
    ANY_TRANSFER_SYNTAX,
    EXPLICIT_VR_LITTLE_ENDIAN,
    AcceptedType,
    MediaType,
    MediaTypeError,
    NotAcceptableError,
    Representation,
    bulkdata_offers,
    compressed_media_type,
    default_transfer_syntax,
    format_media_type,
    instance_offers,
    metadata_offers,
    negotiate,
    parse_accept,
    parse_media_type,
    pixel_data_offers,
    rendered_offers,
)

JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
IMPLICIT_LE = "1.2.840.10008.1.2"

# What real clients send.
DICOMWEB_CLIENT_FRAMES = 'multipart/related; type="*/*"'
DICOMWEB_CLIENT_INSTANCES = 'multipart/related; type="application/dicom"'
OHIF_FRAMES = "multipart/related; type=application/octet-stream; transfer-syntax=*"


# ---------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "header",
    [
        'multipart/related; type="application/dicom"; boundary=abc',
        "multipart/related;type=application/dicom;boundary=abc",
        'multipart/related;type="application/dicom";boundary="abc"',
        '  Multipart/Related ;  TYPE = "application/dicom" ;boundary= abc ; ',
        'multipart/related;\ttype="application/dicom";\tboundary=abc;;',
    ],
)
def test_parse_media_type_variants_are_equivalent(header: str) -> None:
    mt = parse_media_type(header)
    assert (mt.type, mt.subtype, mt.essence) == ("multipart", "related", "multipart/related")
    assert dict(mt.params) == {"type": "application/dicom", "boundary": "abc"}


def test_quoted_values_keep_spaces_semicolons_commas_and_escapes() -> None:
    mt = parse_media_type(r'multipart/related;type=application/dicom;boundary="a b;c,d\"e\\f"')
    assert mt.param("BOUNDARY") == 'a b;c,d"e\\f'
    assert mt.param("type") == "application/dicom"


def test_parameter_values_keep_case_names_do_not() -> None:
    mt = parse_media_type("Text/HTML; CharSet=UTF-8")
    assert mt.essence == "text/html"
    assert dict(mt.params) == {"charset": "UTF-8"}


def test_wildcards_parse_as_ranges() -> None:
    assert parse_media_type("*/*").is_range
    assert parse_media_type("image/*").is_range
    assert not parse_media_type("image/jpeg").is_range


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("", "expected type/subtype"),
        ("garbage", "expected type/subtype"),
        ("text", "expected type/subtype"),
        ("/html", "expected type/subtype"),
        ("text/", "expected type/subtype"),
        ("*/html", "is not a range"),
        ("text/html junk", "unexpected 'j'"),
        ("text/html; charset", "has no value"),
        ("text/html; charset=", "empty value"),
        ("text/html; =utf-8", "expected a parameter name"),
        ('text/html; charset="utf-8', "unterminated quoted string"),
        ("text/html; a=b c", "' ' in unquoted value"),
        ("text/html; a=b,c", "',' in unquoted value"),
        ("text/html; a=1; A=2", "given twice"),
    ],
)
def test_parse_media_type_rejects_garbage(header: str, fragment: str) -> None:
    with pytest.raises(MediaTypeError) as info:
        parse_media_type(header)
    assert fragment in str(info.value)


def test_format_media_type_quotes_only_when_needed() -> None:
    text = format_media_type(
        "multipart/related",
        {"type": "application/dicom", "transfer-syntax": EXPLICIT_VR_LITTLE_ENDIAN, "b": 'a"b'},
    )
    assert text == (
        'multipart/related; type="application/dicom"; '
        'transfer-syntax=1.2.840.10008.1.2.1; b="a\\"b"'
    )
    assert dict(parse_media_type(text).params)["b"] == 'a"b'
    with pytest.raises(MediaTypeError):
        format_media_type("text/plain", {"x": "a\r\nInjected: 1"})


token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-+.", min_size=1, max_size=12)
param_value = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20
)


@given(
    type_=token,
    subtype=token,
    params=st.dictionaries(token.filter(lambda t: t != "q"), param_value, max_size=4),
)
def test_format_then_parse_round_trips(type_: str, subtype: str, params: dict[str, str]) -> None:
    mt = parse_media_type(format_media_type(f"{type_}/{subtype}", params))
    assert mt == MediaType(type_, subtype, params)
    [accepted] = parse_accept(format_media_type(f"{type_}/{subtype}", params))
    assert accepted.media_type == mt


# ----------------------------------------------------------------------------------- Accept


def test_missing_or_blank_accept_means_anything() -> None:
    for header in (None, "", "  "):
        assert parse_accept(header) == [AcceptedType(MediaType("*", "*"), 1.0)]


def test_accept_commas_inside_quotes_do_not_split() -> None:
    accepted = parse_accept(
        'multipart/related; type="application/octet-stream"; transfer-syntax=*, '
        'multipart/related; type="image/jpeg"'
    )
    assert [dict(a.params) for a in accepted] == [
        {"type": "application/octet-stream", "transfer-syntax": "*"},
        {"type": "image/jpeg"},
    ]
    [one] = parse_accept('multipart/related; type="a/b"; x="1,2, 3"')
    assert one.params["x"] == "1,2, 3"


def test_accept_orders_by_q_then_specificity_then_position() -> None:
    accepted = parse_accept(
        "*/*;q=0.1, image/*;q=0.8, image/png;q=0.8, application/json, "
        "application/dicom+json;q=1.0, text/html;q=0.8;level=1"
    )
    assert [(a.essence, a.q) for a in accepted] == [
        ("application/json", 1.0),
        ("application/dicom+json", 1.0),
        ("image/png", 0.8),
        ("text/html", 0.8),
        ("image/*", 0.8),
        ("*/*", 0.1),
    ]
    assert "level" not in accepted[3].params  # accept-ext after q is not a media type param


def test_accept_specificity_of_multipart_type_and_transfer_syntax() -> None:
    accepted = parse_accept(
        'multipart/related; type="*/*", '
        "multipart/related; type=application/octet-stream; transfer-syntax=*, "
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1, '
        "multipart/related; type=image/*"
    )
    assert [(a.params.get("type"), a.params.get("transfer-syntax")) for a in accepted] == [
        ("application/octet-stream", "1.2.840.10008.1.2.1"),
        ("application/octet-stream", "*"),
        ("image/*", None),
        ("*/*", None),
    ]


def test_accept_excludes_q_zero_and_ignores_invalid_members() -> None:
    accepted = parse_accept("image/png;q=0, image/jpeg;q=0.000, nonsense, image/gif;q=2, */*;q=0.5")
    assert [str(a) for a in accepted] == ["*/*; q=0.5"]
    assert parse_accept("*/*;q=0") == []
    assert parse_accept("image/png;q=0.") == []


def test_accept_with_no_valid_member_is_treated_as_absent() -> None:
    assert parse_accept("garbage, also garbage;") == parse_accept(None)


@pytest.mark.parametrize("q", ["1", "1.", "1.0", "1.000", "0.5", "0.123", "0"])
def test_valid_qvalues(q: str) -> None:
    assert parse_accept(f"a/b;q={q}, c/d;q=0.001")[0].essence in ("a/b", "c/d")


@pytest.mark.parametrize("q", ["1.5", "0.1234", "-1", "x", ".5", "1.001"])
def test_invalid_qvalues_drop_the_member(q: str) -> None:
    assert [a.essence for a in parse_accept(f"a/b;q={q}, c/d")] == ["c/d"]


# ------------------------------------------------------------------------------- tables


def test_transfer_syntax_media_type_tables() -> None:
    # PS3.18 Tables 8.7.3-2 / 8.7.3-4 / 8.7.3-5
    assert default_transfer_syntax("application/octet-stream") == EXPLICIT_VR_LITTLE_ENDIAN
    assert default_transfer_syntax("application/dicom") == EXPLICIT_VR_LITTLE_ENDIAN
    assert default_transfer_syntax("image/jpeg") == JPEG_LOSSLESS_SV1
    assert default_transfer_syntax("IMAGE/X-JLS") == "1.2.840.10008.1.2.4.80"
    assert default_transfer_syntax("image/jp2") == JPEG2000_LOSSLESS
    assert default_transfer_syntax("image/dicom-rle") == "1.2.840.10008.1.2.5"
    assert default_transfer_syntax("video/mp4") == "1.2.840.10008.1.2.4.102"
    assert default_transfer_syntax("application/dicom+json") is None
    assert compressed_media_type(JPEG_BASELINE) == "image/jpeg"
    assert compressed_media_type("1.2.840.10008.1.2.4.57") == "image/jpeg"
    assert compressed_media_type("1.2.840.10008.1.2.4.81") == "image/jls"
    assert compressed_media_type("1.2.840.10008.1.2.4.91") == "image/jp2"
    assert compressed_media_type("1.2.840.10008.1.2.4.203") == "image/jphc"
    assert compressed_media_type("1.2.840.10008.1.2.5") == "image/dicom-rle"
    assert compressed_media_type("1.2.840.10008.1.2.4.100") == "video/mpeg2"
    assert compressed_media_type(EXPLICIT_VR_LITTLE_ENDIAN) is None
    assert compressed_media_type(IMPLICIT_LE) is None


def test_pydicom_compressed_syntaxes_all_have_a_media_type() -> None:
    from pydicom import uid

    for syntax in (
        *uid.JPEGTransferSyntaxes,
        *uid.JPEGLSTransferSyntaxes,
        *uid.JPEG2000TransferSyntaxes,
        uid.RLELossless,
        *uid.MPEGTransferSyntaxes,
    ):
        assert compressed_media_type(syntax) is not None, syntax


# -------------------------------------------------------------------------- representation


def test_representation_content_types() -> None:
    frames = Representation("application/octet-stream", EXPLICIT_VR_LITTLE_ENDIAN, multipart=True)
    assert frames.content_type("xyz") == (
        'multipart/related; type="application/octet-stream"; '
        "transfer-syntax=1.2.840.10008.1.2.1; boundary=xyz"
    )
    assert frames.part_content_type() == (
        "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    )
    stored = Representation("application/dicom", ANY_TRANSFER_SYNTAX, multipart=True)
    assert stored.content_type("b") == 'multipart/related; type="application/dicom"; boundary=b'
    assert Representation("image/jpeg").content_type() == "image/jpeg"
    assert Representation("IMAGE/X-JLS", "1.2.840.10008.1.2.4.80").media_type == "image/jls"
    with pytest.raises(MediaTypeError, match="needs a boundary"):
        frames.content_type()
    with pytest.raises(MediaTypeError, match="concrete media type"):
        Representation("image/*")


# ------------------------------------------------------------------------------ negotiation


def test_metadata_negotiation() -> None:
    offers = metadata_offers()
    for accept in (None, "*/*", "application/dicom+json", "application/*"):
        assert negotiate(accept, offers).content_type() == "application/dicom+json", accept
    assert negotiate("application/json", offers).content_type() == "application/json"
    assert negotiate("application/json, application/dicom+json;q=0.9", offers).media_type == (
        "application/json"
    )
    assert (
        negotiate("application/dicom+json; charset=utf-8", offers).media_type
        == "application/dicom+json"
    )
    with pytest.raises(NotAcceptableError) as info:
        negotiate("application/dicom+xml", offers)
    assert info.value.offers == offers
    assert "application/dicom+xml" in str(info.value)
    assert "application/dicom+json" in str(info.value)


def test_instances_negotiation_native_transfer_syntax() -> None:
    offers = instance_offers(EXPLICIT_VR_LITTLE_ENDIAN, single_part=True)
    for accept in (
        None,
        "*/*",
        DICOMWEB_CLIENT_INSTANCES,
        'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1',
        "multipart/related; type=application/dicom; transfer-syntax=*",
    ):
        chosen = negotiate(accept, offers)
        assert chosen == Representation("application/dicom", EXPLICIT_VR_LITTLE_ENDIAN, True)
    single = negotiate("application/dicom", offers)
    assert not single.multipart
    assert single.content_type() == "application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
    with pytest.raises(NotAcceptableError):
        negotiate(f"{DICOMWEB_CLIENT_INSTANCES}; transfer-syntax={JPEG_BASELINE}", offers)


def test_instances_negotiation_compressed_with_and_without_transcoding() -> None:
    with_transcode = instance_offers(JPEG_BASELINE, transcode_to=[EXPLICIT_VR_LITTLE_ENDIAN])
    without = instance_offers(JPEG_BASELINE)
    # No transfer-syntax parameter: the default, Explicit VR Little Endian, if available ...
    assert negotiate(DICOMWEB_CLIENT_INSTANCES, with_transcode).transfer_syntax == (
        EXPLICIT_VR_LITTLE_ENDIAN
    )
    # ... else what the server has (PS3.18 §8.7.3 exception for lossy-only pixel data).
    assert negotiate(DICOMWEB_CLIENT_INSTANCES, without).transfer_syntax == JPEG_BASELINE
    star = f"{DICOMWEB_CLIENT_INSTANCES}; transfer-syntax=*"
    assert negotiate(star, with_transcode).transfer_syntax == JPEG_BASELINE  # as stored
    explicit = f"{DICOMWEB_CLIENT_INSTANCES}; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"
    assert negotiate(explicit, with_transcode).transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN
    with pytest.raises(NotAcceptableError):
        negotiate(explicit, without)


def test_instance_offers_never_offer_implicit_vr() -> None:
    assert instance_offers(IMPLICIT_LE, transcode_to=[EXPLICIT_VR_LITTLE_ENDIAN]) == (
        Representation("application/dicom", EXPLICIT_VR_LITTLE_ENDIAN, multipart=True),
    )
    with pytest.raises(MediaTypeError, match="must be transcoded"):
        instance_offers(IMPLICIT_LE)


def test_study_level_sends_each_instance_as_stored() -> None:
    offers = instance_offers(ANY_TRANSFER_SYNTAX)
    chosen = negotiate(DICOMWEB_CLIENT_INSTANCES, offers)
    assert chosen.transfer_syntax == ANY_TRANSFER_SYNTAX
    assert chosen.content_type("b") == 'multipart/related; type="application/dicom"; boundary=b'
    with pytest.raises(NotAcceptableError):  # cannot promise one specific syntax for all
        negotiate(f"{DICOMWEB_CLIENT_INSTANCES}; transfer-syntax={JPEG_BASELINE}", offers)
    with pytest.raises(NotAcceptableError):  # single part only for one instance (§10.4.4)
        negotiate("application/dicom", offers)


def test_frames_native() -> None:
    offers = pixel_data_offers(EXPLICIT_VR_LITTLE_ENDIAN)
    octets = Representation("application/octet-stream", EXPLICIT_VR_LITTLE_ENDIAN, True)
    for accept in (
        None,
        "*/*",
        DICOMWEB_CLIENT_FRAMES,
        OHIF_FRAMES,
        'multipart/related; type="application/octet-stream"',
        'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1',
    ):
        assert negotiate(accept, offers) == octets, accept
    for refused in ('multipart/related; type="image/jpeg"', "application/octet-stream"):
        with pytest.raises(NotAcceptableError):
            negotiate(refused, offers)


def test_frames_compressed_that_the_server_can_decompress() -> None:
    offers = pixel_data_offers(JPEG_BASELINE, decompress=True)
    # */* and type="*/*" mean the default: uncompressed octets (PS3.18 Table 8.7.3-4)
    for accept in (None, "*/*", DICOMWEB_CLIENT_FRAMES, "multipart/related"):
        chosen = negotiate(accept, offers)
        assert (chosen.media_type, chosen.transfer_syntax) == (
            "application/octet-stream",
            EXPLICIT_VR_LITTLE_ENDIAN,
        ), accept
    # OHIF: octets in whatever syntax the server has -> no decompression
    ohif = negotiate(OHIF_FRAMES, offers)
    assert (ohif.media_type, ohif.transfer_syntax) == ("application/octet-stream", JPEG_BASELINE)
    assert ohif.part_content_type() == (
        "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.50"
    )
    # image/jpeg without transfer-syntax: the lossless default is not available, lossy is.
    jpeg = negotiate('multipart/related; type="image/jpeg"', offers)
    assert (jpeg.media_type, jpeg.transfer_syntax) == ("image/jpeg", JPEG_BASELINE)
    # dicomweb-client's ("image/jpeg", "1.2.840.10008.1.2.4.50") form
    exact = negotiate(
        'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50', offers
    )
    assert exact.transfer_syntax == JPEG_BASELINE
    with pytest.raises(NotAcceptableError):
        negotiate(
            f'multipart/related; type="image/jpeg"; transfer-syntax={JPEG_LOSSLESS_SV1}', offers
        )


def test_frames_compressed_that_the_server_cannot_decompress() -> None:
    offers = pixel_data_offers(JPEG2000_LOSSLESS)
    chosen = negotiate(DICOMWEB_CLIENT_FRAMES, offers)
    assert chosen.transfer_syntax == JPEG2000_LOSSLESS
    assert negotiate('multipart/related; type="image/jp2"', offers).media_type == "image/jp2"
    with pytest.raises(NotAcceptableError):
        negotiate(
            'multipart/related; type="application/octet-stream"; '
            "transfer-syntax=1.2.840.10008.1.2.1",
            offers,
        )


def test_frames_q_values_choose_between_representations() -> None:
    offers = pixel_data_offers(JPEG_LOSSLESS_SV1, decompress=True)
    accept = (
        'multipart/related; type="application/octet-stream"; q=0.5, '
        'multipart/related; type="image/jpeg"; q=0.9'
    )
    assert negotiate(accept, offers).media_type == "image/jpeg"
    accept = (
        'multipart/related; type="application/octet-stream"; q=0.9, '
        'multipart/related; type="image/jpeg"; q=0.5'
    )
    assert negotiate(accept, offers).media_type == "application/octet-stream"
    assert negotiate('multipart/related; type="image/jpeg"; q=0, */*', offers).transfer_syntax == (
        EXPLICIT_VR_LITTLE_ENDIAN
    )


def test_legacy_alias_media_types() -> None:
    offers = pixel_data_offers("1.2.840.10008.1.2.4.80")
    assert negotiate('multipart/related; type="image/x-jls"', offers).media_type == "image/jls"


def test_single_part_frame() -> None:
    offers = pixel_data_offers(EXPLICIT_VR_LITTLE_ENDIAN, single_part=True)
    chosen = negotiate("application/octet-stream", offers)
    assert not chosen.multipart
    assert chosen.content_type() == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert negotiate("*/*", offers).multipart  # the default stays multipart


def test_bulkdata_negotiation() -> None:
    offers = bulkdata_offers()
    assert negotiate(DICOMWEB_CLIENT_FRAMES, offers) == offers[0]
    assert negotiate(OHIF_FRAMES, offers) == offers[0]
    with pytest.raises(NotAcceptableError):
        negotiate("application/octet-stream", offers)


def test_rendered_negotiation() -> None:
    offers = rendered_offers()
    assert negotiate(None, offers).content_type() == "image/jpeg"
    assert negotiate("*/*", offers).content_type() == "image/jpeg"
    assert negotiate("image/png", offers).content_type() == "image/png"
    assert negotiate("image/*", offers).content_type() == "image/jpeg"
    assert negotiate("image/webp, image/png;q=0.5", offers).content_type() == "image/png"
    # a browser
    browser = (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    )
    assert negotiate(browser, offers).content_type() == "image/jpeg"
    for refused in ('multipart/related; type="image/jpeg"', "text/html", "image/gif"):
        with pytest.raises(NotAcceptableError):
            negotiate(refused, offers)
    multi = rendered_offers(multipart=True)
    assert negotiate('multipart/related; type="image/png"', multi).content_type("b") == (
        'multipart/related; type="image/png"; boundary=b'
    )


def test_negotiate_accepts_parsed_lists_and_needs_offers() -> None:
    parsed = parse_accept("application/json")
    assert negotiate(parsed, metadata_offers()).media_type == "application/json"
    with pytest.raises(MediaTypeError, match="at least one"):
        negotiate("*/*", [])
    with pytest.raises(NotAcceptableError, match="q=0"):
        negotiate("*/*;q=0", metadata_offers())
