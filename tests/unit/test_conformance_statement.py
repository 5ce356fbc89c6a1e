"""docs/conformance.md (the DICOM conformance statement) is true of the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from beamit.audit import event_codes
from beamit.auth.roles import ROLE_SCOPES
from beamit.auth.scopes import ALL_SCOPES
from beamit.dicomweb.part10 import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from beamit.dicomweb.wado.transcode import can_decode

TEXT = (Path(__file__).resolve().parents[2] / "docs" / "conformance.md").read_text("utf-8")


def _transfer_syntax_rows() -> list[list[str]]:
    section = TEXT.split("## 7. Transfer syntaxes", 1)[1].split("\n## ", 1)[0]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines()
            if line.startswith("| ") and re.search(r"\| 1\.2\.840\.10008\.1\.2[.0-9]* \|", line)]
    assert len(rows) >= 18
    return rows


def test_it_is_version_1_0_not_a_draft():
    assert "**Version 1.0**" in TEXT and "draft" not in TEXT.lower()


def test_the_default_transfer_syntax_column_is_what_can_be_decoded():
    for name, uid, stored, as_stored, default, _ in _transfer_syntax_rows():
        assert (stored, as_stored) == ("yes", "yes"), name
        assert default.startswith("yes") == can_decode(uid), (name, uid)


def test_scopes_roles_event_codes_and_the_added_file_meta_are_as_stated():
    security = TEXT.split("## 9. Security", 1)[1]
    for scope in ("studies:read", "studies:write", "studies:delete"):
        assert f"`{scope}`" in security and scope in ALL_SCOPES
    assert [r for r, scopes in ROLE_SCOPES.items() if "studies:delete" in scopes] == ["admin"]
    for code in (event_codes.INSTANCES_ACCESSED, event_codes.INSTANCES_TRANSFERRED, event_codes.STUDY_DELETED,
                 event_codes.IMPORT, event_codes.QUERY, event_codes.USER_AUTHENTICATION):
        assert code in security
    assert IMPLEMENTATION_CLASS_UID in TEXT and IMPLEMENTATION_VERSION_NAME in TEXT
