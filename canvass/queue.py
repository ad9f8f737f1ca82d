"""The job queue on PostgreSQL (procrastinate), shared by every app server and every ``canvass worker``.

A page records its job (the ``job`` row, the app's record of progress and outcome, which any app server shows) and
queues it in the same transaction (``QueueRunner.start``). Any worker takes it: ``canvass worker`` processes and,
unless APP_RUNS_JOBS is false, each app process in threads of its own, so one server needs no other process.

A worker that dies (SIGKILL, a lost machine) stops beating. procrastinate then reports its jobs as stalled, and the
sweep of any live worker starts them again, up to RUNS runs in all, or marks them failed. The work of a job is one
transaction, so each run starts from the database as it was. A lock held for the length of a run, which PostgreSQL
releases when the run's connection dies, keeps two runs of one job from overlapping even when a slow worker only
looked dead; a run that finds its job ended does nothing.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import procrastinate
import sqlalchemy as sa
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status
from sqlalchemy.engine import Engine
from sqlmodel import Session

from canvass import jobs
from canvass.db import writer
from canvass.models import Job, JobStatus, utcnow

log = logging.getLogger(__name__)

QUEUE = "canvass"
TASK = "canvass.run_job"
RUNS = 3  # a job that takes its worker down with it (memory) is not tried for ever
STALLED_AFTER = 60.0  # seconds without a worker heartbeat, unless JOB_STALLED_SECONDS says otherwise
LOCK_SPACE = 7_411_001  # pg_advisory_lock(LOCK_SPACE, job id): one run of a job at a time


def conninfo(database_url: str) -> str:
    """The libpq address of a SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    return sa.make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def make_queue(database_url: str) -> procrastinate.App:
    """procrastinate's app for this database, with canvass's one task. A small pool: the jobs themselves use the
    SQLAlchemy engine; the worker only fetches, finishes and beats (and listens on a connection of its own)."""
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url), min_size=1, max_size=2,
                                               kwargs={"application_name": "canvass queue"})
    queue = procrastinate.App(connector=connector)
    queue.task(name=TASK, queue=QUEUE, pass_context=True)(_run_job)
    return queue


def function_name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(name: str) -> Callable[..., Any]:
    """The job function a queued job names; only canvass's own."""
    module, _, attribute = name.partition(":")
    if module != "canvass" and not module.startswith("canvass."):
        raise ValueError(f"not a canvass job function: {name}")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def _run_job(context, job_id: int, function: str, args: list) -> None:
    """procrastinate's task (in a worker thread): one run of a job, recorded on its row."""
    engine: Engine = context.additional_context["engine"]
    heartbeats: jobs.Heartbeats = context.additional_context["heartbeats"]
    fn = _resolve(function)
    with one_run_at_a_time(engine, job_id):
        if not jobs.mark_started(engine, job_id):
            log.info("job %s had already ended: nothing to do", job_id)
            return
        log.info("job %s (%s) started", job_id, function)
        heartbeats.add(job_id)
        try:
            jobs.run_job(engine, job_id, fn, args)
        finally:
            heartbeats.discard(job_id)
        log.info("job %s ended", job_id)


