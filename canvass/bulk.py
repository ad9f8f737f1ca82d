"""Bulk writes for the hot paths: DataFrames straight into tables, inside the caller's transaction.

SQLite gets ``executemany`` on the raw connection; PostgreSQL gets ``COPY``. Both are tens of times faster than the
ORM, which stays for one object at a time. They are fastest with the allocators that
``canvass.allocators.tune_memory_for_bulk_work`` sets where a process starts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlmodel import Session

from canvass.models import UTCDateTime


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


#: A bulk write of at least this many rows refreshes the planner's statistics at once (PostgreSQL).
ANALYZE_AFTER_ROWS = 1000


def refresh_statistics(session: Session, *tables: sa.Table) -> None:
    """ANALYZE after a bulk write, in its transaction: PostgreSQL plans from statistics that autovacuum refreshes a
    minute or more later, and until then a freshly loaded table looks empty. A turf board read then as a nested loop
    over every person and door took seconds on the 3,000-person demo. (SQLite plans without statistics.)"""
    if dialect(session) == "postgresql" and tables:
        session.execute(sa.text("ANALYZE " + ", ".join(f'"{table.name}"' for table in tables)))


def _raw(session: Session):
    return session.connection().connection.driver_connection


def reserve_ids(session: Session, table: sa.Table, count: int) -> np.ndarray:
    """``count`` new primary keys for ``table``, for rows about to be bulk-inserted with explicit ids."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if dialect(session) == "postgresql":
        return _reserve_postgres_block(session, table, count)
    # SQLite: the caller's transaction already holds the write lock (it has written), so nobody else can take these.
    start = session.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one() + 1
    return np.arange(start, start + count, dtype=np.int64)


def _reserve_postgres_block(session: Session, table: sa.Table, count: int) -> np.ndarray:
    """``count`` ids from the table's sequence, in the caller's transaction.

    One nextval() per id: it never blocks other inserts and never collides with them. (Moving the sequence by a
    block at once needs ALTER SEQUENCE, which waits on any open transaction that used the sequence, ours included.)"""
    # One array, read by the driver itself: a million rows through SQLAlchemy's result layer took seconds.
    with _raw(session).cursor() as cursor:
        # The sequence is named once: pg_get_serial_sequence() inside the series would run a million times.
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table.name,))
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s)", (sequence, count))
        return np.sort(np.asarray(cursor.fetchone()[0], dtype=np.int64))


def take_write_lock(session: Session, table: sa.Table) -> None:
    """On SQLite, make the transaction a writer now, before ids are reserved (PostgreSQL needs nothing).

    It also gives this connection a large page cache: index upkeep during a million-row insert is much cheaper."""
    if dialect(session) == "sqlite":
        session.execute(sa.text(f'UPDATE "{table.name}" SET id = id WHERE 0'))  # noqa: S608 (table from the schema)
        session.execute(sa.text("PRAGMA cache_size=-262144"))  # 256 MB, for this connection only


