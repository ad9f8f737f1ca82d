"""Reading a file as it arrived into a table of text: container, encoding, delimiter, header and layout are detected.

Everything is read as text, so ZIP codes and IDs keep their leading zeros. A file that cannot be read raises
``UnreadableFile`` with one sentence saying what is wrong and what to do.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from canvass.i18n import N_
from canvass.importing.fields import normalize_header
from canvass.importing.layouts import Layout, detect_headerless, detect_layout, fixed_width_layout

MAX_UNCOMPRESSED = 4 * 1024**3  # a zip may unpack to at most 4 GB
MAX_FIELD_CHARS = 16 * 1024 * 1024  # one cell longer than this is not a list; Python's csv stops at 128 KB
MAX_RATIO = 250  # and at most 250 times its packed size (zip bombs go far beyond)
DOC_SUFFIXES = (".pdf", ".doc", ".docx", ".rtf", ".md", ".html", ".htm", ".png", ".jpg")
DELIMITERS = {"\t": "tab", "|": "pipe", ",": "comma", ";": "semicolon"}


class UnreadableFile(ValueError):
    """The file cannot be used at all; the message says why and what to do."""


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
    trimmed: bool = True  # False: the rows are as read, to go through ``trimmed_rows`` before use


def read_file(path: str | Path, *, max_rows: int | None = None, trimmed: bool = True) -> RawTable:
    """Reads ``path`` (CSV/TSV/pipe/fixed-width text, XLSX/XLS/ODS, or a zip holding one of them).

    ``trimmed=False`` leaves a text file's rows as read (untrimmed, blank rows kept): a big import trims them a
    chunk at a time with ``trimmed_rows``, while earlier chunks are written."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip(b"\x00 \r\n\t"):
        raise UnreadableFile(N_("The file is empty. Check that you picked the right file."))
    inner = ""
    if _is_zip(data) and not _is_office_zip(data):
        inner, data = _unzip_single(data)
    kind = _spreadsheet_kind(data)
    table = _read_spreadsheet(data if inner else path, kind, max_rows) if kind else \
        _read_text(data, max_rows, trimmed)
    table.inner_name = inner
    return table


# ------------------------------------------------------------------------------------------------------------------
# Containers


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _is_office_zip(data: bytes) -> bool:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" in names or "mimetype" in names


def _unzip_single(data: bytes, depth: int = 0) -> tuple[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(N_("The zip file is damaged and cannot be opened. Download it again.")) from exc
    members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")
               and not Path(m.filename).name.startswith(".") and not m.filename.lower().endswith(DOC_SUFFIXES)]
    if not members:
        raise UnreadableFile(N_("The zip file holds no data file. Upload the voter or contact file itself."))
    if len(members) > 1:
        names = ", ".join(m.filename for m in members[:5])
        raise UnreadableFile(f"The zip file holds {len(members)} files ({names}); unzip it and upload one file at a "
                             "time.")
    member = members[0]
    if member.file_size > MAX_UNCOMPRESSED or member.file_size > MAX_RATIO * max(member.compress_size, 1):
        raise UnreadableFile(f"{member.filename} would unpack to {member.file_size:,} bytes, more than canvass "
                             "accepts from a zip. Unzip it yourself and upload the file.")
    content = _unpack_within_limits(archive, member, packed=len(data))
    if _is_zip(content) and not _is_office_zip(content):
        if depth >= 1:
            raise UnreadableFile(N_("The zip file holds another zip inside a zip; unzip them and upload the data file."))
        return _unzip_single(content, depth + 1)
    return member.filename, content


UNPACK_CHUNK = 8 * 1024 * 1024


