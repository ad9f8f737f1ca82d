"""An import's row problems: collected per spreadsheet row while the file is cleaned, then read as sentences.

Each problem names its row (the frame's index), column and value. The web page and ``canvass import --problems``
give the same file: the same columns, rows numbered as a spreadsheet shows them, and cells a spreadsheet would run as
a formula made plain text (the values come from the imported file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd

from canvass.spreadsheets import csv_text

PROBLEM_COLUMNS = ("row", "column", "value", "level", "problem")
PROBLEM_LIMIT = 5000  # problems kept in detail; all are counted


class Problems:
    def __init__(self):
        self.items: list[dict] = []
        self.count = 0
        self.rejected: set[int] = set()

    def add(self, mask: pd.Series, column: str, values: pd.Series | Callable[[pd.Index], pd.Series], message: str, *,
            reject: bool = False) -> None:
        """Records ``message`` for every row where ``mask`` is true (``values`` may be computed for those rows only)."""
        hits = mask[mask].index
        if not len(hits):
            return
        self.count += len(hits)
        if reject:
            self.rejected.update(int(r) for r in hits)
        room = PROBLEM_LIMIT - len(self.items)
        if room > 0:
            shown_rows = hits[:room]
            shown = values(shown_rows) if callable(values) else values.reindex(shown_rows)
            shown = shown.astype("str").str.slice(0, 80)
            level = "error" if reject else "warning"
            self.items.extend({"row": int(r), "column": column, "value": v, "message": message, "level": level}
                              for r, v in shown.items())


def problem_sentence(problem: dict, translate: Callable[[str], str] = str) -> str:
    """The problem's sentence, through ``translate`` (the viewer's language on the web; English on the command line):
    its template filled with its figures, or its fixed sentence."""
    if problem.get("text"):
        return translate(problem["text"]) % problem.get("args", {})
    return translate(problem.get("message") or "")


def problems_csv(problems: Iterable[dict], translate: Callable[[str], str] = str) -> str:
    return csv_text(PROBLEM_COLUMNS, ((p["row"], p["column"], p["value"], p["level"], problem_sentence(p, translate))
                                      for p in problems))
