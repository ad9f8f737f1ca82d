"""Background jobs (imports, exports, walk routes): their state lives in the ``job`` table, which any app process shows.

Where they run: on SQLite in a thread pool of the app process that accepted them (``JobRunner``, here); on
PostgreSQL on the queue that every app server and ``canvass worker`` share (canvass.queue). The work of a job is one
transaction, so a job whose process died left the database as it was. The process running a job writes its
heartbeat every 10 s. On SQLite a job without one for 90 s is shown failed, and marked so by the next sweep
(``fail_stale_jobs``); a job on the queue is started again by another worker instead (canvass.queue). Pages never
write: what they show of a dead job is set on a detached copy.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import socket
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
RESTART_MESSAGE = N_("The server running this stopped, so nothing was changed; another one starts it again.")
ACTIVE = (JobStatus.running, JobStatus.queued)


def job_view(session: Session, job: Job) -> Job:
    """The job as users should see it: live progress when it runs here; when its process is gone, failed (or, on
    the queue, waiting to start again).

    Reads only: the figures shown are set on a detached copy, never written back from a page view."""
    live = job.id in LIVE and job.status in ACTIVE
    stale = not live and job.status in ACTIVE and _is_stale(job)
    if job.queue_id is not None:  # on the queue: it waits for a worker, however long; a dead run starts again
        stale = stale and job.status == JobStatus.running
    if live or stale:
        session.expunge(job)
    if live:
        job.progress, job.message = LIVE[job.id]
    elif stale and job.queue_id is not None:
        job.status, job.message, job.progress = JobStatus.queued, RESTART_MESSAGE, 0.0
    elif stale:
        job.status, job.message, job.finished_at = JobStatus.failed, STALE_MESSAGE, job.heartbeat_at
    return job


def fail_stale_jobs(session: Session, *, unless: sa.ColumnElement[bool] | None = None) -> int:
    """Marks failed the jobs whose process stopped sending heartbeats (``unless`` spares those it holds true for).
    Returns how many. The caller commits."""
    cutoff = utcnow() - STALE_AFTER
    last_sign = sa.func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
    query = select(Job.id).where(Job.status.in_(ACTIVE), last_sign < cutoff)
    stale = list(session.exec(query if unless is None else query.where(~unless)))
    if stale:
        fail_jobs(session, stale, STALE_MESSAGE)
    return len(stale)


def fail_jobs(session: Session, job_ids: list[int], message: str) -> None:
    """Marks the jobs failed, and the import batches they were running. The caller commits."""
    session.execute(sa.update(Job).where(Job.id.in_(job_ids))
                    .values(status=JobStatus.failed, message=message, finished_at=utcnow(), runner=None))
    session.execute(sa.update(ImportBatch).where(ImportBatch.job_id.in_(job_ids),
                                                 ImportBatch.status == ImportStatus.running)
                    .values(status=ImportStatus.failed, error=message, finished_at=utcnow()))


def _is_stale(job: Job) -> bool:
    last = job.heartbeat_at or job.started_at or job.created_at
    return utcnow() - last > STALE_AFTER


def this_process() -> str:
    """host:pid, as a job's ``runner``: where to look for the process running it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def mark_started(engine: Engine, job_id: int) -> bool:
    """Marks the job running in this process. Returns False when it had already ended (another run finished it)."""
    with writer(engine).begin() as conn:
        started = conn.execute(sa.update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(
            status=JobStatus.running, started_at=utcnow(), heartbeat_at=utcnow(), progress=0.0, message="",
            runner=this_process()))
    return started.rowcount == 1


def run_job(engine: Engine, job_id: int, fn: Callable[..., dict[str, Any] | None], args: tuple | list) -> None:
    """Runs ``fn(progress, engine, *args)`` for a started job and records how it ended on its row. Never raises."""
    LIVE[job_id] = (0.0, "")
    try:
        result = fn(Progress(engine, job_id), engine, *args) or {}
    except JobFailed as exc:
        _set(engine, job_id, status=JobStatus.failed, message=str(exc)[:300])
    except Exception:
        log.exception("job %s failed", job_id)
        _set(engine, job_id, status=JobStatus.failed,
             message=N_("An unexpected error stopped this job. Nothing was changed."))
    else:
        _set(engine, job_id, status=JobStatus.done, progress=1.0, result=result)
    finally:
        LIVE.pop(job_id, None)
        give_memory_back()


def _set(engine: Engine, job_id: int, **values: Any) -> None:
    with writer(engine).begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job_id).values(finished_at=utcnow(), runner=None, **values))


class Heartbeats:
    """Writes the heartbeat of the jobs this process holds, every HEARTBEAT_SECONDS from one thread; then calls
    ``then`` (a sweep), if given."""

    def __init__(self, engine: Engine, then: Callable[[], None] | None = None):
        self.engine, self.then = engine, then
        self._jobs: set[int] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, job_id: int) -> None:
        with self._lock:
            self._jobs.add(job_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="canvass-job-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, job_id: int) -> None:
        with self._lock:
            self._jobs.discard(job_id)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                held = list(self._jobs)
            for job_id in held:
                try:
                    _write_quietly(self.engine, job_id, heartbeat_at=utcnow())
                except Exception:  # a broken database must not kill the heartbeat thread
                    log.warning("job heartbeat could not be written", exc_info=True)
            if self.then is not None:
                self.then()


class JobRunner:
    """Runs jobs in a thread pool of this process (SQLite's embedded default); ``threads=0`` runs them inline, in
    the caller's thread (tests that want determinism)."""

    def __init__(self, engine: Engine, threads: int = 2):
        self.engine = engine
        self.inline = threads <= 0
        self.executor = None if self.inline else ThreadPoolExecutor(threads, thread_name_prefix="canvass-job")
        self.futures: dict[int, Future] = {}
        self.heartbeats = Heartbeats(engine, then=self._sweep)

    def start(self, session: Session, job_id: int, fn: Callable[..., dict[str, Any] | None], *args: Any) -> None:
        """Commits the session's work, the job's row with it, then runs ``fn(progress, engine, *args)``."""
        session.commit()
        self.submit(job_id, fn, self.engine, *args)

    def submit(self, job_id: int, fn: Callable[..., dict[str, Any] | None], engine: Engine, *args: Any) -> None:
        """Runs ``fn(progress, engine, *args)`` for a job whose row is committed."""
        if self.inline:
            self._run(job_id, fn, engine, args)
            return
        self.heartbeats.add(job_id)  # queued behind another job, it still beats: it is not stale
        self.executor.submit(self._sweep)
        self.futures[job_id] = self.executor.submit(self._run, job_id, fn, engine, args)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        future = self.futures.get(job_id)
        if future is not None:
            future.result(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Nothing to hand over: a job of this process ends with it (its row is marked failed by the next sweep)."""

    def _run(self, job_id: int, fn, engine: Engine, args) -> None:
        try:
            mark_started(self.engine, job_id)
            run_job(engine, job_id, fn, args)
        finally:
            self.heartbeats.discard(job_id)

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
