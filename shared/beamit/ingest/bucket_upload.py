"""Ingest of one object finalized in the inbox bucket: the ``ingest`` function's domain.

``ingest_finalized`` takes the CloudEvent data (``google.cloud.storage.object.v1.finalized``:
bucket, name, generation, size, contentType, timeCreated) and:

1. finds the upload the object name claims (``uploads/{tenant}/{upload id}/...``) and checks
   the record names exactly this object; otherwise the object is quarantined unread;
2. claims the job (:mod:`beamit.uploads.jobs`: idempotent under redelivery);
3. refuses the whole object if it arrived after the upload expired, differs from the
   declared size, or was retried too often; otherwise
4. stores a single file, or an archive member by member in chunks (each chunk's file
   outcomes and the job cursor committed before the next), through the one ingest core
   (:class:`~beamit.ingest.session.IngestSession`, whose commits record each study's arrival
   for ``study.received``);
5. quarantines each refused file with its reason, completes the job, writes the audit
   record (110107 Import, principal = the uploader's credential) and only then deletes the
   inbox object. A redelivery of a completed job redoes just those last two steps if a
   crash cut them off.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

from beamit import logs
from beamit.audit.event_codes import IMPORT
from beamit.audit.trail import AuditEntry, write_entry
from beamit.clock import utcnow
from beamit.dicomweb.stow import CANNOT_UNDERSTAND, PROCESSING_FAILURE, FailedInstance, StoreResult
from beamit.ingest import archive, quarantine
from beamit.ingest.archive import ArchiveRefused, Member, MemberUnreadable
from beamit.ingest.instance import ParsedInstance
from beamit.ingest.quarantine import Reason
from beamit.ingest.session import IngestSession
from beamit.storage import Services
from beamit.tenancy import TenantScope
from beamit.uploads import jobs, naming
from beamit.uploads import upload as uploads
from beamit.uploads.limits import MAX_JOB_ATTEMPTS
from beamit.uploads.upload import COMPLETED, FAILED, FileOutcome, Upload

SKIP_MESSAGES = {
    archive.DICOMDIR: "DICOMDIR is a directory of the file-set, not an instance; its instances are listed themselves",
    archive.OS_METADATA: "an entry the archiver added (operating system metadata), not a file of the study",
}


class IngestBusy(Exception):
    """Another delivery is processing this upload: fail, so the event is redelivered later."""


@dataclass(frozen=True)
class FinalizedObject:
    """The object of a ``google.cloud.storage.object.v1.finalized`` event."""

    bucket: str
    name: str
    generation: int
    size: int
    content_type: str | None = None
    time_created: datetime | None = None

    @classmethod
    def from_event(cls, data: Mapping[str, Any]) -> FinalizedObject:
        """Parse the event data (the Cloud Storage object resource); ``ValueError`` if malformed."""
        try:
            return cls(
                bucket=str(data["bucket"]),
                name=str(data["name"]),
                generation=int(data["generation"]),
                size=int(data.get("size") or 0),
                content_type=data.get("contentType"),
                time_created=_timestamp(data.get("timeCreated")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Cloud Storage object event: {type(exc).__name__}") from None


def _timestamp(value: Any) -> datetime | None:
    """An RFC 3339 time of the event, or None (then the time of processing stands in)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ingest_finalized(svc: Services, data: Mapping[str, Any], *, event_id: str | None = None) -> str:
    """Handle one delivery; returns what happened (for logs and tests).

    ``ignored`` (not the inbox, or malformed), ``unregistered`` and ``superseded``
    (quarantined unread), ``done`` (already handled: a redelivery), ``completed``,
    ``failed`` (refused whole), ``lost`` (another delivery took the job over).
    Raises :class:`IngestBusy` while another delivery holds the job.
    """
    try:
        obj = FinalizedObject.from_event(data)
    except ValueError as exc:
        logs.error("ingest event ignored", error=str(exc), eventId=event_id)
        return "ignored"
    if obj.bucket != svc.settings.bucket("inbox"):
        logs.warning("ingest event for another bucket ignored", bucket=obj.bucket, eventId=event_id)
        return "ignored"
    claimed = naming.parse_inbox_object(obj.name)
    upload = None
    if claimed is not None:
        upload = uploads.find_upload(svc.metadata, TenantScope(claimed.tenant_id), claimed.upload_id)
    if upload is None or upload.object_name != obj.name:
        _move_unread(
            svc,
            obj,
            naming.quarantined_unregistered(obj.name, obj.generation),
            Reason("unregistered_object", "no upload registered through POST /v1/uploads names this object"),
            {},
        )
        return "unregistered"
    claim = jobs.claim(svc.metadata, upload, obj.generation)
    if claim.action == "busy":
        logs.info("upload busy; the event will be redelivered", uploadId=upload.id, tenantId=upload.tenant_id)
        raise IngestBusy(f"upload {upload.id} is being processed by another delivery")
    if claim.action == "superseded":
        _move_unread(
            svc,
            obj,
            naming.quarantined_superseded(upload.tenant_id, upload.id, obj.generation),
            Reason("upload_already_ingested", "the upload's job had ended when this object arrived"),
            {"tenantId": upload.tenant_id, "uploadId": upload.id},
        )
        return "superseded"
    if claim.action == "done":
        _conclude(svc, upload.scope, upload.id, obj, event_id)
        return "done"
    assert claim.token is not None
    job = UploadJob(svc, claim.upload, claim.token, obj, attempts=claim.attempts)
    try:
        status = job.run()
    except jobs.ClaimLost:
        logs.warning("upload job taken over by another delivery", uploadId=upload.id, tenantId=upload.tenant_id)
        return "lost"
    except BaseException:
        jobs.release(svc.metadata, claim.upload, claim.token)
        raise
    _conclude(svc, upload.scope, upload.id, obj, event_id)
    return status


