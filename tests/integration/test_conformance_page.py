"""GET /v1/conformance: the DICOM conformance statement as a page, as a browser gets it."""

from __future__ import annotations

from pathlib import Path


def test_the_statement_is_served_as_a_locked_down_html_page(api):
    response = api.get("/v1/conformance")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none';") and "unsafe" not in csp and "script-src" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.text
    assert "<h1>BeamIt DICOM Conformance Statement</h1>" in page and "<strong>Version 1.0</strong>" in page
    for heading in ("STOW-RS", "WADO-RS", "Deletion", "QIDO-RS", "SOP classes", "Transfer syntaxes",
                    "Character sets", "Security"):
        assert heading in page, heading
    assert "<script" not in page and page.count("<table>") >= 9


def test_the_readme_links_the_served_statement():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    assert "/v1/conformance" in readme
