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
from google.cloud.firestore_v1.types import document, write

from beamit.storage.firestore_internals import encode_value_pb
from beamit.storage.protocols import ArrayUnion, Increment, ServerTimestamp

_Value = document.Value.pb()
_ArrayValue = document.ArrayValue.pb()
_MapValue = document.MapValue.pb()
_Write = write.Write.pb()
_FieldTransform = write.DocumentTransform.FieldTransform.pb()
_REQUEST_TIME = write.DocumentTransform.FieldTransform.ServerValue.REQUEST_TIME

_NULL_VALUE = 0  # google.protobuf.NullValue.NULL_VALUE
_TRUE = _Value(boolean_value=True)
_TRANSFORMS = (Increment, ArrayUnion, ServerTimestamp)


_SET_MAPS: dict[tuple[str, ...], Any] = {}
"""Encoded large set maps by their keys: the QIDO-RS word terms of an instance document are its
study's and series' (hundreds of them), the same for every instance of a series, so a batch of
one series encodes them once and copies the message into the others (about 30 us for 420 terms;
the kept message is copied, never changed)."""
_SET_MAP_MIN_KEYS = 32
_SET_MAPS_KEPT = 64


def _set_map(keys: tuple[str, ...]) -> Any:
    found = _SET_MAPS.get(keys)
    if found is None:
        if len(_SET_MAPS) >= _SET_MAPS_KEPT:
            _SET_MAPS.clear()
        found = _SET_MAPS[keys] = _MapValue(fields=dict.fromkeys(keys, _TRUE))
    return found


def _is_set(value: Mapping[str, Any]) -> bool:
    """A set as a map (QIDO-RS terms): every value ``True``."""
    return all(item is True for item in value.values())


def _put(target: Any, value: Any) -> None:
    """Encode ``value`` into the ``Value`` message ``target``, in place.

    Building a document from the leaves up (``Value(map_value=MapValue(fields=...))``) copies
    every nested message into its parent at each level: a catalog instance document's values
    were copied five or six times each (415 us per instance for 25 DICOM elements and 445
    terms). Written in place into the final ``Write``, each is set once (about 100 us)."""
    kind = type(value)
    if kind is str:
        target.string_value = value
    elif kind is dict:
        mapped = target.map_value
        if not value:
            mapped.SetInParent()
        elif len(value) >= _SET_MAP_MIN_KEYS and _is_set(value):
            mapped.CopyFrom(_set_map(tuple(value)))
        else:
            fields = mapped.fields
            for key, item in value.items():
                _put(fields[key], item)
    elif kind is list or kind is tuple:
        array = target.array_value
        if not value:
            array.SetInParent()
        else:
            values = array.values
            for item in value:
                _put(values.add(), item)
    elif kind is bool:
        target.boolean_value = value
    elif kind is int:
        target.integer_value = value
    elif kind is float:
        target.double_value = value
    elif value is None:
        target.null_value = _NULL_VALUE
    elif isinstance(value, _TRANSFORMS):
        raise ValueError("a field transform inside an array")
    elif isinstance(value, bool):  # subclasses of the plain types (enums, ...): as the library encodes them
        target.boolean_value = value
    elif isinstance(value, int):
        target.integer_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, Mapping):
        _put(target, dict(value))
    elif isinstance(value, list | tuple):
        _put(target, list(value))
    else:
        target.CopyFrom(encode_value_pb(value))  # datetimes, bytes, GeoPoints, subclasses of the above, ...


def value_pb(value: Any) -> Any:
    """A Firestore ``Value`` protobuf of ``value``."""
    encoded = _Value()
    _put(encoded, value)
    return encoded


def _put_fields(fields: Any, data: Mapping[str, Any], path: tuple[str, ...], transforms: list[Any]) -> None:
    """Encode ``data`` into the map ``fields``; its transform markers appended to ``transforms``
    with their paths (a map holding only markers is left out, as the library leaves it)."""
    for key, value in data.items():
        if isinstance(value, _TRANSFORMS):
            transforms.append(((*path, key), _transform(FieldPath(*path, key).to_api_repr(), value)))
        elif isinstance(value, Mapping) and value and _has_transform(value):
            nested = _MapValue()
            _put_fields(nested.fields, value, (*path, key), transforms)
            if nested.fields:
                fields[key].map_value.CopyFrom(nested)
        else:
            _put(fields[key], value)


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


def encode_create(target: Any, document_name: str, data: Mapping[str, Any]) -> None:
    """Make the raw ``Write`` message ``target`` (new, or a request's ``writes.add()``) the write
    of ``DocumentReference.create(data)``, encoding in place: a commit request built this way
    holds each value once (proto-plus copied every ``Write`` into its ``CommitRequest`` again)."""
    target.update.name = document_name
    transforms: list[Any] = []
    _put_fields(target.update.fields, data, (), transforms)
    target.current_document.exists = False
    target.update_transforms.extend(pb for _, pb in sorted(transforms, key=lambda item: item[0]))  # the library's order


def create_write(document_name: str, data: Mapping[str, Any]) -> write.Write:
    """The ``Write`` of ``DocumentReference.create(data)`` (fails if the document exists)."""
    raw = _Write()
    encode_create(raw, document_name, data)
    wrapped: write.Write = write.Write.wrap(raw)
    return wrapped


__all__ = ["create_write", "encode_create", "value_pb"]
