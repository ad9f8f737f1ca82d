"""An import's row problems as people read them: one sentence each, and the CSV that lists them all.

The web page and ``canvass import --problems`` give the same file: the same columns, rows numbered as a spreadsheet
shows them, and cells a spreadsheet would run as a formula made plain text (the values come from the imported file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from canvass.spreadsheets import csv_text

PROBLEM_COLUMNS = ("row", "column", "value", "level", "problem")


def problem_sentence(problem: dict, translate: Callable[[str], str] = str) -> str:
    """The problem's sentence, through ``translate`` (the viewer's language on the web; English on the command line):
    its template filled with its figures, or its fixed sentence."""
    if problem.get("text"):
        return translate(problem["text"]) % problem.get("args", {})
    return translate(problem.get("message") or "")


def problems_csv(problems: Iterable[dict], translate: Callable[[str], str] = str) -> str:
    return csv_text(PROBLEM_COLUMNS, ((p["row"], p["column"], p["value"], p["level"], problem_sentence(p, translate))
                                      for p in problems))
