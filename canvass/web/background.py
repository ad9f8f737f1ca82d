"""Background jobs started from a page, and the app's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_login import current_user

from canvass.web.database import db


def start_job(kind: str, fn, *args, campaign_id: int | None = None):
    """Records a job and starts ``fn(progress, engine, *args)`` in the background, committing the request's work
    with it (see submit_job). Returns the job."""
    from canvass import jobs

    job = jobs.create_job(db(), kind, user_id=current_user.id, campaign_id=campaign_id)
    submit_job(job, fn, *args)
    return job


def submit_job(job, fn, *args) -> None:
    """Commits the request's work with the recorded ``job`` and starts ``fn(progress, engine, *args)`` for it: in
    this process on SQLite; on PostgreSQL it is queued in the same transaction, for any worker (canvass.queue).
    The arguments must be JSON (ids, dicts, text)."""
    current_app.extensions["canvass.jobs"].start(db(), job.id, fn, *args)


def init_jobs(app: Flask) -> None:
    """SQLite: jobs run in threads of this process. PostgreSQL: they go on the shared queue, and this process works
    it too unless APP_RUNS_JOBS is false (``canvass worker`` processes run them). JOB_THREADS=0 runs jobs inline."""
    from canvass.db import is_sqlite
    from canvass.jobs import JobRunner

    engine, threads = app.extensions["canvass.engine"], app.config["JOB_THREADS"]
    if is_sqlite(engine) or threads <= 0:
        app.extensions["canvass.jobs"] = JobRunner(engine, threads=threads)
        return
    from canvass.queue import QueueRunner

    app.extensions["canvass.jobs"] = QueueRunner(engine, app.config["DATABASE_URL"],
                                                 threads=threads if app.config["APP_RUNS_JOBS"] else 0,
                                                 stalled_after=app.config["JOB_STALLED_SECONDS"])


def init_clock(app: Flask) -> None:
    from canvass.models import utcnow

    start = app.config["CLOCK_START"]
    app.extensions["canvass.clock_offset"] = datetime.fromisoformat(start) - utcnow() if start else timedelta(0)


def now() -> datetime:
    """The app's clock (UTC): the real time, or the time CLOCK_START set running (tests, demos)."""
    from canvass.models import utcnow

    return utcnow() + current_app.extensions["canvass.clock_offset"]
