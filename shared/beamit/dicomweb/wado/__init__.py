"""WADO-RS (DICOM PS3.18 §10.4) wire formats: pure functions over bytes and data sets.

- :mod:`~beamit.dicomweb.wado.frames`: cutting, decoding and checking frames;
- :mod:`~beamit.dicomweb.wado.transcode`: transfer syntax conversion with pydicom;
- :mod:`~beamit.dicomweb.wado.rendering`: rendered resources (consumer image formats);
- :mod:`~beamit.dicomweb.wado.etags`: strong validators and deterministic multipart boundaries.

Nothing here reads a store or imports Flask: the retrieve transactions are :mod:`beamit.retrieve`.
"""
