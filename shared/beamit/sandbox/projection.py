"""Series of the projection radiography IODs: CR and DX chest radiographs.

* Computed Radiography Image (PS3.3 §A.2): View Position is a CR Series attribute
  (§C.8.1.1), so each view is a series of its own; MONOCHROME1 (displayed inverted).
* Digital X-Ray Image - For Presentation (PS3.3 §A.26): one series holding every view (View
  Position is in the DX Positioning module, §C.8.11.5); DX Series (§C.8.11.1), DX Anatomy
  Imaged (§C.8.11.2), DX Image (§C.8.11.3: MONOCHROME2, Presentation LUT Shape IDENTITY),
  DX Detector (§C.8.11.4), Acquisition Context (§C.7.6.14) and VOI LUT (§C.11.2) modules.

Image size is ``config.projection_shape`` times ``config.scale``; the detector is 430 mm tall
whatever the matrix, so Imager Pixel Spacing follows the size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from pydicom.uid import ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation

from beamit.sandbox.config import Kind
from beamit.sandbox.plan import Attributes, BulkData, Protocol, SeriesPlan, StudyContext, Value
from beamit.sandbox.radiograph import MAX_VALUE, chest_radiograph

__all__ = ["CR_PROTOCOLS", "DX_PROTOCOLS", "plan_cr", "plan_dx"]

CR_PROTOCOLS = (
    Protocol(Kind.CR, "XR CHEST 2 VIEWS", "CHEST", "PA LL"),
    Protocol(Kind.CR, "XR CHEST 1 VIEW", "CHEST", "AP"),
)
DX_PROTOCOLS = (
    Protocol(Kind.DX, "XR CHEST PA AND LATERAL", "CHEST", "PA LL"),
    Protocol(Kind.DX, "XR CHEST 1 VIEW PORTABLE", "CHEST", "AP"),
)

# View Position -> (Patient Orientation, description)
_VIEWS = {"PA": (["L", "F"], "CHEST PA"), "AP": (["L", "F"], "CHEST AP"), "LL": (["A", "F"], "CHEST LATERAL")}
_VIEW_NAMES = {"LL": "LATERAL"}
_CHEST = {"CodeValue": "51185008", "CodingSchemeDesignator": "SCT", "CodeMeaning": "Chest"}
_DETECTOR_HEIGHT_MM = 430.0


def _image(ctx: StudyContext, photometric: str) -> dict[str, Value]:
    rows, cols = (ctx.config.scaled(n) for n in ctx.config.projection_shape)
    spacing = round(_DETECTOR_HEIGHT_MM / rows, 6)
    return {
        "ImageType": ["ORIGINAL", "PRIMARY"],
        "ContentDate": ctx.date,
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": photometric,
        "Rows": rows,
        "Columns": cols,
        "BitsAllocated": 16,
        "BitsStored": 12,
        "HighBit": 11,
        "PixelRepresentation": 0,
        "ImagerPixelSpacing": [spacing, spacing],
        "KVP": 120.0,
        "DistanceSourceToDetector": 1800.0,
        "WindowCenter": float((MAX_VALUE + 1) // 2),
        "WindowWidth": float(MAX_VALUE + 1),
    }


def _pixels(ctx: StudyContext, number: int, views: list[str], monochrome1: bool) -> Callable[[int], BulkData]:
    rows, cols = (ctx.config.scaled(n) for n in ctx.config.projection_shape)

    def bulk(index: int) -> BulkData:
        pixels = chest_radiograph(rows, cols, views[index], [*ctx.pixel_seed(number), index], monochrome1)
        return {"PixelData": ("OW", pixels.tobytes())}

    return bulk


def _series(ctx: StudyContext, modality: str, number: int, description: str) -> dict[str, Value]:
    return {
        "Modality": modality,
        "SeriesInstanceUID": ctx.uid("series", number),
        "SeriesNumber": number,
        "SeriesDescription": description,
        "SeriesDate": ctx.date,
        "SeriesTime": ctx.time(60 * number),
        "BodyPartExamined": ctx.protocol.body_part,
        "ProtocolName": ctx.protocol.description,
    }


def plan_cr(ctx: StudyContext) -> list[SeriesPlan]:
    """One single-image CR series per view, MONOCHROME1."""
    plans = []
    for number, view in enumerate(ctx.protocol.variant.split(), start=1):
        orientation, description = _VIEWS[view]
        attributes = {**_series(ctx, "CR", number, description), "ViewPosition": view,
                      **ctx.equipment("Synthetic CR", "SBXCR01")}
        plans.append(SeriesPlan(Kind.CR, ComputedRadiographyImageStorage, attributes, 1,
                                functools.partial(_cr_common, ctx, orientation),
                                functools.partial(_cr_instance, ctx, number), _pixels(ctx, number, [view], True)))
    return plans


def _cr_common(ctx: StudyContext, orientation: list[str]) -> Attributes:
    return {"PatientOrientation": orientation, **_image(ctx, "MONOCHROME1")}


def _cr_instance(ctx: StudyContext, number: int, index: int) -> Attributes:
    return {"SOPInstanceUID": ctx.uid(number, index + 1), "InstanceNumber": index + 1,
            "ContentTime": ctx.time(60 * number + 10 * index)}


def plan_dx(ctx: StudyContext) -> list[SeriesPlan]:
    """One DX For Presentation series holding every view, MONOCHROME2."""
    number, views = 1, ctx.protocol.variant.split()
    attributes = {**_series(ctx, "DX", number, "CHEST " + " AND ".join(_VIEW_NAMES.get(v, v) for v in views)),
                  "PresentationIntentType": "FOR PRESENTATION", **ctx.equipment("Synthetic DR", "SBXDX01")}

    def common() -> Attributes:
        return {
            **_image(ctx, "MONOCHROME2"),
            "PixelIntensityRelationship": "LOG",
            "PixelIntensityRelationshipSign": 1,
            "RescaleIntercept": 0.0,
            "RescaleSlope": 1.0,
            "RescaleType": "US",
            "PresentationLUTShape": "IDENTITY",
            "LossyImageCompression": "00",
            "BurnedInAnnotation": "NO",
            "ImageLaterality": "U",
            "AnatomicRegionSequence": [_CHEST],
            "DetectorType": "SCINTILLATOR",
            "AcquisitionContextSequence": [],
        }

    def instance(index: int) -> Attributes:
        orientation, _ = _VIEWS[views[index]]
        return {"SOPInstanceUID": ctx.uid(number, index + 1), "InstanceNumber": index + 1,
                "ContentTime": ctx.time(60 + 10 * index), "ViewPosition": views[index],
                "PatientOrientation": orientation}

    return [SeriesPlan(Kind.DX, DigitalXRayImageStorageForPresentation, attributes, len(views), common, instance,
                       _pixels(ctx, number, views, False))]