def _move_unread(svc: Services, obj: FinalizedObject, name: str, reason: Reason, context: dict[str, Any]) -> None:
    """Move an object that will not be ingested to quarantine (copy, then delete)."""
    info = svc.blobs.stat(obj.bucket, obj.name)
    if info is None or info.generation != obj.generation:
        return  # already moved (a redelivery)
    quarantine.copy_object(svc, obj.bucket, obj.name, name, reason, {**context, "generation": obj.generation})
    svc.blobs.delete(obj.bucket, obj.name)
    logs.warning("inbox object quarantined", reason=reason.code, quarantineObject=name, **context)


def _conclude(svc: Services, scope: TenantScope, upload_id: str, obj: FinalizedObject, event_id: str | None) -> None:
    """After the job record is committed: the audit record, then delete the inbox object."""
    upload = uploads.get_upload(svc.metadata, scope, upload_id)
    record = upload.record
    if not record.get("auditId"):
        counts = {**uploads.zero_counts(), **(record.get("counts") or {})}
        entry = AuditEntry(
            tenant_id=upload.tenant_id,
            action="INGEST /v1/uploads/<upload_id>",
            event_code=IMPORT,
            outcome=audit_outcome(record.get("status"), counts),
            principal=record.get("createdBy"),
            credential_id=record.get("createdBy"),
            request_id=event_id,
            phi=True,
            resources={"upload": upload.id, "studies": list(record.get("studies") or [])},
            details={**counts, "status": record.get("status"), "error": (record.get("error") or {}).get("code")},
        )
        jobs.mark_audited(svc.metadata, upload, write_entry(svc, entry))
    info = svc.blobs.stat(obj.bucket, obj.name)
    if info is not None and info.generation == obj.generation:
        svc.blobs.delete(obj.bucket, obj.name)


def audit_outcome(status: Any, counts: Mapping[str, int]) -> int:
    """The job's outcome in the terms STOW-RS uses: 200 all stored, 202 partly, 409 nothing."""
    if status == COMPLETED and counts.get("stored", 0) and not counts.get("failed", 0):
        return 200
    if status == COMPLETED and counts.get("stored", 0):
        return 202
    return 409


@dataclass
class _File:
    """One file to store: a member of an archive, or the uploaded object itself."""

    index: int
    name: str
    open: Callable[[], BinaryIO]  # raises MemberUnreadable
    quarantine: Callable[[Reason], str]  # returns the quarantine object's URI
    skip_reason: str | None = None
    refusal: tuple[int, str] | None = None


