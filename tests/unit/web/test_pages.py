"""Markdown documents as HTML pages (beamit.web.pages): escaped HTML, safe links, a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import re

from beamit.web.pages import STYLE, markdown_page


def test_raw_html_and_script_links_are_not_passed_through():
    page = markdown_page("T <x>", "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) "
                                  "[y](https://example.org/a)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert "<script>" not in page.html and "&lt;script&gt;" in page.html
    assert 'href="javascript:' not in page.html and 'href="https://example.org/a"' in page.html
    assert "<table>" in page.html and "<title>T &lt;x&gt;</title>" in page.html


def test_the_policy_allows_only_the_page_style():
    policy = dict(part.strip().split(" ", 1) for part in markdown_page("t", "x").content_security_policy.split(";"))
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert policy["default-src"] == "'none'" and policy["style-src"] == f"'sha256-{digest}'"
    assert policy["frame-ancestors"] == "'none'" and "script-src" not in policy
    assert not re.search(r"unsafe", markdown_page("t", "x").content_security_policy)
