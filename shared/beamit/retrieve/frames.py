"""Retrieving frames (PS3.18 §10.4.1.1.4) and rendered resources (§10.4.1.1.5, §8.3.5).

Frames are sent as stored (compressed bitstreams, native bytes) or uncompressed in Explicit
VR Little Endian (``application/octet-stream``), as negotiated. Rendered resources are
consumer images (JPEG, PNG, GIF) of frames, through the presentation parameters of
:class:`~beamit.dicomweb.wado.render_params.RenderParams`:

- asked for as a single image, a study or series shows its *first* image: the first frame of
  the first instance, in retrieve order, that has Pixel Data (:func:`images`);
- asked for as ``multipart/related; type=image/...``: every frame asked for, or every frame of
  every image instance, in that order (frames that cannot be decoded are then skipped).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

from beamit import logs
from beamit.catalog import StoredInstance
from beamit.dicomweb.media_types import Representation, pixel_data_offers, rendered_offers
from beamit.dicomweb.multipart import PartOut
from beamit.dicomweb.uri import ResourceRef
from beamit.dicomweb.wado import rendering
from beamit.dicomweb.wado.etags import strong_etag
from beamit.dicomweb.wado.frames import Frame, FrameDecodeError, FrameError
from beamit.dicomweb.wado.render_params import JPEG, RenderParamError, RenderParams
from beamit.dicomweb.wado.transcode import EXPLICIT_VR_LITTLE_ENDIAN, can_decode
from beamit.errors import BadRequest, NotAcceptable, NotFound
from beamit.ingest.layout import instance_object
from beamit.retrieve.frame_source import EarlyHead, FrameSource
from beamit.retrieve.plan import Accessed, Retrieval, RetrievalPlan, checked_frames, negotiated
from beamit.retrieve.rendered_cache import CachedRendering, cache_object


def plan_frames(retrieval: Retrieval, ref: ResourceRef, numbers: tuple[int, ...], accept: str | None
                ) -> RetrievalPlan:
    """Frames ``numbers`` of one instance, one part each. The first frame is read while the
    record is: when this process has read the record before, by its byte range (the frame is
    used only if the record is the same); else, for frame 1, the object's first megabyte by its
    name (:class:`~beamit.retrieve.frame_source.EarlyHead`: a single-frame image's frame, used
    only if it is of the object the record names)."""
    early = _early_source(retrieval, ref, numbers[0])
    head = _early_head(retrieval, ref) if early is None and numbers[0] == 1 else None
    instance = _instance(retrieval, ref)
    if early is not None and early.instance == instance:
        source = early
    else:
        source = retrieval.source(instance, head.of(instance, numbers[0]) if head is not None else None)
    checked_frames(source, numbers)
    stored = instance.transfer_syntax
    representation = negotiated(
        accept, pixel_data_offers(stored, decompress=can_decode(stored), single_part=len(numbers) == 1)
    )
    etag = strong_etag("frames", [instance.md5], str(representation), ",".join(map(str, numbers)))
    uncompressed = representation.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN
    content_type = representation.part_content_type()

    def parts() -> Iterable[PartOut]:
        return (PartOut(content_type, body) for body in frame_bodies(source, numbers, uncompressed=uncompressed))

    return RetrievalPlan(representation, etag, Accessed.of([instance]), parts,
                         {"resource": "frames", "frames": list(numbers[:1000]),
                          "transferSyntax": representation.transfer_syntax})


def frame_bodies(source: FrameSource, numbers: Iterable[int], *, uncompressed: bool) -> Iterator[bytes]:
    """Each frame's bytes; the first is produced now, so a decoding failure is a clean 406."""

    def body(frame: Frame) -> bytes:
        return source.octets(frame) if uncompressed else frame.data

    numbers = iter(numbers)
    try:
        first = body(source.frame(next(numbers)))
    except FrameDecodeError as exc:
        raise NotAcceptable(f"{exc}; ask for transfer-syntax=* to receive the frames as stored") from None
    return itertools.chain([first], (body(frame) for frame in source.frames(numbers)))


