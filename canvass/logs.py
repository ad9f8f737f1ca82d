"""Logs without personal data.

Database errors carry the offending row: PostgreSQL adds ``DETAIL: Failing row contains (...)`` or ``Key
(email)=(...) already exists`` to the message, and SQLAlchemy would quote the bound parameters (the engine hides
those, see ``db.make_engine``). This filter drops such lines from messages and tracebacks before any handler
writes them.
"""

from __future__ import annotations

import logging
import re

_ROW_DATA = re.compile(r"^\s*(DETAIL|CONTEXT|HINT):.*$|\[parameters: .*$|Failing row contains .*$",
                       re.MULTILINE)


def redact(text: str) -> str:
    return _ROW_DATA.sub("[row data removed]", text)


class RedactRowData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        if isinstance(record.msg, str) and not record.args:
            record.msg = redact(record.msg)
        return True


def install(app_logger: logging.Logger) -> None:
    """Filters the app's logger, its children (``canvass.jobs``) and the handlers they reach."""
    from flask.logging import default_handler

    row_filter = RedactRowData()
    for target in (app_logger, logging.getLogger("canvass.jobs"), default_handler):
        if not any(isinstance(f, RedactRowData) for f in target.filters):
            target.addFilter(row_filter)
