"""Retrieving thumbnails (PS3.18 §10.4.1.1.6): a small image of a representative frame.

A *representative* frame: the middle image instance of the first series that has images (a
series' middle slice is more telling than a scout), and the middle frame of a multi-frame
instance. ``viewport`` and ``quality`` apply (default 128x128). Thumbnails are cached in the
derived bucket, beside the series' metadata, keyed by instance, frame and output parameters
(stored instances are immutable, so a cached thumbnail never goes stale).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from beamit import logs
from beamit.catalog import StoredInstance
from beamit.dicomweb.media_types import rendered_offers
from beamit.dicomweb.multipart import PartOut
from beamit.dicomweb.uri import ResourceRef
from beamit.dicomweb.wado.etags import strong_etag
from beamit.dicomweb.wado.frames import FrameDecodeError
from beamit.dicomweb.wado.render_params import JPEG, RenderParams, Viewport
from beamit.errors import NotAcceptable, NotFound
from beamit.retrieve.frames import images, render_frame
from beamit.retrieve.plan import Accessed, Retrieval, RetrievalPlan, checked_frames, negotiated

THUMBNAIL_SIZE = 128


def plan_thumbnail(retrieval: Retrieval, ref: ResourceRef, number: int | None, requested: RenderParams,
                   accept: str | None) -> RetrievalPlan:
    """The thumbnail of a study, series, instance or frame (``number``), from the cache or
    rendered and cached."""
    params = RenderParams(viewport=requested.viewport or Viewport(THUMBNAIL_SIZE, THUMBNAIL_SIZE),
                          quality=requested.quality)
    instances = retrieval.catalog.instances(ref)
    representation = negotiated(accept, rendered_offers())
    instance = representative(instances)
    if instance is None:
        raise NotFound(f"the {ref.level} has no images")
    source = retrieval.source(instance)
    frame_number = number if number is not None else middle_frame(max(source.number_of_frames, 1))
    checked_frames(source, [frame_number])
    media_type = representation.media_type
    etag = thumbnail_etag(instance, frame_number, params, media_type)
    name = thumbnail_object(retrieval.tenant_id, instance, frame_number, params, media_type)

    def parts() -> Iterable[PartOut]:
        blobs, derived = retrieval.blobs, retrieval.derived_bucket
        if blobs.stat(derived, name) is not None:
            return [PartOut(media_type, blobs.read(derived, name))]
        try:
            image = render_frame(source, source.frame(frame_number), params, media_type)
        except FrameDecodeError as exc:
            raise NotAcceptable(f"{exc}: no thumbnail can be made") from None
        try:
            blobs.put(derived, name, image, content_type=media_type)
        except Exception as exc:
            logs.warning("thumbnail not cached", error=type(exc).__name__)
        return [PartOut(media_type, image)]

    return RetrievalPlan(representation, etag, Accessed.of([instance]), parts,
                         {"resource": f"{ref.level}/thumbnail", "mediaType": media_type})


def representative(instances: Sequence[StoredInstance]) -> StoredInstance | None:
    """The middle image instance of the first series with images (``None`` if no images)."""
    found = images(instances)
    if not found:
        return None
    in_series = [i for i in found if i.series == found[0].series]
    return in_series[(len(in_series) - 1) // 2]


def middle_frame(number_of_frames: int) -> int:
    return (number_of_frames + 1) // 2


def thumbnail_etag(instance: StoredInstance, frame: int, params: RenderParams, media_type: str) -> str:
    return strong_etag("thumbnail", [instance.md5], params.canonical(media_type), str(frame))


def thumbnail_object(tenant_id: str, instance: StoredInstance, frame: int, params: RenderParams,
                     media_type: str) -> str:
    """``{tenant}/{study}/{series}/thumbnails/{sop}/{frame}-{key}.{ext}`` in the derived bucket
    (``key``: the start of the thumbnail's ETag, a digest of the instance's MD5 and the output
    parameters). Not under ``metadata/``, so metadata readers never see it."""
    key = thumbnail_etag(instance, frame, params, media_type).strip('"')[:24]
    return f"{thumbnail_prefix(tenant_id, instance)}{frame}-{key}.{'jpg' if media_type == JPEG else 'png'}"


def default_thumbnail_params() -> RenderParams:
    """A thumbnail asked for with no parameters: 128x128, the default quality."""
    return RenderParams(viewport=Viewport(THUMBNAIL_SIZE, THUMBNAIL_SIZE))


def thumbnail_prefix(tenant_id: str, instance: StoredInstance) -> str:
    """Where an instance's cached thumbnails are (removed with the instance)."""
    return f"{tenant_id}/{instance.study}/{instance.series}/thumbnails/{instance.sop_instance}/"
