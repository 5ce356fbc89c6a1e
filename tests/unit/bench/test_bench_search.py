"""The QIDO-RS query mix and the "no such endpoint" test of the benchmark (pure logic)."""

from __future__ import annotations

import json
from collections import Counter

import requests

from beamit.bench.peers import unrouted
from beamit.bench.search import QUERY_KINDS, query_mix
from beamit.bench.workload import TinyStudy

STUDIES = [
    TinyStudy("1.2.1", "1.2.1.1", "Smith", "20150102", "CT"),
    TinyStudy("1.2.2", "1.2.2.1", "Müller", "20160304", "MR"),
    TinyStudy("1.2.3", "1.2.3.1", "Иванова", "20170506", "CR"),
    TinyStudy("1.2.4", "1.2.4.1", "Dubois", "20150708", "CT"),
]


def test_query_mix_has_each_kind_per_kind_times() -> None:
    mix = query_mix(STUDIES, 5)
    assert Counter(q.kind for q in mix) == {kind: 5 for kind in QUERY_KINDS}


def test_each_round_of_the_mix_covers_every_kind() -> None:
    mix = query_mix(STUDIES, 4)
    for first in range(0, len(mix), len(QUERY_KINDS)):
        assert {q.kind for q in mix[first : first + len(QUERY_KINDS)]} == set(QUERY_KINDS)


def test_query_mix_is_deterministic_and_shuffled() -> None:
    assert query_mix(STUDIES, 5) == query_mix(STUDIES, 5)
    assert [q.kind for q in query_mix(STUDIES, 5)] != [q.kind for q in query_mix(STUDIES, 5, seed=12)]


def test_patient_name_wildcards_use_ascii_family_names() -> None:
    names = {q.filters["PatientName"] for q in query_mix(STUDIES, 20) if q.kind == QUERY_KINDS[0]}
    assert names == {"Smith*", "Dubois*"}


def test_date_ranges_and_modalities_come_from_the_studies() -> None:
    for query in query_mix(STUDIES, 20):
        if query.kind == QUERY_KINDS[1]:
            first, last = query.filters["StudyDate"].split("-")
            assert first[:4] == last[:4] in {"2015", "2016", "2017"}
            assert (first[4:], last[4:]) == ("0101", "1231")
            assert query.filters["ModalitiesInStudy"] in {"CT", "MR", "CR"}
        if query.kind == QUERY_KINDS[4]:
            assert (query.study_uid, query.series_uid) in {(s.study_uid, s.series_uid) for s in STUDIES}


def _response(status: int, body: object = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None else b""
    return response


def test_unrouted_tells_a_missing_route_from_a_missing_resource() -> None:
    assert unrouted(_response(405, {"error": {"type": "method_not_allowed", "message": "GET is not allowed here"}}))
    assert unrouted(_response(501))
    assert unrouted(_response(404, {"error": {"type": "not_found", "message": "no such resource"}}))
    assert not unrouted(_response(404, {"error": {"type": "not_found", "message": "no such study"}}))
    assert not unrouted(_response(404))
    assert not unrouted(_response(200, []))
