"""Loading synthetic studies into a running BeamIt through STOW-RS (``beamit sandbox seed``).

Uses only the public API, as an integrator would: ``POST /v1/dicomweb/studies`` with
``multipart/related; type="application/dicom"`` bodies, one request per batch of instances.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import requests

from beamit.dicomweb.multipart import PartOut, encode_parts, multipart_content_type, new_boundary
from beamit.sandbox.config import SandboxConfig
from beamit.sandbox.datasets import generate_studies
from beamit.sandbox.writer import part10_bytes

DEV_SEED = 20260115
DEV_STUDIES = 10


@dataclass
class SeedReport:
    studies: int = 0
    instances: int = 0
    bytes: int = 0
    failed_requests: int = 0


# Below the production STOW request limit (32 MiB), leaving room for multipart framing.
MAX_REQUEST_BYTES = 24 << 20


def _batches(seed: int, count: int, config: SandboxConfig, batch: int) -> Iterator[list[bytes]]:
    """Instances grouped by count and by size, so no request exceeds the STOW limit."""
    pending: list[bytes] = []
    size = 0
    for study in generate_studies(seed, count, config):
        for dataset in study.datasets():
            data = part10_bytes(dataset)
            if pending and (len(pending) == batch or size + len(data) > MAX_REQUEST_BYTES):
                yield pending
                pending, size = [], 0
            pending.append(data)
            size += len(data)
    if pending:
        yield pending


def seed_sandbox(
    base_url: str,
    api_key: str,
    *,
    seed: int = DEV_SEED,
    count: int = DEV_STUDIES,
    config: SandboxConfig | None = None,
    batch: int = 20,
) -> SeedReport:
    """Store ``count`` synthetic studies (deterministic from ``seed``) through STOW-RS."""
    report = SeedReport(studies=count)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    for parts in _batches(seed, count, config or SandboxConfig(), batch):
        boundary = new_boundary()
        body = b"".join(encode_parts((PartOut("application/dicom", p) for p in parts), boundary))
        response = session.post(
            f"{base_url}/v1/dicomweb/studies",
            data=body,
            timeout=300,
            headers={"Content-Type": multipart_content_type("application/dicom", boundary)},
        )
        if response.status_code == 200:
            report.instances += len(parts)
            report.bytes += sum(len(p) for p in parts)
        else:
            report.failed_requests += 1
    session.close()
    return report
