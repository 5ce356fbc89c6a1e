"""The deployed source archive (``make package``) carries bytecode a new instance uses as it is,
and a source that differs from its bytecode still wins."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("package_functions", ROOT / "scripts" / "package_functions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_archive(out)
    extracted = out.parent / "workspace"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(extracted)
    return extracted


def run(workspace: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(workspace), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-v", "-c", code], cwd=workspace, env=env, capture_output=True,
                          text=True, check=True)


def test_every_module_imported_by_a_search_function_loads_from_the_archives_bytecode(tmp_path):
    workspace = build(tmp_path / "functions.zip")
    result = run(workspace, "import json, main, beamit.api.dicomweb, sys; "
                            "print(json.dumps([m for m in sys.modules if m == 'main' or m.startswith('beamit')]))")
    imported = json.loads(result.stdout)
    from_bytecode = {line.split("'")[1] for line in result.stderr.splitlines() if line.startswith("# code object from")}
    assert len(imported) > 50
    for name in imported:
        relative = name.replace(".", "/")
        source = workspace / (f"{relative}/__init__.py" if (workspace / relative).is_dir() else f"{relative}.py")
        assert importlib.util.cache_from_source(str(source)) in from_bytecode, name


def test_a_source_that_differs_from_its_bytecode_is_compiled_instead(tmp_path):
    workspace = build(tmp_path / "functions.zip")
    ids = workspace / "beamit" / "ids.py"
    ids.write_text(ids.read_text() + "\nMARK = 'edited after packaging'\n")
    result = run(workspace, "import beamit.ids; print(beamit.ids.MARK)")
    assert result.stdout.strip() == "edited after packaging"
