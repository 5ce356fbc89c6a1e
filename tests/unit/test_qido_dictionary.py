"""The QIDO-RS dictionary's built-in table agrees with pydicom's PS3.6 dictionary, and a lookup
outside it still answers as pydicom does."""

from __future__ import annotations

import pytest
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from beamit.dicomweb.qido import attributes, dictionary


@pytest.mark.parametrize("keyword", sorted(dictionary.COMMON))
def test_each_built_in_entry_is_pydicoms(keyword):
    tag, vr = dictionary.COMMON[keyword]
    assert tag_for_keyword(keyword) == tag
    assert dictionary_VR(tag) == vr


def test_every_attribute_of_the_qido_tables_is_built_in():
    tables = {keyword for key in attributes.MATCHING_KEYS.values() for keyword in key.path.keywords}
    tables |= {keyword_for_tag(tag) for tags in attributes.DEFAULT_RETURN_TAGS.values() for tag in tags}
    tables |= {keyword for keywords in attributes._OTHER_KNOWN_LEVELS.values() for keyword in keywords}
    assert tables <= set(dictionary.COMMON)


def test_lookups_outside_the_table_fall_back_to_pydicom():
    assert "ReasonForTheRequestedProcedure" not in dictionary.COMMON
    assert dictionary.tag_for_keyword("ReasonForTheRequestedProcedure") == 0x00401002
    assert dictionary.keyword_for_tag(0x00401002) == "ReasonForTheRequestedProcedure"
    assert dictionary.vr_for_tag(0x00281052) == "DS"  # RescaleIntercept
    assert dictionary.vr_for_tag(0x00280106) == "US or SS"  # SmallestImagePixelValue, ambiguous
    assert dictionary.tag_for_keyword("NoSuchKeyword") is None
    assert dictionary.keyword_for_tag(0x00091001) == "" and dictionary.vr_for_tag(0x00091001) == ""
