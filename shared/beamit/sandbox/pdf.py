"""A minimal, valid one-page PDF document (ISO 32000-1) for Encapsulated PDF instances.

Seven objects: catalog, page tree, one page, two standard Type 1 fonts (Helvetica and
Helvetica-Bold, WinAnsiEncoding, so no font is embedded), the content stream and the document
information dictionary; a cross-reference table with exact byte offsets (§7.5.4) and a trailer.
Text is Latin-1 (characters outside it become ``?``).  Nothing depends on the clock, so the
same arguments give the same bytes.  The final end-of-line marker is LF or CR LF, whichever
gives the result an even length, so that the Encapsulated
Document (0042,0011) value needs no padding byte (PS3.5 §7.1.1, PS3.3 §C.24.2.1).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MAX_LINES", "report_pdf"]

MAX_LINES = 48
"""Body lines that fit on the page; more are cut."""


def _text(value: str) -> str:
    """A PDF literal string (§7.3.4.2) of ``value``, restricted to Latin-1."""
    latin = value.encode("latin-1", errors="replace").decode("latin-1")
    return "(" + latin.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def report_pdf(title: str, lines: Sequence[str], *, author: str, created: str) -> bytes:
    """The PDF of a one-page report; ``created`` is a PDF date such as ``D:20190305143000``."""
    info = {"Title": title, "Author": author, "Producer": "BeamIt sandbox", "CreationDate": created}
    content = "\n".join(
        [
            "BT /F2 16 Tf 56 780 Td " + _text(title) + " Tj ET",
            "BT /F1 10 Tf 14 TL 56 750 Td",
            *(_text(line) + " Tj T*" for line in lines[:MAX_LINES]),
            "ET",
        ]
    ).encode("latin-1")
    info_entries = " ".join(f"/{key} {_text(value)}" for key, value in info.items())
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        f"<< {info_entries} >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF" % (len(objects) + 1, xref)
    out += b"\n" if len(out) % 2 else b"\r\n"  # either end-of-line marker (§7.2.3), for an even length
    return bytes(out)