def resolve_outcomes(
    early: dict[int, FileOutcome],
    accepted: list[tuple[_File, ParsedInstance]],
    result: StoreResult,
    refused_at_once: set[int],
) -> dict[int, FileOutcome]:
    """Each file's outcome, from the core's result: stored by SOP Instance UID, or its failure
    (failures the core returned from ``add`` are already in ``early``; ``refused_at_once``
    holds their ids, so a later failure of another file with the same UID is told apart)."""
    outcomes = dict(early)
    stored = {s.sop_instance_uid: s for s in result.stored}
    later = {f.sop_instance_uid: f for f in result.failed if id(f) not in refused_at_once and f.sop_instance_uid}
    for file, parsed in accepted:
        uid = parsed.sop_instance_uid
        if uid in stored:
            outcomes[file.index] = FileOutcome(
                file.index,
                file.name,
                "stored",
                sop_instance_uid=uid,
                study_uid=parsed.study_uid,
                series_uid=parsed.series_uid,
                already_stored=not stored[uid].newly_stored,
            )
        else:
            failure = later.get(uid) or FailedInstance(PROCESSING_FAILURE, "the instance was not stored", None, uid)
            outcomes[file.index] = _failed(file, failure)
    return outcomes


def _failed(file: _File, failure: FailedInstance) -> FileOutcome:
    return FileOutcome(
        file.index,
        file.name,
        "failed",
        sop_instance_uid=failure.sop_instance_uid,
        study_uid=failure.study_uid,
        series_uid=failure.series_uid,
        failure_reason=failure.reason,
        message=failure.message,
    )


