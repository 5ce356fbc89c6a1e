"""WADO-RS (DICOM PS3.18 §10.4): retrieving what ingest stored.

- :mod:`~beamit.dicomweb.wado.instances`: which instances a study/series/instance names, from
  the tenant's catalog (only committed instances exist);
- :mod:`~beamit.dicomweb.wado.retrieve`: instance resources, streamed as stored or transcoded;
- :mod:`~beamit.dicomweb.wado.transcode`: transfer syntax conversion with pydicom;
- :mod:`~beamit.dicomweb.wado.metadata`: metadata resources from the precomputed chunks;
- :mod:`~beamit.dicomweb.wado.frames` and :mod:`~beamit.dicomweb.wado.bulkdata`: frames and
  bulk data by byte ranges of the stored object;
- :mod:`~beamit.dicomweb.wado.rendering` and :mod:`~beamit.dicomweb.wado.thumbnails`: rendered
  resources and thumbnails (consumer image formats);
- :mod:`~beamit.dicomweb.wado.etags`: strong validators and deterministic multipart boundaries.

Nothing here imports Flask: the HTTP layer is :mod:`beamit.api.wado`.
"""
