"""The study events phase's pieces: its studies, Orthanc's configuration, the receiver."""

from __future__ import annotations

import json
import threading

import requests

from beamit.bench.budget import Deadline
from beamit.bench.events import MARKER, REQUESTS, SLICES, event_studies, orthanc_lua
from beamit.bench.orthanc import orthanc_config
from beamit.bench.receiver import BEAMIT_PATH, ORTHANC_PATH, EventReceiver


def test_each_study_is_marked_and_sent_in_its_requests():
    studies = event_studies(200, 2)
    assert len(studies) == 2
    for requests_of_study in studies:
        assert len(requests_of_study) == REQUESTS and sum(map(len, requests_of_study)) == SLICES
        datasets = [ds for batch in requests_of_study for ds in batch]
        assert {ds.StudyDescription for ds in datasets} == {MARKER}
        assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert studies[0][0][0].StudyInstanceUID != studies[1][0][0].StudyInstanceUID


def test_orthanc_gets_the_script_and_the_window(tmp_path):
    config = orthanc_config(8042, tmp_path, tmp_path / "dicomweb.so", lua=tmp_path / "bench.lua", stable_age=2)
    assert config["LuaScripts"] == [str(tmp_path / "bench.lua")] and config["StableAge"] == 2
    assert "LuaScripts" not in orthanc_config(8042, tmp_path, tmp_path / "dicomweb.so")


def test_the_receiver_keeps_each_studys_first_arrival():
    receiver = EventReceiver()
    try:
        assert "OnStableStudy" in orthanc_lua(receiver) and receiver.url(ORTHANC_PATH) in orthanc_lua(receiver)
        event = {"id": "evt_1", "type": "study.received", "data": {"studyInstanceUID": "1.2.3"}}
        for _ in range(2):
            requests.post(receiver.url(BEAMIT_PATH), data=json.dumps(event), timeout=5)
        requests.post(receiver.url(BEAMIT_PATH), json={**event, "type": "study.shared"}, timeout=5)
        threading.Thread(target=lambda: requests.post(receiver.url(ORTHANC_PATH), data=b"1.2.4", timeout=5)).start()
        assert set(receiver.wait_for(ORTHANC_PATH, {"1.2.4"}, Deadline(5))) == {"1.2.4"}
        first = receiver.arrivals[BEAMIT_PATH]["1.2.3"]
        assert receiver.wait_for(BEAMIT_PATH, {"1.2.3"}, Deadline(1)) == {"1.2.3": first}
    finally:
        receiver.close()
