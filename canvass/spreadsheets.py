"""Writing cells people open in a spreadsheet program, safely."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+1...``, ``@SUM``) gets a leading apostrophe.

    Numbers stay numbers: only text is touched, so a negative amount is still a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame with every text cell that starts like a formula neutralized (vectorised), and its column
    headers too: a free-text survey answer becomes a header in a crosstab."""
    result = frame.copy()
    result.columns = [neutralize(c) for c in result.columns]
    for column in result.columns:
        series = result[column]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            text = series.astype("str")
            risky = text.str.startswith(FORMULA_STARTS) & series.notna()
            if risky.any():
                result[column] = series.where(~risky, "'" + text)
    return result


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralize(h) for h in header])
    for row in rows:
        writer.writerow([neutralize(v) for v in row])
    return buffer.getvalue()
