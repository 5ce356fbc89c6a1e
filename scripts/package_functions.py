"""Build the one Cloud Functions source archive: build/functions.zip.

Layout (what the Python 3.11 runtime expects): ``main.py`` (the entry points), the
``beamit`` package beside it, and ``requirements.txt`` with the runtime pins of
``pyproject.toml``. Symlinks (openapi.yaml) are stored as the files they point to.
"""

from __future__ import annotations

import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Local-only tooling is not deployed.
EXCLUDED = ("beamit/devstack/", "beamit/bench/")


def main() -> int:
    out = ROOT / "build" / "functions.zip"
    out.parent.mkdir(exist_ok=True)
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(ROOT / "functions" / "main.py", "main.py")
        archive.writestr("requirements.txt", "\n".join(pins) + "\n")
        package = ROOT / "shared" / "beamit"
        for path in sorted(package.rglob("*")):
            relative = "beamit/" + path.relative_to(package).as_posix()
            if path.is_dir() or "__pycache__" in relative or relative.startswith(EXCLUDED):
                continue
            archive.writestr(relative, path.resolve().read_bytes())
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
