"""Series of the cross-sectional and ultrasound image IODs: CT, MR and US.

* CT Image (PS3.3 §A.3): one axial series; Image Plane (§C.7.6.2), Image Pixel (§C.7.6.3),
  CT Image (§C.8.2.1), VOI LUT (§C.11.2) and Contrast/Bolus (§C.7.6.4) modules.  Slices run
  head to feet, Image Position (Patient) stepping by Slice Thickness.
* MR Image (PS3.3 §A.4): T1 and T2 axial head series (and T1 after gadolinium for a contrast
  protocol); MR Image module (§C.8.3.1).
* Ultrasound Multi-frame Image (PS3.3 §A.7): one RGB cine loop; US Image (§C.8.5.6),
  Multi-frame (§C.7.6.6), Cine (§C.7.6.5) and US Region Calibration (§C.8.5.5) modules.

Each planner returns :class:`~beamit.sandbox.plan.SeriesPlan` objects; pixels are made only
when a plan's ``bulk_data`` is called.
"""

from __future__ import annotations

from collections.abc import Callable

from pydicom.uid import CTImageStorage, MRImageStorage, UltrasoundMultiFrameImageStorage

from beamit.sandbox.config import Kind
from beamit.sandbox.phantom import CTPhantom, MRPhantom
from beamit.sandbox.plan import Attributes, BulkData, Protocol, SeriesPlan, StudyContext, Value
from beamit.sandbox.ultrasound import cine_loop, sector_bounds

__all__ = ["CT_PROTOCOLS", "MR_PROTOCOLS", "US_PROTOCOLS", "plan_ct", "plan_mr", "plan_us"]

CT_PROTOCOLS = (
    Protocol(Kind.CT, "CT CHEST WO CONTRAST", "CHEST", "chest"),
    Protocol(Kind.CT, "CT ABDOMEN PELVIS W CONTRAST", "ABDOMENPELVIS", "abdomen-pelvis", contrast=True),
    Protocol(Kind.CT, "CT CHEST ABDOMEN PELVIS W CONTRAST", "CHESTABDPELVIS", "chest-abdomen-pelvis", contrast=True),
)
MR_PROTOCOLS = (
    Protocol(Kind.MR, "MR BRAIN WO CONTRAST", "HEAD", "brain"),
    Protocol(Kind.MR, "MR BRAIN W WO CONTRAST", "HEAD", "brain", contrast=True),
)
US_PROTOCOLS = (
    Protocol(Kind.US, "US ABDOMEN COMPLETE", "ABDOMEN", "abdomen"),
    Protocol(Kind.US, "ECHO TRANSTHORACIC COMPLETE", "HEART", "cardiac"),
)

# variant -> (first and last phantom position, scanned length in mm)
_CT_RANGES = {
    "chest": (0.0, 0.5, 320.0),
    "abdomen-pelvis": (0.4, 1.0, 420.0),
    "chest-abdomen-pelvis": (0.0, 1.0, 680.0),
}
_AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def _positions(count: int, first: float, last: float) -> list[float]:
    if count == 1:
        return [(first + last) / 2]
    return [first + (last - first) * i / (count - 1) for i in range(count)]


def _pixel_data(vr: str, make: Callable[[int], bytes]) -> Callable[[int], BulkData]:
    def bulk(index: int) -> BulkData:
        return {"PixelData": (vr, make(index))}

    return bulk


def _phantom_pixels(make: Callable[[], CTPhantom | MRPhantom]) -> Callable[[int], BulkData]:
    """Pixel Data from the phantom ``make()`` returns, made on the first call."""
    made: list[CTPhantom | MRPhantom] = []

    def pixels(index: int) -> bytes:
        if not made:
            made.append(make())
        return made[0](index).tobytes()

    return _pixel_data("OW", pixels)


def _slices(ctx: StudyContext, number: int, origin: float, z_top: float, step: float) -> Callable[[int], Attributes]:
    """Per-slice attributes of an axial series starting at ``z_top`` (mm), ``step`` mm apart."""

    def instance(index: int) -> Attributes:
        z = round(z_top - index * step, 3)
        return {
            "SOPInstanceUID": ctx.uid(number, index + 1),
            "InstanceNumber": index + 1,
            "ContentTime": ctx.time(60 * number + 0.5 * index),
            "ImagePositionPatient": [origin, origin, z],
            "SliceLocation": z,
        }

    return instance


def _monochrome(rows: int, cols: int, stored: int, signed: bool) -> dict[str, Value]:
    """Image Pixel module (PS3.3 §C.7.6.3) of a MONOCHROME2 image, 16 bits allocated."""
    return {
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "Rows": rows,
        "Columns": cols,
        "BitsAllocated": 16,
        "BitsStored": stored,
        "HighBit": stored - 1,
        "PixelRepresentation": 1 if signed else 0,
    }


