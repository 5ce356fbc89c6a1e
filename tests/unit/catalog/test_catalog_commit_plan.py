"""The child UID lists a catalog batch writes: a study's series, a series' instances; capped,
and never started for parents written before the lists (which would look complete)."""

from __future__ import annotations

import io

from pydicom.uid import generate_uid

from beamit.catalog import fields as catalog
from beamit.catalog.commit import _plan
from beamit.ingest.instance import parse_instance
from beamit.storage import ArrayUnion
from beamit.tenancy import TenantScope
from tests.dicom_samples import ct_instance, part10_bytes

SCOPE = TenantScope("t-unit")


def batch(study: str, series: str, count: int) -> list:
    return [parse_instance(io.BytesIO(part10_bytes(ct_instance(study, series, n + 1)))) for n in range(count)]


def writes_by_path(instances, **kwargs) -> dict:
    blobs = {i.sop_instance_uid: f"obj/{i.sop_instance_uid}" for i in instances}
    return {w.path: w for w in _plan(SCOPE, instances, blobs, **kwargs)}


def test_a_new_study_lists_its_series_and_a_new_series_its_instances() -> None:
    study, series = generate_uid(), generate_uid()
    instances = batch(study, series, 3)
    writes = writes_by_path(instances, series_exists=set(), study_exists=set())
    assert writes[catalog.study_path(SCOPE, study)].data["seriesUIDs"] == [series]
    members = writes[catalog.series_members_path(SCOPE, series)]
    assert members.op == "merge"
    assert members.data == {"instances": ArrayUnion(tuple(i.sop_instance_uid for i in instances))}
    assert writes[catalog.series_path(SCOPE, series)].data["membersListed"] is True


def test_later_batches_add_to_the_lists() -> None:
    study, series, other = generate_uid(), generate_uid(), generate_uid()
    instances = batch(study, series, 2) + batch(study, other, 1)
    writes = writes_by_path(instances, series_exists={series}, study_exists={study},
                            listed={series: 2, study: 1})
    assert writes[catalog.study_path(SCOPE, study)].data["seriesUIDs"] == ArrayUnion((other,))
    assert writes[catalog.series_members_path(SCOPE, series)].data == {
        "instances": ArrayUnion(tuple(i.sop_instance_uid for i in instances[:2]))}


def test_past_the_cap_or_without_a_list_the_parent_is_marked_partial() -> None:
    study, series, other = generate_uid(), generate_uid(), generate_uid()
    instances = batch(study, series, 2) + batch(study, other, 1)
    capped = writes_by_path(instances, series_exists={series}, study_exists={study},
                            listed={series: catalog.MAX_LISTED_CHILDREN - 1, study: catalog.MAX_LISTED_CHILDREN})
    assert capped[catalog.series_members_path(SCOPE, series)].data == {"partial": True}
    assert capped[catalog.study_path(SCOPE, study)].data["seriesUIDsPartial"] is True
    assert "seriesUIDs" not in capped[catalog.study_path(SCOPE, study)].data
    legacy = writes_by_path(instances, series_exists={series}, study_exists={study},
                            listed={series: None, study: None})
    assert legacy[catalog.series_members_path(SCOPE, series)].data == {"partial": True}
    assert legacy[catalog.study_path(SCOPE, study)].data["seriesUIDsPartial"] is True
    assert catalog.listed_instances({"instances": ["1.2"], "partial": True}) is None
    assert catalog.listed_series({"seriesUIDs": ["1.2"]}) == ["1.2"]
    assert catalog.listed_series({"studyUID": "1"}) is None
