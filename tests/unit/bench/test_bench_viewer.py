"""beamit.bench.viewer: the request list names routes, never UIDs or share codes."""

from beamit.bench.viewer import route_of


def test_route_of_hides_identifiers():
    url = ("http://127.0.0.1:8080/s/api/studies/0/series/2.25.1234/instances/1.2.840.113619.2.55/frames/1/rendered"
           "?window=40,400")
    assert route_of(url) == "/s/api/studies/0/series/{uid}/instances/{uid}/frames/1/rendered"
    assert route_of("http://127.0.0.1:8080/s/BM-7K9X2P") == "/s/{code}"
    assert route_of("http://127.0.0.1:8080/s/assets/viewer.js") == "/s/assets/viewer.js"
