"""String work on whole text columns: once per distinct value, or by pyarrow's kernels, never a Python call per row.

A voter file repeats its street names, cities and first names thousands of times, so expensive work on a column is
done once per distinct value (``per_unique``) and spread back over the rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def per_unique(series: pd.Series, fn: Callable[[str], object]) -> pd.Series:
    """Applies ``fn`` once per distinct value and spreads the results back over the rows."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    results = np.empty(len(uniques), dtype=object)
    for i, value in enumerate(uniques):
        results[i] = fn(value)
    return pd.Series(results[codes], index=series.index)


def per_unique_text(series: pd.Series, fn: Callable[[str], str]) -> pd.Series:
    """``per_unique`` for a function giving text: the results stay a compact text column, spread without a Python
    object per row."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    results = pd.array([fn(value) for value in uniques], dtype="str")
    return pd.Series(results.take(codes) if len(codes) else results[:0], index=series.index)


def per_unique_parts(series: pd.Series, fn: Callable[[str], tuple], names: list[str]) -> pd.DataFrame:
    """Like ``per_unique`` for a function returning a tuple: one text column per part, spread without Python loops."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    results = [fn(value) for value in uniques]
    columns = {}
    for position, name in enumerate(names):
        part = pd.array([r[position] for r in results], dtype="str") if results else pd.array([], dtype="str")
        columns[name] = part.take(codes) if len(codes) else pd.array([], dtype="str")
    return pd.DataFrame(columns, index=series.index)


def collapse(series: pd.Series) -> pd.Series:
    """Single spaces inside, none around (values were trimmed when read; only doubled or odd spaces need work)."""
    odd = series.str.contains("  ", regex=False) | series.str.contains("\t", regex=False)
    if not odd.any():
        return series
    fixed = per_unique_text(series[odd], lambda v: " ".join(v.split()))
    return series.where(~odd, fixed)


# Whitespace as Python's \s knows it, spelled out. pandas runs a column-wide pattern through pyarrow's regex engine
# (C++, without the GIL), but hands one holding \s (or \d, on text that is not all ASCII) to Python's re, a row at a
# time: on a million rows, seconds. So the patterns run on whole columns say [0-9] and these spaces.
SPACES = " \t\n\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SPACE = f"[{SPACES}]"

FLOAT_ARTIFACT = re.compile(r"^(\d+)\.0+$")


def numbers(series: pd.Series) -> pd.Series:
    """The text read as numbers (NaN where it is none), as ``pd.to_numeric(errors="coerce")`` reads it: that takes
    a Python object per value, so a column that is blank, or whole numbers only (house numbers, birth years), is
    read by Arrow instead (a tenth of a voter file's cleaning went to reading blank coordinate columns)."""
    array = series.array
    if isinstance(array, pd.arrays.ArrowStringArray) and not array._pa_array.null_count:
        text = array._pa_array
        filled = pc.not_equal(text, "")
        if not pc.any(filled).as_py():
            return pd.Series(np.nan, index=series.index)
        whole = pc.match_substring_regex(text, "^[0-9]{1,15}$")
        if pc.all(pc.or_(whole, pc.invert(filled))).as_py():
            read = pc.cast(pc.if_else(whole, text, "0"), pa.float64()).to_numpy(zero_copy_only=False)
            return pd.Series(np.where(pc.invert(whole).to_numpy(zero_copy_only=False), np.nan, read),
                             index=series.index)
    return pd.to_numeric(series, errors="coerce").astype("float64")


def strip_float_artifact(series: pd.Series) -> pd.Series:
    suspect = series.str.endswith(".0") | series.str.endswith(".00")
    if not suspect.any():
        return series
    return series.where(~suspect, series[suspect].str.replace(FLOAT_ARTIFACT, r"\1", regex=True))


def clean_id(series: pd.Series) -> pd.Series:
    """``12345.0`` -> ``12345`` (a pandas re-export), ``="00123"`` -> ``00123`` (Excel-protected); zeros kept."""
    protected = series.str.startswith("=")
    if protected.any():  # rare: the replace is done only then (a file's six ID columns, most of them blank)
        series = series.str.replace(r'^="?(.*?)"?$', r"\1", regex=True).where(protected, series)
    return at_most(strip_float_artifact(series), 64)


def at_most(series: pd.Series, characters: int) -> pd.Series:
    """The values cut to ``characters``; as they are when the Arrow buffers show none is that long in bytes."""
    array = series.array
    if isinstance(array, pd.arrays.ArrowStringArray) and array._pa_array.type == pa.large_string():
        longest = max((int(np.diff(np.frombuffer(chunk.buffers()[1], dtype=np.int64)[
            chunk.offset:chunk.offset + len(chunk) + 1]).max(initial=0)) for chunk in array._pa_array.chunks),
            default=0)
        if longest <= characters:
            return series
    return series.str.slice(0, characters)


# "9.19555E+09": a spreadsheet showed a long number in scientific notation and saved it that way; its digits are lost.
_SCIENTIFIC = r"^\d(?:\.\d+)?[eE]\+\d+$"


def in_scientific_notation(series: pd.Series) -> pd.Series:
    suspect = series.str.contains("+", regex=False)
    if not suspect.any():
        return suspect
    return suspect & series.where(suspect, "").str.fullmatch(_SCIENTIFIC)


# What sign-up sheets write for "nothing to give": no warning is due for these, only a blank.
_NONE_GIVEN = (r"(?:n/?a|none|null|nil|unknown|no|x+|-+|\.+|0+|\?+|declined|refused|not (?:given|provided)|"
               r"no (?:phone|cell|number|email|e-?mail)|sin (?:tel[eé]fono|correo|email)|no tiene|ninguno)")


def said_none(raw: pd.Series, rows: pd.Series) -> pd.Series:
    """Which of ``rows`` (the rows with a bad value) hold a placeholder such as "N/A", "none" or "-"."""
    said = pd.Series(False, index=raw.index)
    said.loc[rows] = raw[rows].str.strip().str.fullmatch(_NONE_GIVEN, case=False).to_numpy(dtype=bool)
    return said
