"""WADO-RS (PS3.18 §10.4) handlers, registered on the ``/v1/dicomweb`` router.

Every route needs ``studies:read``; every retrieval is audited as PHI access (110104 for
instances, 110103 for metadata, frames, bulk data, rendered resources and thumbnails).
Responses carry a strong ``ETag`` (``If-None-Match`` gives 304) and
``Cache-Control: private, no-store``: PHI stays out of shared and browser caches. The
domain logic lives in :mod:`beamit.dicomweb.wado`; handlers parse, call it, and shape HTTP.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from flask import Response

from beamit import logs
from beamit.api.dicomweb import dicom_json_response, dicomweb_root, router
from beamit.audit.event_codes import INSTANCES_ACCESSED, INSTANCES_TRANSFERRED
from beamit.auth.scopes import STUDIES_READ
from beamit.dicomweb.media_types import (
    DICOM_JSON,
    NotAcceptableError,
    Representation,
    bulkdata_offers,
    metadata_offers,
    negotiate,
    pixel_data_offers,
    rendered_offers,
)
from beamit.dicomweb.multipart import PartOut, encode_parts
from beamit.dicomweb.uri import DicomwebURIError, ElementPath, ResourceRef, parse_frame_list
from beamit.dicomweb.wado import rendering, thumbnails
from beamit.dicomweb.wado.bulkdata import BulkDataNotFound, bulk_value, is_pixel_data
from beamit.dicomweb.wado.etags import boundary_for, strong_etag
from beamit.dicomweb.wado.frames import Frame, FrameDecodeError, FrameError, FrameSource
from beamit.dicomweb.wado.instances import StoredInstance, find_instances, get_instance
from beamit.dicomweb.wado.metadata import (
    committed_count,
    committed_metadata,
    in_order,
    metadata_etag,
    read_chunks,
    series_of,
    sop_of,
)
from beamit.dicomweb.wado.rendering import RenderParamError, RenderParams, Viewport
from beamit.dicomweb.wado.retrieve import part_content_type, plan_retrieve, read_instance, stream_parts
from beamit.dicomweb.wado.transcode import EXPLICIT_VR_LITTLE_ENDIAN, TranscodeError, can_decode
from beamit.errors import BadRequest, NotAcceptable, NotFound
from beamit.web import RequestContext

CACHE_CONTROL = "private, no-store"

STUDY = "/v1/dicomweb/studies/<study>"
SERIES = f"{STUDY}/series/<series>"
INSTANCE = f"{SERIES}/instances/<instance>"
FRAMES = f"{INSTANCE}/frames/<frames>"


# -- request parsing ------------------------------------------------------------------------------


def _ref(ctx: RequestContext) -> ResourceRef:
    try:
        return ResourceRef(ctx.args["study"], ctx.args.get("series"), ctx.args.get("instance"))
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None


def _frame_numbers(ctx: RequestContext) -> tuple[int, ...]:
    try:
        return parse_frame_list(ctx.args["frames"])
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None


def _accept(ctx: RequestContext) -> str | None:
    """The ``accept`` query parameter overrides the header (PS3.18 §8.3.3.1)."""
    return ctx.request.args.get("accept") or ctx.request.headers.get("Accept")


def _negotiate(ctx: RequestContext, offers: Sequence[Representation]) -> Representation:
    try:
        return negotiate(_accept(ctx), offers)
    except NotAcceptableError as exc:
        raise NotAcceptable(str(exc)) from None


def _render_params(ctx: RequestContext) -> RenderParams:
    try:
        return RenderParams.parse(ctx.request.args)
    except RenderParamError as exc:
        raise BadRequest(str(exc)) from None


def _source(ctx: RequestContext, instance: StoredInstance) -> FrameSource:
    return FrameSource(ctx.services.blobs, ctx.settings.bucket("dicom"), instance)


def _audit(ctx: RequestContext, event_code: str, instances: Sequence[StoredInstance], **details: object) -> None:
    _audit_ids(
        ctx,
        event_code,
        sorted({i.study for i in instances}),
        sorted({i.series for i in instances}),
        [i.sop_instance for i in instances],
        **details,
    )


def _audit_ids(
    ctx: RequestContext, event_code: str, studies: list[str], series: list[str], instances: list[str], **details: object
) -> None:
    ctx.audit.event_code = event_code
    ctx.audit.phi = True
    ctx.audit.resources.studies, ctx.audit.resources.series, ctx.audit.resources.instances = studies, series, instances
    ctx.audit.detail(**details)


# -- responses ---------------------------------------------------------------------------------------


def _validators(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept"}


def _fresh(ctx: RequestContext, etag: str) -> bool:
    """``If-None-Match`` names the current representation (weak comparison, RFC 9110 §13.1.2)."""
    tags = ctx.request.if_none_match
    return bool(tags) and (tags.star_tag or tags.contains_weak(etag.strip('"')))


def _not_modified(etag: str) -> Response:
    return Response(status=304, headers=_validators(etag))


def _respond(body: bytes | Iterable[bytes], content_type: str, etag: str, warnings: Iterable[str] = ()) -> Response:
    response = Response(body, status=200, content_type=content_type, headers=_validators(etag))
    for warning in warnings:
        response.headers.add("Warning", f'299 beamit "{warning}"')
    return response


def _send(
    representation: Representation, parts: Iterable[PartOut], etag: str, warnings: Iterable[str] = ()
) -> Response:
    """One part as the body (single part representation) or all of them as multipart/related."""
    if not representation.multipart:
        part = next(iter(parts))
        return _respond(part.body, part.content_type, etag, warnings)
    boundary = boundary_for(etag)
    return _respond(encode_parts(parts, boundary), representation.content_type(boundary), etag, warnings)


# -- instances (PS3.18 §10.4.1.1.1-3) -------------------------------------------------------------------


@router.route(STUDY, methods=["GET"], scope=STUDIES_READ)
def retrieve_study(ctx: RequestContext) -> Response:
    return _retrieve(ctx)


@router.route(SERIES, methods=["GET"], scope=STUDIES_READ)
def retrieve_series(ctx: RequestContext) -> Response:
    return _retrieve(ctx)


@router.route(INSTANCE, methods=["GET"], scope=STUDIES_READ)
def retrieve_instance(ctx: RequestContext) -> Response:
    return _retrieve(ctx)


def _retrieve(ctx: RequestContext) -> Response:
    ref = _ref(ctx)
    instances = find_instances(ctx.services.metadata, ctx.tenant, ref)
    try:
        plan = plan_retrieve(instances, _accept(ctx), single_part=ref.level == "instance")
    except NotAcceptableError as exc:
        raise NotAcceptable(str(exc)) from None
    _audit(
        ctx,
        INSTANCES_TRANSFERRED,
        instances,
        resource=ref.level,
        instanceCount=len(instances),
        transferSyntax=plan.representation.transfer_syntax,
    )
    if _fresh(ctx, plan.etag):
        return _not_modified(plan.etag)
    blobs, bucket = ctx.services.blobs, ctx.settings.bucket("dicom")
    if ref.level == "instance":
        instance = instances[0]
        target = plan.target(instance)
        if target == instance.transfer_syntax:
            body: bytes | Iterator[bytes] = blobs.stream(bucket, instance.blob)
        else:  # transcode before answering, so that a failure is still a clean 406
            try:
                body = read_instance(blobs, bucket, instance, target)
            except TranscodeError as exc:
                raise NotAcceptable(
                    f"the instance (stored as {instance.transfer_syntax}) cannot be converted to {target}: "
                    f"{exc}; ask for transfer-syntax=* to receive it as stored"
                ) from None
        return _send(plan.representation, [PartOut(part_content_type(target), body)], plan.etag)
    return _send(plan.representation, stream_parts(blobs, bucket, plan), plan.etag)


# -- metadata (PS3.18 §10.4.1.1.2) -------------------------------------------------------------------------


@router.route(f"{STUDY}/metadata", methods=["GET"], scope=STUDIES_READ)
def retrieve_study_metadata(ctx: RequestContext) -> Response:
    return _metadata(ctx)


@router.route(f"{SERIES}/metadata", methods=["GET"], scope=STUDIES_READ)
def retrieve_series_metadata(ctx: RequestContext) -> Response:
    return _metadata(ctx)


@router.route(f"{INSTANCE}/metadata", methods=["GET"], scope=STUDIES_READ)
def retrieve_instance_metadata(ctx: RequestContext) -> Response:
    return _metadata(ctx)


def _metadata(ctx: RequestContext) -> Response:
    ref = _ref(ctx)
    representation = _negotiate(ctx, metadata_offers())
    root = dicomweb_root(ctx)
    blobs, store, dicom_bucket = ctx.services.blobs, ctx.services.metadata, ctx.settings.bucket("dicom")
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wado-metadata")
    try:  # the chunks are read while the catalog says what is committed
        chunks = reader.submit(read_chunks, blobs, ctx.settings.bucket("derived"), ctx.tenant.tenant_id, ref, root)
        if ref.level == "instance":
            items = committed_metadata(chunks.result(), [_instance(ctx, ref)], blobs, dicom_bucket, root)
        else:
            count = committed_count(store, ctx.tenant, ref)
            items = chunks.result()
            if len(items) != count:  # an ingest in flight or a failed commit: ask the catalog which
                instances = find_instances(store, ctx.tenant, ref)
                items = committed_metadata(items, instances, blobs, dicom_bucket, root)
            else:
                items = in_order(items)
    finally:
        reader.shutdown(wait=False, cancel_futures=True)
    response = dicom_json_response(items)
    etag = metadata_etag(response.get_data(), representation.media_type)
    _audit_ids(
        ctx,
        INSTANCES_ACCESSED,
        [ref.study],
        sorted({series_of(i) for i in items}),
        [sop_of(i) for i in items],
        resource=f"{ref.level}/metadata",
        instanceCount=len(items),
    )
    if _fresh(ctx, etag):
        return _not_modified(etag)
    response.headers.update(_validators(etag))
    if representation.media_type != DICOM_JSON:
        response.headers["Content-Type"] = representation.media_type  # exactly application/json
    return response


# -- frames (PS3.18 §10.4.1.1.4) ------------------------------------------------------------------------------


@router.route(FRAMES, methods=["GET"], scope=STUDIES_READ)
def retrieve_frames(ctx: RequestContext) -> Response:
    ref = _ref(ctx)
    numbers = _frame_numbers(ctx)
    instance = _instance(ctx, ref)
    source = _source(ctx, instance)
    _check_frames(source, numbers)
    stored = instance.transfer_syntax
    representation = _negotiate(
        ctx, pixel_data_offers(stored, decompress=can_decode(stored), single_part=len(numbers) == 1)
    )
    etag = strong_etag("frames", [instance.md5], str(representation), ",".join(map(str, numbers)))
    _audit(
        ctx,
        INSTANCES_ACCESSED,
        [instance],
        resource="frames",
        frames=list(numbers[:1000]),
        transferSyntax=representation.transfer_syntax,
    )
    if _fresh(ctx, etag):
        return _not_modified(etag)
    bodies = _frame_bodies(source, numbers, uncompressed=representation.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN)
    content_type = representation.part_content_type()
    return _send(representation, (PartOut(content_type, body) for body in bodies), etag)


def _instance(ctx: RequestContext, ref: ResourceRef) -> StoredInstance:
    assert ref.series is not None and ref.instance is not None
    return get_instance(ctx.services.metadata, ctx.tenant, ref.study, ref.series, ref.instance)


def _check_frames(source: FrameSource, numbers: Sequence[int]) -> None:
    try:
        source.check(numbers)
    except FrameError as exc:
        raise NotFound(str(exc)) from None


def _frame_bodies(source: FrameSource, numbers: Sequence[int], *, uncompressed: bool) -> Iterator[bytes]:
    """Each frame's bytes; the first is produced now, so a decoding failure is a clean 406."""

    def body(frame: Frame) -> bytes:
        return source.octets(frame) if uncompressed else frame.data

    try:
        first = body(source.frame(numbers[0]))
    except FrameDecodeError as exc:
        raise NotAcceptable(f"{exc}; ask for transfer-syntax=* to receive the frames as stored") from None
    return itertools.chain([first], (body(frame) for frame in source.frames(numbers[1:])))


