"""Deterministic UUID-derived UIDs (PS3.5 §9.1, §B.2)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from beamit.sandbox.uids import IMPLEMENTATION_CLASS_UID, SANDBOX_NAMESPACE, derived_uid
from tests.unit.sandbox.checks import is_valid_uid


@given(st.lists(st.one_of(st.integers(min_value=0, max_value=10**15), st.text(max_size=20)), min_size=1, max_size=5))
def test_derived_uid_is_the_uuid5_under_2_25(parts: list[object]) -> None:
    name = "/".join(str(part) for part in parts)
    uid = derived_uid(*parts)
    assert uid == f"2.25.{uuid.uuid5(SANDBOX_NAMESPACE, name).int}"
    assert is_valid_uid(uid) and len(uid) <= 44


def test_derived_uids_are_stable_across_releases() -> None:
    """Changing the namespace or the naming would silently change every sandbox UID."""
    assert derived_uid(0, 0, "study") == "2.25." + str(uuid.uuid5(SANDBOX_NAMESPACE, "0/0/study").int)
    assert str(SANDBOX_NAMESPACE) == "87d4b547-7035-4e21-9b1e-ad95b590f522"
    assert is_valid_uid(IMPLEMENTATION_CLASS_UID)


def test_different_names_give_different_uids() -> None:
    assert derived_uid(1, 2, 3) != derived_uid(1, 23)
    assert len({derived_uid(seed, index) for seed in range(30) for index in range(30)}) == 900
