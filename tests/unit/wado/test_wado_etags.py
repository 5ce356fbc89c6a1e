"""Strong ETags and the multipart boundaries derived from them."""

from __future__ import annotations

import re

from beamit.dicomweb.wado.etags import boundary_for, strong_etag


def test_etag_is_quoted_stable_and_sensitive_to_every_input():
    a = strong_etag("instances", ["m1", "m2"], "multipart/related; type=application/dicom")
    assert re.fullmatch(r'"[0-9a-f]{40}"', a)
    assert a == strong_etag("instances", ["m1", "m2"], "multipart/related; type=application/dicom")
    assert a != strong_etag("instances", ["m2", "m1"], "multipart/related; type=application/dicom")
    assert a != strong_etag("metadata", ["m1", "m2"], "multipart/related; type=application/dicom")
    assert a != strong_etag("instances", ["m1", "m2"], "application/dicom")


def test_boundary_is_rfc_2046_and_fixed_by_the_etag():
    etag = strong_etag("frames", ["m"], "x")
    assert boundary_for(etag) == boundary_for(etag) != boundary_for(strong_etag("frames", ["m"], "y"))
    assert re.fullmatch(r"[0-9A-Za-z'()+_,\-./:=?]{1,70}", boundary_for(etag))