# -- bulk data (PS3.18 §10.4.1.1.5) ---------------------------------------------------------------------------


@router.route(f"{INSTANCE}/bulkdata/<path:element>", methods=["GET"], scope=STUDIES_READ)
def retrieve_bulkdata(ctx: RequestContext) -> Response:
    ref = _ref(ctx)
    try:
        path = ElementPath.parse(ctx.args["element"])
    except DicomwebURIError as exc:
        raise BadRequest(str(exc)) from None
    instance = _instance(ctx, ref)
    source = _source(ctx, instance)
    if is_pixel_data(path):
        return _pixel_data(ctx, instance, source)
    representation = _negotiate(ctx, bulkdata_offers(single_part=True))
    etag = strong_etag("bulkdata", [instance.md5], str(path), str(representation))
    _audit(ctx, INSTANCES_ACCESSED, [instance], resource="bulkdata", element=str(path))
    if _fresh(ctx, etag):
        return _not_modified(etag)
    try:
        value = bulk_value(source, path)
    except BulkDataNotFound as exc:
        raise NotFound(str(exc)) from None
    return _send(representation, [PartOut(representation.part_content_type(), value)], etag)


def _pixel_data(ctx: RequestContext, instance: StoredInstance, source: FrameSource) -> Response:
    """Pixel Data as bulk data: uncompressed, all frames as one value; compressed, a part per frame."""
    _check_frames(source, [1])
    count = source.number_of_frames
    stored = instance.transfer_syntax
    offers = pixel_data_offers(stored, decompress=can_decode(stored), single_part=True)
    if count > 1:  # several compressed frames cannot be one single part body
        offers = tuple(o for o in offers if o.multipart or o.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN)
    representation = _negotiate(ctx, offers)
    etag = strong_etag("bulkdata", [instance.md5], "7FE00010", str(representation))
    _audit(
        ctx,
        INSTANCES_ACCESSED,
        [instance],
        resource="bulkdata",
        element="7FE00010",
        transferSyntax=representation.transfer_syntax,
    )
    if _fresh(ctx, etag):
        return _not_modified(etag)
    numbers = range(1, count + 1)
    content_type = representation.part_content_type()
    if representation.transfer_syntax == EXPLICIT_VR_LITTLE_ENDIAN:
        value = _frame_bodies(source, numbers, uncompressed=True)
        return _send(representation, [PartOut(content_type, value)], etag)
    bodies = _frame_bodies(source, numbers, uncompressed=False)
    return _send(representation, (PartOut(content_type, body) for body in bodies), etag)


