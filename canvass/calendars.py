"""Calendar files (iCalendar, RFC 5545) that a phone's calendar adds a shift from, with a reminder before it.

Written here rather than with a library: no iCalendar package is installed or in the local package index, and the
little this needs is plain text: UTC times (so no VTIMEZONE to get wrong), text values escaped (section 3.3.11),
long lines folded at 75 octets (3.1), CRLF line ends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

PRODID = "-//canvass//Shifts//EN"
#: Control characters a TEXT value may not hold (RFC 5545 3.3.11); tab is allowed, line breaks are escaped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class CalendarEvent:
    uid: str  # stable: the calendar updates the event instead of adding a copy when the file is opened again
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str = ""
    description: str = ""
    url: str = ""
    remind_minutes_before: int | None = 120


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, every line break as ``\\n``, control characters gone."""
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def utc_stamp(value: datetime) -> str:
    """A DATE-TIME in UTC form (``20261114T150000Z``); a naive time is refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("a calendar time needs its time zone")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """A content line folded into pieces of at most 75 octets, each continuation starting with a space, never
    splitting a UTF-8 character."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = 75 if not pieces else 74  # a continuation's leading space counts
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _event_lines(event: CalendarEvent, now: datetime) -> list[str]:
    lines = ["BEGIN:VEVENT", f"UID:{escape_text(event.uid)}", f"DTSTAMP:{utc_stamp(now)}",
             f"DTSTART:{utc_stamp(event.starts_at)}", f"DTEND:{utc_stamp(event.ends_at)}",
             f"SUMMARY:{escape_text(event.summary)}"]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")  # a URI value: not escaped as text
    if event.remind_minutes_before:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape_text(event.summary)}",
                  f"TRIGGER:-PT{int(event.remind_minutes_before)}M", "END:VALARM"]
    return [*lines, "END:VEVENT"]


def calendar(events: Sequence[CalendarEvent], *, name: str, now: datetime) -> str:
    """The calendar file's text: every event with its reminder, times in UTC."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape_text(name)}"]
    for event in events:
        lines += _event_lines(event, now)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
