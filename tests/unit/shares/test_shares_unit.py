"""Pure logic of beamit.shares: codes, request fields, and the indexes of its queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beamit.errors import BadRequest
from beamit.settings import load_settings
from beamit.shares import codes
from beamit.shares.fields import mask_phone, normalize_phone, parse_expires_in, parse_share_request
from beamit.storage import Filter, Query
from beamit.storage.firestore import index_shape
from tests.infra.indexes import uncovered


def test_codes_use_the_unambiguous_alphabet():
    for _ in range(200):
        code = codes.new_share_code()
        assert codes.SHARE_CODE.match(code)
        assert not set("01OIL") & set(code[3:])


def test_codes_are_normalised():
    assert codes.normalize_share_code(" bm-7k9x2p ") == "BM-7K9X2P"
    assert codes.normalize_share_code("7K9X2P") == "BM-7K9X2P"
    assert codes.normalize_share_code("BM-7K9X2O") is None
    assert codes.normalize_share_code("BM-7K9X2") is None


def test_digests_are_keyed():
    one = load_settings({"BEAMIT_SHARE_CODE_KEY": "a" * 32})
    two = load_settings({"BEAMIT_SHARE_CODE_KEY": "b" * 32})
    assert codes.share_code_digest(one, "BM-7K9X2P") != codes.share_code_digest(two, "BM-7K9X2P")
    assert len(codes.share_code_digest(one, "BM-7K9X2P")) == 64


def test_the_key_is_required_outside_local():
    settings = load_settings({"BEAMIT_ENV": "sandbox", "GOOGLE_CLOUD_PROJECT": "p"})
    with pytest.raises(Exception, match="BEAMIT_SHARE_CODE_KEY"):
        codes.share_code_digest(settings, "BM-7K9X2P")


@pytest.mark.parametrize(("raw", "expected"), [("1h", timedelta(hours=1)), ("48h", timedelta(hours=48)),
                                               ("7d", timedelta(days=7)), ("30d", timedelta(days=30))])
def test_expires_in(raw, expected):
    assert parse_expires_in(raw) == expected


@pytest.mark.parametrize("raw", ["0h", "31d", "721h", "1w", "d", "", None, 3])
def test_expires_in_refused(raw):
    with pytest.raises(BadRequest):
        parse_expires_in(raw)


def test_phones():
    assert normalize_phone("+1 (415) 555-1234") == "+14155551234"
    assert normalize_phone("+44 20 7183 8750") == "+442071838750"
    with pytest.raises(BadRequest):
        normalize_phone("4155551234")
    assert mask_phone("+14155551234") == "+1******1234"


def test_request_defaults():
    request = parse_share_request({"studyId": "1.2.3", "recipientPhone": "+14155551234"})
    assert request.expires_in == timedelta(days=7) and not request.allow_download and request.max_views is None
    assert request.studies == ("1.2.3",)


def test_every_share_query_has_its_index():
    now = datetime.now(UTC)
    queries = [
        Query("tenants/t/shares", filters=(Filter("status", "==", "active"),), order_by=(("createdAt", "desc"),)),
        Query("tenants/t/shares", filters=(Filter("studies", "array_contains", "1.2"),),
              order_by=(("createdAt", "desc"),)),
        Query("tenants/t/shares", filters=(Filter("status", "==", "active"), Filter("studies", "array_contains", "1")),
              order_by=(("createdAt", "desc"),)),
        Query("share_codes", filters=(Filter("state", "==", "active"), Filter("expiresAt", "<=", now))),
    ]
    assert uncovered([index_shape(q) for q in queries]) == []
