"""Study assembly: kinds in turn, patients, dates, identifiers; deterministic per (seed, index)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beamit.sandbox import IMAGING_KINDS, Kind, SandboxConfig, generate_study_metadata
from beamit.sandbox.studies import PROTOCOLS, plan_study
from tests.unit.sandbox.checks import is_valid_uid


def day(value: object) -> datetime.date:
    return datetime.datetime.strptime(str(value), "%Y%m%d").date()


def test_imaging_kinds_take_turns() -> None:
    config = SandboxConfig()
    kinds = [plan_study(0, index, config).series[0].kind for index in range(10)]
    assert kinds == [*IMAGING_KINDS, *IMAGING_KINDS]
    only = SandboxConfig(kinds=(Kind.MR, Kind.US))
    assert [plan_study(0, index, only).modalities for index in range(4)] == [["MR"], ["US"], ["MR"], ["US"]]


def test_study_attributes_are_plausible() -> None:
    config = SandboxConfig(study_years=(2015, 2020))
    years, accessions = set(), set()
    for index in range(200):
        plan = plan_study(1, index, config)
        a, patient = plan.attributes, plan.patient
        study_date = day(a["StudyDate"])
        assert datetime.date(2015, 1, 1) <= study_date <= datetime.date(2020, 12, 31)
        assert patient.birth_date < study_date and a["PatientAge"] == patient.age_on(study_date)
        assert "070000" <= str(a["StudyTime"]) < "190000"
        assert str(a["PatientID"]).startswith("SYN-1-") and a["PatientName"] == patient.name
        assert a["StudyDescription"] in {p.description for p in PROTOCOLS[plan.series[0].kind]}
        assert len(str(a["AccessionNumber"])) <= 16 and len(str(a["StudyID"])) <= 16
        assert all(series.attributes["SeriesDate"] == a["StudyDate"] for series in plan.series)
        years.add(study_date.year)
        accessions.add(a["AccessionNumber"])
    assert years == set(range(2015, 2021)) and len(accessions) == 200


def test_uids_are_valid_and_unique_across_a_batch() -> None:
    uids: list[str] = []
    frames_of_reference = set()
    for meta in generate_study_metadata(2, 300, SandboxConfig(ct_slices=8, mr_slices=4)):
        uids.append(meta.study_uid)
        for series in meta.series:
            uids.append(series.series_uid)
            uids.extend(instance["00080018"]["Value"][0] for instance in series.instances)
            if "00200052" in series.attributes:
                frames_of_reference.add(series.attributes["00200052"]["Value"][0])
    assert all(is_valid_uid(uid) for uid in uids)
    assert len(set(uids)) == len(uids) > 3000
    assert not frames_of_reference & set(uids)


def test_different_seeds_different_uids() -> None:
    def uids(seed: int) -> set[str]:
        return {uid for meta in generate_study_metadata(seed, 20)
                for uid in (meta.study_uid, *(s.series_uid for s in meta.series))}

    assert not uids(1) & uids(2)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**15 - 1), index=st.integers(min_value=0, max_value=10**8 - 1))
def test_any_study_plans_the_same_twice(seed: int, index: int) -> None:
    config = SandboxConfig(ct_slices=2, mr_slices=2)
    first, second = plan_study(seed, index, config), plan_study(seed, index, config)
    assert first.attributes == second.attributes
    assert [s.attributes for s in first.series] == [s.attributes for s in second.series]
    assert [s.instance_common for s in first.series] == [s.instance_common for s in second.series]
    assert is_valid_uid(first.study_uid) and len(str(first.attributes["PatientID"])) <= 64


@pytest.mark.parametrize(("seed", "index"), [(-1, 0), (10**15, 0), (0, -1), (0, 10**8)])
def test_out_of_range_seed_or_index(seed: int, index: int) -> None:
    with pytest.raises(ValueError):
        plan_study(seed, index, SandboxConfig())
