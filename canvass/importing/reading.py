"""Reading a file as it arrived into a table of text: container, encoding, delimiter, header and layout are detected.

Everything is read as text, so ZIP codes and IDs keep their leading zeros. A file that cannot be read raises
``UnreadableFile`` with one sentence saying what is wrong and what to do.
"""

from __future__ import annotations

import csv
import functools
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from canvass.i18n import N_
from canvass.importing.containers import (
    MAX_RATIO,
    MAX_UNCOMPRESSED,
    UnreadableFile,
    head_of,
    is_office_zip,
    is_zip,
    unzip_single,
    utf8_text,
    zip_names,
)
from canvass.importing.delimited import TOO_MANY_COLUMNS, delimited_chunks, field_count, fixed_chunks
from canvass.importing.fields import normalize_header
from canvass.importing.layouts import Layout, detect_headerless, detect_layout, fixed_width_layout

__all__ = ["MAX_RATIO", "MAX_UNCOMPRESSED", "TOO_MANY_COLUMNS", "UnreadableFile", "RawTable", "read_file",
           "stream_file", "CHUNK_ROWS"]

DELIMITERS = {"\t": "tab", "|": "pipe", ",": "comma", ";": "semicolon"}
CHUNK_ROWS = 100_000  # rows read, cleaned and written at a time: what bounds an import's memory


@dataclass
class RawTable:
    frame: pd.DataFrame  # text only; columns are the (deduplicated) headers
    headers: list[str]
    file_format: str  # csv | tsv | pipe | semicolon | xlsx | xls | ods | fixed
    encoding: str = ""
    delimiter: str = ""
    has_header: bool = True
    layout: Layout | None = None
    inner_name: str = ""  # the file read from inside a zip
    bad_rows: list[dict] = field(default_factory=list)  # rows that could not be split into columns
    row_count: int = 0  # rows read (kept when the frame is released after normalizing)
    header_row: int = 1  # the spreadsheet row of the header; rows above it (a title, blank lines) are skipped
    sheet: str = ""  # the sheet read, when it is not the workbook's first
    estimated_rows: int = 0  # for progress: the file's size over the first lines' length (a sheet's own count)


def read_file(path: str | Path, *, max_rows: int | None = None) -> RawTable:
    """Reads ``path`` (CSV/TSV/pipe/fixed-width text, XLSX/XLS/ODS, or a zip holding one of them) whole.

    For small files and tests; an import reads a chunk at a time with ``stream_file``."""
    with stream_file(path) as (table, chunks):
        frames = []
        for chunk in chunks:
            frames.append(chunk)
            if max_rows is not None and sum(len(f) for f in frames) >= max_rows:
                break
        frame = pd.concat(frames) if frames else pd.DataFrame(columns=table.headers, dtype="str")
        table.frame = frame.iloc[:max_rows] if max_rows is not None else frame
        table.row_count = len(table.frame)
    return table


@contextmanager
def stream_file(path: str | Path, *, chunk_rows: int | None = None, workdir: Path | None = None
                ) -> Iterator[tuple[RawTable, Iterator[pd.DataFrame]]]:
    """Opens ``path`` for reading a chunk at a time: yields the table's description (``frame`` empty) and an iterator
    of trimmed chunks of rows, without blank rows, indexed by spreadsheet row. ``table.bad_rows`` and
    ``table.row_count`` fill in as the chunks are read.

    A zip is unpacked, and text in another encoding converted, into ``workdir`` (a temporary folder by default),
    deleted afterwards: memory holds a chunk, never the file."""
    path = Path(path)
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="canvass-import-")) if own else workdir
    try:
        yield _open(path, folder, chunk_rows or CHUNK_ROWS)
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


def _open(path: Path, folder: Path, chunk_rows: int) -> tuple[RawTable, Iterator[pd.DataFrame]]:
    if not _has_content(path):
        raise UnreadableFile(N_("The file is empty. Check that you picked the right file."))
    inner = ""
    if is_zip(head_of(path)) and not is_office_zip(path):
        inner, path = unzip_single(path, folder)
    kind = _spreadsheet_kind(path)
    table, chunks = _open_spreadsheet(path, kind, chunk_rows) if kind else _open_text(path, folder, chunk_rows)
    table.inner_name = inner
    return table, _counted(table, chunks)


