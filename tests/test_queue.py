"""The job queue on PostgreSQL (procrastinate): its tables come with `canvass init`, jobs go through it and survive
the worker that ran them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from canvass import db, queue_schema
from tests.conftest import PG_URL

postgres_only = pytest.mark.postgres_only


def test_an_upgrade_applies_only_the_queue_migrations_a_database_misses():
    files = queue_schema.migration_files()
    versions = [version for version, _path in files]
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))))
    assert queue_schema.installed_version() == versions[-1]
    assert queue_schema.pending(versions[-1]) == []
    older = next(version for version in reversed(versions) if version != versions[-1])
    missing = queue_schema.pending(older)
    assert missing and all(path.name > f"{older}_99" for path in missing)
    assert [path.name for path in missing] == sorted(path.name for path in missing)  # pre before post


def test_queue_tables_are_not_the_models():
    assert queue_schema.is_queue_table("procrastinate_jobs") and queue_schema.is_queue_table("queue_schema")
    assert not queue_schema.is_queue_table("job")


@postgres_only
def test_init_creates_the_queue_and_a_second_init_leaves_it_as_it_is(database_url):
    engine = db.make_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        assert queue_schema.is_current(engine)  # the test database was made by db.upgrade, as `canvass init` does
        assert queue_schema.upgrade(engine) == (queue_schema.installed_version(), queue_schema.installed_version())
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM queue_schema")).scalar() == 1
            assert sa.inspect(conn).has_table("procrastinate_jobs")
    finally:
        engine.dispose()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite only")
def test_sqlite_has_no_queue(database_url):
    engine = db.make_engine(database_url)
    try:
        assert not any(queue_schema.is_queue_table(name) for name in sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------------------------------
# Jobs through the queue (PostgreSQL)


def _job(engine, **values):
    from canvass import jobs
    from canvass.db import write_session

    with write_session(engine) as session:
        job = jobs.create_job(session, "route")
        for key, value in values.items():
            setattr(job, key, value)
        session.add(job)
    return job.id


def _queued(engine, job_id: int) -> int:
    """Queues the job as a page does (a walk-route job over no turf: quick and harmless). Returns its queue id."""
    from sqlmodel import Session

    from canvass import walk_lists
    from canvass.db import writer
    from canvass.models import Job
    from canvass.queue import QueueRunner

    runner = QueueRunner(engine, engine.url.render_as_string(hide_password=False), threads=0)
    with Session(writer(engine)) as session:
        runner.start(session, job_id, walk_lists.route_new_turfs, [])
    with Session(engine) as session:
        return session.get(Job, job_id).queue_id


def _row(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def _job_row(engine, job_id: int):
    return _row(engine, "SELECT status, message, runner, queue_id FROM job WHERE id = :id", id=job_id)


@pytest.fixture
def pg_engine(database_url):
    from canvass import queue

    queue.stop_workers(30)  # an earlier test's app works this database's queue no more
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@postgres_only
def test_a_job_is_queued_with_its_row_and_a_worker_runs_it(pg_engine):
    from canvass.queue import QueueRunner, QueueWorker

    url = pg_engine.url.render_as_string(hide_password=False)
    job_id = _job(pg_engine)
    queue_id = _queued(pg_engine, job_id)
    assert _row(pg_engine, "SELECT status, args->>'job_id' FROM procrastinate_jobs WHERE id = :id",
                id=queue_id) == ("todo", str(job_id))
    worker = QueueWorker(pg_engine, url, 1).start_in_thread()
    try:
        QueueRunner(pg_engine, url, 0).wait(job_id, timeout=30)
    finally:
        worker.stop(10)
    assert _job_row(pg_engine, job_id)[:3] == ("done", "", None)
    assert _row(pg_engine, "SELECT count(*) FROM procrastinate_jobs WHERE id = :id", id=queue_id) == (0,)  # kept small


def outside_any_loop(coroutine_function):
    """Runs a coroutine to its end on a thread of its own: a browser test earlier in this process leaves
    Playwright's event loop marked as running on the main thread, where asyncio.run refuses to start."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()


