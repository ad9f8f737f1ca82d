"""Delimited and fixed-width text read from disk a chunk of rows at a time, every value as text.

A regular file (every line with all its fields) goes through pyarrow's streaming CSV reader (C++, straight into
Arrow text). At the first line it will not read, the rest of the file is read by pandas, and when pandas refuses a
line too, row by row by Python's csv module: each carries on after the rows already given, so the chunks come out the
same whichever reader gave them. Frames are indexed by the record's position in the file (0 = the first).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from canvass.i18n import N_
from canvass.importing.containers import UnreadableFile

MAX_FIELD_CHARS = 16 * 1024 * 1024  # one cell longer than this is not a list; Python's csv stops at 128 KB
TOO_MANY_COLUMNS = N_("This row has %(found)s columns but the file has %(width)s; it was skipped. Check it for a stray "
                      "separator.")
CELL_TOO_LONG = N_("Line %(line)s could not be read. A single cell may hold at most %(limit)s MB of text; check the "
                   "file for an unclosed quote.")

csv.field_size_limit(MAX_FIELD_CHARS)


def field_count(path: Path, delimiter: str, quoting: int) -> int:
    """The width of the table: the most fields on any of the first lines (later longer rows are reported bad)."""
    with open(path, "rb") as handle:
        head = handle.read(1024 * 1024).decode("utf-8", errors="replace").splitlines()[:2000]
    try:
        counts = [len(row) for row in csv.reader(head, delimiter=delimiter, quoting=quoting) if row]
    except csv.Error:
        counts = [line.count(delimiter) + 1 for line in head if line]
    return max(counts) if counts else 1


def delimited_chunks(path: Path, delimiter: str, quoting: int, width: int, chunk_rows: int,
                     bad_rows: list[dict]) -> Iterator[pd.DataFrame]:
    """The file's records, ``chunk_rows`` at a time. Rows with more fields than ``width`` are added to ``bad_rows``
    and given empty (so every later row keeps its number)."""
    given = 0
    for reader in (_arrow_chunks, _pandas_chunks, _python_chunks):
        try:
            for frame in reader(path, delimiter, quoting, width, chunk_rows, given, bad_rows):
                frame.index = pd.RangeIndex(given, given + len(frame))
                given += len(frame)
                yield frame
            return
        except (pa.ArrowException, pd.errors.ParserError):
            continue  # the next reader carries on after the rows given


def _arrow_chunks(path: Path, delimiter: str, quoting: int, width: int, chunk_rows: int, skip: int,
                  bad_rows: list[dict]) -> Iterator[pd.DataFrame]:
    names = [str(i) for i in range(width)]
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20, use_threads=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"' if quoting != csv.QUOTE_NONE else False,
                                          double_quote=True, newlines_in_values=quoting != csv.QUOTE_NONE,
                                          ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[],
                                             strings_can_be_null=False, quoted_strings_can_be_null=False))
    pending, held = [], 0
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield _arrow_frame(table.slice(0, chunk_rows), width)
            pending, held = table.slice(chunk_rows).to_batches(), held - chunk_rows
    if held:
        yield _arrow_frame(pa.Table.from_batches(pending), width)


def _arrow_frame(table: pa.Table, width: int) -> pd.DataFrame:
    return pd.DataFrame({i: pd.Series(pd.array(table.column(i), dtype="str")) for i in range(width)})


def _pandas_chunks(path: Path, delimiter: str, quoting: int, width: int, chunk_rows: int, skip: int,
                   bad_rows: list[dict]) -> Iterator[pd.DataFrame]:
    options = dict(sep=delimiter, header=None, names=list(range(width)), dtype=str, keep_default_na=False,
                   na_filter=False, quoting=quoting, engine="c", skip_blank_lines=False, encoding="utf-8",
                   encoding_errors="replace", chunksize=chunk_rows)
    if quoting == csv.QUOTE_NONE:
        options["escapechar"] = None
    seen = 0
    with pd.read_csv(path, **options) as reader:
        for frame in reader:
            seen += len(frame)
            if seen <= skip:
                continue
            yield frame.iloc[max(0, len(frame) - (seen - skip)):].reset_index(drop=True)


def _python_chunks(path: Path, delimiter: str, quoting: int, width: int, chunk_rows: int, skip: int,
                   bad_rows: list[dict]) -> Iterator[pd.DataFrame]:
    """Only when pandas refused the file: rows with too many fields are reported and left empty, the rest kept.

    Slower than pandas, but every row keeps its number, so the report points at the right spreadsheet rows."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
        rows = itertools.islice(_rows_or_refuse(reader), skip, None)
        for start in itertools.count(skip, chunk_rows):
            block = []
            for number, row in enumerate(itertools.islice(rows, chunk_rows), start=start + 1):
                if len(row) > width:
                    args = {"found": len(row), "width": width}
                    bad_rows.append({"row": number, "column": "", "value": delimiter.join(row)[:80],
                                     "level": "error", "message": TOO_MANY_COLUMNS % args, "text": TOO_MANY_COLUMNS,
                                     "args": args})
                    row = []
                block.append(row + [""] * (width - len(row)))
            if not block:
                return
            yield pd.DataFrame(block, columns=list(range(width)), dtype="str")


def _rows_or_refuse(reader):
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableFile(CELL_TOO_LONG, line=reader.line_num,
                                 limit=MAX_FIELD_CHARS // (1024 * 1024)) from exc
        yield row


def fixed_chunks(path: Path, colspecs: list, columns: int, chunk_rows: int) -> Iterator[pd.DataFrame]:
    given = 0
    with pd.read_fwf(path, colspecs=colspecs, header=None, dtype=str, keep_default_na=False, na_filter=False,
                     encoding="utf-8", chunksize=chunk_rows) as reader:
        for frame in reader:
            frame = frame.iloc[:, :columns]
            frame.index = pd.RangeIndex(given, given + len(frame))
            given += len(frame)
            yield frame