def _has_content(path: Path) -> bool:
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            if block.strip(b"\x00 \r\n\t"):
                return True
    return False


def _counted(table: RawTable, chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for chunk in chunks:
        table.row_count += len(chunk)
        yield chunk


# ------------------------------------------------------------------------------------------------------------------
# Spreadsheets


def _spreadsheet_kind(path: Path) -> str:
    head = head_of(path, 8)
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if is_zip(head):
        names = zip_names(path)
        if "mimetype" in names:
            return "ods"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        raise UnreadableFile(N_("This is an office document but not a spreadsheet. Save it as XLSX or CSV and upload "
                                "again."))
    return ""


SHEET_UNREADABLE = N_("The %(kind)s file could not be read. Open it in a spreadsheet program and save it again, or "
                      "export it as CSV.")


def _open_spreadsheet(path: Path, kind: str, chunk_rows: int) -> tuple[RawTable, Iterator[pd.DataFrame]]:
    """A workbook is read whole (a sheet holds at most about a million rows), then handed on a chunk at a time."""
    import fastexcel

    try:
        book = fastexcel.read_excel(str(path))
        sheet = _data_sheet(book, None)
    except (fastexcel.FastExcelError, ValueError, OSError) as exc:
        raise UnreadableFile(SHEET_UNREADABLE, kind=kind.upper()) from exc
    if sheet is None:
        raise UnreadableFile(N_("Every sheet of the spreadsheet is empty."))
    frame = sheet.frame
    frame.index = pd.RangeIndex(0, len(frame))
    table, chunks = _described(_slices(frame, chunk_rows), sheet.header_at, sheet.layout, kind, "", "",
                               first_row=sheet.first_row)
    table.sheet, table.estimated_rows = sheet.name, len(frame)
    return table, chunks


def _slices(frame: pd.DataFrame, chunk_rows: int) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(frame), 1), chunk_rows):
        yield frame.iloc[start:start + chunk_rows]


@dataclass
class _Sheet:
    frame: pd.DataFrame
    first_row: int  # the spreadsheet row of the frame's first row: empty rows above the cells are left out
    name: str  # when it is not the workbook's first sheet
    header_at: int | None
    layout: Layout | None


def _data_sheet(book, max_rows: int | None) -> _Sheet | None:
    """The sheet to import: the first whose top rows read like a list of people (a header naming known fields, or a
    known layout without one), else the first sheet with any cells. A workbook often opens on a sheet of
    instructions."""
    fallback = None
    for index, name in enumerate(book.sheet_names):
        columns, first_row = _sheet_columns(book, index, max_rows)
        if not columns:
            continue
        sample = [list(row) for row in zip(*(c.slice(0, 20).to_pylist() for c in columns), strict=True)]
        header_at, layout = _header_or_layout(sample)
        frame = pd.DataFrame({i: pd.Series(pd.array(c, dtype="str")) for i, c in enumerate(columns)})
        found = _Sheet(frame, first_row, name if index else "", header_at, layout)
        if layout or (header_at is not None and _known_fields(sample[header_at]) >= 2):
            return found
        fallback = fallback or found
    return fallback


def _sheet_columns(book, index: int, max_rows: int | None) -> tuple[list[pa.Array], int]:
    """A sheet's columns as text, as a person sees the cells, from its first filled row; and that row's number.

    fastexcel (calamine underneath) turns the cells into Arrow columns in Rust, without a Python object per cell."""
    # skip_rows=0 keeps empty rows at the top, so the row numbers are the sheet's own.
    batch = book.load_sheet(index, header_row=None, skip_rows=0, n_rows=max_rows, dtypes="string", eager=True)
    columns = [_as_displayed(pc.fill_null(column, "")) for column in batch.columns]
    if not columns or not len(columns[0]):
        return [], 1
    filled = functools.reduce(pc.or_, (pc.not_equal(c, "") for c in columns))
    start = pc.index(filled, True).as_py()
    if start < 0:
        return [], 1
    return [c.slice(start) for c in columns], start + 1


