"""Deleting stored studies, series and instances (``DELETE /v1/dicomweb/studies/...``).

:func:`~beamit.deletion.studies.delete_resource` is the one operation: see its module.
"""

from beamit.deletion.studies import DeletionResult, delete_resource

__all__ = ["DeletionResult", "delete_resource"]
