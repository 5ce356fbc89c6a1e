"""The DICOM JSON Model (PS3.18 Annex F) with BulkDataURIs, on top of pydicom.

pydicom converts element values (``DataElement.to_json_dict``); this module decides which
elements are *bulk data* and gives each one a BulkDataURI that names its position in the data
set, including inside sequence items (PS3.18 §F.2.6, §10.4.3.3.2).  pydicom's own
``bulk_data_element_handler`` is given only the element, not where it is, so the data set is
walked here: sequences are recursed into with the path so far, and every other element is
converted by pydicom.

Bulk data, replaced by a ``BulkDataURI``:

* Pixel Data, Float Pixel Data and Double Float Pixel Data, whatever their size;
* any other non-empty OB, OD, OF, OL, OV, OW or UN value longer than ``bulk_data_threshold``
  bytes (1 KiB by default).

Group Length elements (gggg,0000) are left out (PS3.18 §F.2.2).
"""

from __future__ import annotations

import functools
import logging
import re
import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from beamit.dicomweb.uri import DicomwebRoot, ElementPath, ResourceRef

if TYPE_CHECKING:  # pydicom is imported on first conversion: reading stored DICOM JSON needs none of it
    from pydicom.dataelem import DataElement, RawDataElement
    from pydicom.dataset import Dataset

__all__ = [
    "ALWAYS_BULK_TAGS",
    "BULK_DATA_THRESHOLD",
    "BULK_VRS",
    "DicomJSONError",
    "ElementNotFoundError",
    "dataset_to_json",
    "element_at",
    "element_value",
    "first_value",
    "instance_metadata",
]

_log = logging.getLogger(__name__)

BULK_DATA_THRESHOLD = 1024
"""Binary values longer than this many bytes become BulkDataURIs."""

ALWAYS_BULK_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
"""Float Pixel Data, Double Float Pixel Data, Pixel Data."""

BULK_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
"""The binary VRs whose values may be bulk data (PS3.18 §F.2.7)."""

BulkDataURIFactory = Callable[[ElementPath], str]


def first_value(dicom: Mapping[str, Any] | None, tag: str) -> Any:
    """The first value of the element ``tag`` (``"0020000D"``) of a DICOM JSON object, or
    ``None`` when the element is absent or has no value (PS3.18 §F.2.2)."""
    element = (dicom or {}).get(tag)
    values = element.get("Value") if isinstance(element, Mapping) else None
    return values[0] if isinstance(values, list) and values else None


class DicomJSONError(ValueError):
    """A data set cannot be represented, or an element path does not resolve."""


class ElementNotFoundError(DicomJSONError, LookupError):
    """An :class:`ElementPath` names no element of the data set (respond 404)."""


def dataset_to_json(
    dataset: Dataset,
    bulk_data_uri: BulkDataURIFactory | None = None,
    *,
    bulk_data_threshold: int = BULK_DATA_THRESHOLD,
    suppress_invalid_tags: bool = False,
) -> dict[str, Any]:
    """Return ``dataset`` in the DICOM JSON Model.

    Args:
        dataset: any pydicom data set (file meta information is not part of it).
        bulk_data_uri: maps the :class:`ElementPath` of a bulk element to its BulkDataURI, e.g.
            ``lambda path: root.bulkdata_url(ref, path)``.  ``None`` puts every value inline
            (``InlineBinary``), which is what small QIDO/STOW response data sets want.
        bulk_data_threshold: see the module docstring.
        suppress_invalid_tags: drop (and log) elements pydicom cannot convert instead of failing.

    Deferred-read elements (``dcmread(..., defer_size=...)``) that are bulk are not read.
    """
    return _to_json(dataset, (), bulk_data_uri, bulk_data_threshold, suppress_invalid_tags)


def instance_metadata(
    dataset: Dataset,
    root: DicomwebRoot,
    *,
    bulk_data_threshold: int = BULK_DATA_THRESHOLD,
    suppress_invalid_tags: bool = False,
) -> dict[str, Any]:
    """The Instance Metadata resource (PS3.18 §10.4.3.3.2) of one stored instance, with
    BulkDataURIs under its own Study/Series/SOP Instance UIDs.

    Raises ``DicomJSONError`` if a UID is missing, ``uri.InvalidUIDError`` if one is invalid.
    """
    uids = []
    for keyword, tag in (("StudyInstanceUID", 0x0020000D), ("SeriesInstanceUID", 0x0020000E),
                         ("SOPInstanceUID", 0x00080018)):
        value = element_value(dataset, tag)
        if not value:
            raise DicomJSONError(f"cannot build BulkDataURIs: the data set has no {keyword}")
        uids.append(str(value))
    ref = ResourceRef(*uids)
    return dataset_to_json(
        dataset,
        lambda path: root.bulkdata_url(ref, path),
        bulk_data_threshold=bulk_data_threshold,
        suppress_invalid_tags=suppress_invalid_tags,
    )


