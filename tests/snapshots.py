"""Snapshots of a test database's rows, to build an expensive fixture once per test process and give each test
its own fresh copy of it (restoring takes a few milliseconds; building test_authorization's world took 0.5-2 s a
test, the largest single cost of the suite on PostgreSQL).

SQLite: the whole file, through SQLite's online backup (safe while the app's pool holds connections to it).
PostgreSQL: every table the app's models declare, as binary COPY, and their sequences; the job queue's tables are
left alone, as the per-test emptying leaves them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from canvass import db


@dataclass
class Snapshot:
    sqlite: sqlite3.Connection | None = None  # an in-memory copy of the SQLite file
    tables: dict[str, bytes] = field(default_factory=dict)  # PostgreSQL: table -> its rows as binary COPY
    sequences: dict[str, tuple[int, bool]] = field(default_factory=dict)  # PostgreSQL: sequence -> (value, called)


_SEQUENCES = ("SELECT d.objid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
              "JOIN pg_class t ON t.oid = d.refobjid WHERE d.deptype IN ('a', 'i') AND t.relname = ANY(%s) "
              "AND t.relnamespace = current_schema()::regnamespace")


def _tables() -> list[str]:
    return [table.name for table in SQLModel.metadata.sorted_tables]


def take(engine: Engine) -> Snapshot:
    """The database's rows now (committed ones: call it after the fixture commits)."""
    raw = engine.raw_connection()
    try:
        if db.is_sqlite(engine):
            copy = sqlite3.connect(":memory:", check_same_thread=False)
            raw.driver_connection.backup(copy)
            return Snapshot(sqlite=copy)
        snapshot = Snapshot()
        with raw.driver_connection.cursor() as cursor:
            for name in _tables():
                with cursor.copy(f'COPY "{name}" TO STDOUT (FORMAT binary)') as copy:
                    data = b"".join(bytes(block) for block in copy)
                snapshot.tables[name] = data
            for (sequence,) in cursor.execute(_SEQUENCES, (_tables(),)).fetchall():
                snapshot.sequences[sequence] = cursor.execute(
                    f"SELECT last_value, is_called FROM {sequence}").fetchone()
        raw.driver_connection.rollback()
        return snapshot
    finally:
        raw.close()


def restore(engine: Engine, snapshot: Snapshot) -> None:
    """Makes the database hold exactly the snapshot's rows (whatever the test wrote before is gone)."""
    raw = engine.raw_connection()
    try:
        if snapshot.sqlite is not None:
            snapshot.sqlite.backup(raw.driver_connection)
            return
        with raw.driver_connection.cursor() as cursor:
            # Only the tables holding rows, children first (DELETE of a few rows is far quicker than TRUNCATE)
            holding = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT FROM \"{name}\")" for name in _tables())
            used = {name for (name,) in cursor.execute(holding).fetchall()}
            for name in reversed(_tables()):
                if name in used:
                    cursor.execute(f'DELETE FROM "{name}"')
            for name in _tables():  # parents before children, so the foreign keys hold row by row
                if len(snapshot.tables[name]) > 21:  # a binary COPY of no rows is its 19-byte header and trailer
                    with cursor.copy(f'COPY "{name}" FROM STDIN (FORMAT binary)') as copy:
                        copy.write(snapshot.tables[name])
            for sequence, (value, called) in snapshot.sequences.items():
                cursor.execute("SELECT setval(%s::regclass, %s, %s)", (sequence, value, called))
        raw.driver_connection.commit()
    finally:
        raw.close()
