"""docs/security.md names, for each control, the tests that hold it: every one must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`")


def test_every_test_the_security_doc_names_exists():
    text = (ROOT / "docs" / "security.md").read_text("utf-8")
    current: Path | None = None
    named = []
    for match in REFERENCE.finditer(text):
        path, test = match.groups()
        if path:
            current = ROOT / path
            assert current.is_file(), f"docs/security.md names {path}, which does not exist"
        if test:
            assert current is not None, f"::{test} follows no file"
            named.append(test)
            assert re.search(rf"^def {test}\(", current.read_text("utf-8"), re.M), \
                f"docs/security.md names {current.relative_to(ROOT)}::{test}, which does not exist"
    assert len(named) >= 30
