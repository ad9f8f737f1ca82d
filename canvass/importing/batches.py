"""An upload's way through the web flow, kept on its ``ImportBatch``: checked, confirmed or discarded, and the rule
that says when it may be confirmed. The caller commits; the jobs that check and import it are the package's own.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from canvass import audit, jobs
from canvass.importing.fields import validate_mapping
from canvass.models import Campaign, ImportBatch, ImportStatus, Job, JobStatus, User


def create_batch(session: Session, campaign: Campaign, filename: str, stored_path: Path, user: User | None
                 ) -> ImportBatch:
    batch = ImportBatch(campaign_id=campaign.id, created_by_id=user.id if user else None, filename=filename[:255],
                        stored_path=str(stored_path), status=ImportStatus.checked)
    session.add(batch)
    session.flush()
    return batch


def receive_upload(session: Session, campaign: Campaign, filename: str, stored_path: Path, user: User
                   ) -> ImportBatch:
    """The batch of a file just uploaded (and stored at ``stored_path``), with the upload in the audit log."""
    batch = create_batch(session, campaign, filename, stored_path, user)
    audit.record(session, user, "import.uploaded", object_type="import_batch", object_id=batch.id,
                 campaign_id=campaign.id, bytes=stored_path.stat().st_size)
    return batch


def start_batch_job(session: Session, batch: ImportBatch, kind: str, user_id: int | None) -> Job:
    """The job that is to check or import the batch, recorded with it; the caller commits, then submits the job."""
    job = jobs.create_job(session, kind, user_id=user_id, campaign_id=batch.campaign_id)
    batch.job_id = job.id
    session.add(batch)
    return job


def is_open(batch: ImportBatch) -> bool:
    """Whether the batch may still be checked again or discarded: nothing was imported from it, and it was neither
    discarded nor confirmed (a check that found an error leaves it open)."""
    return batch.status == ImportStatus.checked


def waits_for_confirmation(session: Session, batch: ImportBatch) -> bool:
    """Whether the batch may be imported now: its check is done and found nothing that stops the import."""
    job = session.get(Job, batch.job_id) if batch.job_id else None
    check = (batch.summary or {}).get("check") or {}
    return bool(is_open(batch) and check and not check.get("error") and (job is None or job.status == JobStatus.done))


def choose_mapping(batch: ImportBatch, mapping: dict[str, str]) -> list[str]:
    """Keeps ``mapping`` for the batch's next check. Returns the problems instead when it cannot be used."""
    problems = validate_mapping(mapping, batch.summary["check"]["headers"])
    if not problems:
        batch.mapping = mapping
    return problems


def confirm_batch(batch: ImportBatch) -> None:
    """The batch is to be imported with the mapping its check showed; that mapping is remembered for files with the
    same header."""
    batch.mapping = batch.summary["check"]["mapping"]
    batch.status = ImportStatus.running


def discard_batch(session: Session, batch: ImportBatch) -> None:
    """Deletes the uploaded file; nothing of it is imported."""
    discard_upload(batch.stored_path)
    batch.status = ImportStatus.cancelled
    session.add(batch)


def discard_upload(stored_path: str) -> None:
    """The uploaded file holds personal data: once imported it is deleted, not kept around (and so are the check's
    cleaned rows staged beside it)."""
    path = Path(stored_path)
    shutil.rmtree(path.parent / f"{path.name}.staged", ignore_errors=True)
    if path.exists():
        path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()


@dataclass
class BatchProgress:
    job: Job | None
    working: bool  # its job is queued or running
    check: dict[str, Any] | None  # what the check found, once it has run


def batch_progress(session: Session, batch: ImportBatch) -> BatchProgress:
    """Where the batch stands, for its page. Reads only: a batch whose job died is shown failed (a check that died
    says so, never "waiting for confirmation") on a detached copy; its row is marked by the next job sweep."""
    job = jobs.job_view(session, session.get(Job, batch.job_id)) if batch.job_id else None
    working = job is not None and job.status in (JobStatus.queued, JobStatus.running)
    check_failed = job is not None and job.kind == "import-check" and "check" not in (batch.summary or {})
    if job is not None and job.status == JobStatus.failed and (batch.status == ImportStatus.running or check_failed):
        session.expunge(batch)
        batch.status, batch.error = ImportStatus.failed, job.message
    return BatchProgress(job, working, (batch.summary or {}).get("check"))


def latest_batches(session: Session, limit: int = 30) -> list[ImportBatch]:
    return list(session.exec(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(limit)))