@contextlib.contextmanager
def one_run_at_a_time(engine: Engine, job_id: int) -> Iterator[None]:
    """Holds the job's lock on a connection of its own for the length of a run: a second run waits for the first
    (alive but slow), or goes ahead at once when the first one's process died and PostgreSQL dropped its lock."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:space, :job)"), {"space": LOCK_SPACE, "job": job_id})
        conn.commit()  # a session lock: it outlives the transaction, not the connection
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:space, :job)"), {"space": LOCK_SPACE, "job": job_id})
            conn.commit()


# ------------------------------------------------------------------------------------------------------------------
# Queueing (app processes)


class QueueRunner:
    """Queues jobs on PostgreSQL. With ``threads`` > 0 this process also works the queue, in a thread of its own."""

    def __init__(self, engine: Engine, database_url: str, threads: int, stalled_after: float = STALLED_AFTER):
        self.engine = engine
        self.queue = make_queue(database_url)  # never opened: jobs are queued on the request's own connection
        self.worker = QueueWorker(engine, database_url, threads, stalled_after).start_in_thread() \
            if threads > 0 else None

    def start(self, session: Session, job_id: int, fn: Callable[..., dict[str, Any] | None], *args: Any) -> None:
        """Queues ``fn(progress, engine, *args)`` in the session's transaction and commits it: the job is on the
        queue if, and only if, the request's work was saved. The arguments must be JSON (ids, dicts, text)."""
        connection = session.connection().connection.driver_connection
        queue_id = self.queue.tasks[TASK].configure(connection=connection).defer(
            job_id=job_id, function=function_name(fn), args=list(args))
        session.execute(sa.update(Job).where(Job.id == job_id).values(queue_id=queue_id))
        session.commit()

    def submit(self, job_id: int, fn: Callable[..., dict[str, Any] | None], _engine: Engine, *args: Any) -> None:
        """Queues a job whose row is already committed (``start`` queues it with the row, which is safer)."""
        with Session(writer(self.engine)) as session:
            self.start(session, job_id, fn, *args)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Waits until a worker has finished the job (tests)."""
        deadline = time.monotonic() + (timeout if timeout is not None else 3600)
        while True:
            with Session(self.engine) as session:
                if session.get(Job, job_id).status not in jobs.ACTIVE:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} did not finish within {timeout} s")
            time.sleep(0.2)

    def close(self, timeout: float | None = 20) -> None:
        """Stops this process's worker: no new job; the running ones get ``timeout`` seconds to finish, after
        which they are another worker's to run again."""
        if self.worker is not None:
            self.worker.stop(timeout)


# ------------------------------------------------------------------------------------------------------------------
# Working the queue (``canvass worker``, or a thread of each app process)


_IN_THREADS: set[QueueWorker] = set()


@atexit.register
def stop_workers(timeout: float | None = 20) -> None:
    """Stops the workers this process runs in threads (at exit; tests)."""
    for worker in list(_IN_THREADS):
        worker.stop(timeout)


class QueueWorker:
    """procrastinate's worker (``concurrency`` jobs at a time, each in a thread) and the sweep that starts again
    the jobs of dead workers."""

    def __init__(self, engine: Engine, database_url: str, concurrency: int, stalled_after: float = STALLED_AFTER):
        self.engine, self.database_url, self.concurrency = engine, database_url, concurrency
        self.stalled_after = stalled_after
        self.heartbeats = jobs.Heartbeats(engine)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def run(self, *, install_signal_handlers: bool = True) -> None:
        """Works the queue until stopped (SIGINT or SIGTERM in the foreground: the running jobs finish first)."""
        asyncio.run(self._work(install_signal_handlers))

    def start_in_thread(self) -> QueueWorker:
        self._thread = threading.Thread(target=self._keep_working, name="canvass-queue-worker", daemon=True)
        self._thread.start()
        _IN_THREADS.add(self)
        return self

    def _keep_working(self) -> None:
        """The app process's worker: a database that is away at start, or goes away, is tried again."""
        while not self._stopping:
            try:
                self.run(install_signal_handlers=False)
            except Exception:
                log.warning("the job queue worker stopped; it starts again in 10 s", exc_info=True)
                time.sleep(10)

    def stop(self, timeout: float | None = None) -> None:
        self._stopping = True
        if self._loop is not None and self._task is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop has just ended
                self._loop.call_soon_threadsafe(self._task.cancel)  # procrastinate: a graceful stop
        if self._thread is not None:
            self._thread.join(timeout)
        _IN_THREADS.discard(self)

    async def _work(self, install_signal_handlers: bool) -> None:
        queue = make_queue(self.database_url)
        async with queue.open_async():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(queue.run_worker_async(
                queues=[QUEUE], concurrency=self.concurrency, name=f"canvass {jobs.this_process()}",
                install_signal_handlers=install_signal_handlers, delete_jobs="successful",
                additional_context={"engine": self.engine, "heartbeats": self.heartbeats},
                update_heartbeat_interval=max(self.stalled_after / 6, 1.0),
                stalled_worker_timeout=self.stalled_after))
            sweeper = asyncio.create_task(self._sweep_forever(queue))
            if self._stopping:  # stopped while it opened
                self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:  # stopped from another thread, after the running jobs ended
                pass
            finally:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper

    async def _sweep_forever(self, queue: procrastinate.App) -> None:
        while True:
            try:
                await recover_stalled_jobs(queue, self.engine, self.stalled_after)
            except Exception:  # the database is away: the next sweep tries again
                log.warning("stalled jobs could not be recovered", exc_info=True)
            await asyncio.sleep(min(self.stalled_after / 4, 15.0))


