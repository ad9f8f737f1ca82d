"""Engines, sessions and schema migrations. Knows nothing of Flask, so the CLI, jobs and tests use it directly."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    """Returns an engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    # Errors would otherwise quote the row's values (names, phones) into logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over (SQLAlchemy docs recipe).
        sa.event.listen(engine, "begin", _sqlite_begin)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
        engine = sa.create_engine(url, **kwargs)
    sa.event.listen(engine, "before_cursor_execute", _refuse_writes_while_reading)
    return engine


def _ensure_sqlite_folder(url: str) -> None:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


# ------------------------------------------------------------------------------------------------------------------
# Units of work. One rule, for every entry point (pages, API, jobs, CLI), on both engines:
#
# - Work that may write says so up front: ``write_session`` (or a page answering a POST). On SQLite its transaction
#   begins with BEGIN IMMEDIATE, so it queues for the write lock at once. A plain BEGIN would take a read snapshot,
#   and once another connection commits, SQLite refuses to turn that stale snapshot into a writer ("database is
#   locked", whatever the busy timeout): the cause of exports failing beside volunteers' syncs.
# - Work that only reads uses ``read_session`` (or a page answering a GET): it may not write at all. A write there
#   raises ``WriteWhileReading`` on either engine, so tests catch it before SQLite would, under load.
# - Long work that reads for a while and then writes (an export, an import's check) reads in one short
#   transaction and writes in another, or calls ``begin_write`` once it is done reading.
#
# PostgreSQL needs no special BEGIN; the same code runs there and the read-only check holds the same.

INTENT = "canvass_intent"


class WriteWhileReading(RuntimeError):
    """A unit of work declared read-only (a GET page, a read_session) tried to write: a bug, never a user error."""


def writer(engine: Engine) -> Engine:
    """The engine for work that may write: on SQLite each transaction begins IMMEDIATE."""
    return _with_intent(engine, "write")


def reader(engine: Engine) -> Engine:
    """The engine for work that only reads: a write through it raises WriteWhileReading."""
    return _with_intent(engine, "read")


_INTENT_ENGINES: weakref.WeakKeyDictionary[Engine, dict[str, Engine]] = weakref.WeakKeyDictionary()


def _with_intent(engine: Engine, intent: str) -> Engine:
    # The option engines share the pool and the listeners; each is made once per engine.
    made = _INTENT_ENGINES.setdefault(engine, {})
    if intent not in made:
        made[intent] = engine.execution_options(**{INTENT: intent})
    return made[intent]


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A unit of work that may write: commits on success, rolls back on any error (CLI commands and jobs)."""
    with Session(writer(engine), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A unit of work that only reads; its transaction ends (rolled back) when the block does."""
    with Session(reader(engine), expire_on_commit=False) as session:
        yield session


def begin_write(session: Session) -> None:
    """Ends what the session has read so far and begins a transaction that writes (on SQLite: BEGIN IMMEDIATE).

    For long work that reads without the lock first (an import cleaning its file). Nothing may be pending: the
    read transaction is rolled back. On PostgreSQL the transaction simply goes on (it may already hold locks)."""
    if not is_sqlite(session):
        return
    if session.new or session.dirty or session.deleted:
        raise WriteWhileReading("begin_write with unsaved changes: they would be lost")
    session.rollback()
    session.connection(execution_options={INTENT: "write"})


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(INTENT) == "write" else "BEGIN")


def _refuse_writes_while_reading(conn, _cursor, statement, _parameters, context, _executemany) -> None:
    if context is not None and (context.isinsert or context.isupdate or context.isdelete) \
            and conn.get_execution_options().get(INTENT) == "read":
        raise WriteWhileReading(f"a read-only unit of work tried to write: {statement.split('(')[0][:80]}")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # autocommit at the driver; the "begin" listener opens transactions
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def is_sqlite(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


# ------------------------------------------------------------------------------------------------------------------
# Migrations


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Creates the schema or upgrades it to ``revision``, keeping the data; on PostgreSQL the job queue's tables
    too (see canvass.queue_schema). Returns (before, after) revisions of the app's own schema."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), revision)
    if not is_sqlite(engine):
        from canvass import queue_schema

        queue_schema.upgrade(engine)
    return before, current_revision(engine)


def is_model_table(name: str | None, type_: str, _parent_names) -> bool:
    """Alembic's ``include_name``: the queue's tables are procrastinate's, not the models'."""
    from canvass.queue_schema import is_queue_table

    return not (type_ == "table" and name and is_queue_table(name))


def has_tables(engine: Engine) -> bool:
    return bool(sa.inspect(engine).get_table_names())


def ping(session: Session) -> None:
    """Raises when the database cannot be reached (for health checks)."""
    session.execute(sa.text("SELECT 1"))
