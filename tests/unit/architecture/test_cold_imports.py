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
