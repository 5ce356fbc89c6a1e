"""beamit.retrieve.rendered_cache: a kept rendering is served only for the instance it was made from."""

from __future__ import annotations

import time

import pytest

from beamit.dicomweb.uri import ResourceRef
from beamit.retrieve.rendered_cache import CachedRendering, _Recent, cache_object, forget_recent, kept_object
from tests.memory_blobs import MemoryBlobs

REF = ResourceRef("1.2.3", "1.2.3.4", "1.2.3.4.5")


@pytest.fixture(autouse=True)
def empty_memory():
    forget_recent()
    yield
    forget_recent()


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


def test_a_rendering_read_once_is_answered_from_memory_for_its_instance_only():
    blobs = MemoryBlobs()
    name = cache_object("acme", REF, 1, "image/jpeg;w=;v=;q=90", "jpg")
    blobs.put("derived", name, kept_object("md5-a", b"\xff\xd8kept"))
    assert CachedRendering(blobs, "derived", name).image("md5-a") == b"\xff\xd8kept"
    assert len(blobs.reads) == 1
    again = CachedRendering(blobs, "derived", name)
    assert again.image("md5-a") == b"\xff\xd8kept" and len(blobs.reads) == 1  # no second read
    assert again.image("md5-b") is None  # the record says other bytes: a miss, as from the bucket
    other = cache_object("acme", REF, 2, "image/jpeg;w=;v=;q=90", "jpg")
    assert CachedRendering(blobs, "derived", other).image("md5-a") is None and len(blobs.reads) == 2


def test_a_new_rendering_is_in_memory_before_its_copy_is_written():
    blobs = MemoryBlobs()
    name = cache_object("acme", REF, 1, "image/png;w=;v=;q=", "png")
    first = CachedRendering(blobs, "derived", name)
    assert first.image("md5-a") is None
    first.keep("md5-a", b"\x89PNG", "image/png")
    assert CachedRendering(blobs, "derived", name).image("md5-a") == b"\x89PNG"


def test_memory_keeps_the_most_recent_within_its_budget():
    recent = _Recent(1000)
    recent.put("a", b"x" * 50)
    recent.put("b", b"y" * 50)
    assert recent.get("a") is not None  # a is now the most recent
    for name in "cdefghijklmnopqrstuvwxyz":  # 26 x 50 bytes: the 6 oldest go
        recent.put(name, b"z" * 50)
    assert recent.get("b") is None and recent.get("a") is None and recent.get("h") == b"z" * 50
    recent.put("big", b"w" * 100)  # over a sixteenth of the budget: not held
    assert recent.get("big") is None
