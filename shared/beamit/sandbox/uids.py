"""Deterministic UIDs for synthetic instances (PS3.5 §9 and Annex B.2).

Every UID is a *UUID-derived UID*: the root ``2.25`` followed by the decimal integer value of
a UUID (PS3.5 §B.2, ITU-T X.667 | ISO/IEC 9834-8).  The UUID is a name-based, version 5 UUID
(RFC 9562 §5.5) of a name built from the generator seed and the position of the object in the
study tree (``"<seed>/<study index>/series/3"``), in a namespace UUID fixed for BeamIt's
sandbox.  The same seed and position give the same UID on every machine and run, different
ones give different UIDs (barring a SHA-1 collision), and no global random state is used.

A UID is at most 44 characters (``2.25.`` and 39 digits), well under the 64 of PS3.5 §9.1,
and its components have no leading zeros.
"""

from __future__ import annotations

import hashlib
import uuid

__all__ = [
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "SANDBOX_NAMESPACE",
    "UUID_ROOT",
    "derived_uid",
]

UUID_ROOT = "2.25."
"""The root of UUID-derived UIDs (PS3.5 §B.2)."""

SANDBOX_NAMESPACE = uuid.UUID("87d4b547-7035-4e21-9b1e-ad95b590f522")
"""Namespace of the version 5 UUIDs behind every sandbox UID; never change it."""


_NAMESPACE_BYTES = SANDBOX_NAMESPACE.bytes
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_5 = (0x5000 << 64) | (0x8000 << 48)  # version 5, RFC 4122 variant


def derived_uid(*parts: object) -> str:
    """The UID named by ``parts`` (joined with ``/``), e.g. ``derived_uid(7, 12, "study")``.

    Equal to ``"2.25." + str(uuid.uuid5(SANDBOX_NAMESPACE, name).int)``, computed without the
    :class:`uuid.UUID` object (the generator makes one per instance).
    """
    name = "/".join([str(part) for part in parts])
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()
    return f"{UUID_ROOT}{(int.from_bytes(digest[:16], 'big') & _VERSION_MASK) | _VERSION_5}"


IMPLEMENTATION_CLASS_UID = derived_uid("implementation-class", "beamit-sandbox", 1)
"""Implementation Class UID (0002,0012) of the files the sandbox writes (PS3.7 §D.3.3.2)."""

IMPLEMENTATION_VERSION_NAME = "BEAMIT_SBX_1"
"""Implementation Version Name (0002,0013): SH, at most 16 characters."""