# -- rendered resources (PS3.18 §10.4.1.1.5, §8.3.5) ---------------------------------------------------------


@router.route(f"{STUDY}/rendered", methods=["GET"], scope=STUDIES_READ)
def retrieve_rendered_study(ctx: RequestContext) -> Response:
    return _rendered(ctx, None)


@router.route(f"{SERIES}/rendered", methods=["GET"], scope=STUDIES_READ)
def retrieve_rendered_series(ctx: RequestContext) -> Response:
    return _rendered(ctx, None)


@router.route(f"{INSTANCE}/rendered", methods=["GET"], scope=STUDIES_READ)
def retrieve_rendered_instance(ctx: RequestContext) -> Response:
    return _rendered(ctx, None)


@router.route(f"{FRAMES}/rendered", methods=["GET"], scope=STUDIES_READ)
def retrieve_rendered_frames(ctx: RequestContext) -> Response:
    return _rendered(ctx, _frame_numbers(ctx))


def _rendered(ctx: RequestContext, numbers: tuple[int, ...] | None) -> Response:
    """Single part: the first frame of the first image (or the one frame asked for).
    ``multipart/related; type=image/...``: every frame asked for, or of every image."""
    ref = _ref(ctx)
    params = _render_params(ctx)
    instances = find_instances(ctx.services.metadata, ctx.tenant, ref)
    single = numbers is None or len(numbers) == 1
    representation = _negotiate(ctx, (rendered_offers() if single else ()) + rendered_offers(multipart=True))
    selected = thumbnails.images(instances)
    if not selected:
        raise NotFound(f"the {ref.level} has no images to render")
    if not representation.multipart:
        selected = selected[:1]
    wanted = numbers if numbers is not None else ((1,) if not representation.multipart else ())
    sources = [_source(ctx, i) for i in selected]
    if numbers is not None:
        _check_frames(sources[0], numbers)
    media_type = representation.media_type
    etag = strong_etag(
        "rendered",
        (i.md5 for i in selected),
        str(representation),
        params.canonical(media_type),
        ",".join(map(str, wanted)),
    )
    _audit(
        ctx,
        INSTANCES_ACCESSED,
        selected,
        resource=f"{ref.level}/rendered",
        mediaType=media_type,
        frames=list(numbers[:1000]) if numbers else None,
    )
    if _fresh(ctx, etag):
        return _not_modified(etag)
    strict = not representation.multipart or numbers is not None
    images = _rendered_images(sources, wanted, params, media_type, strict=strict)
    first = next(images, None)
    if first is None:
        raise NotAcceptable(f"no image of the {ref.level} could be decoded for rendering")
    parts = (PartOut(media_type, image) for image in itertools.chain([first], images))
    return _send(representation, parts, etag, _ignored(params))


