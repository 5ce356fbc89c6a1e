"""Bucket uploads: large studies go to the inbox bucket, not through one STOW-RS request.

A Cloud Run function receives at most 32 MB per HTTP/1 request, so STOW-RS refuses larger
bodies (413) and points here. ``POST /v1/uploads`` registers an upload and returns a Cloud
Storage *resumable upload session* for one object in the inbox bucket; the client sends the
bytes there (one ``PUT``, or ``Content-Range`` chunks), and the bucket's finalize event runs
the ``ingest`` function, which stores the instances through the one ingest core
(:class:`beamit.ingest.session.IngestSession`) and records a job: ``GET /v1/uploads/{id}``.

Decisions (documented in ``docs/openapi.yaml``, "Uploads"):

- The session is created server-side by the function's service account
  (``blob.create_resumable_upload_session``), with ``ifGenerationMatch=0`` and the declared
  size: no signing key exists anywhere; the session URI itself is the capability. It is
  returned once and never stored. GCS keeps a session for a week; our record expires after
  :data:`~beamit.uploads.limits.UPLOAD_TTL` and an object finalized later is refused.
- Object names are chosen by the server: ``uploads/{tenant}/{upload id}/upload.{zip|dcm|bin}``
  (:mod:`beamit.uploads.naming`). The client's file name (often a patient's name) is kept in
  the Firestore record only, never in object names or URLs.
- Only objects registered this way are ingested. Anything else in the inbox (a tenant
  prefix written with bucket IAM, a second object under an upload's prefix) is moved to the
  quarantine bucket with the reason and never ingested: the tenant of an object must be the
  tenant of an upload record the API created for an authenticated caller.
- A ``.zip`` is read member by member from a seekable ranged reader, never whole in memory;
  ``DICOMDIR`` and OS metadata entries (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``) are
  listed as skipped; every other member that is not a DICOM instance fails and is
  quarantined. Archives over the member-count or uncompressed-size caps are refused whole.
- After the job record is committed the inbox object is deleted (its instances are in the
  DICOM bucket, its refused files in quarantine); the inbox lifecycle rule removes what
  ingest never consumed.
"""
