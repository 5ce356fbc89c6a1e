"""The catalog: the one repository of stored studies, series and instances (Firestore).

Three flat collections per tenant, keyed by UID:

- ``tenants/{t}/studies/{StudyInstanceUID}``: study + patient attributes (``dicom``),
  ``instanceCount``, ``seriesCount``, ``modalities``, ``sopClasses``;
- ``tenants/{t}/series/{SeriesInstanceUID}``: ``studyUID``, series attributes,
  ``instanceCount``, ``sopClasses``;
- ``tenants/{t}/instances/{SOPInstanceUID}``: ``studyUID``, ``seriesUID``, instance
  attributes, where the bytes are (``blob``), the transfer syntax and the frame index.

Children by id, so that the series of a study and the instances of a series are read by id
(a handful of reads, whatever the size of the tenant) rather than found by a query:

- the study document's ``seriesUIDs`` (every series of the study);
- ``tenants/{t}/series_members/{SeriesInstanceUID}``: ``instances``, every SOP Instance UID
  of the series (kept out of the series document, which searches read often).

Both grow by ``ArrayUnion`` in the batch that creates the children, so they are exact like the
counts. A list stops growing far below Firestore's 1 MiB document limit
(:data:`~beamit.catalog.fields.MAX_LISTED_CHILDREN`); ``seriesUIDsPartial`` (study) or
``partial`` (members) then says so, as for a parent written before the lists existed
(series documents with lists say ``membersListed``), and readers query instead.

Counts are kept exact under concurrent stores by committing each instance's ``create``
in the same atomic batch as the ``Increment`` of its series and study (see
:mod:`beamit.catalog.commit`): an instance counted twice would have been created twice,
which Firestore refuses.

Everything that reads or writes these records goes through this package: its field names
are spelled in :mod:`~beamit.catalog.fields` only.

- :class:`~beamit.catalog.repository.Catalog`: a tenant's catalog (lookups for WADO-RS, the
  viewer, shares and ingest; QIDO-RS searches; commits);
- :mod:`~beamit.catalog.commit`: committing ingested instances with exact aggregates;
- :mod:`~beamit.catalog.arrivals`: when a study's instances last arrived, and whether that
  arrival is announced (``study.received``);
- :mod:`~beamit.catalog.search`: QIDO-RS searches translated to Firestore reads;
- :mod:`~beamit.catalog.instances`: what the catalog records of a stored instance.
"""

from beamit.catalog.instances import StoredInstance
from beamit.catalog.repository import Catalog, SeriesSummary, StudySummary

__all__ = ["Catalog", "SeriesSummary", "StoredInstance", "StudySummary"]
