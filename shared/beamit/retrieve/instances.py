"""Retrieving study, series and instance resources (PS3.18 §10.4.1.1.1-3): the stored instances.

Negotiation (PS3.18 §8.7.3.5, :func:`~beamit.dicomweb.media_types.negotiate`):

- ``transfer-syntax=*`` sends every instance exactly as stored (byte-identical), whatever its
  Transfer Syntax, each part naming it (``application/dicom; transfer-syntax=...``);
- no ``transfer-syntax`` (or ``*/*``) means the default, Explicit VR Little Endian: instances
  stored in it are sent as stored, the others transcoded on the fly
  (:mod:`~beamit.dicomweb.wado.transcode`);
- an explicit Transfer Syntax is honoured when every instance is stored in it, or it is
  Explicit VR Little Endian and every stored syntax can be decoded; otherwise 406.

The body is streamed in catalog order: up to :data:`READ_AHEAD` instances are read (and
transcoded) in parallel ahead of the one being sent; instances larger than
:data:`STREAM_THRESHOLD` that need no transcoding are relayed chunk by chunk from Cloud
Storage. Memory stays bounded by those two numbers, never by the study's size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from beamit import logs
from beamit.catalog import StoredInstance
from beamit.dicomweb.media_types import (
    ANY_TRANSFER_SYNTAX,
    DICOM,
    FORBIDDEN_TRANSFER_SYNTAXES,
    Representation,
    format_media_type,
    instance_offers,
)
from beamit.dicomweb.multipart import PartOut
from beamit.dicomweb.pixel_limits import PixelLimits
from beamit.dicomweb.uri import ResourceRef
from beamit.dicomweb.wado.etags import strong_etag
from beamit.dicomweb.wado.transcode import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    TranscodeError,
    can_decode,
    to_explicit_vr_little_endian,
)
from beamit.errors import NotAcceptable
from beamit.retrieve.plan import Accessed, Retrieval, RetrievalPlan, negotiated
from beamit.storage import BlobStore

READ_AHEAD = 4
STREAM_THRESHOLD = 8 << 20


def offers_for(instances: Sequence[StoredInstance], *, single_part: bool) -> tuple[Representation, ...]:
    syntaxes = {i.transfer_syntax for i in instances}
    transcode_to = (EXPLICIT_VR_LITTLE_ENDIAN,) if all(can_decode(ts) for ts in syntaxes) else ()
    stored = next(iter(syntaxes)) if len(syntaxes) == 1 else ANY_TRANSFER_SYNTAX
    if stored in FORBIDDEN_TRANSFER_SYNTAXES:
        stored = ANY_TRANSFER_SYNTAX  # sent as stored only when asked for with transfer-syntax=*
    return instance_offers(stored, transcode_to=transcode_to, single_part=single_part)


def plan_instances(retrieval: Retrieval, ref: ResourceRef, accept: str | None) -> RetrievalPlan:
    """The instances of a study, series or instance, as stored or transcoded (module docstring)."""
    instances = retrieval.catalog.instances(ref)
    single = ref.level == "instance"
    representation = representation_for(instances, accept, single_part=single)
    etag = instances_etag(instances, representation)

    def parts() -> Iterable[PartOut]:
        if not single:
            return stream_parts(retrieval.blobs, retrieval.dicom_bucket, instances,
                                lambda i: target_syntax(representation, i), limits=retrieval.pixel_limits)
        instance = instances[0]
        wanted = target_syntax(representation, instance)
        if wanted == instance.transfer_syntax:
            return [PartOut(part_content_type(wanted), retrieval.blobs.stream(retrieval.dicom_bucket, instance.blob))]
        try:  # transcoded before answering, so that a failure is still a clean 406
            body = read_instance(retrieval.blobs, retrieval.dicom_bucket, instance, wanted, retrieval.pixel_limits)
        except TranscodeError as exc:
            raise NotAcceptable(
                f"the instance (stored as {instance.transfer_syntax}) cannot be converted to {wanted}: "
                f"{exc}; ask for transfer-syntax=* to receive it as stored"
            ) from None
        return [PartOut(part_content_type(wanted), body)]

    details = {"resource": ref.level, "instanceCount": len(instances),
               "transferSyntax": representation.transfer_syntax}
    return RetrievalPlan(representation, etag, Accessed.of(instances), parts, details)


def representation_for(instances: Sequence[StoredInstance], accept: str | None, *, single_part: bool
                       ) -> Representation:
    """The negotiated representation of ``instances`` (406 when none is acceptable)."""
    return negotiated(accept, offers_for(instances, single_part=single_part))


def instances_etag(instances: Sequence[StoredInstance], representation: Representation) -> str:
    return strong_etag("instances", (i.md5 for i in instances), str(representation))


def target_syntax(representation: Representation, instance: StoredInstance) -> str:
    """The Transfer Syntax ``instance`` is sent in."""
    wanted = representation.transfer_syntax
    return instance.transfer_syntax if wanted in (None, ANY_TRANSFER_SYNTAX) else wanted


def part_content_type(transfer_syntax: str) -> str:
    return format_media_type(DICOM, {"transfer-syntax": transfer_syntax})


def read_instance(blobs: BlobStore, bucket: str, instance: StoredInstance, target: str,
                  limits: PixelLimits) -> bytes:
    """The whole instance in ``target``; raises :class:`TranscodeError` if it cannot be."""
    data = blobs.read(bucket, instance.blob)
    if target == instance.transfer_syntax:
        return data
    if target != EXPLICIT_VR_LITTLE_ENDIAN:
        raise TranscodeError(f"transcoding to {target} is not supported")
    return to_explicit_vr_little_endian(data, limits)


def _prepared(blobs: BlobStore, bucket: str, instance: StoredInstance, target: str,
              limits: PixelLimits) -> tuple[str, bytes]:
    try:
        return part_content_type(target), read_instance(blobs, bucket, instance, target, limits)
    except TranscodeError as exc:
        # Headers are long gone: send this instance as stored; its part says which syntax it is in.
        logs.warning(
            "instance sent as stored: it cannot be transcoded",
            error=type(exc).__name__,
            transferSyntax=instance.transfer_syntax,
            target=target,
        )
        return part_content_type(instance.transfer_syntax), blobs.read(bucket, instance.blob)


def stream_parts(
    blobs: BlobStore,
    bucket: str,
    instances: Sequence[StoredInstance],
    target_of: Callable[[StoredInstance], str],
    *,
    limits: PixelLimits = PixelLimits(),
    read_ahead: int = READ_AHEAD,
    stream_threshold: int = STREAM_THRESHOLD,
) -> Iterator[PartOut]:
    """``instances`` as multipart parts, each in the Transfer Syntax ``target_of`` says, in
    order, read ahead in parallel."""
    pool = ThreadPoolExecutor(max_workers=read_ahead, thread_name_prefix="wado-read")
    pending: deque[tuple[StoredInstance, Future[tuple[str, bytes]] | None]] = deque()
    upcoming = iter(instances)

    def fill() -> None:
        while len(pending) < read_ahead:
            instance = next(upcoming, None)
            if instance is None:
                return
            target = target_of(instance)
            relay = target == instance.transfer_syntax and instance.size > stream_threshold
            prepared = None if relay else pool.submit(_prepared, blobs, bucket, instance, target, limits)
            pending.append((instance, prepared))

    try:
        fill()
        while pending:
            instance, future = pending.popleft()
            fill()
            if future is None:
                yield PartOut(part_content_type(instance.transfer_syntax), blobs.stream(bucket, instance.blob))
            else:
                content_type, body = future.result()
                yield PartOut(content_type, body)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
