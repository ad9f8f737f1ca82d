"""Background jobs (imports, large exports) run in a thread pool; their state lives in the ``job`` table.

Any app process can show a job's progress. A job whose process died stops sending heartbeats and is shown as
failed; the work itself is one transaction, so a dead job leaves the database as it was. Pages never write: the row
of such a job is marked failed by the next job runner that sweeps (``fail_stale_jobs``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from canvass.db import writer
from canvass.i18n import N_
from canvass.models import ImportBatch, ImportStatus, Job, JobStatus, utcnow

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10
STALE_AFTER = timedelta(seconds=90)


class JobFailed(Exception):
    """Raised by a job with a sentence for the user; anything else is reported as an unexpected error."""


#: Progress of the jobs running in this process, readable even while a job's transaction holds SQLite's write lock.
LIVE: dict[int, tuple[float, str]] = {}


class Progress:
    """Passed to a job: ``progress(0.4, "Saving people")`` records how far it is (written at most twice a second)."""

    def __init__(self, engine: Engine | None, job_id: int | None):
        self.engine, self.job_id = engine, job_id
        self._last = 0.0
        self.fraction, self.message = 0.0, ""

    def __call__(self, fraction: float, message: str = "") -> None:
        self.fraction, self.message = max(0.0, min(1.0, fraction)), message or self.message
        if self.job_id is None:
            return
        LIVE[self.job_id] = (self.fraction, self.message)
        now = time.monotonic()
        if now - self._last < 0.5 and fraction < 1.0:
            return
        self._last = now
        _write_quietly(self.engine, self.job_id, progress=self.fraction, message=self.message[:300],
                       heartbeat_at=utcnow())


def _write_quietly(engine: Engine, job_id: int, **values: Any) -> None:
    """Best effort: while an import holds SQLite's write lock this would wait, so it gives up at once instead."""
    try:
        with writer(engine).connect() as conn:
            raw = conn.connection.driver_connection
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                raw.execute("PRAGMA busy_timeout=100")  # on the driver: no transaction is opened for it
            try:
                conn.execute(sa.update(Job).where(Job.id == job_id).values(**values))
                conn.commit()
            finally:
                conn.rollback()
                if sqlite:
                    raw.execute("PRAGMA busy_timeout=30000")
    except sa.exc.OperationalError:
        log.debug("job %s progress not written (database busy)", job_id)