def _unpack_within_limits(archive: zipfile.ZipFile, member: zipfile.ZipInfo, *, packed: int) -> bytes:
    """The member's bytes, unpacked a chunk at a time and stopped as soon as they pass the limits, counted on what
    actually comes out: a zip can state any size in its header (one that claimed a small size took 2.2 GB)."""
    limit = min(MAX_UNCOMPRESSED, MAX_RATIO * max(packed, 1))
    parts, total = [], 0
    try:
        with archive.open(member) as handle:
            while chunk := handle.read(UNPACK_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise UnreadableFile(N_("The file inside the zip unpacks to more than canvass accepts from a "
                                            "zip (at most 4 GB, and 250 times the zip's size). Unzip it yourself "
                                            "and upload the file."))
                parts.append(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:  # a damaged or truncated archive
        raise UnreadableFile(N_("The zip file is damaged and cannot be opened. Download it again.")) from exc
    return b"".join(parts)


def _spreadsheet_kind(data: bytes) -> str:
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    if _is_zip(data):
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        if "mimetype" in names:
            return "ods"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        raise UnreadableFile(N_("This is an office document but not a spreadsheet. Save it as XLSX or CSV and upload "
                                "again."))
    return ""


def _read_spreadsheet(source: bytes | Path, kind: str, max_rows: int | None) -> RawTable:
    import fastexcel

    try:
        book = fastexcel.read_excel(source if isinstance(source, bytes) else str(source))
        sheet = _data_sheet(book, max_rows)
    except (fastexcel.FastExcelError, ValueError, OSError) as exc:
        raise UnreadableFile(f"The {kind.upper()} file could not be read. Open it in a spreadsheet program and save "
                             "it again, or export it as CSV.") from exc
    if sheet is None:
        raise UnreadableFile(N_("Every sheet of the spreadsheet is empty."))
    table = _finish(sheet.frame, sheet.header_at, sheet.layout, kind, "", "", first_row=sheet.first_row)
    table.sheet = sheet.name
    return table


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


def _read_text(data: bytes, max_rows: int | None, trimmed: bool = True) -> RawTable:
    data, encoding = _to_utf8(data)
    sample = data[:256 * 1024].decode("utf-8", errors="replace")
    lines = sample.splitlines()[:200]
    if len(data) > len(sample.encode()) and lines:
        lines = lines[:-1]  # the sample may end mid-line
    delimiter = sniff_delimiter(lines)
    if delimiter is None:
        layout = fixed_width_layout(lines)
        if layout is not None:
            return _read_fixed(data, layout, encoding, max_rows)
        if len(lines) > 1 or not lines:
            raise UnreadableFile(N_("canvass could not find how the columns are separated (no commas, tabs, pipes "
                                    "or semicolons in a regular pattern). Export the file as CSV and upload it again."))
        delimiter = ","  # a single column
    quoting = csv.QUOTE_NONE if delimiter in "\t|" else csv.QUOTE_MINIMAL
    first_rows = list(csv.reader(lines[:20], delimiter=delimiter, quoting=quoting))
    header_at, layout = _header_or_layout(first_rows)
    if layout is not None and layout.notes:
        raise UnreadableFile(layout.notes)
    frame, bad_rows = _parse_delimited(data, delimiter, quoting, max_rows)
    file_format = {"\t": "tsv", "|": "pipe", ",": "csv", ";": "semicolon"}[delimiter]
    table = _finish(frame, header_at, layout, file_format, encoding, DELIMITERS[delimiter], trimmed=trimmed)
    table.bad_rows = bad_rows
    return table


def _to_utf8(data: bytes) -> tuple[bytes, str]:
    """Returns the text as UTF-8 bytes without NULs, and the encoding it was in."""
    if data[:3] == b"\xef\xbb\xbf":
        return data[3:].replace(b"\x00", b""), "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace").replace("\x00", "").encode(), "utf-16"
    head = data[:4096]
    if len(head) > 16 and head[1::2].count(0) > len(head) * 0.4 and head[0::2].count(0) < len(head) * 0.05:
        return data.decode("utf-16-le", errors="replace").replace("\x00", "").encode(), "utf-16-le"
    data = data.replace(b"\x00", b"")
    try:
        data.decode("utf-8")
        return data, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252").encode(), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1").encode(), "latin-1"  # latin-1 maps every byte: never fails


csv.field_size_limit(MAX_FIELD_CHARS)


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


TOO_MANY_COLUMNS = N_("This row has %(found)s columns but the file has %(width)s; it was skipped. Check it for a stray "
                      "separator.")


def _parse_delimited(data: bytes, delimiter: str, quoting: int, max_rows: int | None
                     ) -> tuple[pd.DataFrame, list[dict]]:
    width = _field_count(data, delimiter, quoting)
    options = dict(sep=delimiter, header=None, names=list(range(width)), dtype=str, keep_default_na=False,
                   na_filter=False, quoting=quoting, engine="c", skip_blank_lines=False, nrows=max_rows,
                   encoding="utf-8", encoding_errors="replace")
    if quoting == csv.QUOTE_NONE:
        options["escapechar"] = None
    if max_rows is None:
        frame = _parse_regular(data, delimiter, quoting, width)
        if frame is not None:
            return frame, []
    try:
        return pd.read_csv(io.BytesIO(data), **options), []
    except pd.errors.ParserError:
        return _parse_rows_one_by_one(data, delimiter, quoting, width, max_rows)


def _parse_regular(data: bytes, delimiter: str, quoting: int, width: int) -> pd.DataFrame | None:
    """A file whose every line has all its fields, read by pyarrow's CSV reader (C++, on every core, straight into
    Arrow text: a million rows in a fraction of pandas' time). None for anything less regular (a blank line, a
    short or long row, a cell too big), which pandas then reads as before, row numbers and all."""
    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"' if quoting != csv.QUOTE_NONE else False,
                                              double_quote=True, newlines_in_values=quoting != csv.QUOTE_NONE,
                                              ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except pa.ArrowException:  # anything pyarrow will not read, pandas reads (or reports) row by row
        return None
    return pd.DataFrame({i: pd.Series(pd.array(table.column(i), dtype="str")) for i in range(width)})


