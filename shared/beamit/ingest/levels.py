"""What ingest keeps of an instance, per level of the DICOM information model.

Study documents hold the Patient and General Study modules' attributes, series
documents the General Series ones, instance documents the SOP Common / Image Pixel
summary QIDO-RS returns (PS3.18 §10.6.3.3, Tables 10.6.3-3..-5), each as DICOM JSON
(PS3.18 Annex F) keyed by tag. The full per-instance metadata with BulkDataURIs goes to
the derived bucket (see :mod:`beamit.ingest.series_metadata`).
"""

from __future__ import annotations

from typing import Any

from pydicom.datadict import tag_for_keyword

STUDY_KEYWORDS = (
    "SpecificCharacterSet",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "IssuerOfAccessionNumberSequence",
    "ReferringPhysicianName",
    "TimezoneOffsetFromUTC",
    "StudyDescription",
    "ProcedureCodeSequence",
    "NameOfPhysiciansReadingStudy",
    "AdmittingDiagnosesDescription",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientSex",
    "OtherPatientIDsSequence",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "EthnicGroup",
    "StudyInstanceUID",
    "StudyID",
    "InstitutionName",
    "RequestingPhysician",
)
SERIES_KEYWORDS = (
    "SpecificCharacterSet",
    "Modality",
    "SeriesDescription",
    "SeriesNumber",
    "SeriesInstanceUID",
    "SeriesDate",
    "SeriesTime",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "RequestAttributesSequence",
    "BodyPartExamined",
    "Laterality",
    "Manufacturer",
    "ManufacturerModelName",
    "StationName",
    "InstitutionName",
    "ProtocolName",
    "OperatorsName",
    "PerformingPhysicianName",
    "FrameOfReferenceUID",
    "TimezoneOffsetFromUTC",
)
INSTANCE_KEYWORDS = (
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "NumberOfFrames",
    "ImageType",
    "AcquisitionNumber",
    "ContentDate",
    "ContentTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "SliceLocation",
    "SliceThickness",
    "PixelSpacing",
    "WindowCenter",
    "WindowWidth",
    "RescaleIntercept",
    "RescaleSlope",
    "ContentLabel",
    "ContentDescription",
    "PresentationCreationDate",
    "ConceptNameCodeSequence",
    "CompletionFlag",
    "VerificationFlag",
    "DocumentTitle",
    "MIMETypeOfEncapsulatedDocument",
    "TimezoneOffsetFromUTC",
    "FrameTime",
    "LossyImageCompression",
)

LEVEL_TAGS = {
    level: tuple(t for t in (tag_for_keyword(k) for k in keywords) if t is not None)
    for level, keywords in (("study", STUDY_KEYWORDS), ("series", SERIES_KEYWORDS), ("instance", INSTANCE_KEYWORDS))
}

_LEVEL_KEYS = {level: tuple(f"{tag:08X}" for tag in tags) for level, tags in LEVEL_TAGS.items()}


def level_json(metadata: dict[str, Any], level: str) -> dict[str, Any]:
    """The DICOM JSON of the attributes at ``level`` (absent attributes are left out), taken from
    the instance's whole DICOM JSON (its metadata): the values are converted once per instance.
    Values are small by construction: none of these attributes is bulk data."""
    return {key: metadata[key] for key in _LEVEL_KEYS[level] if key in metadata}
