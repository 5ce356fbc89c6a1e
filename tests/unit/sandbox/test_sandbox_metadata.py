"""Metadata-only generation: DICOM JSON equal to the full generator's, without pixel data."""

from __future__ import annotations

import json
import re

import pytest

from beamit.sandbox import (
    SERIES_AGGREGATES,
    STUDY_AGGREGATES,
    CharacterSet,
    Kind,
    SandboxConfig,
    generate_studies,
    generate_study_metadata,
)
from beamit.sandbox.metadata import render_json
from tests.unit.sandbox.checks import dataset_json, roundtrip

TINY = SandboxConfig(scale=0.125, ct_slices=3, mr_slices=2, us_frames=2, projection_shape=(320, 256))


def test_same_seed_same_uids_and_attributes_as_the_full_generator() -> None:
    """Every instance's data set, written and read back by pydicom, has exactly the attributes
    the metadata generator gives for it (bulk data aside), at every level."""
    metadata = list(generate_study_metadata(21, 12, TINY))
    studies = list(generate_studies(21, 12, TINY))
    seen_kinds = set()
    for meta, study in zip(metadata, studies, strict=True):
        assert meta.study_uid == study.study_uid
        expected = list(meta.instance_metadata())
        datasets = [roundtrip(ds) for ds in study.datasets()]
        assert len(expected) == len(datasets) == int(meta.attributes["00201208"]["Value"][0])
        for dataset, attributes in zip(datasets, expected, strict=True):
            assert dataset_json(dataset) == attributes, dataset.SOPClassUID.name
        assert sorted({ds.Modality for ds in datasets}) == meta.attributes["00080061"]["Value"]
        assert len({ds.SeriesInstanceUID for ds in datasets}) == meta.attributes["00201206"]["Value"][0]
        for series in meta.series:
            count = sum(ds.SeriesInstanceUID == series.series_uid for ds in datasets)
            assert series.attributes["00201209"]["Value"] == [count] == [len(series.instances)]
        seen_kinds |= {series.plan.kind for series in meta.series}
    assert seen_kinds == set(Kind)


def test_levels_split_the_data_set_and_aggregates_are_apart() -> None:
    meta = next(generate_study_metadata(2, 1, TINY))
    study, series = meta.attributes, meta.series[0].attributes
    instance = meta.series[0].instances[0]
    assert {"00100010", "00100020", "0020000D", "00080020", "00080050", "00081030"} <= study.keys()
    assert {"0020000E", "00080060", "00200011", "0008103E"} <= series.keys()
    assert {"00080018", "00080016", "00200013", "00280010"} <= instance.keys()
    assert not study.keys() & series.keys() and not series.keys() & instance.keys()
    assert set(STUDY_AGGREGATES) <= study.keys() and set(SERIES_AGGREGATES) <= series.keys()
    merged = next(meta.instance_metadata())
    assert not merged.keys() & {*STUDY_AGGREGATES, *SERIES_AGGREGATES}


def test_json_shape_follows_ps3_18_annex_f() -> None:
    for meta in generate_study_metadata(4, 8, TINY):
        for document in (meta.attributes, *(s.attributes for s in meta.series), *meta.instance_metadata()):
            assert list(document) == sorted(document)
            assert all(re.fullmatch(r"[0-9A-F]{8}", key) for key in document)
            json.dumps(document, ensure_ascii=False, allow_nan=False)
        name = meta.attributes["00100010"]["Value"][0]
        assert set(name) <= {"Alphabetic", "Ideographic", "Phonetic"}


def test_empty_values_are_absent_or_null() -> None:
    rendered = render_json({"SpecificCharacterSet": ["", "ISO 2022 IR 87"], "ScanOptions": "",
                            "ReferencedPerformedProcedureStepSequence": [], "PositionReferenceIndicator": None,
                            "FrameIncrementPointer": 0x00181063, "PatientName": "Wang^XiaoDong=王^小东"})
    assert rendered["00080005"] == {"vr": "CS", "Value": [None, "ISO 2022 IR 87"]}
    assert rendered["00180022"] == {"vr": "CS"} and rendered["00081111"] == {"vr": "SQ"}
    assert rendered["00201040"] == {"vr": "LO"}
    assert rendered["00280009"] == {"vr": "AT", "Value": ["00181063"]}
    assert rendered["00100010"]["Value"] == [{"Alphabetic": "Wang^XiaoDong", "Ideographic": "王^小东"}]


def test_start_gives_the_same_studies_as_a_longer_run() -> None:
    whole = [m.attributes for m in generate_study_metadata(6, 15, TINY)]
    assert [m.attributes for m in generate_study_metadata(6, 5, TINY, start=10)] == whole[10:]


def test_no_pixels_or_documents_are_made(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("bulk data made")

    for target in ("beamit.sandbox.imaging.CTPhantom", "beamit.sandbox.imaging.MRPhantom",
                   "beamit.sandbox.imaging.cine_loop", "beamit.sandbox.projection.chest_radiograph"):
        monkeypatch.setattr(target, refuse)
    for meta in generate_study_metadata(8, 10):  # full size: 512x512 CT, 2500x2048 CR
        assert [len(series.instances) for series in meta.series]


def test_throughput_smoke() -> None:
    """2,000 studies at study and series level, the instances of every tenth (no timing)."""
    counted = studies = 0
    charsets = set()
    for meta in generate_study_metadata(0, 2000, SandboxConfig(ct_slices=20, mr_slices=10)):
        studies += 1
        charsets.add(meta.plan.patient.character_set)
        assert meta.attributes["00201206"]["Value"] == [len(meta.series)]
        if meta.index % 10 == 0:
            counted += sum(len(series.instances) for series in meta.series)
    assert studies == 2000 and counted > 2000 and charsets == set(CharacterSet)