@postgres_only
def test_a_job_whose_worker_died_is_started_again_then_failed_after_three_runs(pg_engine, session, campaign, tmp_path):
    from canvass import importing, jobs, queue
    from canvass.models import ImportBatch, ImportStatus

    old = jobs.utcnow() - jobs.STALE_AFTER
    job_id = _job(pg_engine)
    batch = importing.create_batch(session, campaign, "big.csv", tmp_path / "big.csv", None)
    batch.job_id, batch.status = job_id, ImportStatus.running
    session.add(batch)
    session.commit()
    queue_id = _queued(pg_engine, job_id)

    def worker_dies() -> None:
        with pg_engine.begin() as conn:  # what a worker killed mid-run leaves
            conn.execute(sa.text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = :id"),
                         {"id": queue_id})
            conn.execute(sa.text("UPDATE job SET status = 'running', runner = 'gone:1', heartbeat_at = :old "
                                 "WHERE id = :id"), {"old": old, "id": job_id})

    async def sweep():
        app = queue.make_queue(pg_engine.url.render_as_string(hide_password=False))
        async with app.open_async():
            return await queue.recover_stalled_jobs(app, pg_engine)

    for run in range(1, queue.RUNS):
        worker_dies()
        assert outside_any_loop(sweep)["restarted"] == 1
        assert _job_row(pg_engine, job_id)[:3] == ("queued", jobs.RESTART_MESSAGE, None)
        assert _row(pg_engine, "SELECT status, attempts FROM procrastinate_jobs WHERE id = :id",
                    id=queue_id) == ("todo", run)
    worker_dies()
    assert outside_any_loop(sweep) == {"restarted": 0, "failed": 1}
    assert _job_row(pg_engine, job_id)[:2] == ("failed", jobs.STALE_MESSAGE)
    assert _row(pg_engine, "SELECT status FROM procrastinate_jobs WHERE id = :id", id=queue_id) == ("failed",)
    session.expire_all()
    assert session.get(ImportBatch, batch.id).status == ImportStatus.failed


@postgres_only
def test_a_worker_that_only_looks_dead_keeps_its_job(pg_engine):
    from canvass import jobs, queue

    job_id = _job(pg_engine, status="running", heartbeat_at=jobs.utcnow())  # its own heartbeat is fresh
    queue_id = _queued(pg_engine, job_id)
    with pg_engine.begin() as conn:
        conn.execute(sa.text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"), {"id": queue_id})

    async def sweep():
        app = queue.make_queue(pg_engine.url.render_as_string(hide_password=False))
        async with app.open_async():
            return await queue.recover_stalled_jobs(app, pg_engine)

    assert outside_any_loop(sweep) == {"restarted": 0, "failed": 0}
    assert _job_row(pg_engine, job_id)[0] == "running"


@postgres_only
def test_a_job_on_no_queue_and_with_no_heartbeat_is_failed_but_one_waiting_on_the_queue_is_not(pg_engine):
    from canvass import jobs, queue

    old = jobs.utcnow() - 2 * jobs.STALE_AFTER
    lost = _job(pg_engine, status="running", heartbeat_at=old)  # from before the queue, say
    waiting = _job(pg_engine, created_at=old)
    _queued(pg_engine, waiting)
    assert queue._fail_lost_jobs(pg_engine) == 1
    assert _job_row(pg_engine, lost)[:2] == ("failed", jobs.STALE_MESSAGE)
    assert _job_row(pg_engine, waiting)[0] == "queued"


@postgres_only
def test_a_run_that_finds_its_job_ended_does_nothing(pg_engine):
    from types import SimpleNamespace

    from canvass import jobs, queue

    job_id = _job(pg_engine, status="done")
    calls = []
    context = SimpleNamespace(additional_context={"engine": pg_engine, "heartbeats": jobs.Heartbeats(pg_engine)})
    original = queue._resolve
    queue._resolve = lambda name: lambda *args: calls.append(args)
    try:
        queue._run_job(context, job_id, "canvass.walk_lists:route_new_turfs", [])
    finally:
        queue._resolve = original
    assert calls == [] and _job_row(pg_engine, job_id)[0] == "done"


def test_only_canvass_functions_run_from_the_queue():
    from canvass import queue, walk_lists

    assert queue._resolve(queue.function_name(walk_lists.route_new_turfs)) is walk_lists.route_new_turfs
    with pytest.raises(ValueError):
        queue._resolve("os:system")


def test_a_page_shows_a_dead_job_failed_in_the_app_process_and_starting_again_on_the_queue(session):
    from canvass import jobs
    from canvass.models import Job, JobStatus

    old = jobs.utcnow() - 2 * jobs.STALE_AFTER
    here = Job(kind="export", status=JobStatus.running, heartbeat_at=old)
    queued_run = Job(kind="export", status=JobStatus.running, heartbeat_at=old, queue_id=1)
    waiting = Job(kind="export", status=JobStatus.queued, created_at=old, queue_id=2)
    session.add_all([here, queued_run, waiting])
    session.commit()
    assert (jobs.job_view(session, here).status, here.message) == (JobStatus.failed, jobs.STALE_MESSAGE)
    assert (jobs.job_view(session, queued_run).status, queued_run.message) == (JobStatus.queued,
                                                                              jobs.RESTART_MESSAGE)
    assert (jobs.job_view(session, waiting).status, waiting.message) == (JobStatus.queued, "")
    session.rollback()
    assert session.get(Job, here.id).status == JobStatus.running  # a page never writes
