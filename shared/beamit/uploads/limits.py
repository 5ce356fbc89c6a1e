"""The limits of bucket uploads and their ingest (documented in ``docs/openapi.yaml``)."""

from __future__ import annotations

from datetime import timedelta

GiB = 1 << 30

#: Largest object ``POST /v1/uploads`` accepts (``size``); larger studies go in several uploads.
MAX_UPLOAD_BYTES = 20 * GiB

#: How long an upload may take to arrive: an object finalized later is refused. GCS would
#: keep the resumable session for a week; a day bounds how long a leaked URL is useful.
UPLOAD_TTL = timedelta(hours=24)

#: Zip bomb caps, checked on the central directory before anything is extracted. zipfile
#: never inflates a member beyond the size its directory entry declares, so they hold.
MAX_ARCHIVE_MEMBERS = 20_000
MAX_ARCHIVE_UNCOMPRESSED_BYTES = 64 * GiB
#: One member is spooled (memory, then /tmp, which is memory too on Cloud Run) while stored.
MAX_MEMBER_BYTES = 1 * GiB

#: An archive is stored in chunks, each committed with its file outcomes and the job's
#: cursor, so a job cut off by the function timeout resumes where it stopped.
CHUNK_MEMBERS = 1000
CHUNK_BYTES = 2 * GiB

#: A job "processing" with no heartbeat for this long was cut off (the ingest function's
#: timeout is 540 s): the next delivery of its event takes it over.
PROCESSING_LEASE = timedelta(minutes=10)

#: Deliveries that may take a job over before it is failed (a file that kills the process
#: every time must not be retried forever).
MAX_JOB_ATTEMPTS = 5