def _to_json(
    dataset: Dataset,
    items: tuple[tuple[int, int], ...],
    bulk_data_uri: BulkDataURIFactory | None,
    threshold: int,
    suppress: bool,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in sorted(dataset.keys(), key=int):
        if tag & 0xFFFF == 0:  # Group Length, PS3.18 §F.2.2
            continue
        key = f"{int(tag):08X}"
        try:
            raw = dataset.get_item(tag, keep_deferred=True)
            fast = _raw_json(raw)  # never a deferred element: those have no value yet
            if fast is not None:
                out[key] = fast
                continue
            path = ElementPath(int(tag), items)
            if bulk_data_uri is not None:
                deferred = _deferred_bulk(raw, path, threshold)
                if deferred is not None:
                    out[key] = {"vr": deferred, "BulkDataURI": bulk_data_uri(path)}
                    continue
            element = dataset[tag]
            if element.VR == "SQ":
                out[key] = {
                    "vr": "SQ",
                    "Value": [
                        _to_json(item, (*items, (path.tag, i)), bulk_data_uri, threshold, suppress)
                        for i, item in enumerate(element.value)
                    ],
                }
            elif bulk_data_uri is not None and _is_bulk(element, threshold):
                out[key] = {"vr": _concrete_vr(element.VR), "BulkDataURI": bulk_data_uri(path)}
            else:
                out[key] = element.to_json_dict(
                    bulk_data_element_handler=None, bulk_data_threshold=threshold
                )
        except Exception as exc:
            if not suppress:
                raise
            _log.warning("dropping element %s from DICOM JSON: %s", ElementPath(int(tag), items), exc)
    return out


def _is_bulk(element: DataElement, threshold: int) -> bool:
    if element.is_empty:
        return False
    if element.tag in ALWAYS_BULK_TAGS:
        return True
    return _concrete_vr(element.VR) in BULK_VRS and len(element.value) > threshold


def _deferred_bulk(raw: DataElement | RawDataElement, path: ElementPath, threshold: int) -> str | None:
    """The VR of a not-yet-read (deferred) bulk element, without reading it; else ``None``."""
    from pydicom.datadict import dictionary_VR
    from pydicom.dataelem import RawDataElement

    if not isinstance(raw, RawDataElement) or raw.value is not None or not raw.length:
        return None
    vr = raw.VR
    if vr is None:
        try:
            vr = dictionary_VR(path.tag)
        except KeyError:
            vr = "UN"
    if " or " in vr:  # ambiguous: let pydicom resolve it by reading the element
        return None
    if raw.length == 0xFFFFFFFF or path.tag in ALWAYS_BULK_TAGS:
        return vr if vr in BULK_VRS else None
    return vr if vr in BULK_VRS and raw.length > threshold else None


# -- straight from the element's bytes ------------------------------------------------------------
#
# Most elements of a stored instance are short ASCII strings and binary numbers that nobody has
# read yet (pydicom keeps them as raw bytes). Converting them through pydicom (a DataElement,
# its value checks, MultiValue, DSfloat, to_json_dict) is most of a STOW-RS request's parsing;
# :func:`_raw_json` gives the same JSON for those straight from the bytes, exactly as pydicom
# 3.0 converts them (values.py: multi_string, convert_text, convert_AE_string, convert_UI,
# convert_DS_string, convert_IS_string, convert_numbers; jsonrep.convert_to_python_number),
# and returns ``None`` for anything else, which pydicom then converts as before: other VRs,
# implicit VR (no VR in the bytes), non-ASCII or ISO 2022 text (the character set decides),
# malformed numbers, pydicom options that change values. tests/unit/dicomweb check the two
# agree on every data set of pydicom's test files and the sandbox.

_MULTI_STRING_VRS = frozenset({"AS", "CS", "DA", "DT", "TM"})
"""Decoded, trailing spaces and NULs of the whole value removed, then split (multi_string)."""
_TEXT_VRS = frozenset({"LO", "SH", "UC"})
"""Split, then each value's trailing spaces and NULs removed (convert_text)."""
_NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}
_FLOAT_VRS = frozenset({"FL", "FD"})
_DS = re.compile(r" *[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)? *")
_IS = re.compile(r" *[+-]?\d+ *")
_ESC = 0x1B


