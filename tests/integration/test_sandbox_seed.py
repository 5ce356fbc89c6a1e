"""``beamit sandbox seed``: synthetic studies arrive through STOW-RS, every modality, exactly."""

from __future__ import annotations

import subprocess
import sys

from beamit.catalog import fields as catalog
from beamit.sandbox import SandboxConfig, generate_studies
from beamit.sandbox.load import seed_sandbox
from beamit.storage import Query

SMALL = SandboxConfig(scale=0.125, ct_slices=4, mr_slices=3, us_frames=3, projection_shape=(256, 200))


def test_seed_stores_every_generated_instance(stack, svc, tenant):
    report = seed_sandbox(stack.url, tenant.key, seed=11, count=6, config=SMALL)
    studies = list(generate_studies(11, 6, SMALL))
    expected = sum(s.instance_count for s in studies)
    assert report.failed_requests == 0 and report.instances == expected
    assert svc.metadata.count(Query(collection=tenant.scope.collection("instances"))) == expected
    modalities = set()
    for study in studies:
        record = svc.metadata.get(catalog.study_path(tenant.scope, study.study_uid))
        assert record["instanceCount"] == study.instance_count
        modalities |= set(record["modalities"])
    assert {"CT", "MR", "US", "CR", "DX"} <= modalities


def test_seed_command_line(stack, tenant):
    result = subprocess.run(
        [sys.executable, "-m", "beamit.cli", "sandbox", "seed", "--url", stack.url, "--key", tenant.key,
         "--count", "1", "--scale", "0.125"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert '"failed_requests": 0' in result.stdout
