"""Which frame represents a study, series or instance, and the thumbnail cache.

Rendered resources (PS3.18 §10.4.1.1.5) of a study or series, asked for as a single image,
show the *first* image: the first frame of the first instance, in retrieve order, that has
Pixel Data. Asked for as ``multipart/related``, they are every frame of every image
instance, in that order.

Thumbnails (PS3.18 §10.4.1.1.6) show a *representative* frame: the middle image instance of
the first series that has images (a series' middle slice is more telling than a scout),
and the middle frame of a multi-frame instance. They are cached in the derived bucket,
beside the series' metadata, keyed by instance, frame and output parameters (stored
instances are immutable, so a cached thumbnail never goes stale).
"""

from __future__ import annotations

from collections.abc import Sequence

from beamit.dicomweb.wado.instances import StoredInstance

THUMBNAIL_SIZE = 128


def images(instances: Sequence[StoredInstance]) -> list[StoredInstance]:
    return [i for i in instances if i.is_image]


def representative(instances: Sequence[StoredInstance]) -> StoredInstance | None:
    """The middle image instance of the first series with images (``None`` if no images)."""
    found = images(instances)
    if not found:
        return None
    in_series = [i for i in found if i.series == found[0].series]
    return in_series[(len(in_series) - 1) // 2]


def middle_frame(number_of_frames: int) -> int:
    return (number_of_frames + 1) // 2


def cache_object(tenant_id: str, instance: StoredInstance, frame: int, key: str, extension: str) -> str:
    """``{tenant}/{study}/{series}/thumbnails/{sop}/{frame}-{key}.{ext}`` in the derived bucket
    (``key``: a hex digest of the output parameters). Not under ``metadata/``, so metadata
    readers never see it."""
    series = f"{tenant_id}/{instance.study}/{instance.series}"
    return f"{series}/thumbnails/{instance.sop_instance}/{frame}-{key}.{extension}"
