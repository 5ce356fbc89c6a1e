"""A WADO-RS answer decided before any byte of its body is read: the plan every retrieve
transaction returns, and the tenant's view of the stores it reads from."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from beamit.catalog import Catalog, StoredInstance
from beamit.dicomweb.media_types import NotAcceptableError, Representation, negotiate
from beamit.dicomweb.multipart import PartOut
from beamit.dicomweb.pixel_limits import PixelLimits
from beamit.dicomweb.uri import DicomwebRoot
from beamit.errors import NotAcceptable, NotFound
from beamit.lazy import first_use
from beamit.storage import BlobStore, Services
from beamit.tenancy import TenantScope

if TYPE_CHECKING:  # the frame modules (numpy, pydicom) load on the first frame read, not with a search
    from beamit.retrieve.frame_source import FrameSource


@dataclass(frozen=True)
class Retrieval:
    """What one tenant's retrievals read: its catalog, the DICOM and derived buckets, and the
    public DICOMweb root that BulkDataURIs and RetrieveURLs are built from."""

    catalog: Catalog
    blobs: BlobStore
    dicom_bucket: str
    derived_bucket: str
    root: DicomwebRoot
    pixel_limits: PixelLimits = PixelLimits()
    """What one decode may produce (checked before every decode)."""

    @classmethod
    def for_tenant(cls, svc: Services, scope: TenantScope) -> Retrieval:
        settings = svc.settings
        return cls(Catalog(svc.metadata, scope), svc.blobs, settings.bucket("dicom"), settings.bucket("derived"),
                   DicomwebRoot(f"{settings.public_base_url}/v1/dicomweb"),
                   PixelLimits(settings.max_decode_pixels, settings.max_instance_pixels))

    @property
    def tenant_id(self) -> str:
        return self.catalog.scope.tenant_id

    def source(self, instance: StoredInstance, head: bytes | None = None) -> FrameSource:
        """Where ``instance``'s frames are read; ``head``: its object's first bytes, already read."""
        with first_use():
            from beamit.retrieve.frame_source import FrameSource

        return FrameSource(self.blobs, self.dicom_bucket, instance, self.pixel_limits, head=head)


@dataclass(frozen=True)
class Accessed:
    """The UIDs a retrieval reads (for its audit record)."""

    studies: list[str]
    series: list[str]
    instances: list[str]

    @classmethod
    def of(cls, instances: Sequence[StoredInstance]) -> Accessed:
        return cls(sorted({i.study for i in instances}), sorted({i.series for i in instances}),
                   [i.sop_instance for i in instances])


@dataclass(frozen=True)
class RetrievalPlan:
    """One WADO-RS answer: its representation and strong validator, what it reads, and its body.

    ``parts()`` is called only when the answer is not ``304``; it does every check that can
    fail (a frame that cannot be decoded: 406) before it returns, so that a failure is still a
    clean error, and the iterable it returns only reads. A single part representation sends the
    first part's body as the response body.
    """

    representation: Representation
    etag: str
    accessed: Accessed
    parts: Callable[[], Iterable[PartOut]]
    details: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def negotiated(accept: str | None, offers: Sequence[Representation]) -> Representation:
    """:func:`~beamit.dicomweb.media_types.negotiate`, its refusal as a 406."""
    try:
        return negotiate(accept, offers)
    except NotAcceptableError as exc:
        raise NotAcceptable(str(exc)) from None


def checked_frames(source: FrameSource, numbers: Sequence[int]) -> None:
    """404 unless every frame number exists."""
    with first_use():
        from beamit.dicomweb.wado.frames import FrameError

    try:
        source.check(numbers)
    except FrameError as exc:
        raise NotFound(str(exc)) from None
