"""Strong validators (RFC 9110 §8.8.3) for WADO-RS representations.

A representation is a function of the stored bytes (immutable once stored, identified by
their MD5 in the catalog), the negotiated media type and Transfer Syntax, the request
parameters that shape it, and the code producing it (:data:`REPRESENTATION_VERSION`, raised
whenever an encoder's output may change). The ETag hashes exactly these, so two responses
with one ETag are byte-identical: multipart boundaries are derived from the ETag too,
instead of being random.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

REPRESENTATION_VERSION = "wado-1"


def strong_etag(kind: str, md5s: Iterable[str], *facets: str) -> str:
    """The quoted ETag of a ``kind`` of representation of the instances with ``md5s``."""
    digest = hashlib.sha256()
    for part in (REPRESENTATION_VERSION, kind, *facets):
        digest.update(part.encode("utf-8") + b"\x00")
    for md5 in md5s:
        digest.update(md5.encode("ascii") + b"\x01")
    return f'"{digest.hexdigest()[:40]}"'


def boundary_for(etag: str) -> str:
    """A multipart boundary (RFC 2046 bchars) fixed by the representation's ETag."""
    return "beamit-" + hashlib.sha256(etag.encode("ascii")).hexdigest()[:32]
