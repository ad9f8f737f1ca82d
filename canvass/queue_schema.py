"""The job queue's tables on PostgreSQL (procrastinate's), created and upgraded by ``canvass init``.

procrastinate ships its whole schema and one SQL file per change since; which of them a database has is recorded
in ``queue_schema``, so each upgrade of the package applies only the files it brought. SQLite has no queue.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import Connection, Engine

VERSION_TABLE = "queue_schema"
_FILE = re.compile(r"^(\d+\.\d+\.\d+)_\d+_.*\.sql$")


class QueueSchemaError(RuntimeError):
    """The database holds a queue that ``canvass init`` did not make; the message says what to do."""


def is_queue_table(name: str) -> bool:
    """Tables the queue owns (left out when the models are compared with the database)."""
    return name.startswith("procrastinate_") or name == VERSION_TABLE


def migration_files() -> list[tuple[str, Path]]:
    """procrastinate's migrations as (version, file), in the order they apply."""
    folder = Path(SchemaManager.get_migrations_path())
    found = [(match.group(1), path) for path in folder.iterdir() if (match := _FILE.match(path.name))]
    return sorted(found, key=lambda item: item[1].name)


def installed_version() -> str:
    """The schema version the installed procrastinate expects (that of its last migration)."""
    return migration_files()[-1][0]


def pending(applied: str) -> list[Path]:
    """The migration files a database at version ``applied`` still needs, in order."""
    return [path for version, path in migration_files() if _key(version) > _key(applied)]


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def applied_version(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version FROM {VERSION_TABLE}")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Creates the queue's tables or applies the migrations they miss, in one transaction. Returns (before, after)."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('canvass queue schema'))"))  # two inits at once
        before = applied_version(conn)
        driver = conn.connection.driver_connection
        if before is None:
            if sa.inspect(conn).has_table("procrastinate_jobs"):
                raise QueueSchemaError("The database already has procrastinate tables that `canvass init` did not "
                                       "make; drop them (DROP TABLE procrastinate_jobs ... CASCADE) and run it again.")
            driver.execute(SchemaManager.get_schema())  # several statements, no parameters: one round trip
            conn.execute(sa.text(f"CREATE TABLE {VERSION_TABLE} (version varchar(16) NOT NULL)"))
            conn.execute(sa.text(f"INSERT INTO {VERSION_TABLE} (version) VALUES (:v)"), {"v": installed_version()})
        else:
            for path in pending(before):
                driver.execute(path.read_text(encoding="utf-8"))
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version = :v"), {"v": installed_version()})
        return before, installed_version()


def empty(engine: Engine) -> None:
    """Deletes every queued job and every worker's record (the demo, rebuilt)."""
    with engine.begin() as conn:
        tables = [name for name in sa.inspect(conn).get_table_names() if name.startswith("procrastinate_")]
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))


def is_current(engine: Engine) -> bool:
    """Whether the queue's tables are those the installed procrastinate expects."""
    with engine.connect() as conn:
        return applied_version(conn) == installed_version()
