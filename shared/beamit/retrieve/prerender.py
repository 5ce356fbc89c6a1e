"""Rendering a study's first images before anyone asks: the ``prerender`` function.

On ``study.received`` (its arrival has settled), the images a viewer asks for first are
rendered into the derived bucket, under the very names the read paths look for:

- frame 1 of every image instance, as ``/rendered`` answers a request with no parameters
  (JPEG, the default quality; :mod:`beamit.retrieve.rendered_cache`), so the first request
  for any slice is a cache hit (one catalog read, the kept object read beside it);
- each series' thumbnail as asked for with no parameters (128x128 JPEG of the middle
  instance's middle frame; :mod:`beamit.retrieve.thumbnails`), which is also the study's.

Only when cheap: the frame is read by one byte range (ingest indexed it), its transfer
syntax decodes here, and it is at most :data:`MAX_FRAME_BYTES`; at most
:data:`MAX_INSTANCES` per event. Anything else is rendered on its first request, as before.
What is already there (an update of the study, a redelivered event) is not rendered again:
one listing of the study's derived objects says what is. Nothing here is answered to a
user, so nothing is audited as an access: the renderings are copies inside the tenant's
own derived bucket, removed with their instance (:mod:`beamit.deletion.studies`) or, if
written after that deletion, by the consistency sweep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from beamit import logs
from beamit.catalog import StoredInstance
from beamit.dicomweb.uri import ResourceRef
from beamit.dicomweb.wado.render_params import JPEG, RenderParams
from beamit.dicomweb.wado.transcode import can_decode
from beamit.errors import NotFound
from beamit.retrieve.frames import images, render_frame
from beamit.retrieve.plan import Retrieval
from beamit.retrieve.rendered_cache import cache_object, kept_object
from beamit.retrieve.thumbnails import default_thumbnail_params, middle_frame, representative, thumbnail_object
from beamit.storage import AlreadyExists

MAX_FRAME_BYTES = 16 << 20
"""Largest stored frame rendered ahead (a 4096x2048 16-bit frame); larger ones on request."""
MAX_INSTANCES = 5_000
"""Instances rendered ahead per event (the function's timeout bounds the rest)."""
WORKERS = 4
"""Renderings in flight: reads and writes overlap with decoding and encoding."""


@dataclass
class Prerendered:
    """What one run did, in counts (no UIDs: they identify patients' studies)."""

    rendered: int = 0
    thumbnails: int = 0
    already: int = 0
    skipped: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str) -> None:
        """One more ``rendered``, ``thumbnails``, ``already``, ``skipped`` or ``failed`` (any thread)."""
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def summary(self) -> dict[str, int]:
        return {"rendered": self.rendered, "thumbnails": self.thumbnails, "already": self.already,
                "skipped": self.skipped, "failed": self.failed}


def prerender_study(retrieval: Retrieval, study: str) -> Prerendered:
    """Render frame 1 of each image instance of ``study`` and each series' thumbnail, where
    cheap and not there yet. A study deleted since its event is nothing to do."""
    result = Prerendered()
    try:
        instances = images(retrieval.catalog.study_instances(study))
    except NotFound:
        return result
    there = {info.name for info in retrieval.blobs.list(retrieval.derived_bucket, f"{retrieval.tenant_id}/{study}/")}
    jobs: list[Callable[[], None]] = []
    for instance in instances:
        name = first_frame_object(retrieval.tenant_id, instance)
        if name in there:
            result.count("already")
        elif len(jobs) >= MAX_INSTANCES or not cheap(instance):
            result.count("skipped")
        else:
            jobs.append(_job(retrieval, instance, 1, RenderParams(), name, result, thumbnail=False))
    thumbnail = default_thumbnail_params()
    for series in sorted({i.series for i in instances}):
        chosen = representative([i for i in instances if i.series == series])
        if chosen is None or not cheap(chosen):
            continue
        frame = middle_frame(max(chosen.pixel.frame_count if chosen.pixel else 1, 1))
        name = thumbnail_object(retrieval.tenant_id, chosen, frame, thumbnail, JPEG)
        if name not in there:
            jobs.append(_job(retrieval, chosen, frame, thumbnail, name, result, thumbnail=True))
    if jobs:
        with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="prerender") as pool:
            for done in [pool.submit(job) for job in jobs]:
                done.result()
    return result


def first_frame_object(tenant_id: str, instance: StoredInstance) -> str:
    """Where ``/rendered`` with no parameters keeps frame 1 of ``instance``."""
    ref = ResourceRef(instance.study, instance.series, instance.sop_instance)
    return cache_object(tenant_id, ref, 1, RenderParams().canonical(JPEG), "jpg")


def cheap(instance: StoredInstance) -> bool:
    """Frame 1 is one range read of at most :data:`MAX_FRAME_BYTES` in a syntax decoded here."""
    pixel = instance.pixel
    if pixel is None or not pixel.frame_count or not can_decode(instance.transfer_syntax):
        return False
    return sum(length for _, length in pixel.frame_ranges(1)) <= MAX_FRAME_BYTES


def _job(retrieval: Retrieval, instance: StoredInstance, frame: int, params: RenderParams, name: str,
         result: Prerendered, *, thumbnail: bool) -> Callable[[], None]:
    def run() -> None:
        try:
            source = retrieval.source(instance)
            if not source.indexed:
                result.count("skipped")
                return
            image = render_frame(source, source.frame(frame), params, JPEG)
            if thumbnail:
                retrieval.blobs.put(retrieval.derived_bucket, name, image, content_type=JPEG, if_absent=True)
                result.count("thumbnails")
            else:
                retrieval.blobs.put(retrieval.derived_bucket, name, kept_object(instance.md5, image),
                                    content_type="application/octet-stream", if_absent=True)
                result.count("rendered")
        except AlreadyExists:  # its first request got there first
            result.count("already")
        except Exception as exc:  # one image that cannot be rendered: it answers its own request
            result.count("failed")
            logs.warning("image not rendered ahead", error=type(exc).__name__)

    return run
