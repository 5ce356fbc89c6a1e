"""PS3.6 data dictionary lookups for QIDO-RS, without importing pydicom for the common ones.

A search resolves its attribute names on every request; importing pydicom for its dictionary
(it brings numpy and its pixel handlers) was the largest part of the DICOMweb function's cold
start. The attributes BeamIt matches on, returns by default or knows the level of are in
:data:`COMMON` (checked against pydicom's dictionary by ``tests/unit/test_qido_dictionary.py``);
any other keyword or tag is looked up in pydicom's dictionary, imported on that first use.
"""

from __future__ import annotations

from beamit.lazy import first_use

COMMON: dict[str, tuple[int, str]] = {
    "TransferSyntaxUID": (0x00020010, "UI"),
    "SpecificCharacterSet": (0x00080005, "CS"),
    "ImageType": (0x00080008, "CS"),
    "SOPClassUID": (0x00080016, "UI"),
    "SOPInstanceUID": (0x00080018, "UI"),
    "StudyDate": (0x00080020, "DA"),
    "SeriesDate": (0x00080021, "DA"),
    "AcquisitionDate": (0x00080022, "DA"),
    "ContentDate": (0x00080023, "DA"),
    "AcquisitionDateTime": (0x0008002A, "DT"),
    "StudyTime": (0x00080030, "TM"),
    "SeriesTime": (0x00080031, "TM"),
    "AcquisitionTime": (0x00080032, "TM"),
    "ContentTime": (0x00080033, "TM"),
    "AccessionNumber": (0x00080050, "SH"),
    "InstanceAvailability": (0x00080056, "CS"),
    "Modality": (0x00080060, "CS"),
    "ModalitiesInStudy": (0x00080061, "CS"),
    "SOPClassesInStudy": (0x00080062, "UI"),
    "Manufacturer": (0x00080070, "LO"),
    "InstitutionName": (0x00080080, "LO"),
    "ReferringPhysicianName": (0x00080090, "PN"),
    "TimezoneOffsetFromUTC": (0x00080201, "SH"),
    "StationName": (0x00081010, "SH"),
    "StudyDescription": (0x00081030, "LO"),
    "ProcedureCodeSequence": (0x00081032, "SQ"),
    "SeriesDescription": (0x0008103E, "LO"),
    "InstitutionalDepartmentName": (0x00081040, "LO"),
    "PerformingPhysicianName": (0x00081050, "PN"),
    "NameOfPhysiciansReadingStudy": (0x00081060, "PN"),
    "OperatorsName": (0x00081070, "PN"),
    "AdmittingDiagnosesDescription": (0x00081080, "LO"),
    "ManufacturerModelName": (0x00081090, "LO"),
    "ReferencedStudySequence": (0x00081110, "SQ"),
    "RetrieveURL": (0x00081190, "UR"),
    "AvailableTransferSyntaxUID": (0x00083002, "UI"),
    "PatientName": (0x00100010, "PN"),
    "PatientID": (0x00100020, "LO"),
    "IssuerOfPatientID": (0x00100021, "LO"),
    "PatientBirthDate": (0x00100030, "DA"),
    "PatientSex": (0x00100040, "CS"),
    "OtherPatientIDsSequence": (0x00101002, "SQ"),
    "PatientAge": (0x00101010, "AS"),
    "PatientSize": (0x00101020, "DS"),
    "PatientWeight": (0x00101030, "DS"),
    "BodyPartExamined": (0x00180015, "CS"),
    "SliceThickness": (0x00180050, "DS"),
    "ProtocolName": (0x00181030, "LO"),
    "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "StudyID": (0x00200010, "SH"),
    "SeriesNumber": (0x00200011, "IS"),
    "AcquisitionNumber": (0x00200012, "IS"),
    "InstanceNumber": (0x00200013, "IS"),
    "ImagePositionPatient": (0x00200032, "DS"),
    "ImageOrientationPatient": (0x00200037, "DS"),
    "FrameOfReferenceUID": (0x00200052, "UI"),
    "Laterality": (0x00200060, "CS"),
    "SliceLocation": (0x00201041, "DS"),
    "NumberOfStudyRelatedSeries": (0x00201206, "IS"),
    "NumberOfStudyRelatedInstances": (0x00201208, "IS"),
    "NumberOfSeriesRelatedInstances": (0x00201209, "IS"),
    "SamplesPerPixel": (0x00280002, "US"),
    "PhotometricInterpretation": (0x00280004, "CS"),
    "NumberOfFrames": (0x00280008, "IS"),
    "Rows": (0x00280010, "US"),
    "Columns": (0x00280011, "US"),
    "BitsAllocated": (0x00280100, "US"),
    "BitsStored": (0x00280101, "US"),
    "HighBit": (0x00280102, "US"),
    "PixelRepresentation": (0x00280103, "US"),
    "WindowCenter": (0x00281050, "DS"),
    "WindowWidth": (0x00281051, "DS"),
    "ScheduledProcedureStepID": (0x00400009, "SH"),
    "PerformedProcedureStepStartDate": (0x00400244, "DA"),
    "PerformedProcedureStepStartTime": (0x00400245, "TM"),
    "RequestAttributesSequence": (0x00400275, "SQ"),
    "RequestedProcedureID": (0x00401001, "SH"),
}
"""keyword -> (tag, VR) of the attributes of :mod:`beamit.dicomweb.qido.attributes`' tables."""

_BY_TAG: dict[int, tuple[str, str]] = {tag: (keyword, vr) for keyword, (tag, vr) in COMMON.items()}


def tag_for_keyword(keyword: str) -> int | None:
    """The tag of a PS3.6 keyword (case-sensitive), or ``None``."""
    known = COMMON.get(keyword)
    if known is not None:
        return known[0]
    with first_use():
        from pydicom.datadict import tag_for_keyword as lookup

    return lookup(keyword)


def keyword_for_tag(tag: int) -> str:
    """The PS3.6 keyword of ``tag``, ``""`` for a tag the dictionary does not have."""
    return _entry(tag)[0]


def vr_for_tag(tag: int) -> str:
    """The dictionary VR of ``tag`` (``"US or SS"`` when ambiguous), ``""`` when unknown."""
    return _entry(tag)[1]


def _entry(tag: int) -> tuple[str, str]:
    known = _BY_TAG.get(tag)
    if known is not None:
        return known
    with first_use():
        from pydicom.datadict import dictionary_has_tag, get_entry

    if not dictionary_has_tag(tag):
        return "", ""
    vr, _multiplicity, _name, _retired, keyword = get_entry(tag)
    return str(keyword), str(vr)


def all_keywords() -> list[str]:
    """Every keyword of the dictionary (for hints on a misspelt one)."""
    with first_use():
        from pydicom.datadict import keyword_dict

    return [keyword for keyword in keyword_dict if keyword]
