"""beamit.retrieve.rendered_cache: a kept rendering is served only for the instance it was made from."""

from __future__ import annotations

import time

from beamit.dicomweb.uri import ResourceRef
from beamit.retrieve.rendered_cache import CachedRendering, cache_object
from tests.memory_blobs import MemoryBlobs

REF = ResourceRef("1.2.3", "1.2.3.4", "1.2.3.4.5")


def wait_for(blobs: MemoryBlobs, name: str) -> None:
    deadline = time.monotonic() + 5
    while blobs.stat("derived", name) is None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_names_differ_by_frame_and_parameters_and_stay_in_the_series():
    a = cache_object("acme", REF, 1, "image/jpeg;w=;v=;q=90", "jpg")
    assert a.startswith("acme/1.2.3/1.2.3.4/rendered/1.2.3.4.5/1-") and a.endswith(".jpg")
    assert a != cache_object("acme", REF, 2, "image/jpeg;w=;v=;q=90", "jpg")
    assert a != cache_object("acme", REF, 1, "image/jpeg;w=40.0,400.0,LINEAR;v=;q=90", "jpg")


def test_a_miss_then_a_hit_for_the_same_instance_only():
    blobs = MemoryBlobs()
    name = cache_object("acme", REF, 1, "image/jpeg;w=;v=;q=90", "jpg")
    first = CachedRendering(blobs, "derived", name)
    assert first.image("md5-a") is None  # nothing kept yet
    first.keep("md5-a", b"\xff\xd8jpeg", "image/jpeg")
    wait_for(blobs, name)
    assert CachedRendering(blobs, "derived", name).image("md5-a") == b"\xff\xd8jpeg"
    assert CachedRendering(blobs, "derived", name).image("md5-b") is None  # other bytes under the same UID
