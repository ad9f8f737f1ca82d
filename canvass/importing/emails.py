"""Email addresses: split where a cell holds several, checked, and kept in lower case."""

from __future__ import annotations

import pandas as pd

from canvass.i18n import N_
from canvass.importing.columns import said_none
from canvass.importing.problems import Problems

EMAIL_RE = r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$"


def email_rows(frame: pd.DataFrame, mapping: dict[str, str], problems: Problems) -> pd.DataFrame:
    """One row per email address (row, address), lower case; several in one cell are split."""
    pieces = []
    for header, field_name in mapping.items():
        if field_name != "email" or header not in frame.columns:
            continue
        raw = frame[header].str.strip()
        filled = raw[raw != ""]
        values = filled.str.split(r"[,;\s]+", regex=True).explode().dropna().astype("str").str.strip().str.lower()
        values = values.str.removeprefix("mailto:")  # copied from a web page's link
        values = values[values != ""]
        bad = ~values.str.match(EMAIL_RE)
        if bad.any():
            rows = pd.Series(False, index=frame.index)
            rows.loc[bad[bad].index.unique()] = True
            problems.add(rows & ~said_none(raw, rows), header, raw, N_("This is not an email address; it was left out."))
        good = values[~bad]
        pieces.append(pd.DataFrame({"row": good.index, "address": good.values.astype(str)}))
    if not pieces:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "address": pd.Series(dtype="str")})
    return pd.concat(pieces, ignore_index=True).drop_duplicates(["row", "address"])
