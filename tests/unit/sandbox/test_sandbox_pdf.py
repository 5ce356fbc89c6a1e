"""The minimal PDF: exact cross-reference offsets, even length, deterministic."""

from __future__ import annotations

import re

import pytest

from beamit.sandbox.pdf import report_pdf

LINES = ("Patient ID: SYN-1-000001", "No finding.")


def make(title: str = "Radiology Report", lines: tuple[str, ...] = LINES) -> bytes:
    return report_pdf(title, list(lines), author="BeamIt sandbox", created="D:20200102030405")


@pytest.mark.parametrize("lines", [(), ("a",), ("ab",), ("x" * 80,) * 3, tuple(f"line {i}" for i in range(60))])
def test_structure_and_offsets(lines: tuple[str, ...]) -> None:
    document = make(lines=lines)
    assert document.startswith(b"%PDF-1.4\n") and len(document) % 2 == 0
    assert document.endswith((b"%%EOF\n", b"%%EOF\r\n"))
    startxref = int(re.findall(rb"startxref\n(\d+)\n", document)[0])
    assert document[startxref:].startswith(b"xref\n0 8\n")
    entries = re.findall(rb"(\d{10}) 00000 n \n", document[startxref:])
    assert len(entries) == 7
    for number, offset in enumerate(entries, start=1):
        assert document[int(offset) :].startswith(b"%d 0 obj\n" % number)
    length = int(re.findall(rb"/Length (\d+) >>\nstream\n", document)[0])
    start = document.index(b"stream\n") + len(b"stream\n")
    assert document[start + length : start + length + len(b"\nendstream")] == b"\nendstream"


def test_text_is_escaped_and_latin1() -> None:
    document = make(title="Report (draft) \\ 1", lines=("Ωmega café",))
    assert b"(Report \\(draft\\) \\\\ 1)" in document
    assert "(?mega café)".encode("latin-1") in document


def test_deterministic() -> None:
    assert make() == make()
    assert make() != make(lines=("Other",))
