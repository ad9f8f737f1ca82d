"""What a vote-history file looks like and what its cells mean: pure functions, no database.

Two shapes (see FORMATS.md): a long file, one row per person and election (North Carolina ``ncvhis``, Florida's
headerless ``_H_`` extract, Minnesota's election history, Washington's), and a wide one, a voter file with one
column per election (VAN ``General16``, L2 ``General_2018_11_06``, Ohio ``GENERAL-11/08/2016``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from canvass.i18n import N_, UserError
from canvass.importing.fields import is_vote_history, normalize_header
from canvass.models import ElectionKind, VoteMethod

DELIMITERS = {"\t": "tab", "|": "pipe", ",": "comma", ";": "semicolon"}

#: Header (normalized) -> the ExternalId source it names. The voter importer stores IDs under these sources.
ID_HEADERS = {
    "ncid": "voter_id", "voter id": "voter_id", "voterid": "voter_id", "state voter id": "voter_id",
    "statevoterid": "voter_id", "sos voterid": "voter_id", "sos voter id": "voter_id",
    "voter identification number": "voter_id", "voters state voter id": "voter_id", "registrant id": "voter_id",
    "text registrant id": "voter_id", "vb voterid": "voter_id", "voter file vanid": "van_id", "vanid": "van_id",
    "van id": "van_id", "lalvoterid": "vendor_id", "vb voterbase id": "vendor_id",
}
DATE_HEADERS = ("election lbl", "election date", "electiondate", "date of election", "election dt")
NAME_HEADERS = ("election desc", "election description", "electiondescription", "election name", "election type",
                "election")
METHOD_HEADERS = ("voting method", "votingmethod", "vote method", "method", "history code", "voting type",
                  "vote type")

FL_TYPES = {"GEN", "PRI", "PPP", "RUN", "OTH"}
FL_COLUMNS = ["county", "voter_id", "election_date", "election_type", "history_code"]
_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%m%d%Y", "%Y%m%d", "%m-%d-%Y", "%m/%d/%y",
                 "%m/%d/%Y %H:%M:%S")


class HistoryFileError(UserError):
    """The file is not a vote history canvass can read; the message says why and what to do."""


@dataclass
class Layout:
    """How to read a history file: which columns hold what, and which ID source they are matched on."""

    name: str  # nc_history, fl_history, mn_history, wa_history, wide, long
    label: str  # for people
    delimiter: str
    has_header: bool
    encoding: str
    headers: list[str]  # as in the file (or the layout's names when it has none)
    source: str  # the ExternalId source the ID column holds
    id_column: int
    date_column: int | None = None  # long files
    name_column: int | None = None
    method_column: int | None = None
    elections: dict[int, tuple[date, ElectionKind, str]] = field(default_factory=dict)  # wide: column -> election

    @property
    def columns(self) -> list[int]:
        """The columns read (all others are skipped)."""
        wanted = [self.id_column, self.date_column, self.name_column, self.method_column, *self.elections]
        return sorted({c for c in wanted if c is not None})

    @property
    def wide(self) -> bool:
        return bool(self.elections)


# ------------------------------------------------------------------------------------------------------------------
# Sniffing


def decode_head(head: bytes) -> tuple[str, str]:
    """The encoding of a file that starts with ``head``, and ``head`` as text."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", head.decode("utf-16", errors="ignore")
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8", head[3:].decode("utf-8", errors="ignore")
    try:
        return "utf-8", head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut at the end of the head
            return "utf-8", head[:exc.start].decode("utf-8")
        return "latin-1", head.decode("latin-1")