def give_memory_back() -> None:
    """After a big job, returns the freed heap to the system: glibc keeps it otherwise, and an app process that
    once checked a 200 MB file went on holding 3.5 GB."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        ctypes.CDLL(None).malloc_trim(0)


def create_job(session: Session, kind: str, *, user_id: int | None = None, campaign_id: int | None = None) -> Job:
    job = Job(kind=kind, created_by_id=user_id, campaign_id=campaign_id)
    session.add(job)
    session.flush()
    return job


STALE_MESSAGE = N_("The app stopped while this was running. Nothing was changed; start it again.")


def job_view(session: Session, job: Job) -> Job:
    """The job as users should see it: live progress when it runs here; failed when its process is gone.

    Reads only: the figures shown are set on a detached copy, never written back from a page view."""
    live = job.id in LIVE and job.status in (JobStatus.running, JobStatus.queued)
    stale = not live and job.status in (JobStatus.running, JobStatus.queued) and _is_stale(job)
    if live or stale:
        session.expunge(job)
    if live:
        job.progress, job.message = LIVE[job.id]
    elif stale:
        job.status, job.message, job.finished_at = JobStatus.failed, STALE_MESSAGE, job.heartbeat_at
    return job


def fail_stale_jobs(session: Session) -> int:
    """Marks failed the jobs whose process stopped sending heartbeats. Returns how many. The caller commits."""
    cutoff = utcnow() - STALE_AFTER
    last_sign = sa.func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
    stale = list(session.exec(select(Job.id).where(Job.status.in_([JobStatus.running, JobStatus.queued]),
                                                   last_sign < cutoff)))
    if stale:
        session.execute(sa.update(Job).where(Job.id.in_(stale))
                        .values(status=JobStatus.failed, message=STALE_MESSAGE, finished_at=utcnow()))
        session.execute(sa.update(ImportBatch).where(ImportBatch.job_id.in_(stale),
                                                     ImportBatch.status == ImportStatus.running)
                        .values(status=ImportStatus.failed, error=STALE_MESSAGE, finished_at=utcnow()))
    return len(stale)


def _is_stale(job: Job) -> bool:
    last = job.heartbeat_at or job.started_at or job.created_at
    return utcnow() - last > STALE_AFTER


class JobRunner:
    """Runs ``fn(progress, *args)`` in a worker thread and records the outcome on the job row."""

    def __init__(self, engine: Engine, threads: int = 2):
        self.engine = engine
        self.inline = threads <= 0  # run in the caller's thread (tests that want determinism)
        self.executor = None if self.inline else ThreadPoolExecutor(threads, thread_name_prefix="canvass-job")
        self.futures: dict[int, Future] = {}
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None

    def submit(self, job_id: int, fn: Callable[..., dict[str, Any] | None], *args: Any) -> None:
        if self.inline:
            self._run(job_id, fn, args)
            return
        self._start_heartbeat()
        with self._lock:
            self._running.add(job_id)  # queued behind another job, it still beats: it is not stale
        self.executor.submit(self._sweep)
        self.futures[job_id] = self.executor.submit(self._run, job_id, fn, args)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout)

    def _run(self, job_id: int, fn, args) -> None:
        self._set(job_id, status=JobStatus.running, started_at=utcnow(), heartbeat_at=utcnow())
        LIVE[job_id] = (0.0, "")
        with self._lock:
            self._running.add(job_id)
        try:
            result = fn(Progress(self.engine, job_id), *args) or {}
        except JobFailed as exc:
            self._set(job_id, status=JobStatus.failed, message=str(exc)[:300], finished_at=utcnow())
        except Exception:
            log.exception("job %s failed", job_id)
            self._set(job_id, status=JobStatus.failed, finished_at=utcnow(),
                      message=N_("An unexpected error stopped this job. Nothing was changed."))
        else:
            self._set(job_id, status=JobStatus.done, progress=1.0, result=result, finished_at=utcnow())
        finally:
            LIVE.pop(job_id, None)
            with self._lock:
                self._running.discard(job_id)
            give_memory_back()

    def _set(self, job_id: int, **values: Any) -> None:
        with writer(self.engine).begin() as conn:
            conn.execute(sa.update(Job).where(Job.id == job_id).values(**values))

    def _start_heartbeat(self) -> None:
        with self._lock:
            if self._beat is None:
                self._beat = threading.Thread(target=self._heartbeat, name="canvass-job-heartbeat", daemon=True)
                self._beat.start()

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                running = list(self._running)
            for job_id in running:
                try:
                    _write_quietly(self.engine, job_id, heartbeat_at=utcnow())
                except Exception:  # a broken database must not kill the heartbeat thread
                    log.warning("job heartbeat could not be written", exc_info=True)
            self._sweep()

    def _sweep(self) -> None:
        """Marks failed the jobs of processes that died (their pages already show them failed)."""
        try:
            with Session(writer(self.engine)) as session:
                if fail_stale_jobs(session):
                    session.commit()
        except sa.exc.SQLAlchemyError:  # the database is busy or away; the next beat tries again
            log.warning("stale jobs could not be marked failed", exc_info=True)


def latest_jobs(session: Session, kind: str, campaign_id: int | None = None, limit: int = 20) -> list[Job]:
    query = select(Job).where(Job.kind == kind).order_by(Job.id.desc()).limit(limit)
    if campaign_id is not None:
        query = query.where(Job.campaign_id == campaign_id)
    return [job_view(session, job) for job in session.exec(query)]
