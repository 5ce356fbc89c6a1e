"""``create`` writes of whole documents as raw protocol buffers, for the batches ingest commits.

google-cloud-firestore encodes every value of a document through proto-plus wrappers, a few
microseconds each; a catalog instance document holds hundreds of values (its QIDO-RS index
terms and DICOM JSON), and that encoding was most of a STOW-RS request's commit time. Here the
same ``Write`` is built directly on the protobuf classes proto-plus wraps (``Value.pb()``, ...),
several times faster. :func:`create_write` must equal the library's own ``pbs_for_create``
for every value the application stores; ``tests/unit/storage/test_firestore_writes.py`` holds
it to that. Values of other types go through the library's encoder
(:func:`~beamit.storage.firestore_internals.encode_value_pb`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.cloud.firestore_v1.field_path import FieldPath
from google.cloud.firestore_v1.types import common, document, write

from beamit.storage.firestore_internals import encode_value_pb
from beamit.storage.protocols import ArrayUnion, Increment, ServerTimestamp

_Value = document.Value.pb()
_ArrayValue = document.ArrayValue.pb()
_MapValue = document.MapValue.pb()
_Document = document.Document.pb()
_Write = write.Write.pb()
_FieldTransform = write.DocumentTransform.FieldTransform.pb()
_Precondition = common.Precondition.pb()
_REQUEST_TIME = write.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME

_NULL_VALUE = 0  # google.protobuf.NullValue.NULL_VALUE
_TRUE = _Value(boolean_value=True)
_TRANSFORMS = (Increment, ArrayUnion, ServerTimestamp)


def _str_pb(value: str) -> Any:
    return _Value(string_value=value)


def _list_pb(value: list[Any] | tuple[Any, ...]) -> Any:
    return _Value(array_value=_ArrayValue(values=[value_pb(item) for item in value]))


_SET_MAPS: dict[tuple[str, ...], Any] = {}
"""Encoded large set maps by their keys: the QIDO-RS word terms of an instance document are its
study's and series' (hundreds of them), the same for every instance of a series, so a batch of
one series encodes them once (about 195 us for 420 terms) and copies the message for the others
(about 27 us; protobuf copies a message assigned into a map or a list, so the kept one is never
changed)."""
_SET_MAP_MIN_KEYS = 32
_SET_MAPS_KEPT = 64


def _dict_pb(value: Mapping[str, Any]) -> Any:
    if value and all(item is True for item in value.values()):  # a set as a map (QIDO-RS terms): one copy each
        if len(value) < _SET_MAP_MIN_KEYS:
            return _Value(map_value=_MapValue(fields=dict.fromkeys(value, _TRUE)))
        keys = tuple(value)
        found = _SET_MAPS.get(keys)
        if found is None:
            if len(_SET_MAPS) >= _SET_MAPS_KEPT:
                _SET_MAPS.clear()
            found = _SET_MAPS[keys] = _Value(map_value=_MapValue(fields=dict.fromkeys(keys, _TRUE)))
        return found
    return _Value(map_value=_MapValue(fields={key: value_pb(item) for key, item in value.items()}))


_BY_TYPE: dict[type, Any] = {
    str: _str_pb,
    dict: _dict_pb,
    list: _list_pb,
    tuple: _list_pb,
    bool: lambda value: _Value(boolean_value=value),
    int: lambda value: _Value(integer_value=value),
    float: lambda value: _Value(double_value=value),
    type(None): lambda value: _Value(null_value=_NULL_VALUE),
}
"""Encoders of the exact types catalog documents are made of (DICOM JSON, index terms): one
dictionary lookup instead of a chain of ``isinstance`` checks per value."""


def value_pb(value: Any) -> Any:
    """A Firestore ``Value`` protobuf of ``value``."""
    encode = _BY_TYPE.get(type(value))
    if encode is not None:
        return encode(value)
    if value is None:
        return _Value(null_value=_NULL_VALUE)
    if isinstance(value, bool):
        return _Value(boolean_value=value)
    if isinstance(value, int):
        return _Value(integer_value=value)
    if isinstance(value, float):
        return _Value(double_value=value)
    if isinstance(value, str):
        return _Value(string_value=value)
    if isinstance(value, list | tuple):
        return _list_pb(value)
    if isinstance(value, Mapping):
        return _dict_pb(value)
    if isinstance(value, _TRANSFORMS):
        raise ValueError("a field transform inside an array")
    return encode_value_pb(value)  # datetimes, bytes, GeoPoints, ...


def _fields(data: Mapping[str, Any], path: tuple[str, ...], transforms: list[Any]) -> dict[str, Any]:
    """The encoded fields of ``data``; its transform markers appended to ``transforms`` with their paths."""
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, _TRANSFORMS):
            transforms.append(((*path, key), _transform(FieldPath(*path, key).to_api_repr(), value)))
        elif isinstance(value, Mapping) and value and _has_transform(value):
            nested = _fields(value, (*path, key), transforms)
            if nested:
                fields[key] = _Value(map_value=_MapValue(fields=nested))
        else:
            fields[key] = value_pb(value)
    return fields


_PLAIN = frozenset({str, bool, int, float, type(None), list, tuple})
"""Types that are never a transform marker nor hold one at their top level."""


def _has_transform(data: Mapping[str, Any]) -> bool:
    for value in data.values():
        if type(value) in _PLAIN:
            continue
        if isinstance(value, _TRANSFORMS) or (isinstance(value, Mapping) and _has_transform(value)):
            return True
    return False


def _transform(field_path: str, marker: Increment | ArrayUnion | ServerTimestamp) -> Any:
    if isinstance(marker, Increment):
        return _FieldTransform(field_path=field_path, increment=value_pb(marker.amount))
    if isinstance(marker, ArrayUnion):
        return _FieldTransform(
            field_path=field_path, append_missing_elements=_ArrayValue(values=[value_pb(v) for v in marker.values])
        )
    return _FieldTransform(field_path=field_path, set_to_server_value=_REQUEST_TIME)


def create_write(document_name: str, data: Mapping[str, Any]) -> write.Write:
    """The ``Write`` of ``DocumentReference.create(data)`` (fails if the document exists)."""
    transforms: list[Any] = []
    fields = _fields(data, (), transforms)
    raw = _Write(
        update=_Document(name=document_name, fields=fields),
        current_document=_Precondition(exists=False),
        update_transforms=[pb for _, pb in sorted(transforms, key=lambda item: item[0])],  # as the library orders them
    )
    wrapped: write.Write = write.Write.wrap(raw)
    return wrapped


__all__ = ["create_write", "value_pb"]
