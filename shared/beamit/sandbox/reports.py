"""The report of a study, as a Basic Text SR and as an Encapsulated PDF.

* Basic Text SR (PS3.3 §A.35.1): SR Document Series (§C.17.1), SR Document General
  (§C.17.2, verified and complete) and SR Document Content (§C.17.3) modules.  The content
  tree follows the shape of TID 2000 "Basic Diagnostic Imaging Report" (PS3.16): a root
  CONTAINER (18748-4, LN, "Diagnostic Imaging Report") with the language, the observer's
  name and CONTAINERs for the procedure, the findings and the impressions, each holding a
  TEXT item.
* Encapsulated PDF (PS3.3 §A.45.1): Encapsulated Document Series (§C.24.1), SC Equipment
  (§C.8.6.1) and Encapsulated Document (§C.24.2) modules around :func:`report_pdf`.

Report texts are made up from short lists of stock phrases and say so.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from pydicom.uid import BasicTextSRStorage, EncapsulatedPDFStorage

from beamit.sandbox.config import Kind
from beamit.sandbox.pdf import report_pdf
from beamit.sandbox.plan import Attributes, BulkData, SeriesPlan, StudyContext, Value

__all__ = ["REPORT_SERIES_NUMBERS", "ReportText", "plan_pdf", "plan_sr", "report_text"]

REPORT_SERIES_NUMBERS = {Kind.SR: 900, Kind.PDF: 901}
_DISCLAIMER = "SYNTHETIC REPORT - NOT FOR CLINICAL USE."
_FINDINGS: dict[Kind | None, list[str]] = {
    Kind.CT: ["The lungs are clear.", "No pleural or pericardial effusion.", "No lymphadenopathy.",
              "Liver, spleen, pancreas and kidneys are unremarkable.", "No free fluid or free air.",
              "4 mm nodule in the right lower lobe.", "Mild degenerative change of the spine."],
    Kind.MR: ["No restricted diffusion.", "Ventricles and sulci are normal for age.", "No mass effect.",
              "A few nonspecific white matter foci.", "Normal flow voids.", "No abnormal enhancement."],
    Kind.US: ["Normal size and echotexture.", "No focal lesion.", "No free fluid.",
              "Normal chamber sizes and wall motion.", "Estimated ejection fraction 60 percent."],
    Kind.CR: ["The lungs are clear.", "Normal cardiomediastinal silhouette.", "No pneumothorax.",
              "No pleural effusion.", "Mild hyperinflation."],
    None: ["Outside imaging reviewed.", "No comparison available.", "Findings as previously reported."],
}
_FINDINGS[Kind.DX] = _FINDINGS[Kind.CR]
_IMPRESSIONS = ["No acute abnormality.", "Stable appearance.", "Incidental finding, follow-up suggested.",
                "Findings as above."]
_REPORT = {"CodeValue": "18748-4", "CodingSchemeDesignator": "LN", "CodeMeaning": "Diagnostic Imaging Report"}


def _code(value: str, meaning: str, scheme: str = "DCM") -> dict[str, Value]:
    return {"CodeValue": value, "CodingSchemeDesignator": scheme, "CodeMeaning": meaning}


@dataclass(frozen=True)
class ReportText:
    """The words of a report: what was done, what was seen, what it means."""

    procedure: str
    findings: tuple[str, ...]
    impression: str

    @property
    def findings_text(self) -> str:
        return " ".join(self.findings)


def report_text(ctx: StudyContext) -> ReportText:
    rng = random.Random(f"beamit-sandbox/{ctx.seed}/{ctx.index}/report")
    pool = _FINDINGS[ctx.protocol.kind]
    findings = (_DISCLAIMER, *rng.sample(pool, k=min(3, len(pool))))
    return ReportText(ctx.protocol.description, findings, rng.choice(_IMPRESSIONS))


def _container(concept: dict[str, Value], children: list[Attributes]) -> dict[str, Value]:
    return {"RelationshipType": "CONTAINS", "ValueType": "CONTAINER", "ConceptNameCodeSequence": [concept],
            "ContinuityOfContent": "SEPARATE", "ContentSequence": children}


def _text_item(concept: dict[str, Value], text: str) -> dict[str, Value]:
    return {"RelationshipType": "CONTAINS", "ValueType": "TEXT", "ConceptNameCodeSequence": [concept],
            "TextValue": text}


def _series(ctx: StudyContext, kind: Kind, modality: str, description: str) -> dict[str, Value]:
    number = REPORT_SERIES_NUMBERS[kind]
    return {
        "Modality": modality,
        "SeriesInstanceUID": ctx.uid("series", number),
        "SeriesNumber": number,
        "SeriesDescription": description,
        "SeriesDate": ctx.date,
        "SeriesTime": ctx.time(3600),
        **ctx.equipment("Synthetic Reporting", "SBXRIS01"),
    }


def _single(ctx: StudyContext, number: int, index: int) -> Attributes:
    return {"SOPInstanceUID": ctx.uid(number, index + 1), "InstanceNumber": index + 1}


def plan_sr(ctx: StudyContext, text: ReportText) -> SeriesPlan:
    number = REPORT_SERIES_NUMBERS[Kind.SR]
    attributes = {**_series(ctx, Kind.SR, "SR", "RADIOLOGY REPORT"), "ReferencedPerformedProcedureStepSequence": []}

    def common() -> Attributes:
        radiologist, reported = ctx.patient.radiologist, ctx.time(5400)
        tree: list[Attributes] = [
            {"RelationshipType": "HAS CONCEPT MOD", "ValueType": "CODE",
             "ConceptNameCodeSequence": [_code("121049", "Language of Content Item and Descendants")],
             "ConceptCodeSequence": [_code("en", "English", "RFC5646")]},
            {"RelationshipType": "HAS OBS CONTEXT", "ValueType": "PNAME",
             "ConceptNameCodeSequence": [_code("121008", "Person Observer Name")], "PersonName": radiologist},
            _container(_code("121064", "Current Procedure Descriptions"),
                       [_text_item(_code("121065", "Procedure Description"), text.procedure)]),
            _container(_code("121070", "Findings"), [_text_item(_code("121071", "Finding"), text.findings_text)]),
            _container(_code("121072", "Impressions"), [_text_item(_code("121073", "Impression"), text.impression)]),
        ]
        return {
            "ContentDate": ctx.date,
            "ContentTime": reported,
            "CompletionFlag": "COMPLETE",
            "VerificationFlag": "VERIFIED",
            "PreliminaryFlag": "FINAL",
            "VerifyingObserverSequence": [{
                "VerifyingObserverName": radiologist,
                "VerifyingObserverIdentificationCodeSequence": [],
                "VerifyingOrganization": ctx.patient.institution,
                "VerificationDateTime": ctx.date + reported,
            }],
            "PerformedProcedureCodeSequence": [],
            "ValueType": "CONTAINER",
            "ConceptNameCodeSequence": [_REPORT],
            "ContinuityOfContent": "SEPARATE",
            "ContentSequence": tree,
        }

    return SeriesPlan(Kind.SR, BasicTextSRStorage, attributes, 1, common, functools.partial(_single, ctx, number),
                      _no_bulk_data)


def plan_pdf(ctx: StudyContext, text: ReportText) -> SeriesPlan:
    number = REPORT_SERIES_NUMBERS[Kind.PDF]

    @functools.cache
    def document() -> bytes:
        lines = [f"Patient ID: {ctx.patient.patient_id}", f"Study date: {ctx.study_date.isoformat()}",
                 f"Procedure: {text.procedure}", "", "FINDINGS", *text.findings, "", "IMPRESSION", text.impression]
        return report_pdf("Radiology Report", lines, author="BeamIt sandbox", created="D:" + ctx.date + ctx.time(5400))

    def common() -> Attributes:
        return {
            "ConversionType": "WSD",
            "ContentDate": ctx.date,
            "ContentTime": ctx.time(5400),
            "AcquisitionDateTime": "",
            "BurnedInAnnotation": "YES",
            "DocumentTitle": "Radiology Report",
            "ConceptNameCodeSequence": [_REPORT],
            "MIMETypeOfEncapsulatedDocument": "application/pdf",
            "EncapsulatedDocumentLength": len(document()),
        }

    def bulk(index: int) -> BulkData:
        return {"EncapsulatedDocument": ("OB", document())}

    return SeriesPlan(Kind.PDF, EncapsulatedPDFStorage, _series(ctx, Kind.PDF, "DOC", "RADIOLOGY REPORT PDF"), 1,
                      common, functools.partial(_single, ctx, number), bulk)


def _no_bulk_data(index: int) -> BulkData:
    return {}