def _rendered_images(
    sources: Sequence[FrameSource], wanted: Sequence[int], params: RenderParams, media_type: str, *, strict: bool
) -> Iterator[bytes]:
    """Each rendered frame (``wanted`` frames, or all when empty). ``strict``: a frame that
    cannot be decoded is an error (406); otherwise it is skipped (study/series multipart)."""
    for source in sources:
        try:
            numbers = wanted or range(1, source.number_of_frames + 1)
            for frame in source.frames(numbers):
                yield _render(source, frame, params, media_type)
        except (FrameDecodeError, FrameError) as exc:
            if strict:
                raise NotAcceptable(f"{exc}: it cannot be rendered") from None
            logs.warning("frame skipped in a rendered multipart response", error=type(exc).__name__)


def _render(source: FrameSource, frame: Frame, params: RenderParams, media_type: str) -> bytes:
    pixels = source.decode(frame)
    try:
        image = rendering.render(pixels, source.header, params)
    except RenderParamError as exc:
        raise BadRequest(str(exc)) from None
    return rendering.encode(image, media_type, params.quality)


def _ignored(params: RenderParams) -> list[str]:
    return [f"the {name} parameter is not supported and was ignored" for name in params.ignored]


# -- thumbnails (PS3.18 §10.4.1.1.6) -----------------------------------------------------------------------------


