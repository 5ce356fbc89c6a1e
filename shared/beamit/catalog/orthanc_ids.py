"""Orthanc's study identifiers, so that integrators moving from Orthanc can name studies by them.

Orthanc identifies a study by the SHA-1 of ``PatientID|StudyInstanceUID`` (its
``DicomInstanceHasher::HashStudy``), written as five groups of eight lowercase hex digits
(``Toolbox::ComputeSHA1``: ``%08x-%08x-%08x-%08x-%08x``). Orthanc reads PatientID without its
trailing padding spaces (leading spaces are kept) and an absent PatientID as empty; so does
:func:`orthanc_study_id` (checked against Orthanc 1.10's own identifiers in the tests).
"""

from __future__ import annotations

import hashlib
import re

ORTHANC_ID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{8}){4}$")


def orthanc_study_id(patient_id: str | None, study_uid: str) -> str:
    """Orthanc's identifier of the study ``study_uid`` of patient ``patient_id``."""
    digest = hashlib.sha1(f"{(patient_id or '').rstrip(' ')}|{study_uid}".encode(), usedforsecurity=False)
    hex_digest = digest.hexdigest()
    return "-".join(hex_digest[i : i + 8] for i in range(0, 40, 8))


def is_orthanc_id(value: str) -> bool:
    """Whether ``value`` has the form of an Orthanc identifier (case-insensitive)."""
    return bool(ORTHANC_ID.match(value.lower()))