def _axial_series(ctx: StudyContext, modality: str, number: int, description: str, time: float,
                  model: str, station: str) -> dict[str, Value]:
    """General Series, Frame of Reference and General Equipment attributes of an axial series."""
    return {
        "Modality": modality,
        "SeriesInstanceUID": ctx.uid("series", number),
        "SeriesNumber": number,
        "SeriesDescription": description,
        "SeriesDate": ctx.date,
        "SeriesTime": ctx.time(time),
        "BodyPartExamined": ctx.protocol.body_part,
        "ProtocolName": ctx.protocol.description,
        "PatientPosition": "HFS",
        "FrameOfReferenceUID": ctx.uid("frame-of-reference"),
        "PositionReferenceIndicator": "",
        **ctx.equipment(model, station),
    }


def _plane(size: int, spacing: float, thickness: float) -> dict[str, Value]:
    """Image Plane attributes (PS3.3 §C.7.6.2) shared by the slices of an axial series."""
    return {"PixelSpacing": [spacing, spacing], "ImageOrientationPatient": _AXIAL, "SliceThickness": thickness}


def plan_ct(ctx: StudyContext) -> list[SeriesPlan]:
    """One axial CT series of ``config.ct_slices`` slices."""
    rng, config, protocol, number = ctx.rng("CT"), ctx.config, ctx.protocol, 2
    first, last, length = _CT_RANGES[protocol.variant]
    count, size = config.ct_slices, config.scaled(512)
    thickness = round(min(max(length / count, 0.5), 10.0), 3)
    fov = rng.choice((360.0, 400.0, 440.0))
    spacing = round(fov / size, 6)
    origin = round(-spacing * size / 2 + spacing / 2, 4)
    z_top = round(rng.uniform(-40.0, 40.0) + (0.0 if first == 0.0 else -250.0), 1)
    current = rng.randrange(150, 451, 10)
    kernel = "LUNG" if protocol.variant == "chest" else "STANDARD"
    attributes = _axial_series(ctx, "CT", number, f"AXIAL {thickness:g}MM {kernel}", 60 * number,
                               "Synthetic CT 64", "SBXCT01")

    def common() -> Attributes:
        return {
            "ImageType": ["ORIGINAL", "PRIMARY", "AXIAL"],
            "ContentDate": ctx.date,
            "AcquisitionNumber": 1,
            **_monochrome(size, size, 16, signed=True),
            **_plane(size, spacing, thickness),
            "RescaleIntercept": -1024.0,
            "RescaleSlope": 1.0,
            "RescaleType": "HU",
            "WindowCenter": [40.0, -600.0],
            "WindowWidth": [400.0, 1500.0],
            "WindowCenterWidthExplanation": ["SOFT TISSUE", "LUNG"],
            "KVP": 120.0,
            "XRayTubeCurrent": current,
            "ConvolutionKernel": kernel,
            "ReconstructionDiameter": fov,
            **({"ContrastBolusAgent": "IOHEXOL 350 MG/ML"} if protocol.contrast else {}),
        }

    def phantom() -> CTPhantom:
        return CTPhantom(size, size, _positions(count, first, last), ctx.pixel_seed(number), protocol.contrast)

    return [SeriesPlan(Kind.CT, CTImageStorage, attributes, count, common,
                       _slices(ctx, number, origin, z_top, thickness), _phantom_pixels(phantom))]


# weighting -> (Series Description, TR, TE, echo train length, Sequence Variant, window centre, width)
_MR_SEQUENCES: dict[str, tuple[str, float, float, int, list[str], float, float]] = {
    "T1": ("AX T1 SE", 550.0, 12.0, 1, ["NONE"], 750.0, 1500.0),
    "T2": ("AX T2 FSE", 4000.0, 100.0, 16, ["SK"], 1250.0, 2500.0),
    "T1C": ("AX T1 SE POST", 550.0, 12.0, 1, ["NONE"], 800.0, 1600.0),
}