@router.route(f"{STUDY}/thumbnail", methods=["GET"], scope=STUDIES_READ)
def retrieve_study_thumbnail(ctx: RequestContext) -> Response:
    return _thumbnail(ctx, None)


@router.route(f"{SERIES}/thumbnail", methods=["GET"], scope=STUDIES_READ)
def retrieve_series_thumbnail(ctx: RequestContext) -> Response:
    return _thumbnail(ctx, None)


@router.route(f"{INSTANCE}/thumbnail", methods=["GET"], scope=STUDIES_READ)
def retrieve_instance_thumbnail(ctx: RequestContext) -> Response:
    return _thumbnail(ctx, None)


@router.route(f"{FRAMES}/thumbnail", methods=["GET"], scope=STUDIES_READ)
def retrieve_frame_thumbnail(ctx: RequestContext) -> Response:
    numbers = _frame_numbers(ctx)
    if len(numbers) != 1:
        raise BadRequest("a thumbnail is of one frame")
    return _thumbnail(ctx, numbers[0])


def _thumbnail(ctx: RequestContext, number: int | None) -> Response:
    """A small image of a representative frame (``viewport`` and ``quality`` apply; default
    128x128), cached in the derived bucket."""
    ref = _ref(ctx)
    requested = _render_params(ctx)
    params = RenderParams(
        viewport=requested.viewport or Viewport(thumbnails.THUMBNAIL_SIZE, thumbnails.THUMBNAIL_SIZE),
        quality=requested.quality,
    )
    instances = find_instances(ctx.services.metadata, ctx.tenant, ref)
    representation = _negotiate(ctx, rendered_offers())
    instance = thumbnails.representative(instances)
    if instance is None:
        raise NotFound(f"the {ref.level} has no images")
    source = _source(ctx, instance)
    frame_number = number if number is not None else thumbnails.middle_frame(max(source.number_of_frames, 1))
    _check_frames(source, [frame_number])
    media_type = representation.media_type
    etag = strong_etag("thumbnail", [instance.md5], params.canonical(media_type), str(frame_number))
    _audit(ctx, INSTANCES_ACCESSED, [instance], resource=f"{ref.level}/thumbnail", mediaType=media_type)
    if _fresh(ctx, etag):
        return _not_modified(etag)
    blobs, derived = ctx.services.blobs, ctx.settings.bucket("derived")
    name = thumbnails.cache_object(
        ctx.tenant.tenant_id,
        instance,
        frame_number,
        etag.strip('"')[:24],
        "jpg" if media_type == rendering.JPEG else "png",
    )
    if blobs.stat(derived, name) is not None:
        image = blobs.read(derived, name)
    else:
        try:
            image = _render(source, source.frame(frame_number), params, media_type)
        except FrameDecodeError as exc:
            raise NotAcceptable(f"{exc}: no thumbnail can be made") from None
        try:
            blobs.put(derived, name, image, content_type=media_type)
        except Exception as exc:
            logs.warning("thumbnail not cached", error=type(exc).__name__)
    return _respond(image, media_type, etag)
