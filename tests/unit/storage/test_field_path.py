"""Field paths for projections: identifiers as they are, other keys quoted with backticks."""

from __future__ import annotations

import pytest
from google.cloud.firestore_v1.field_path import FieldPath

from beamit.storage import field_path


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("blob",), "blob"),
        (("dicom", "00280010"), "dicom.`00280010`"),
        (("a_b", "c-d", "x.y"), "a_b.`c-d`.`x.y`"),
        (("odd`key\\",), "`odd\\`key\\\\`"),
    ],
)
def test_field_paths_quote_what_is_not_an_identifier(keys, expected):
    assert field_path(*keys) == expected
    assert FieldPath.from_string(expected).parts == keys  # Firestore's own parser reads it back
