"""CT, MR and US instances: the IOD essentials, read back from Part 10 bytes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, UltrasoundMultiFrameImageStorage

from beamit.sandbox import Kind, SandboxConfig, generate_study
from tests.unit.sandbox.checks import roundtrip

TINY = SandboxConfig(scale=0.125, ct_slices=5, mr_slices=3, us_frames=4)


def read(kind: Kind, index: int = 0, seed: int = 3) -> list[Dataset]:
    config = dataclasses.replace(TINY, kinds=(kind,))
    return [roundtrip(dataset) for dataset in generate_study(seed, index, config).datasets()]


def check_file_meta(dataset: Dataset) -> None:
    meta = dataset.file_meta
    assert meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert meta.MediaStorageSOPClassUID == dataset.SOPClassUID
    assert meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
    assert meta.ImplementationClassUID.startswith("2.25.")


@pytest.mark.parametrize("index", [0, 5, 10])
def test_ct_series_of_axial_slices(index: int) -> None:
    datasets = read(Kind.CT, index)
    assert len(datasets) == 5 and len({ds.SeriesInstanceUID for ds in datasets}) == 1
    first = datasets[0]
    assert first.StudyDescription.startswith("CT ") and first.BodyPartExamined
    for number, ds in enumerate(datasets, start=1):
        check_file_meta(ds)
        assert ds.SOPClassUID == CTImageStorage and ds.Modality == "CT" and ds.InstanceNumber == number
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 16, 15, 1)
        assert (ds.SamplesPerPixel, ds.PhotometricInterpretation) == (1, "MONOCHROME2")
        assert (ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType) == (-1024, 1, "HU")
        assert list(ds.ImageOrientationPatient) == [1, 0, 0, 0, 1, 0]
        assert len(ds.WindowCenter) == len(ds.WindowWidth) == 2
        assert ds.PixelSpacing[0] == ds.PixelSpacing[1] > 0
        assert ds.SliceLocation == ds.ImagePositionPatient[2]
        assert ds.FrameOfReferenceUID == first.FrameOfReferenceUID and ds.PatientPosition == "HFS"
        pixels = ds.pixel_array
        assert pixels.shape == (64, 64) and pixels.dtype == np.int16
        hu = apply_modality_lut(pixels, ds)
        assert hu.min() == -3024 and hu.max() > 100  # outside the field of view; bone
    steps = np.diff([float(ds.ImagePositionPatient[2]) for ds in datasets])
    assert np.allclose(steps, -float(first.SliceThickness), atol=1e-3)
    assert not np.array_equal(datasets[0].pixel_array, datasets[-1].pixel_array)


def test_ct_full_size_is_512() -> None:
    study = generate_study(0, 0, SandboxConfig(kinds=(Kind.CT,), ct_slices=300))
    series = study.plan.series[0]
    assert series.instance_count == 300
    assert (series.instance_common["Rows"], series.instance_common["Columns"]) == (512, 512)


def test_mr_has_t1_and_t2_series_sharing_a_frame_of_reference() -> None:
    descriptions = set()
    for index in range(0, 25, 5):
        datasets = read(Kind.MR, index)
        series = {ds.SeriesInstanceUID: ds for ds in datasets}
        assert len(series) in (2, 3) and len(datasets) == 3 * len(series)
        assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
        descriptions |= {ds.SeriesDescription for ds in series.values()}
        for ds in datasets:
            check_file_meta(ds)
            assert ds.SOPClassUID == MRImageStorage and ds.Modality == "MR"
            assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12, 11, 0)
            assert ds.ScanningSequence == "SE" and ds.MRAcquisitionType == "2D" and ds.MagneticFieldStrength > 0
            assert ds.RepetitionTime > ds.EchoTime > 0
            assert ds.pixel_array.shape == (32, 32) and ds.pixel_array.dtype == np.uint16
    assert {"AX T1 SE", "AX T2 FSE", "AX T1 SE POST"} == descriptions


def test_us_is_one_rgb_multiframe_cine_loop() -> None:
    for index in (0, 5):
        datasets = read(Kind.US, index)
        assert len(datasets) == 1
        ds = datasets[0]
        check_file_meta(ds)
        assert ds.SOPClassUID == UltrasoundMultiFrameImageStorage and ds.Modality == "US"
        assert (ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration) == (3, "RGB", 0)
        assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
        assert ds.NumberOfFrames == 4 and ds.FrameIncrementPointer == 0x00181063
        assert abs(float(ds.FrameTime) - 1000 / ds.CineRate) < 0.01
        pixels = ds.pixel_array
        assert pixels.shape == (4, 60, 80, 3) and pixels.dtype == np.uint8
        assert not np.array_equal(pixels[0], pixels[2])
        region = ds.SequenceOfUltrasoundRegions[0]
        assert 0 <= region.RegionLocationMinX0 < region.RegionLocationMaxX1 < ds.Columns
        assert region.PhysicalDeltaX == region.PhysicalDeltaY > 0