@functools.cache
def _raw_type() -> type:
    from pydicom.dataelem import RawDataElement

    return RawDataElement


def _raw_json(raw: DataElement | RawDataElement) -> dict[str, Any] | None:
    """The DICOM JSON of a raw (unread) element of a common VR, as pydicom would give it; else ``None``."""
    if type(raw) is not _raw_type():
        return None
    raw = cast("RawDataElement", raw)
    vr, data = raw.VR, raw.value
    if data is None or vr is None:
        return None
    from pydicom import config

    if vr in _NUMBER_FORMATS:
        size = struct.calcsize("<" + _NUMBER_FORMATS[vr])
        if len(data) % size:
            return None
        if not data:
            return {"vr": vr}
        numbers = struct.unpack(f"{'<' if raw.is_little_endian else '>'}{len(data) // size}{_NUMBER_FORMATS[vr]}",
                                data)
        kind = float if vr in _FLOAT_VRS else int
        return {"vr": vr, "Value": [kind(n) for n in numbers]}
    if not data.isascii() or _ESC in data:
        return None
    text = data.decode("ascii")
    if vr in _MULTI_STRING_VRS:
        if config.datetime_conversion and vr in ("DA", "DT", "TM"):
            return None
        values = text.rstrip(" \x00").split("\\")
    elif vr in _TEXT_VRS:
        values = [value.rstrip("\x00 ") for value in text.split("\\")]
    elif vr == "UI":
        values = text.rstrip("\x00 ").split("\\")
    elif vr == "AE":
        values = [value.strip() for value in text.split("\\")]
    elif vr == "DS":
        if config.use_DS_decimal or config.use_DS_numpy:
            return None
        values = text.strip().rstrip(" \x00").split("\\")
        if not all(_DS.fullmatch(value) for value in values):
            return None
        return {"vr": vr, "Value": [float(value) for value in values]}
    elif vr == "IS":
        if config.use_IS_numpy:
            return None
        values = text.rstrip(" \x00").split("\\")
        if not all(_IS.fullmatch(value) for value in values):
            return None
        return {"vr": vr, "Value": [int(value) for value in values]}
    else:
        return None
    if len(values) == 1 and not values[0]:
        return {"vr": vr}  # empty: no Value
    return {"vr": vr, "Value": values}


def element_value(dataset: Dataset, tag: int) -> Any:
    """The value of the top-level element ``tag`` of ``dataset``: ``None`` when it is absent or
    empty, its one value, or the list of its values. An unread element of a common VR is
    converted straight from its bytes (:func:`_raw_json`: str, int or float, as the DICOM JSON
    Model has them) and left unread in the data set, which :func:`dataset_to_json` then converts
    the same way; anything else is converted (and kept converted) by pydicom, its value as
    ``dataset.get(tag)`` gives it. For the few attributes ingest checks before it builds the
    DICOM JSON (UIDs, Image Pixel numbers): pydicom's conversion and validation of an element
    costs tens of microseconds."""
    raw = dataset.get_item(tag, keep_deferred=True)
    if raw is None:
        return None
    fast = _raw_json(raw)
    if fast is None:
        value = dataset[tag].value
        return None if value == "" else value
    values = fast.get("Value")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _concrete_vr(vr: str) -> str:
    """``OB or OW`` / ``US or SS or OW``: an ambiguous binary VR pydicom could not resolve is
    reported as its widest choice."""
    return vr.rsplit(" or ", 1)[-1]


def element_at(dataset: Dataset, path: ElementPath) -> DataElement:
    """The element an :class:`ElementPath` names (the inverse of the BulkDataURI assignment).

    Raises:
        ElementNotFoundError: a tag, item or sequence on the way does not exist.
    """
    current = dataset
    for sequence_tag, index in path.items:
        if sequence_tag not in current:
            raise ElementNotFoundError(f"{path}: no sequence ({_tag(sequence_tag)})")
        sequence = current[sequence_tag]
        if sequence.VR != "SQ":
            raise ElementNotFoundError(f"{path}: ({_tag(sequence_tag)}) is not a sequence")
        if index >= len(sequence.value):
            raise ElementNotFoundError(
                f"{path}: ({_tag(sequence_tag)}) has {len(sequence.value)} items, no item {index}"
            )
        current = sequence.value[index]
    if path.tag not in current:
        raise ElementNotFoundError(f"{path}: no element ({_tag(path.tag)})")
    return current[path.tag]


def _tag(tag: int) -> str:
    return f"{tag >> 16:04X},{tag & 0xFFFF:04X}"
