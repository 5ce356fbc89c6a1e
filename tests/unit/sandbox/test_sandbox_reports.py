"""The report of each study as a Basic Text SR and an Encapsulated PDF."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.uid import BasicTextSRStorage, EncapsulatedPDFStorage

from beamit.sandbox import Kind, SandboxConfig, generate_study
from tests.unit.sandbox.checks import roundtrip

CONFIG = SandboxConfig(scale=0.0625, ct_slices=1, mr_slices=1, us_frames=1, projection_shape=(128, 128))


def reports(index: int, config: SandboxConfig = CONFIG) -> dict[str, Dataset]:
    datasets = generate_study(5, index, config).datasets()
    return {ds.Modality: roundtrip(ds) for ds in datasets if ds.Modality in ("SR", "DOC")}


def test_basic_text_sr_content_tree() -> None:
    sr = reports(0)["SR"]
    assert sr.SOPClassUID == BasicTextSRStorage and sr.SeriesNumber == 900
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.ValueType) == ("COMPLETE", "VERIFIED", "CONTAINER")
    assert sr.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    assert sr.ConceptNameCodeSequence[0].CodingSchemeDesignator == "LN"
    assert "ReferencedPerformedProcedureStepSequence" in sr
    assert len(sr.VerifyingObserverSequence) == 1 and sr.VerificationFlag == "VERIFIED"
    items = sr.ContentSequence
    assert [item.ValueType for item in items] == ["CODE", "PNAME", "CONTAINER", "CONTAINER", "CONTAINER"]
    assert [item.ConceptNameCodeSequence[0].CodeValue for item in items[2:]] == ["121064", "121070", "121072"]
    findings = items[3].ContentSequence[0]
    assert findings.RelationshipType == "CONTAINS" and findings.ValueType == "TEXT"
    assert findings.TextValue.startswith("SYNTHETIC REPORT - NOT FOR CLINICAL USE.")
    assert items[2].ContentSequence[0].TextValue == sr.StudyDescription


def test_encapsulated_pdf() -> None:
    doc = reports(1)["DOC"]
    assert doc.SOPClassUID == EncapsulatedPDFStorage and doc.SeriesNumber == 901
    assert doc.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert (doc.ConversionType, doc.BurnedInAnnotation) == ("WSD", "YES")
    document = doc.EncapsulatedDocument
    assert document.startswith(b"%PDF-1.4") and len(document) == doc.EncapsulatedDocumentLength
    assert doc.PatientID.encode() in document


def test_report_only_studies() -> None:
    config = SandboxConfig(kinds=(Kind.SR, Kind.PDF))
    study = generate_study(5, 0, config)
    assert study.plan.attributes["StudyDescription"] == "RADIOLOGY CONSULTATION"
    assert study.plan.modalities == ["DOC", "SR"] and study.instance_count == 2


def test_without_report_kinds_no_report_series() -> None:
    study = generate_study(5, 0, SandboxConfig(kinds=(Kind.CT,), ct_slices=2))
    assert study.plan.modalities == ["CT"]
