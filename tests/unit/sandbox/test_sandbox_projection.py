"""CR (MONOCHROME1, a series per view) and DX (MONOCHROME2, For Presentation) instances."""

from __future__ import annotations

import dataclasses

import numpy as np
from pydicom.uid import ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation

from beamit.sandbox import Kind, SandboxConfig, generate_study
from tests.unit.sandbox.checks import roundtrip

CONFIG = SandboxConfig(scale=0.125, projection_shape=(320, 256))


def test_cr_one_series_per_view_monochrome1() -> None:
    views = set()
    for index in range(0, 30, 5):
        study = generate_study(1, index, dataclasses.replace(CONFIG, kinds=(Kind.CR,)))
        datasets = [roundtrip(ds) for ds in study.datasets()]
        assert len(datasets) in (1, 2) and len({ds.SeriesInstanceUID for ds in datasets}) == len(datasets)
        for ds in datasets:
            assert ds.SOPClassUID == ComputedRadiographyImageStorage and ds.Modality == "CR"
            assert ds.PhotometricInterpretation == "MONOCHROME1"
            assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12, 11, 0)
            assert ds.BodyPartExamined == "CHEST" and ds.ViewPosition in ("PA", "AP", "LL")
            assert len(ds.PatientOrientation) == 2 and ds.ImagerPixelSpacing[0] > 0
            pixels = ds.pixel_array
            assert pixels.shape == (40, 32) and pixels.dtype == np.uint16 and int(pixels.max()) <= 4095
            views.add(ds.ViewPosition)
    assert views == {"PA", "LL", "AP"}


def test_dx_for_presentation_monochrome2() -> None:
    study = generate_study(1, 0, dataclasses.replace(CONFIG, kinds=(Kind.DX,)))
    datasets = [roundtrip(ds) for ds in study.datasets()]
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 1
    assert [ds.InstanceNumber for ds in datasets] == list(range(1, len(datasets) + 1))
    for ds in datasets:
        assert ds.SOPClassUID == DigitalXRayImageStorageForPresentation and ds.Modality == "DX"
        assert ds.PresentationIntentType == "FOR PRESENTATION" and ds.PresentationLUTShape == "IDENTITY"
        assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.ImageLaterality == "U"
        assert (ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign) == ("LOG", 1)
        assert ds.AnatomicRegionSequence[0].CodeValue == "51185008"
        assert "AcquisitionContextSequence" in ds and ds.WindowWidth > 0
        assert ds.pixel_array.shape == (40, 32)


def test_default_size_is_2500_by_2048() -> None:
    study = generate_study(1, 3, SandboxConfig(kinds=(Kind.CR,)))
    common = study.plan.series[0].instance_common
    assert (common["Rows"], common["Columns"]) == (2500, 2048)