def sniff(head: bytes) -> Layout:
    """The layout of a history file from its first bytes; HistoryFileError when it is none canvass knows."""
    encoding, text = decode_head(head)
    lines = [line.rstrip("\r") for line in text.replace("\x00", "").split("\n") if line.strip()]
    if not lines:
        raise HistoryFileError(N_("The file is empty. Check that you picked the right file."))
    first = lines[0]
    delimiter = max(DELIMITERS, key=first.count)
    if not first.count(delimiter):
        raise HistoryFileError(N_("canvass could not find the columns in this file: it expects tab, pipe, comma or "
                                  "semicolon between them."))
    cells = [c.strip().strip('"') for c in first.split(delimiter)]
    if _florida_history(cells):
        return Layout("fl_history", N_("Florida voter history (no header)"), delimiter, False, encoding, FL_COLUMNS,
                      "voter_id", 1, 2, 3, 4)
    normalized = [normalize_header(c) for c in cells]
    id_column = next((i for i, n in enumerate(normalized) if n in ID_HEADERS), None)
    if id_column is None:
        raise HistoryFileError(N_("canvass found no voter ID column in this file (such as ncid, VoterId, Voter ID or "
                                  "VANID). Vote history is matched to people by the ID the voter file gave them."))
    layout = Layout("long", N_("Vote history"), delimiter, True, encoding, cells, ID_HEADERS[normalized[id_column]],
                    id_column)
    layout.date_column = _first(normalized, DATE_HEADERS)
    if layout.date_column is not None:
        layout.name_column = _first(normalized, NAME_HEADERS)
        layout.method_column = _first(normalized, METHOD_HEADERS)
        layout.name, layout.label = _long_name(normalized)
        return layout
    layout.elections = {i: election for i, cell in enumerate(cells)
                        if i != id_column and (election := wide_column_election(cell)) is not None}
    if not layout.elections:
        raise HistoryFileError(N_("canvass found no election in this file: no election date column (such as "
                                  "ElectionDate or election_lbl), and no vote-history columns (such as General16)."))
    layout.name, layout.label = "wide", N_("Vote history columns in a voter file")
    return layout


def _florida_history(cells: list[str]) -> bool:
    return len(cells) == 5 and bool(re.fullmatch(r"\d{2}/\d{2}/\d{4}", cells[2])) and cells[3].upper() in FL_TYPES


