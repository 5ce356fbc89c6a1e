"""Deterministic object names in the buckets, per tenant/study/series/instance."""

from __future__ import annotations


def instance_object(tenant_id: str, study: str, series: str, instance: str) -> str:
    """``{tenant}/{study}/{series}/{sop}.dcm`` in the DICOM bucket: the bytes as received."""
    return f"{tenant_id}/{study}/{series}/{instance}.dcm"


def resource_prefix(tenant_id: str, study: str, series: str | None = None) -> str:
    """Prefix of every object of a study (or one series), in the DICOM and the derived bucket."""
    return f"{tenant_id}/{study}/" if series is None else f"{tenant_id}/{study}/{series}/"


def series_metadata_prefix(tenant_id: str, study: str, series: str | None = None) -> str:
    """Prefix of a study's (or one series') precomputed metadata chunks in the derived bucket."""
    if series is None:
        return f"{tenant_id}/{study}/"
    return f"{tenant_id}/{study}/{series}/metadata/"


def series_metadata_chunk(tenant_id: str, study: str, series: str, chunk_id: str) -> str:
    return f"{series_metadata_prefix(tenant_id, study, series)}{chunk_id}.json"


def compacted_metadata(tenant_id: str, study: str, series: str | None = None) -> str:
    """A study's (or one series') metadata in one object, made by the first read after an ingest:
    ``{tenant}/{study}[/{series}]/compacted-metadata.json`` (not under ``metadata/``, so chunk
    listings never see it)."""
    if series is None:
        return f"{tenant_id}/{study}/compacted-metadata.json"
    return f"{tenant_id}/{study}/{series}/compacted-metadata.json"
