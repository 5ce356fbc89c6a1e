"""Checks shared by the sandbox generator tests."""

from __future__ import annotations

import io
import re
from typing import Any

import pydicom
from pydicom.dataset import Dataset

from beamit.sandbox import part10_bytes

UID_PATTERN = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
"""PS3.5 §9.1: numeric components without leading zeros, separated by dots."""

BULK_KEYS = ("7FE00010", "00420011")
"""Pixel Data and Encapsulated Document: what the metadata leaves out."""


def is_valid_uid(uid: str) -> bool:
    return len(uid) <= 64 and UID_PATTERN.match(uid) is not None


def roundtrip(dataset: Dataset) -> Dataset:
    """``dataset`` written as a Part 10 file in memory and read back."""
    return pydicom.dcmread(io.BytesIO(part10_bytes(dataset)))


def standard_json(value: Any) -> Any:
    """pydicom's DICOM JSON with its two departures from PS3.18 §F.2.5 undone: an empty
    sequence has no "Value" (not ``[]``), an empty value in a multi-valued attribute is
    ``null`` (not ``""``)."""
    if isinstance(value, dict):
        out = {}
        for key, element in value.items():
            element = dict(element)
            if element.get("Value") == []:
                del element["Value"]
            if element["vr"] == "SQ" and "Value" in element:
                element["Value"] = [standard_json(item) for item in element["Value"]]
            elif "Value" in element and len(element["Value"]) > 1:
                element["Value"] = [None if v == "" else v for v in element["Value"]]
            out[key] = element
        return out
    return value


def dataset_json(dataset: Dataset) -> dict[str, Any]:
    """The DICOM JSON of ``dataset`` without bulk data, as the metadata generator writes it."""
    rendered = dataset.to_json_dict(bulk_data_threshold=1, bulk_data_element_handler=lambda element: "bulk")
    return {key: value for key, value in standard_json(rendered).items() if key not in BULK_KEYS}