def _field_count(data: bytes, delimiter: str, quoting: int) -> int:
    """The width of the table: the most fields on any of the first lines (later longer rows are reported bad)."""
    head = data[:1024 * 1024].decode("utf-8", errors="replace").splitlines()[:2000]
    try:
        counts = [len(row) for row in csv.reader(head, delimiter=delimiter, quoting=quoting) if row]
    except csv.Error:
        counts = [line.count(delimiter) + 1 for line in head if line]
    return max(counts) if counts else 1


def _rows_or_refuse(reader):
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            limit = f"{MAX_FIELD_CHARS // (1024 * 1024)} MB"
            raise UnreadableFile(f"Line {reader.line_num} could not be read ({exc}). A single cell may hold at most "
                                 f"{limit} of text; check the file for an unclosed quote.") from exc
        yield row


def _parse_rows_one_by_one(data: bytes, delimiter: str, quoting: int, width: int, max_rows: int | None
                           ) -> tuple[pd.DataFrame, list[dict]]:
    """Only when pandas refused the file: rows with too many fields are reported and left empty, the rest kept.

    Slower than pandas, but every row keeps its number, so the report points at the right spreadsheet rows."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace")), delimiter=delimiter, quoting=quoting)
    rows, bad = [], []
    for line_number, row in enumerate(_rows_or_refuse(reader), start=1):
        if max_rows is not None and line_number > max_rows:
            break
        if len(row) > width:
            args = {"found": len(row), "width": width}
            bad.append({"row": line_number, "column": "", "value": delimiter.join(row)[:80], "level": "error",
                        "message": TOO_MANY_COLUMNS % args, "text": TOO_MANY_COLUMNS, "args": args})
            row = []
        rows.append(row + [""] * (width - len(row)))
    return pd.DataFrame(rows, columns=list(range(width)), dtype="str"), bad


def _read_fixed(data: bytes, layout: Layout, encoding: str, max_rows: int | None) -> RawTable:
    frame = pd.read_fwf(io.BytesIO(data), colspecs=list(layout.colspecs), header=None, dtype=str,
                        keep_default_na=False, na_filter=False, nrows=max_rows, encoding="utf-8")
    frame = frame.iloc[:, : len(layout.columns)]
    return _finish(frame, None, layout, "fixed", encoding, "fixed width")


# ------------------------------------------------------------------------------------------------------------------


def _finish(frame: pd.DataFrame, header_at: int | None, layout: Layout | None, file_format: str, encoding: str,
            delimiter: str, first_row: int = 1, trimmed: bool = True) -> RawTable:
    """``header_at``: the header's position among the rows (None: no header). ``first_row``: the spreadsheet row
    number of the frame's first row (a sheet may start further down)."""
    has_header = header_at is not None
    if layout is not None and layout.columns:
        headers = list(layout.columns[: frame.shape[1]]) + [f"Column {i + 1}" for i in
                                                           range(len(layout.columns), frame.shape[1])]
    elif has_header:
        headers = [str(h) for h in frame.iloc[header_at].tolist()]
        frame = frame.iloc[header_at + 1:]
        first_row += header_at + 1
    else:
        headers = [f"Column {i + 1}" for i in range(frame.shape[1])]
    headers = dedupe_headers(headers)
    frame.columns = headers
    # The index is the spreadsheet row number, so every problem points at the row the user sees.
    frame.index = pd.RangeIndex(start=first_row, stop=first_row + len(frame))
    if trimmed:
        frame = _clean_text(frame, unquote=file_format not in SPREADSHEETS)
    if has_header and layout is None:
        layout = detect_layout(headers)
    return RawTable(frame=frame, headers=headers, file_format=file_format, encoding=encoding, delimiter=delimiter,
                    has_header=has_header, layout=layout, header_row=first_row - 1 if has_header else 0,
                    trimmed=trimmed)


def trimmed_rows(table: RawTable, rows: pd.DataFrame) -> pd.DataFrame:
    """Some of an untrimmed table's rows as ``read_file`` would have given them: trimmed, blank ones dropped."""
    return rows if table.trimmed else _clean_text(rows, unquote=table.file_format not in SPREADSHEETS)


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
    for column in frame.columns:
        values = frame[column].astype("str").str.strip()
        quoted = unquote and values.str.startswith('"') & values.str.endswith('"')
        if unquote and quoted.any():
            quoted &= values.str.len() >= 2  # a lone '"' is no pair of quotes (counted only where one may be)
        if unquote and quoted.any():
            values = values.where(~quoted, values.str.slice(1, -1).str.replace('""', '"', regex=False).str.strip())
        cleaned[column] = values
    result = pd.DataFrame(cleaned, index=frame.index)
    blank = (result == "").all(axis=1)
    return result[~blank] if blank.any() else result
