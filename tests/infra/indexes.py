"""Firestore composite indexes declared in ``terraform/firestore_indexes.tf``.

Production Firestore refuses a query whose composite index is missing; the emulator the
tests run on does not. Tests compare the query shapes the code issues, as computed by
``beamit.storage.firestore.index_shape(query)`` -> ``(collection_id, ((field, mode), ...))``,
with what Terraform declares::

    from beamit.storage.firestore import index_shape
    from tests.infra.indexes import uncovered

    assert uncovered([index_shape(q) for q in queries_the_code_makes]) == []

Modes are ``"ASCENDING"``, ``"DESCENDING"`` or ``"CONTAINS"`` (array-contains). A
collection-group query's shape names its collection ``**/<id>`` (``COLLECTION_GROUP``), and
only an entry with ``scope = "COLLECTION_GROUP"`` covers it. Firestore
appends ``__name__`` to every composite index itself, so a trailing ``__name__`` is ignored
on both sides. A query on at most one field needs no composite index (Firestore keeps a
single-field index of every field).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import hcl2

from beamit.storage.firestore import COLLECTION_GROUP
from tests.infra.terraform_model import HCL_OPTIONS, TERRAFORM_DIR

INDEX_FILE = "firestore_indexes.tf"
MODES = ("ASCENDING", "DESCENDING", "CONTAINS")

Field = tuple[str, str]
Shape = tuple[str, tuple[Field, ...]]


def _normalize(fields: Iterable[Field]) -> tuple[Field, ...]:
    result = [(str(path), str(mode)) for path, mode in fields]
    while result and result[-1][0] == "__name__":
        result.pop()
    return tuple(result)


def _literal_fields(body: dict[str, Any]) -> tuple[Field, ...] | None:
    """Fields of a hand-written google_firestore_index (None if they are not literal)."""
    fields: list[Field] = []
    for item in body.get("fields", []):
        path = item.get("field_path")
        mode = "CONTAINS" if item.get("array_config") == "CONTAINS" else item.get("order")
        if not isinstance(path, str) or path.startswith("${") or mode not in MODES:
            return None
        fields.append((path, str(mode)))
    return tuple(fields)


def parse_index_file(path: Path) -> tuple[set[Shape], list[str]]:
    """(declared shapes, problems) of one firestore_indexes.tf."""
    doc = hcl2.loads(path.read_text("utf-8"), serialization_options=HCL_OPTIONS)
    shapes: set[Shape] = set()
    problems: list[str] = []
    for locals_block in doc.get("locals", []):
        for key, spec in (locals_block.get("firestore_indexes") or {}).items():
            collection = spec.get("collection")
            raw_fields = spec.get("fields") or []
            if not isinstance(collection, str) or not collection or "/" in collection:
                problems.append(f"index {key}: collection must be a collection id")
                continue
            fields: list[Field] = []
            for item in raw_fields:
                if not (isinstance(item, list) and len(item) == 2 and item[1] in MODES):
                    problems.append(f"index {key}: each field is [field_path, {'|'.join(MODES)}]")
                    break
                fields.append((str(item[0]), str(item[1])))
            else:
                normalized = _normalize(fields)
                if len(normalized) < 2:
                    problems.append(f"index {key}: a composite index has at least two fields")
                scope = spec.get("scope", "COLLECTION")
                if scope not in ("COLLECTION", "COLLECTION_GROUP"):
                    problems.append(f"index {key}: scope must be COLLECTION or COLLECTION_GROUP")
                shapes.add((COLLECTION_GROUP + collection if scope == "COLLECTION_GROUP" else collection, normalized))
    for resource_block in doc.get("resource", []):
        for name, body in resource_block.get("google_firestore_index", {}).items():
            if str(body.get("for_each", "")) == "${local.firestore_indexes}":
                continue
            fields_literal = _literal_fields(body)
            collection = body.get("collection")
            if fields_literal is None or not isinstance(collection, str) or collection.startswith("${"):
                problems.append(f"google_firestore_index.{name}: write it as literal values")
                continue
            if body.get("query_scope") == "COLLECTION_GROUP":
                collection = COLLECTION_GROUP + collection
            shapes.add((collection, _normalize(fields_literal)))
    return shapes, problems


def declared_indexes(terraform_dir: Path = TERRAFORM_DIR) -> set[Shape]:
    """Every composite index of ``firestore_indexes.tf``: ``{(collection_id, ((field, mode), ...))}``."""
    shapes, problems = parse_index_file(terraform_dir / INDEX_FILE)
    if problems:
        raise ValueError("; ".join(problems))
    return shapes


def needs_composite_index(shape: Shape) -> bool:
    """A query over two or more fields (after dropping a trailing ``__name__``)."""
    return len(_normalize(shape[1])) >= 2


def is_covered(shape: Shape, declared: set[Shape] | None = None) -> bool:
    """Whether production Firestore can serve a query of this shape with the declared indexes."""
    if not needs_composite_index(shape):
        return True
    declared = declared_indexes() if declared is None else declared
    return (shape[0], _normalize(shape[1])) in declared


def uncovered(shapes: Iterable[Shape], declared: set[Shape] | None = None) -> list[Shape]:
    """The shapes no declared index serves, in order, without duplicates."""
    declared = declared_indexes() if declared is None else declared
    missing: list[Shape] = []
    for shape in shapes:
        if not is_covered(shape, declared) and shape not in missing:
            missing.append(shape)
    return missing