class UploadJob:
    """One claimed run of an upload's job (see the module docstring)."""

    def __init__(self, svc: Services, upload: Upload, token: str, obj: FinalizedObject, *, attempts: int) -> None:
        self.svc = svc
        self.upload = upload
        self.token = token
        self.obj = obj
        self.attempts = attempts
        self.cursor = int(upload.record.get("cursor", 0))
        self.counts = {**uploads.zero_counts(), **(upload.record.get("counts") or {})}
        self.studies = list(upload.record.get("studies") or [])
        self.context: dict[str, Any] = {"tenantId": upload.tenant_id, "uploadId": upload.id}
        self._archive_copy: str | None = None

    def run(self) -> str:
        current = self.svc.blobs.stat(self.obj.bucket, self.obj.name)
        if current is None or current.generation != self.obj.generation:
            # Never deleted by us before the job ends: removed by hand or by the lifecycle rule.
            error = {"code": "object_missing", "message": "the uploaded object is no longer in the inbox bucket"}
            jobs.finish(self.svc.metadata, self.upload, self.token, status=FAILED, error=error)
            return FAILED
        refusal = self._refusal()
        if refusal is not None:
            return self._refuse(refusal)
        reader = self.svc.blobs.open_reader(self.obj.bucket, self.obj.name, generation=self.obj.generation)
        try:
            head = reader.read(archive.DICOM_MAGIC_OFFSET + 4)
            reader.seek(0)
            is_archive = not archive.looks_like_dicom(head) and (
                archive.looks_like_zip(head) or zipfile.is_zipfile(reader)
            )
            reader.seek(0)
        except BaseException:
            reader.close()
            raise
        if is_archive:
            with reader:
                status = self._ingest_archive(reader)
        else:
            status = self._ingest_single(reader)
        if status == COMPLETED:
            jobs.finish(
                self.svc.metadata, self.upload, self.token, status=COMPLETED, counts=self.counts, studies=self.studies
            )
        logs.info(
            "upload ingested", tenantId=self.upload.tenant_id, uploadId=self.upload.id, status=status, **self.counts
        )
        return status

    # -- refusing the whole object --------------------------------------------------------------------

    def _refusal(self) -> Reason | None:
        if self.attempts > MAX_JOB_ATTEMPTS:
            return Reason("attempts_exhausted", f"the upload could not be ingested in {MAX_JOB_ATTEMPTS} attempts")
        arrived = self.obj.time_created or utcnow()
        if arrived > self.upload.expires_at:
            return Reason("upload_expired", "the object arrived after the upload expired")
        declared = int(self.upload.record.get("size", 0))
        if self.obj.size != declared:
            return Reason("size_mismatch", f"the object holds {self.obj.size} bytes; the upload declared {declared}")
        return None

    def _refuse(self, reason: Reason) -> str:
        uri = self._copy_whole(reason)
        jobs.finish(
            self.svc.metadata,
            self.upload,
            self.token,
            status=FAILED,
            error={"code": reason.code, "message": reason.message, "quarantineObject": uri},
        )
        return FAILED

    def _copy_whole(self, reason: Reason) -> str:
        if self._archive_copy is None:
            name = naming.quarantined_upload(self.upload.tenant_id, self.upload.id)
            self._archive_copy = quarantine.copy_object(
                self.svc,
                self.obj.bucket,
                self.obj.name,
                name,
                reason,
                {**self.context, "file": self.upload.filename, "generation": self.obj.generation},
            )
        return self._archive_copy

    # -- storing ----------------------------------------------------------------------------------------

    def _ingest_single(self, reader: BinaryIO) -> str:
        if self.cursor >= 1:  # recorded by an earlier run cut off before it finished
            reader.close()
            return COMPLETED
        file = _File(0, self.upload.filename, open=lambda: reader, quarantine=self._copy_whole)
        self._record(self._store([file]), cursor=1)
        return COMPLETED

    def _ingest_archive(self, reader: BinaryIO) -> str:
        try:
            zf = zipfile.ZipFile(reader)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            return self._refuse(Reason("archive_unreadable", f"the archive cannot be read: {type(exc).__name__}"))
        with zf:
            try:
                members = archive.plan_members(zf.infolist())
            except ArchiveRefused as exc:
                return self._refuse(Reason(exc.code, exc.message))
            for chunk in archive.chunks(members[self.cursor :]):
                files = [self._member_file(zf, m) for m in chunk]
                self._record(self._store(files), cursor=chunk[-1].index + 1)
        return COMPLETED

    def _member_file(self, zf: zipfile.ZipFile, member: Member) -> _File:
        def quarantine_member(reason: Reason) -> str:
            if member.refusal is None:
                try:
                    with archive.extract(zf, member) as data:
                        name = naming.quarantined_member(self.upload.tenant_id, self.upload.id, member.index)
                        context = {**self.context, "file": member.name, "index": member.index}
                        return quarantine.put_file(self.svc, name, data, reason, context)
                except MemberUnreadable:
                    pass
            return self._copy_whole(reason)  # bytes that cannot be extracted: the archive holds them

        return _File(
            member.index,
            member.name,
            open=lambda: archive.extract(zf, member),
            quarantine=quarantine_member,
            skip_reason=member.skip_reason,
            refusal=member.refusal,
        )

    def _store(self, files: list[_File]) -> list[FileOutcome]:
        """Store ``files`` through one ingest session; quarantine those refused."""
        session = IngestSession(self.svc, self.upload.scope, source="upload")
        early: dict[int, FileOutcome] = {}
        accepted: list[tuple[_File, ParsedInstance]] = []
        refused_at_once: set[int] = set()
        try:
            for file in files:
                if file.skip_reason is not None:
                    early[file.index] = FileOutcome(
                        file.index,
                        file.name,
                        "skipped",
                        skip_reason=file.skip_reason,
                        message=SKIP_MESSAGES[file.skip_reason],
                    )
                    continue
                if file.refusal is not None:
                    early[file.index] = _failed(file, FailedInstance(*file.refusal))
                    continue
                try:
                    data = file.open()
                except MemberUnreadable as exc:
                    early[file.index] = _failed(file, FailedInstance(CANNOT_UNDERSTAND, str(exc)))
                    continue
                got = session.add(data, data.close)
                if isinstance(got, FailedInstance):
                    refused_at_once.add(id(got))
                    early[file.index] = _failed(file, got)
                else:
                    accepted.append((file, got))
            result = session.finish()
        except BaseException:
            session.abort()
            raise
        outcomes = resolve_outcomes(early, accepted, result, refused_at_once)
        final = []
        for file in files:
            outcome = outcomes[file.index]
            if outcome.status == "failed":
                reason = Reason("instance_refused", outcome.message or "", outcome.failure_reason)
                outcome = replace(outcome, quarantine_object=file.quarantine(reason))
            final.append(outcome)
        return final

    def _record(self, outcomes: list[FileOutcome], *, cursor: int) -> None:
        uploads.write_files(self.svc.metadata, self.upload, outcomes)
        for outcome in outcomes:
            self.counts["files"] += 1
            self.counts[outcome.status] += 1
            if outcome.status == "stored" and outcome.study_uid and outcome.study_uid not in self.studies:
                self.studies.append(outcome.study_uid)
        self.cursor = cursor
        jobs.progress(
            self.svc.metadata, self.upload, self.token, cursor=cursor, counts=self.counts, studies=self.studies
        )