def _first(normalized: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in normalized:
            return normalized.index(name)
    return None


def _long_name(normalized: list[str]) -> tuple[str, str]:
    if "ncid" in normalized and "election lbl" in normalized:
        return "nc_history", N_("North Carolina voter history (ncvhis)")
    if "voting history id" in normalized:
        return "wa_history", N_("Washington voting history")
    if "election description" in normalized:
        return "mn_history", N_("Minnesota election history")
    return "long", N_("Vote history")


# ------------------------------------------------------------------------------------------------------------------
# Elections: their day and kind


_MUNICIPAL = re.compile(r"MUNI|CITY|TOWN|VILLAGE|SCHOOL|LOCAL|MAYOR|COUNCIL|BOROUGH")
_OTHER = re.compile(r"SPECIAL|SPEC\b|RUNOFF|\bRUN\b|RECALL|REFERENDUM|\bOTH")
_PRIMARY = re.compile(r"PRIMARY|\bPRI\b|\bPPP\b|PRES(IDENTIAL)? PREF|CAUCUS")
_GENERAL = re.compile(r"GENERAL|\bGEN\b")


def election_kind(name: str, held_on: date | None = None) -> ElectionKind:
    """``11/08/2016 GENERAL`` -> general; ``MUNICIPAL PRIMARY`` -> municipal; without a word for it, a federal
    election day is a general election and anything else another kind."""
    text = name.upper()
    if _MUNICIPAL.search(text):
        return ElectionKind.municipal
    if _OTHER.search(text):
        return ElectionKind.other
    if _PRIMARY.search(text):
        return ElectionKind.primary
    if _GENERAL.search(text):
        return ElectionKind.general
    if held_on is not None and held_on == general_election_day(held_on.year) and held_on.year % 2 == 0:
        return ElectionKind.general
    return ElectionKind.other


def general_election_day(year: int) -> date:
    """The Tuesday after the first Monday of November."""
    first_monday = next(d for d in range(1, 8) if calendar.weekday(year, 11, d) == calendar.MONDAY)
    return date(year, 11, first_monday + 1)


def parse_date(text: str) -> date | None:
    text = text.strip()
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


# A column naming only a year: the day is the general election's, or a stand-in that keeps each kind apart
# and in order within the year (turnout needs the order, not the day).
_YEAR_ONLY_DAY = {"pres primary": (3, 1), "primary": (6, 1), "municipal primary": (9, 1), "municipal": (11, 1),
                  "other": (1, 1)}
_WIDE_WORDS = [(re.compile(r"^(muni|municipal|city|town|local|school)"), "municipal"),
               (re.compile(r"^(special|spec|runoff|recall|s|r)\b"), "other"),
               (re.compile(r"^(pres|presidential) ?(primary|pri|pref)|^pp\b"), "pres primary"),
               (re.compile(r"^(primary|pri|p)\b"), "primary"), (re.compile(r"^(general|gen|g)\b"), "general")]


def wide_column_election(header: str) -> tuple[date, ElectionKind, str] | None:
    """The election a voter-file column holds, from its header (``General16``, ``General_2018_11_06``,
    ``GENERAL-11/08/2016``, ``vf_g2016``), or None when it holds none (``Primary16Party`` says which ballot)."""
    norm = normalize_header(header)
    if not is_vote_history(norm) or re.search(r"party|method|code", norm):
        return None
    norm = re.sub(r"^vf ", "", norm)
    norm = re.sub(r"^([a-z]+?)(\d)", r"\1 \2", norm)  # general16 -> general 16
    words = next((kind for pattern, kind in _WIDE_WORDS if pattern.search(norm)), None)
    if words == "municipal" and "primary" in norm:
        words = "municipal primary"
    if words is None:
        return None
    digits = re.findall(r"\d+", norm)
    held_on = _wide_date(digits, words)
    if held_on is None:
        return None
    kind = {"pres primary": ElectionKind.primary, "municipal primary": ElectionKind.municipal}.get(
        words, ElectionKind(words) if words in ElectionKind.__members__ else ElectionKind.other)
    return held_on, kind, header.strip()


def _wide_date(digits: list[str], words: str) -> date | None:
    try:
        if len(digits) == 3 and len(digits[0]) == 4:  # 2018 11 06
            return date(int(digits[0]), int(digits[1]), int(digits[2]))
        if len(digits) == 3:  # 11 08 2016
            year = int(digits[2]) + (0 if len(digits[2]) == 4 else 1900 if int(digits[2]) >= 70 else 2000)
            return date(year, int(digits[0]), int(digits[1]))
        if len(digits) == 1 and len(digits[0]) in (2, 4):
            year = int(digits[0])
            if len(digits[0]) == 2:  # "General98" is 1998, "General16" 2016
                year += 1900 if year >= 70 else 2000
            if words == "general":
                return general_election_day(year)
            month, day = _YEAR_ONLY_DAY[words]
            return date(year, month, day)
    except ValueError:
        return None
    return None


# ------------------------------------------------------------------------------------------------------------------
# How people voted


_FLORIDA_METHODS = {"A": VoteMethod.absentee, "E": VoteMethod.early, "Y": VoteMethod.election_day}
_NOT_VOTED = {"", "N", "NO", "0", "FALSE", "F", "DNV", "-", "NONE"}
_FLORIDA_NOT_COUNTED = {"B", "N", "P", "F", "Z"}  # mail ballot or provisional not counted, did not vote
_LETTERS = {"A": VoteMethod.absentee, "M": VoteMethod.absentee, "V": VoteMethod.absentee, "E": VoteMethod.early,
            "P": VoteMethod.election_day}


def method_of(text: str, layout_name: str) -> VoteMethod | None:
    """How a history cell says the person voted; None when it says they did not (or their ballot did not count)."""
    code = text.strip().upper()
    if layout_name == "fl_history":
        return None if code in _FLORIDA_NOT_COUNTED else _FLORIDA_METHODS.get(code, VoteMethod.unknown)
    if code in _NOT_VOTED and (code or layout_name == "wide"):
        return None
    if code in _LETTERS:
        return _LETTERS[code]
    if re.search(r"ONE ?STOP|EARLY", code):
        return VoteMethod.early
    if re.search(r"ABSENTEE|MAIL|ABS\b", code):
        return VoteMethod.absentee
    if re.search(r"IN[- ]PERSON|ELECTION DAY|POLL|CURBSIDE|TRANSFER", code):
        return VoteMethod.election_day
    return VoteMethod.unknown


def methods(values: pd.Series, layout_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: whether it is a vote, and how it was cast (VoteMethod values). Decided once per distinct cell."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    decided = [method_of(str(u), layout_name) for u in uniques]
    voted = np.array([m is not None for m in decided], dtype=bool)
    how = np.array([str(m or "") for m in decided], dtype=object)
    return voted[codes], how[codes]