def plan_mr(ctx: StudyContext) -> list[SeriesPlan]:
    """T1 and T2 axial head series (and T1 post-contrast), ``config.mr_slices`` slices each."""
    rng, config = ctx.rng("MR"), ctx.config
    count, size = config.mr_slices, config.scaled(256)
    field = rng.choice((1.5, 3.0))
    fov = rng.choice((220.0, 230.0, 240.0))
    spacing = round(fov / size, 6)
    origin = round(-spacing * size / 2 + spacing / 2, 4)
    gap = round(max(130.0 / count, 5.0), 3)
    z_top = round(rng.uniform(40.0, 70.0), 1)

    def series(number: int, weighting: str) -> SeriesPlan:
        description, tr, te, train, variant, center, width = _MR_SEQUENCES[weighting]
        attributes = _axial_series(ctx, "MR", number, description, 300 * number, f"Synthetic MR {field:g}T", "SBXMR01")

        def common() -> Attributes:
            return {
                "ImageType": ["ORIGINAL", "PRIMARY", "OTHER"],
                "ContentDate": ctx.date,
                "AcquisitionNumber": 1,
                **_monochrome(size, size, 12, signed=False),
                **_plane(size, spacing, 5.0),
                "SpacingBetweenSlices": gap,
                "ScanningSequence": ["SE"],
                "SequenceVariant": variant,
                "ScanOptions": "",
                "MRAcquisitionType": "2D",
                "SequenceName": f"se2d{train}",
                "RepetitionTime": tr,
                "EchoTime": te,
                "EchoTrainLength": train,
                "NumberOfAverages": 1.0,
                "ImagingFrequency": round(42.577478 * field, 6),
                "ImagedNucleus": "1H",
                "MagneticFieldStrength": field,
                "FlipAngle": 90.0,
                "WindowCenter": center,
                "WindowWidth": width,
                **({"ContrastBolusAgent": "GADOBUTROL 1 MMOL/ML"} if weighting == "T1C" else {}),
            }

        def phantom() -> MRPhantom:
            return MRPhantom(size, size, _positions(count, 0.05, 0.95), ctx.pixel_seed(number), weighting)

        return SeriesPlan(Kind.MR, MRImageStorage, attributes, count, common,
                          _slices(ctx, number, origin, z_top, gap), _phantom_pixels(phantom))

    weightings = ["T1", "T2", "T1C"] if ctx.protocol.contrast else ["T1", "T2"]
    return [series(number, weighting) for number, weighting in enumerate(weightings, start=1)]


def plan_us(ctx: StudyContext) -> list[SeriesPlan]:
    """One RGB multi-frame cine loop of ``config.us_frames`` frames."""
    rng, config, number = ctx.rng("US"), ctx.config, 1
    cardiac = ctx.protocol.variant == "cardiac"
    rows, cols, frames = config.scaled(480), config.scaled(640), config.us_frames
    rate = rng.choice((25, 30, 50)) if cardiac else rng.choice((15, 20, 25))
    heart_rate = rng.randint(55, 95)
    attributes: dict[str, Value] = {
        "Modality": "US",
        "SeriesInstanceUID": ctx.uid("series", number),
        "SeriesNumber": number,
        "SeriesDescription": "2D CINE",
        "SeriesDate": ctx.date,
        "SeriesTime": ctx.time(120),
        "BodyPartExamined": ctx.protocol.body_part,
        "ProtocolName": ctx.protocol.description,
        **ctx.equipment("Synthetic US", "SBXUS01"),
    }

    def common() -> Attributes:
        min_x, min_y, max_x, max_y = sector_bounds(rows, cols)
        delta = round((16.0 if cardiac else 18.0) / ((0.92 - 0.04) * rows), 8)  # cm per pixel
        region: dict[str, Value] = {
            "RegionSpatialFormat": 1,
            "RegionDataType": 1,
            "RegionFlags": 0,
            "RegionLocationMinX0": min_x,
            "RegionLocationMinY0": min_y,
            "RegionLocationMaxX1": max_x,
            "RegionLocationMaxY1": max_y,
            "PhysicalUnitsXDirection": 3,
            "PhysicalUnitsYDirection": 3,
            "ReferencePixelX0": cols // 2,
            "ReferencePixelY0": min_y,
            "PhysicalDeltaX": delta,
            "PhysicalDeltaY": delta,
        }
        return {
            "ImageType": ["ORIGINAL", "PRIMARY", "CARDIAC" if cardiac else "ABDOMINAL", "0001"],
            "ContentDate": ctx.date,
            "PatientOrientation": "",
            "SamplesPerPixel": 3,
            "PhotometricInterpretation": "RGB",
            "PlanarConfiguration": 0,
            "Rows": rows,
            "Columns": cols,
            "BitsAllocated": 8,
            "BitsStored": 8,
            "HighBit": 7,
            "PixelRepresentation": 0,
            "NumberOfFrames": frames,
            "FrameIncrementPointer": 0x00181063,
            "FrameTime": round(1000.0 / rate, 3),
            "CineRate": rate,
            "RecommendedDisplayFrameRate": rate,
            "LossyImageCompression": "00",
            "SequenceOfUltrasoundRegions": [region],
            **({"HeartRate": heart_rate} if cardiac else {}),
        }

    def instance(index: int) -> Attributes:
        return {"SOPInstanceUID": ctx.uid(number, index + 1), "InstanceNumber": index + 1,
                "ContentTime": ctx.time(120 + 30 * index)}

    def pixels(index: int) -> bytes:
        return cine_loop(rows, cols, frames, cardiac, ctx.pixel_seed(number)).tobytes()

    return [SeriesPlan(Kind.US, UltrasoundMultiFrameImageStorage, attributes, 1, common, instance,
                       _pixel_data("OB", pixels))]
