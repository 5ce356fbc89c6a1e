"""The reliability suite: faults injected into the local stack, the invariants scanned after each.

Tests marked ``reliability_full`` (minutes each: redeliveries, retry schedules, the 2-minute load)
run only under ``make reliability`` (``BEAMIT_RELIABILITY_FULL=1``); the others are the bounded
subset ``make test`` runs. With ``BEAMIT_RELIABILITY_REPORT=<path>`` the run writes its report
(docs/reliability.md) there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.faults import FaultResult
from tests.reliability.report import LoadFigures, write_report

FULL = os.environ.get("BEAMIT_RELIABILITY_FULL") == "1"
_results: list[FaultResult] = []
_load: list[LoadFigures] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FULL:
        return
    deselected = [item for item in items if item.get_closest_marker("reliability_full")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("reliability_full")]


@pytest.fixture(scope="session")
def failpoint_dir(stack) -> Path:
    return Path(stack.env["BEAMIT_FAILPOINT_DIR"])


@pytest.fixture
def record():
    """Add a fault's row to the report."""
    return _results.append


@pytest.fixture
def record_load():
    return _load.append


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("BEAMIT_RELIABILITY_REPORT")
    if target and _results:
        write_report(Path(target), _results, _load, full=FULL, passed=exitstatus == 0)
