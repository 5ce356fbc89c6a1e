"""WADO-RS retrieve transactions (DICOM PS3.18 §10.4): what ingest stored, as asked for.

Each transaction reads the tenant's catalog (:mod:`beamit.catalog`) and buckets through a
:class:`~beamit.retrieve.plan.Retrieval` and returns a
:class:`~beamit.retrieve.plan.RetrievalPlan`: the negotiated representation, its strong
validator, the UIDs it reads (for the audit record) and its body, produced only when the
answer is not ``304``. The wire formats (media types, multipart, rendering, transcoding) are
:mod:`beamit.dicomweb`'s; the HTTP layer is :mod:`beamit.web.dicomweb` and :mod:`beamit.api.wado`.

- :func:`plan_instances`: study, series and instance resources (as stored or transcoded);
- :func:`plan_metadata`: metadata resources, from the precomputed chunks;
- :func:`plan_frames`, :func:`plan_bulkdata`: frames and bulk data by byte ranges;
- :func:`plan_rendered`, :func:`plan_thumbnail`: consumer images of frames.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from beamit.lazy import first_use
from beamit.retrieve.plan import Retrieval, RetrievalPlan

if TYPE_CHECKING:
    from beamit.retrieve.bulkdata import plan_bulkdata
    from beamit.retrieve.frames import plan_frames, plan_rendered
    from beamit.retrieve.instances import plan_instances
    from beamit.retrieve.metadata import plan_metadata
    from beamit.retrieve.thumbnails import plan_thumbnail

_TRANSACTIONS = {
    "plan_bulkdata": "beamit.retrieve.bulkdata",
    "plan_frames": "beamit.retrieve.frames",
    "plan_rendered": "beamit.retrieve.frames",
    "plan_instances": "beamit.retrieve.instances",
    "plan_metadata": "beamit.retrieve.metadata",
    "plan_thumbnail": "beamit.retrieve.thumbnails",
}
"""Each transaction's module, imported on its first use (PEP 562): the pixel pipeline (numpy,
Pillow, pydicom) is not loaded by a function that only searches or reads metadata."""


def __getattr__(name: str) -> Any:
    module = _TRANSACTIONS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with first_use():
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "Retrieval",
    "RetrievalPlan",
    "plan_bulkdata",
    "plan_frames",
    "plan_instances",
    "plan_metadata",
    "plan_rendered",
    "plan_thumbnail",
]
