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
