"""A search's cold start loads no pixel or OAuth libraries.

The DICOMweb function's first request is most often a QIDO-RS search or a metadata read; pydicom
(with numpy and its pixel handlers), Pillow and Authlib were 40% of its cold start. They load
with the first store, frame, rendering, deletion or OAuth token instead (docs/architecture.md,
"Cold start"). Checked in a fresh interpreter, as a new function instance starts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pydicom", "numpy", "PIL", "authlib")


def loaded_after(statement: str) -> set[str]:
    probe = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(result.stdout)}


@pytest.mark.parametrize("module", ["beamit.api.dicomweb", "beamit.api.api_keys", "beamit.api.platform"])
def test_importing_a_search_function_loads_no_pixel_or_oauth_library(module):
    assert loaded_after(f"import {module}") & set(HEAVY) == set()


def test_the_heavy_libraries_still_load_where_they_are_used():
    """The same probe sees them when a module that needs them is imported (the check can fail)."""
    assert {"pydicom", "numpy", "PIL"} <= loaded_after("import beamit.retrieve.frames")
    assert "authlib" in loaded_after("import beamit.auth.oauth.tokens")


CONCURRENT_FIRST_USES = """
import sys, threading
import beamit.api.dicomweb, beamit.retrieve
from beamit.dicomweb.qido import dictionary
from beamit.lazy import first_use

def store():  # as api/dicomweb.py's store handler defers it
    with first_use():
        from beamit.ingest.stow import store_instances

def delete():  # as api/deletion.py's handler defers it
    with first_use():
        from beamit.deletion import delete_resource

uses = [store, delete, lambda: dictionary.tag_for_keyword("ReasonForTheRequestedProcedure"),
        *[lambda name=name: getattr(beamit.retrieve, name) for name in (
            "plan_frames", "plan_rendered", "plan_metadata", "plan_thumbnail", "plan_bulkdata", "plan_instances")]]
barrier = threading.Barrier(len(uses))
errors = []

def run(use):
    barrier.wait()
    try:
        use()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")

threads = [threading.Thread(target=run, args=(use,)) for use in uses]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""


def test_first_uses_on_many_threads_at_once_all_get_whole_modules():
    """A new instance's first requests arrive together: each deferred import, taken at once on its
    own thread, gets its module whole. (Without the lock, raw imports of these modules on 10
    threads failed 8 of 10 in each of 6 runs here: pydicom.dataset half-initialised.)"""
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", CONCURRENT_FIRST_USES], capture_output=True, text=True,
                                check=True)
        assert result.stdout.strip() == "[]", result.stdout