def _python_values(series: pd.Series, column: sa.Column, sqlite: bool) -> list:
    """Column values as plain Python objects the driver binds (None for missing)."""
    if isinstance(column.type, UTCDateTime) and sqlite:
        # SQLAlchemy's SQLite DateTime format, in UTC (what UTCDateTime stores); a bulk write often stamps one time.
        first = series.iloc[0]
        if isinstance(first, datetime) and (series == first).all():
            return [first.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")] * len(series)
        return [v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else None
                for v in series.tolist()]
    if series.dtype.kind == "f":
        if isinstance(column.type, sa.Integer):
            return [None if v != v else int(v) for v in series.tolist()]
        return [None if v != v else v for v in series.tolist()]
    if isinstance(series.dtype, pd.Int64Dtype) or series.dtype == object:
        return series.astype(object).where(series.notna(), None).tolist()
    return series.tolist()


CHUNK_ROWS = 50_000  # rows turned into Python values at a time: bounds memory on million-row writes


def insert_frame(session: Session, table: sa.Table, frame: pd.DataFrame, *, skip_stored: Sequence[str] = (),
                 created: Mapping[str, np.ndarray | pd.Series] | None = None, rows: np.ndarray | None = None) -> int:
    """Inserts the rows of ``frame`` (its columns named as the table's). Returns the number of rows inserted.

    ``rows``: the positions of the rows to insert, in that order (default: all of them, as they stand). They are
    taken a chunk at a time as they are sent, so no reordered copy of them all is ever made.

    With ``skip_stored`` (the columns of a unique key), a row whose key is stored already is left out, and the
    stored row is left alone: INSERT ... ON CONFLICT DO NOTHING, so nothing has to read the stored keys first.

    ``created`` names, per foreign-key column, the ids this transaction inserted itself. On PostgreSQL it lets the
    foreign keys be checked in bulk (see ``_copy_checking_references``)."""
    if frame.empty or (rows is not None and len(rows) == 0):
        return 0
    if rows is not None and _consecutive(rows):
        frame, rows = frame.iloc[rows[0]:rows[0] + len(rows)], None  # a view: no row is taken one by one
    if dialect(session) == "postgresql":
        if skip_stored:
            return _copy_frame_skipping_stored(session, table, frame if rows is None else frame.iloc[rows],
                                               skip_stored)
        if created is not None and may_check_references_in_bulk(session):
            return _copy_checking_references(session, table, frame, created, rows)
        return _copy_frame(session, table, frame, rows=rows)
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" for _ in columns)})'
    if skip_stored:
        statement += f" ON CONFLICT ({', '.join(skip_stored)}) DO NOTHING"
    connection = _raw(session)
    changes_before = connection.total_changes
    for start in range(0, len(frame) if rows is None else len(rows), CHUNK_ROWS):
        chunk = _chunk(frame, rows, start, start + CHUNK_ROWS)
        values = [_python_values(chunk[c], table.c[c], True) for c in columns]
        cursor = connection.cursor()
        cursor.executemany(statement, zip(*values, strict=True))
        cursor.close()
    return connection.total_changes - changes_before if skip_stored else len(frame) if rows is None else len(rows)


def _consecutive(rows: np.ndarray) -> bool:
    return rows[-1] - rows[0] == len(rows) - 1 and bool((np.diff(rows) == 1).all())


def _copy_frame_skipping_stored(session: Session, table: sa.Table, frame: pd.DataFrame, key: Sequence[str]) -> int:
    """COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING (COPY has no such option)."""
    temp = f"tmp_{table.name}_new"
    columns = list(frame.columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    _create_temp_table(session, table, temp, columns)
    _copy_frame(session, table, frame, target=temp)
    inserted = session.execute(sa.text(
        f'INSERT INTO "{table.name}" ({quoted}) SELECT {quoted} FROM "{temp}" '  # noqa: S608 (names from the schema)
        f'ON CONFLICT ({", ".join(key)}) DO NOTHING')).rowcount
    session.execute(sa.text(f'DROP TABLE "{temp}"'))
    return inserted


class MissingReference(Exception):
    """A row refers to a row that does not exist (any more): what a foreign key would have refused."""


def may_check_references_in_bulk(session: Session) -> bool:
    """Whether this role may switch PostgreSQL's per-row foreign-key triggers off for its own transaction.

    A superuser may; from PostgreSQL 15 so may a role granted it once:
    ``GRANT SET ON PARAMETER session_replication_role TO <role>``. Remembered per connection."""
    connection = session.connection()
    if "canvass_bulk_references" not in connection.info:
        if connection.dialect.server_version_info >= (15,):
            sql = "SELECT has_parameter_privilege('session_replication_role', 'SET')"
        else:
            sql = "SELECT current_setting('is_superuser') = 'on'"
        connection.info["canvass_bulk_references"] = bool(session.execute(sa.text(sql)).scalar_one())
    return connection.info["canvass_bulk_references"]


def _copy_checking_references(session: Session, table: sa.Table, frame: pd.DataFrame,
                              created: Mapping[str, np.ndarray | pd.Series], rows: np.ndarray | None = None) -> int:
    """COPY with each foreign key checked by one statement instead of a trigger call per row.

    A foreign key's trigger looks up and locks the referenced row (FOR KEY SHARE, so it cannot be deleted before we
    commit), once per row and key: for a million people with their IDs and phones, more than half the import's
    time. Here each key's distinct referenced rows are locked at once, and a missing one is refused as the foreign
    key would refuse it. Rows this transaction created are not locked: nobody else can see them, let alone delete
    them. The triggers are then off for this COPY only; the schema has no other triggers on these tables."""
    for key in table.foreign_keys:
        name = key.parent.name
        if name not in frame:
            continue
        values = frame[name] if rows is None else frame[name].iloc[rows]
        wanted = pd.unique(values.dropna().astype("int64"))
        wanted = wanted[~np.isin(wanted, np.asarray(created.get(name, []), dtype=np.int64))]
        if len(wanted):
            _lock_referenced_rows(session, key.column, wanted, table.name, name)
    with _raw(session).cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        _copy_frame(session, table, frame, rows=rows)
        # Only reached when the COPY succeeded; after a failure the transaction ends, and SET LOCAL with it.
        cursor.execute("SET LOCAL session_replication_role = origin")
    return len(frame) if rows is None else len(rows)


def _lock_referenced_rows(session: Session, referenced: sa.Column, ids: np.ndarray, table: str, column: str) -> None:
    found = session.execute(sa.text(
        f'SELECT count(*) FROM (SELECT 1 FROM "{referenced.table.name}" WHERE "{referenced.name}" = ANY(:ids) '  # noqa: S608 (names from the schema)
        f"FOR KEY SHARE) AS locked"), {"ids": ids.tolist()}).scalar_one()
    if found != len(ids):
        raise MissingReference(f"{len(ids) - found} {table}.{column} value(s) refer to {referenced.table.name} rows "
                               f"that no longer exist.")


def _create_temp_table(session: Session, table: sa.Table, temp: str, columns: Sequence[str]) -> None:
    definitions = ", ".join(f'"{c}" {_sql_type(session, table.c[c])}' for c in columns)
    session.execute(sa.text(f'DROP TABLE IF EXISTS "{temp}"'))
    session.execute(sa.text(f'CREATE TEMPORARY TABLE "{temp}" ({definitions})'))


def _arrow_column(series: pd.Series, column_type) -> pa.Array:
    """A column as Arrow text in COPY's text format: NULL stays null (written ``\\N``); empty text stays empty."""
    if isinstance(column_type, UTCDateTime):
        values = pd.to_datetime(series, utc=True)
        return _whole(pa.array(values.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00"), type=pa.large_string()))
    if isinstance(column_type, sa.Boolean):
        flags = _whole(pa.array(series.astype("bool"), type=pa.bool_()))
        return pc.if_else(flags, pa.scalar("t", pa.large_string()), pa.scalar("f", pa.large_string()))
    if isinstance(column_type, sa.Integer):
        return _whole(pa.array(pd.to_numeric(series).astype("Int64"), type=pa.int64(), from_pandas=True)
                      ).cast(pa.large_string())
    if isinstance(column_type, sa.Float):
        return _whole(pa.array(series.astype("float64"), type=pa.float64(), from_pandas=True)).cast(pa.large_string())
    return _escaped(_whole(pa.array(series.astype("str").fillna(""), type=pa.large_string())))


def _whole(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _escaped(text: pa.Array) -> pa.Array:
    """Text with the characters COPY's text format gives a meaning escaped: backslash, tab, newline, return."""
    if _holds_control_or_backslash(text):
        for plain, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            text = pc.replace_substring(text, plain, escaped)
    return text


def _holds_control_or_backslash(text: pa.Array) -> bool:
    """Looks at the text's bytes at once (a regular expression per value cost more than the rest of the chunk)."""
    data = np.frombuffer(_value_bytes(text), dtype=np.uint8)
    return bool(((data < 0x0E) | (data == 0x5C)).any())


def _value_bytes(text: pa.Array) -> memoryview:
    """A large_string array's values end to end, as they lie in its data buffer (nothing is copied)."""
    if not len(text) or text.buffers()[2] is None:
        return memoryview(b"")
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    return memoryview(text.buffers()[2])[offsets[text.offset]:offsets[text.offset + len(text)]]


def _copy_frame(session: Session, table: sa.Table, frame: pd.DataFrame, target: str | None = None,
                rows: np.ndarray | None = None) -> int:
    """PostgreSQL COPY, streamed chunk by chunk through one COPY.

    The next chunk is built on a second thread while this one is sent: the server keeps indexes up to date
    more slowly than the chunk is built, and without the overlap it waited for each chunk (a second or more per
    million-row import). The first chunk is small, so the server starts sooner. At most two chunks are held."""
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    count = len(frame) if rows is None else len(rows)
    first = min(count, max(1, CHUNK_ROWS // 10))
    starts = [0, *range(first, count, CHUNK_ROWS)]  # an empty frame is one empty chunk
    spans = list(zip(starts, [*starts[1:], count], strict=True))
    with ThreadPoolExecutor(max_workers=1) as pool, _raw(session).cursor() as cursor, cursor.copy(
            f'COPY "{target or table.name}" ({quoted}) FROM STDIN') as copy:
        pending = pool.submit(_copy_chunk, table, frame, rows, *spans[0])
        for span in spans[1:]:
            data, pending = pending.result(), pool.submit(_copy_chunk, table, frame, rows, *span)
            copy.write(data)
        copy.write(pending.result())
    return count


def _chunk(frame: pd.DataFrame, rows: np.ndarray | None, start: int, stop: int) -> pd.DataFrame:
    """The rows to write from the ``start``-th to before the ``stop``-th."""
    return frame.iloc[start:stop] if rows is None else frame.iloc[rows[start:stop]]


def _copy_chunk(table: sa.Table, frame: pd.DataFrame, rows: np.ndarray | None, start: int, stop: int
                ) -> memoryview:
    """Some of the rows to write, in COPY's text format, built by pyarrow (in C++): the server reads it faster than
    CSV (a million people in 4.1 s instead of 4.9 s), and the lines are one Arrow buffer, sent as they lie."""
    chunk = _chunk(frame, rows, start, stop)
    columns = [_arrow_column(chunk[c], table.c[c].type) for c in frame.columns]
    lines = pc.binary_join_element_wise(*columns, pa.scalar("\t", pa.large_string()),
                                        null_handling="replace", null_replacement="\\N")
    lines = pc.binary_join_element_wise(lines, pa.scalar("", pa.large_string()), pa.scalar("\n", pa.large_string()))
    return _value_bytes(lines)


def update_frame(session: Session, table: sa.Table, frame: pd.DataFrame, *, key: str = "id",
                 set_sql: dict[str, str] | None = None) -> int:
    """Updates rows of ``table`` matched on ``key`` from ``frame``, through a temporary table and one UPDATE.

    Each column of ``frame`` (but the key) is assigned as is, unless ``set_sql`` gives an SQL expression for it, in
    which ``new.<column>`` is the incoming value and ``"<table>".<column>`` the stored one."""
    if frame.empty:
        return 0
    set_sql = set_sql or {}
    postgres = dialect(session) == "postgresql"
    temp = f"tmp_{table.name}_update"
    columns = list(frame.columns)
    _create_temp_table(session, table, temp, columns)
    temp_table = sa.Table(temp, sa.MetaData(), *[sa.Column(c, table.c[c].type) for c in columns])
    if postgres:
        _copy_frame(session, temp_table, frame, target=temp)
    else:
        insert_frame(session, temp_table, frame)
    assignments = ", ".join(f'"{c}" = {set_sql.get(c, f"new.{chr(34)}{c}{chr(34)}")}' for c in columns if c != key)
    session.execute(sa.text(f'UPDATE "{table.name}" SET {assignments} FROM "{temp}" AS new '
                            f'WHERE "{table.name}"."{key}" = new."{key}"'))
    session.execute(sa.text(f'DROP TABLE "{temp}"'))
    return len(frame)


def _sql_type(session: Session, column: sa.Column) -> str:
    return column.type.compile(dialect=session.get_bind().dialect)


def read_frame(session: Session, query: sa.Select | sa.TextClause, params: dict | None = None,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Runs a query of plain columns and returns a DataFrame, straight from the driver's tuples.

    Skips SQLAlchemy's per-row result processing, so only use it for columns that need none (no JSON, no times).
    On PostgreSQL a query of plain text, number and flag columns is streamed out with COPY and parsed by pyarrow:
    a million rows come back in a fraction of a second instead of seconds of Python tuples."""
    if not params and dialect(session) == "postgresql":
        frame = _copy_out_frame(session, query, columns)
        if frame is not None:
            return frame
    result = session.connection().execute(query, params or {})
    names = list(columns or result.keys())
    rows = result.cursor.fetchall() if result.cursor is not None else []
    result.close()
    if not rows:
        return _empty_frame(names)
    return pd.DataFrame(dict(zip(names, (list(values) for values in zip(*rows, strict=True)), strict=True)))


def _empty_frame(names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in names})


#: Column types COPY's CSV text can be read back as exactly (text stays text: an ID "000123" keeps its zeros).
_ARROW_TYPES = ((sa.Boolean, pa.bool_()), (sa.Integer, pa.int64()), (sa.Float, pa.float64()),
                (sa.String, pa.large_string()))


def _copy_out_frame(session: Session, query, columns: Sequence[str] | None) -> pd.DataFrame | None:
    """The query's rows through ``COPY (query) TO STDOUT``, or None when its columns or values do not allow it."""
    if not isinstance(query, sa.Select):
        return None
    names = list(columns or query.selected_columns.keys())
    types = [next((arrow for base, arrow in _ARROW_TYPES if isinstance(c.type, base)), None)
             for c in query.selected_columns]
    if None in types or len(set(names)) != len(names) or len(names) != len(types):
        return None
    try:  # COPY takes no parameters: the values are rendered by SQLAlchemy, which quotes them
        sql = str(query.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    except sa.exc.CompileError:  # a type without a literal form (JSON, say)
        return None
    buffer = io.BytesIO()
    with _raw(session).cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for data in copy:
            buffer.write(data)
    if buffer.tell() == 0:
        return _empty_frame(names)
    buffer.seek(0)
    # An unquoted empty field is NULL; a quoted one ("") is an empty string.
    options = pacsv.ConvertOptions(column_types=dict(zip(names, types, strict=True)), null_values=[""],
                                   strings_can_be_null=True, quoted_strings_can_be_null=False,
                                   true_values=["t"], false_values=["f"])
    table = pacsv.read_csv(buffer, read_options=pacsv.ReadOptions(column_names=names), convert_options=options)
    return table.to_pandas()


def json_merge_sql(session: Session, column: str, table: str) -> str:
    """SQL that merges the incoming JSON object into the stored one (incoming keys win)."""
    if dialect(session) == "postgresql":
        return f'COALESCE("{table}"."{column}", \'{{}}\'::jsonb) || new."{column}"::jsonb'
    return f'json_patch(COALESCE("{table}"."{column}", \'{{}}\'), new."{column}")'