def plan_rendered(retrieval: Retrieval, ref: ResourceRef, numbers: tuple[int, ...] | None, params: RenderParams,
                  accept: str | None) -> RetrievalPlan:
    """A rendered study, series, instance or frames (module docstring). One frame of one
    instance is read from the derived bucket while the catalog is, when it was rendered before
    (:mod:`beamit.retrieve.rendered_cache`)."""
    single = numbers is None or len(numbers) == 1
    offers = (rendered_offers() if single else ()) + rendered_offers(multipart=True)
    cached = _cached_rendering(retrieval, ref, numbers, params, accept, offers)
    instances = retrieval.catalog.instances(ref)
    representation = negotiated(accept, offers)
    selected = images(instances)
    if not selected:
        raise NotFound(f"the {ref.level} has no images to render")
    if not representation.multipart:
        selected = selected[:1]
    wanted = numbers if numbers is not None else ((1,) if not representation.multipart else ())
    sources = [retrieval.source(i) for i in selected]
    if numbers is not None:
        checked_frames(sources[0], numbers)
    media_type = representation.media_type
    etag = strong_etag("rendered", (i.md5 for i in selected), str(representation), params.canonical(media_type),
                       ",".join(map(str, wanted)))
    strict = not representation.multipart or numbers is not None

    def parts() -> Iterable[PartOut]:
        kept = cached.image(selected[0].md5) if cached is not None else None
        if kept is not None:
            return [PartOut(media_type, kept)]
        rendered = rendered_frames(sources, wanted, params, media_type, strict=strict)
        first = next(rendered, None)
        if first is None:
            raise NotAcceptable(f"no image of the {ref.level} could be decoded for rendering")
        if cached is not None:
            cached.keep(selected[0].md5, first, media_type)
        return (PartOut(media_type, image) for image in itertools.chain([first], rendered))

    warnings = tuple(f"the {name} parameter is not supported and was ignored" for name in params.ignored)
    return RetrievalPlan(representation, etag, Accessed.of(selected), parts,
                         {"resource": f"{ref.level}/rendered", "mediaType": media_type,
                          "frames": list(numbers[:1000]) if numbers else None}, warnings)


def _cached_rendering(retrieval: Retrieval, ref: ResourceRef, numbers: tuple[int, ...] | None, params: RenderParams,
                      accept: str | None, offers: Sequence[Representation]) -> CachedRendering | None:
    """The kept rendering of one frame of one instance in a single part, being read; else ``None``."""
    if ref.instance is None or ref.series is None or (numbers is not None and len(numbers) != 1):
        return None
    try:
        representation = negotiated(accept, offers)
    except NotAcceptable:
        return None  # answered after the catalog read, as before
    if representation.multipart:
        return None
    media_type = representation.media_type
    frame = numbers[0] if numbers else 1
    name = cache_object(retrieval.tenant_id, ref, frame, params.canonical(media_type),
                        "jpg" if media_type == JPEG else "png")
    return CachedRendering(retrieval.blobs, retrieval.derived_bucket, name)


def images(instances: Sequence[StoredInstance]) -> list[StoredInstance]:
    """The instances that have pixels, in order."""
    return [i for i in instances if i.is_image]


def rendered_frames(sources: Sequence[FrameSource], wanted: Sequence[int], params: RenderParams, media_type: str, *,
                    strict: bool) -> Iterator[bytes]:
    """Each rendered frame (``wanted`` frames, or all when empty). ``strict``: a frame that
    cannot be decoded is an error (406); otherwise it is skipped (study/series multipart)."""
    for source in sources:
        try:
            numbers = wanted or range(1, source.number_of_frames + 1)
            for frame in source.frames(numbers):
                yield render_frame(source, frame, params, media_type)
        except (FrameDecodeError, FrameError) as exc:
            if strict:
                raise NotAcceptable(f"{exc}: it cannot be rendered") from None
            logs.warning("frame skipped in a rendered multipart response", error=type(exc).__name__)


def render_frame(source: FrameSource, frame: Frame, params: RenderParams, media_type: str) -> bytes:
    """One frame as a consumer image (decoded, windowed, scaled, encoded)."""
    pixels = source.decode(frame)
    try:
        image = rendering.render(pixels, source.header, params)
    except RenderParamError as exc:
        raise BadRequest(str(exc)) from None
    return rendering.encode(image, media_type, params.quality)


def _early_source(retrieval: Retrieval, ref: ResourceRef, number: int) -> FrameSource | None:
    """A source over the remembered record of ``ref``, already reading frame ``number``; else ``None``."""
    assert ref.series is not None and ref.instance is not None
    remembered = retrieval.catalog.remembered_instance(ref.study, ref.series, ref.instance)
    if remembered is None:
        return None
    source = retrieval.source(remembered)
    if not source.indexed:
        return None  # frames cut from the whole object: nothing to start early
    try:
        source.check([number])
    except FrameError:
        return None  # answered by the checks after the record read, as before
    source.read_early(number)
    return source


def _early_head(retrieval: Retrieval, ref: ResourceRef) -> EarlyHead:
    """The first bytes of the object ingest stored ``ref``'s instance as, being read."""
    assert ref.series is not None and ref.instance is not None
    name = instance_object(retrieval.tenant_id, ref.study, ref.series, ref.instance)
    return EarlyHead(retrieval.blobs, retrieval.dicom_bucket, name)


def _instance(retrieval: Retrieval, ref: ResourceRef) -> StoredInstance:
    assert ref.series is not None and ref.instance is not None
    return retrieval.catalog.instance(ref.study, ref.series, ref.instance)
