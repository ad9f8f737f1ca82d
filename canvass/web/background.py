"""Background jobs started from a page, and the app's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_login import current_user

from canvass.web.database import db, engine


def start_job(kind: str, fn, *args, campaign_id: int | None = None):
    """Records a job, commits the request's work with it, then runs ``fn(progress, engine, *args)`` in the
    background. Returns the job."""
    from canvass import jobs

    job = jobs.create_job(db(), kind, user_id=current_user.id, campaign_id=campaign_id)
    db().commit()
    current_app.extensions["canvass.jobs"].submit(job.id, fn, engine(), *args)
    return job


def init_jobs(app: Flask) -> None:
    from canvass.jobs import JobRunner

    app.extensions["canvass.jobs"] = JobRunner(app.extensions["canvass.engine"], threads=app.config["JOB_THREADS"])


def init_clock(app: Flask) -> None:
    from canvass.models import utcnow

    start = app.config["CLOCK_START"]
    app.extensions["canvass.clock_offset"] = datetime.fromisoformat(start) - utcnow() if start else timedelta(0)


def now() -> datetime:
    """The app's clock (UTC): the real time, or the time CLOCK_START set running (tests, demos)."""
    from canvass.models import utcnow

    return utcnow() + current_app.extensions["canvass.clock_offset"]
