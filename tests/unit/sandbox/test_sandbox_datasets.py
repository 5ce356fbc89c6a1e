"""Synthetic studies as pydicom data sets: iteration, metadata-only mode, transfer syntaxes."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless

from beamit.sandbox import SandboxConfig, build_dataset, generate_studies, generate_study, iter_datasets
from tests.unit.sandbox.checks import roundtrip

TINY = SandboxConfig(scale=0.125, ct_slices=3, mr_slices=2, us_frames=2, projection_shape=(320, 256))


def test_generate_study_is_random_access() -> None:
    batch = list(generate_studies(7, 4, TINY))
    assert [study.study_uid for study in batch] == [generate_study(7, i, TINY).study_uid for i in range(4)]
    assert [s.study_uid for s in generate_studies(7, 2, TINY, start=2)] == [s.study_uid for s in batch[2:]]


def test_build_dataset_checks_the_position() -> None:
    study = generate_study(7, 0, TINY)
    series = study.plan.series[0]
    assert build_dataset(study.plan, series, series.instance_count - 1).InstanceNumber == series.instance_count
    with pytest.raises(IndexError):
        build_dataset(study.plan, series, series.instance_count)


def test_iter_datasets_yields_every_instance_without_touching_disk() -> None:
    studies = list(generate_studies(7, 5, TINY))
    datasets = list(iter_datasets(studies))
    assert len(datasets) == sum(study.instance_count for study in studies)
    assert {ds.Modality for ds in datasets} == {"CT", "MR", "US", "CR", "DX", "SR", "DOC"}


def test_metadata_only_data_sets_have_no_bulk_data() -> None:
    config = SandboxConfig(metadata_only=True)  # full size, but nothing is synthesised
    for ds in iter_datasets(generate_studies(7, 5, config)):
        assert "PixelData" not in ds and "EncapsulatedDocument" not in ds
        assert roundtrip(ds).SOPInstanceUID == ds.SOPInstanceUID


def test_rle_lossless_and_implicit_vr() -> None:
    plain = [roundtrip(ds) for ds in generate_study(7, 2, TINY).datasets()]  # US and reports
    for syntax in (RLELossless, ImplicitVRLittleEndian):
        config = SandboxConfig(scale=0.125, ct_slices=3, us_frames=2, transfer_syntax=syntax)
        other = [roundtrip(ds) for ds in generate_study(7, 2, config).datasets()]
        for a, b in zip(plain, other, strict=True):
            assert a.SOPInstanceUID == b.SOPInstanceUID
            if "PixelData" in a:
                assert b.file_meta.TransferSyntaxUID == syntax
                assert b.file_meta.MediaStorageSOPInstanceUID == b.SOPInstanceUID
                assert np.array_equal(a.pixel_array, b.pixel_array)
            else:
                assert b.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian


