"""Build the one Cloud Functions source archive: build/functions.zip.

Layout (what the Python 3.11 runtime expects): ``main.py`` (the entry points), the
``beamit`` package beside it, and ``requirements.txt`` with the runtime pins of
``pyproject.toml``. Symlinks (openapi.yaml) are stored as the files they point to. Every module
also has its bytecode in ``__pycache__`` (:func:`beamit.deployment.bytecode`), so a new function
instance does not compile BeamIt before its first answer.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
import zipfile
from pathlib import Path

from beamit.deployment import bytecode

ROOT = Path(__file__).resolve().parents[1]
# Local-only tooling is not deployed.
EXCLUDED = ("beamit/devstack/", "beamit/bench/")


RUNTIME_CACHE_TAG = "cpython-311"  # the functions' runtime, python311 in platform.json


def write_archive(out: Path) -> None:
    if sys.implementation.cache_tag != RUNTIME_CACHE_TAG:
        raise SystemExit(f"package with Python 3.11 (the runtime's bytecode), not {sys.version.split()[0]}")
    out.parent.mkdir(parents=True, exist_ok=True)
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]

    def add(relative: str, data: bytes) -> None:
        archive.writestr(relative, data)
        if relative.endswith(".py"):
            archive.writestr(importlib.util.cache_from_source(relative), bytecode(data, relative))

    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        add("main.py", (ROOT / "functions" / "main.py").read_bytes())
        archive.writestr("requirements.txt", "\n".join(pins) + "\n")
        package = ROOT / "shared" / "beamit"
        for path in sorted(package.rglob("*")):
            relative = "beamit/" + path.relative_to(package).as_posix()
            if path.is_dir() or "__pycache__" in relative or relative.startswith(EXCLUDED):
                continue
            add(relative, path.resolve().read_bytes())


def main() -> int:
    out = ROOT / "build" / "functions.zip"
    write_archive(out)
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
