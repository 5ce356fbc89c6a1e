"""Documents of the repository served as HTML pages (the DICOM conformance statement).

Markdown is rendered by markdown-it-py with the CommonMark rules plus tables, raw HTML
*disabled* (it is escaped, never passed through) and its default link check (no ``javascript:``
or ``data:`` links). The page has no script; its one inline style is allowed by its hash in a
Content Security Policy that allows nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass

from markdown_it import MarkdownIt

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}"
    "table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #c8ccd1;padding:.3rem .5rem;"
    "vertical-align:top;text-align:left}th{background:#f3f4f6}code{font-size:.9em;background:#f3f4f6;padding:0 .2em}"
    "pre{background:#f3f4f6;padding:.75rem;overflow:auto}h1,h2{border-bottom:1px solid #e5e7eb}"
)


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


def markdown_page(title: str, text: str) -> Page:
    """``text`` (Markdown) as a standalone HTML page titled ``title``."""
    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    body = renderer.render(text)
    style_hash = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
    csp = (f"default-src 'none'; style-src 'sha256-{style_hash}'; img-src 'none'; base-uri 'none'; "
           "form-action 'none'; frame-ancestors 'none'")
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n"
    )
    return Page(page, csp)