def _as_displayed(column: pa.Array) -> pa.Array:
    """Cells as the spreadsheet shows them: a date without its midnight time, a time of day without Excel's day zero,
    TRUE and FALSE in capitals. (Numbers come already without a float's ``.0``.)"""
    if pc.any(pc.match_substring(column, " 00:00:00")).as_py():
        column = pc.replace_substring_regex(column, r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", r"\1")
    if pc.any(pc.starts_with(column, "1899-12-3")).as_py():
        column = pc.replace_substring_regex(column, r"^1899-12-3[01] (\d{2}:\d{2}:\d{2})$", r"\1")
    if pc.any(pc.is_in(column, pa.array(["true", "false"]))).as_py():
        column = pc.if_else(pc.is_in(column, pa.array(["true", "false"])), pc.utf8_upper(column), column)
    return column


# ------------------------------------------------------------------------------------------------------------------
# Text files


def _open_text(path: Path, folder: Path, chunk_rows: int) -> tuple[RawTable, Iterator[pd.DataFrame]]:
    path, encoding = utf8_text(path, folder)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(256 * 1024)
    sample = head.decode("utf-8", errors="replace")
    lines = sample.splitlines()[:200]
    if size > len(head) and lines:
        lines = lines[:-1]  # the sample may end mid-line
    delimiter = sniff_delimiter(lines)
    if delimiter is None:
        layout = fixed_width_layout(lines)
        if layout is not None:
            chunks = fixed_chunks(path, list(layout.colspecs), len(layout.columns), chunk_rows)
            table, chunks = _described(chunks, None, layout, "fixed", encoding, "fixed width")
            table.estimated_rows = _estimated_rows(size, head)
            return table, chunks
        if len(lines) > 1 or not lines:
            raise UnreadableFile(N_("canvass could not find how the columns are separated (no commas, tabs, pipes "
                                    "or semicolons in a regular pattern). Export the file as CSV and upload it again."))
        delimiter = ","  # a single column
    quoting = csv.QUOTE_NONE if delimiter in "\t|" else csv.QUOTE_MINIMAL
    first_rows = list(csv.reader(lines[:20], delimiter=delimiter, quoting=quoting))
    header_at, layout = _header_or_layout(first_rows)
    if layout is not None and layout.notes:
        raise UnreadableFile(layout.notes)
    bad_rows: list[dict] = []
    chunks = delimited_chunks(path, delimiter, quoting, field_count(path, delimiter, quoting), chunk_rows, bad_rows)
    file_format = {"\t": "tsv", "|": "pipe", ",": "csv", ";": "semicolon"}[delimiter]
    table, chunks = _described(chunks, header_at, layout, file_format, encoding, DELIMITERS[delimiter])
    table.bad_rows, table.estimated_rows = bad_rows, _estimated_rows(size, head)
    return table, chunks


def _estimated_rows(size: int, head: bytes) -> int:
    return int(size / max(len(head), 1) * max(head.count(b"\n"), 1))




def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter that splits the sample lines into a steady number (>1) of fields, or None."""
    lines = [line for line in lines if line.strip()]
    if not lines:
        return None
    best, best_score = None, 0.0
    for delimiter in DELIMITERS:  # ordered by preference when equally good
        if not any(delimiter in line for line in lines):
            continue
        quoting = csv.QUOTE_NONE if delimiter in "\t|" else csv.QUOTE_MINIMAL
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter, quoting=quoting)]
        except csv.Error:
            continue
        modal, hits = Counter(counts).most_common(1)[0]
        score = hits / len(counts)
        if modal > 1 and score > best_score + 0.05:
            best, best_score = delimiter, score
    return best if best_score >= 0.6 else None


_DATAISH = re.compile(r"^\s*(\d[\d\s().,/:+-]*|\S+@\S+\.\S+|\d+ \w.*)\s*$")


def looks_like_header(rows: list[list[str]]) -> bool:
    """A first row is a header when its cells read like names rather than values like those below it."""
    if not rows:
        return False
    first = [c.strip() for c in rows[0]]
    filled = [c for c in first if c]
    if not filled:
        return False
    from canvass.importing.fields import CUSTOM, guess_field

    known = sum(1 for c in filled if guess_field(c).field not in (CUSTOM,))
    dataish = sum(1 for c in filled if _DATAISH.match(c))
    if known >= max(1, len(filled) // 4) and dataish <= len(filled) // 4:
        return True
    if dataish:
        return False
    if len(rows) < 2:
        return True
    # No recognised names: compare with the second row; a header repeats nothing and holds no digits.
    second = [c.strip() for c in rows[1]]
    digits_first = sum(any(ch.isdigit() for ch in c) for c in filled)
    digits_second = sum(any(ch.isdigit() for ch in c) for c in second if c)
    return digits_first == 0 or digits_second > digits_first


MAX_ROWS_ABOVE_HEADER = 10


def _header_or_layout(rows: list[list[str]]) -> tuple[int | None, Layout | None]:
    """From the first rows: where the header is, or else the known layout of a file without one."""
    layout = detect_headerless(rows)
    return (find_header_row(rows) if layout is None else None), layout


def find_header_row(rows: list[list[str]]) -> int | None:
    """The header's position among the first rows, or None when the file has none.

    Usually the first row. A sign-up sheet often starts with a title, a date or blank lines: nearly empty rows at the
    top are passed over when the first full row below them names at least two known fields."""
    fullest = max((_filled(r) for r in rows), default=0)

    def nearly_empty(row: list[str]) -> bool:
        return fullest >= 3 and _filled(row) <= fullest // 2

    for index, row in enumerate(rows[:MAX_ROWS_ABOVE_HEADER + 1]):
        if nearly_empty(row):
            continue
        if index > 0 and _known_fields(row) >= 2 and looks_like_header(rows[index:]):
            return index
        break
    if rows and nearly_empty(rows[0]) and not _known_fields(rows[0]):
        return None  # a title or a sparse row of values, and no header under it
    return 0 if looks_like_header(rows) else None


def _filled(row: list[str]) -> int:
    return sum(1 for cell in row if str(cell).strip())


def _known_fields(row: list[str]) -> int:
    from canvass.importing.fields import CUSTOM, guess_field

    return sum(1 for cell in row if str(cell).strip() and guess_field(str(cell).strip()).field != CUSTOM)


def _described(chunks: Iterator[pd.DataFrame], header_at: int | None, layout: Layout | None, file_format: str,
               encoding: str, delimiter: str, first_row: int = 1) -> tuple[RawTable, Iterator[pd.DataFrame]]:
    """The table's description, from its first chunk, and its chunks as ``read_file`` gives rows: columns named by
    the headers, indexed by spreadsheet row, trimmed, blank rows left out.

    ``header_at``: the header's position among the rows (None: no header). ``first_row``: the spreadsheet row number
    of the first row (a sheet may start further down). Chunks are indexed by position (0 = the first row)."""
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        first = pd.DataFrame({0: pd.Series(dtype="str")})
    has_header = header_at is not None
    width = first.shape[1]
    if layout is not None and layout.columns:
        headers = list(layout.columns[:width]) + [f"Column {i + 1}" for i in range(len(layout.columns), width)]
    elif has_header and header_at < len(first):
        headers = [str(h) for h in first.iloc[header_at].tolist()]
    else:
        has_header, headers = False, [f"Column {i + 1}" for i in range(width)]
    headers = dedupe_headers(headers)
    skipped = header_at + 1 if has_header and not (layout is not None and layout.columns) else 0
    if has_header and layout is None:
        layout = detect_layout(headers)
    table = RawTable(frame=pd.DataFrame(columns=headers, dtype="str"), headers=headers, file_format=file_format,
                     encoding=encoding, delimiter=delimiter, has_header=has_header, layout=layout,
                     header_row=first_row + skipped - 1 if has_header else 0)
    unquote = file_format not in SPREADSHEETS

    def rows() -> Iterator[pd.DataFrame]:
        for chunk in _then(first, chunks):
            chunk = chunk.iloc[max(0, skipped - chunk.index[0]):] if len(chunk) and chunk.index[0] < skipped \
                else chunk
            chunk.columns = headers
            # The index is the spreadsheet row number, so every problem points at the row the user sees.
            chunk.index = chunk.index + first_row
            yield _clean_text(chunk, unquote=unquote)

    return table, rows()


def _then(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest


def dedupe_headers(headers: list[str]) -> list[str]:
    """Blank names become ``Unnamed N``; repeated names get `` (2)``, `` (3)``... so every column stays apart."""
    seen: Counter[str] = Counter()
    result = []
    for index, header in enumerate(headers):
        name = header.replace("\ufeff", "").strip().strip('"').strip() or f"Unnamed {index + 1}"
        seen[normalize_header(name) or name] += 1
        count = seen[normalize_header(name) or name]
        result.append(name if count == 1 else f"{name} ({count})")
    return result


SPREADSHEETS = ("xlsx", "xls", "ods")


def _clean_text(frame: pd.DataFrame, unquote: bool = True) -> pd.DataFrame:
    """Trims padding, and the quotes a tab or pipe file keeps around values when read without quote handling (a
    spreadsheet's cells hold no such quotes)."""
    cleaned = {}
    lengths = None
    for column in frame.columns:
        values = frame[column]
        ends = _arrow_ends(values)
        if ends is not None and not (ends.may_need_trimming or (unquote and ends.may_be_quoted)):
            # Most columns of most files: nothing at either end of any value to take off, told from the values'
            # first and last bytes (trimming and quote-checking every column was a fifth of a re-import)
            lengths = ends.lengths if lengths is None else lengths + ends.lengths
            cleaned[column] = values
            continue
        values = values.astype("str").str.strip()
        quoted = unquote and values.str.startswith('"') & values.str.endswith('"')
        if unquote and quoted.any():
            quoted &= values.str.len() >= 2  # a lone '"' is no pair of quotes (counted only where one may be)
        if unquote and quoted.any():
            values = values.where(~quoted, values.str.slice(1, -1).str.replace('""', '"', regex=False).str.strip())
        cleaned[column] = values
        length = values.str.len().to_numpy(dtype="int64", na_value=1)  # a missing value is not blank
        lengths = length if lengths is None else lengths + length
    result = pd.DataFrame(cleaned, index=frame.index)
    blank = lengths == 0 if lengths is not None else np.zeros(len(frame), dtype=bool)
    return result[~blank] if blank.any() else result


@dataclass
class _Ends:
    lengths: np.ndarray  # bytes in each value
    may_need_trimming: bool  # some value starts or ends with a space, a control or a byte beyond ASCII
    may_be_quoted: bool  # some value starts with a double quote


def _arrow_ends(values: pd.Series) -> _Ends | None:
    """What a column's values hold at their ends, read from its Arrow buffers without a string per value; None when
    the column is not Arrow text (spreadsheets, the fallback readers)."""
    array = values.array
    if not isinstance(array, pd.arrays.ArrowStringArray) or array._pa_array.type != pa.large_string() \
            or array._pa_array.null_count:
        return None
    lengths, first, last = [], [], []
    for chunk in array._pa_array.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset:chunk.offset + len(chunk) + 1]
        data = chunk.buffers()[2]
        data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
        size = np.diff(offsets)
        filled = size > 0
        lengths.append(size)
        first.append(data[offsets[:-1][filled]])
        last.append(data[offsets[1:][filled] - 1])
    lengths = np.concatenate(lengths) if lengths else np.empty(0, dtype=np.int64)
    first = np.concatenate(first) if first else np.empty(0, dtype=np.uint8)
    last = np.concatenate(last) if last else np.empty(0, dtype=np.uint8)
    # Unicode's spaces (a no-break space, an ideographic space) begin and end with bytes beyond ASCII
    odd = ((first <= 0x20) | (first >= 0x80)).any() or ((last <= 0x20) | (last >= 0x80)).any()
    return _Ends(lengths=lengths, may_need_trimming=bool(odd), may_be_quoted=bool((first == ord('"')).any()))
