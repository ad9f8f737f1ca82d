"""Reading a vote-history file a batch of rows at a time: only the columns the layout names, all as text.

A history file is long (North Carolina's is tens of millions of rows) and narrow in what canvass needs (an ID, a
date, a name, a method), so it is read by pyarrow's streaming CSV reader, never whole: memory holds one batch.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from canvass.history.layouts import HistoryFileError, Layout, sniff
from canvass.i18n import N_

HEAD_BYTES = 64 * 1024
BLOCK_BYTES = 8 * 1024 * 1024  # text parsed at a time: a batch of 100k-300k history rows


@dataclass
class Batch:
    """Rows of the file: the layout's columns by number, as text, and the spreadsheet row of the first one."""

    frame: pd.DataFrame
    first_row: int


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes; a zip's single data file (a state's download is often zipped)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [i for i in archive.infolist() if not i.is_dir() and
                     not i.filename.lower().endswith((".pdf", ".doc", ".docx", ".md", ".html"))]
            if len(names) != 1:
                raise HistoryFileError(N_("The zip file holds %(count)s files; put only the history file in it."),
                                       count=len(names))
            with archive.open(names[0]) as handle:
                yield handle
        return
    with open(path, "rb") as handle:
        yield handle


def read_layout(path: str | Path) -> Layout:
    with _opened(Path(path)) as handle:
        return sniff(handle.read(HEAD_BYTES))


def read_batches(path: str | Path, layout: Layout, *, block_bytes: int = BLOCK_BYTES,
                 bad_rows: list[int] | None = None) -> Iterator[Batch]:
    """The file's rows, a batch at a time (blank lines left out). Rows with another number of columns than the
    header are left out too, and counted in ``bad_rows`` (their number, for the report)."""
    names = [f"c{i}" for i in range(len(layout.headers))]
    wanted = [names[i] for i in layout.columns]
    skipped: list[int] = bad_rows if bad_rows is not None else []

    def skip(row) -> str:
        skipped.append(row.number or 0)
        return "skip"

    options = dict(
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if layout.has_header else 0,
                                       block_size=block_bytes, encoding=layout.encoding),
        # Tab and pipe files are read without quoting: Florida's hold literal quotes inside unquoted names.
        parse_options=pacsv.ParseOptions(delimiter=layout.delimiter,
                                         quote_char='"' if layout.delimiter in ",;" else False,
                                         invalid_row_handler=skip),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(wanted, pa.string()), include_columns=wanted,
                                             strings_can_be_null=False))
    first_row = 2 if layout.has_header else 1
    with _opened(Path(path)) as handle:
        try:
            reader = pacsv.open_csv(handle, **options)
            for record_batch in reader:
                frame = record_batch.to_pandas()
                frame.columns = [int(c[1:]) for c in frame.columns]
                yield Batch(frame, first_row)
                first_row += len(frame)
        except pa.ArrowInvalid as exc:
            raise HistoryFileError(N_("canvass could not read this file as text in columns (%(reason)s). Check that "
                                      "it is the history file itself, saved as text."), reason=str(exc)[:120]) from exc