async def recover_stalled_jobs(queue: procrastinate.App, engine: Engine,
                               stalled_after: float = STALLED_AFTER) -> dict[str, int]:
    """Starts again (or, after RUNS runs, fails) the jobs of workers that stopped beating; fails the jobs that are
    on no queue and have no live process (made before the queue, or lost). Returns how many of each."""
    counts = {"restarted": 0, "failed": 0}
    stalled = await queue.job_manager.get_stalled_jobs(queue=QUEUE, task_name=TASK,
                                                       seconds_since_heartbeat=stalled_after)
    for queued in stalled:
        outcome = await asyncio.to_thread(_settle_stalled, engine, queued.task_kwargs["job_id"],
                                          queued.attempts + 1 < RUNS, stalled_after)
        try:
            if outcome == "restarted":
                await queue.job_manager.retry_job(queued)
            elif outcome == "failed":
                await queue.job_manager.finish_job(queued, Status.FAILED, delete_job=False)
            elif outcome == "ended":  # its run ended, but its worker died before telling procrastinate
                await queue.job_manager.finish_job(queued, Status.SUCCEEDED, delete_job=True)
        except ConnectorException:  # another worker's sweep settled it first
            continue
        if outcome in counts:
            counts[outcome] += 1
    counts["failed"] += await asyncio.to_thread(_fail_lost_jobs, engine)
    if counts["restarted"] or counts["failed"]:
        log.warning("jobs of stopped workers: %(restarted)s started again, %(failed)s failed", counts)
    return counts


def _settle_stalled(engine: Engine, job_id: int, again: bool, stalled_after: float) -> str:
    """What to do with a job whose worker stopped beating, its row updated to say so: "restarted", "failed",
    "ended" (its row already says how it ended) or "alive" (its own heartbeat is recent: leave it be)."""
    with Session(writer(engine)) as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status not in jobs.ACTIVE:
            return "ended"
        # The job's own heartbeat (every jobs.HEARTBEAT_SECONDS) may lag its worker's by that much
        if job.heartbeat_at and utcnow() - job.heartbeat_at < timedelta(
                seconds=max(stalled_after, jobs.HEARTBEAT_SECONDS * 1.5)):
            return "alive"
        if again:
            job.status, job.message, job.progress, job.runner = JobStatus.queued, jobs.RESTART_MESSAGE, 0.0, None
            session.add(job)
        else:
            jobs.fail_jobs(session, [job_id], jobs.STALE_MESSAGE)
        session.commit()
        return "restarted" if again else "failed"


_QUEUED = sa.table("procrastinate_jobs", sa.column("id"), sa.column("status"))


def _fail_lost_jobs(engine: Engine) -> int:
    on_queue = sa.exists().where(_QUEUED.c.id == Job.queue_id,
                                 sa.cast(_QUEUED.c.status, sa.String).in_(["todo", "doing"]))
    with Session(writer(engine)) as session:
        failed = jobs.fail_stale_jobs(session, unless=on_queue)
        session.commit()
    return failed
