"""From a table of text and a column mapping to clean people, doors, phones and emails (pure pandas, no database).

Expensive string work runs once per distinct value (``per_unique``): a voter file repeats its street names, cities
and first names thousands of times. Problems are collected per spreadsheet row (the frame's index).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers

from canvass.i18n import N_
from canvass.importing.fields import CUSTOM, HISTORY, ID_FIELDS, PHONE_FIELDS
from canvass.importing.layouts import Layout

PROBLEM_LIMIT = 5000
FLOAT_PRONE = {"house_number"}  # numeric columns a pandas or Excel round trip turns into 2200.0  # problems kept in detail; all are counted

STREET_WORDS = {
    "STREET": "ST", "STR": "ST", "AVENUE": "AVE", "AV": "AVE", "AVEN": "AVE", "ROAD": "RD", "BOULEVARD": "BLVD",
    "BOUL": "BLVD", "DRIVE": "DR", "DRV": "DR", "LANE": "LN", "COURT": "CT", "PLACE": "PL", "CIRCLE": "CIR",
    "TERRACE": "TER", "PARKWAY": "PKWY", "HIGHWAY": "HWY", "SQUARE": "SQ", "TRAIL": "TRL", "WAY": "WAY",
    "EXPRESSWAY": "EXPY", "FREEWAY": "FWY", "CROSSING": "XING", "POINT": "PT", "EXTENSION": "EXT", "HEIGHTS": "HTS",
    "ALLEY": "ALY", "COVE": "CV", "LOOP": "LOOP", "PIKE": "PIKE", "RUN": "RUN", "PATH": "PATH", "CRESCENT": "CRES",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE",
    "SOUTHWEST": "SW", "SAINT": "ST", "MOUNT": "MT", "FORT": "FT",
}
UNIT_WORDS = r"APT|APARTMENT|UNIT|STE|SUITE|LOT|RM|ROOM|SPC|SPACE|TRLR|TRAILER|BLDG|BUILDING|FL|FLOOR|DEPT|PH|NO|NUM"
# "12 Main St, Springfield, IL 62701", also without the comma before the state, with one before the ZIP, or "USA".
_JOINED_RE = re.compile(r"^(?P<line>.+?),\s*(?P<city>[^,]+?)(?:,\s*|\s+)(?P<state>[A-Za-z]{2})\.?,?\s+"
                        r"(?P<zip>\d{5}(?:-?\d{4})?)(?:,?\s*(?:USA?|United States))?$")
_UNIT_TYPE_DISPLAY = {"APT": "Apt", "APARTMENT": "Apt", "UNIT": "Unit", "STE": "Ste", "SUITE": "Ste", "LOT": "Lot",
                      "RM": "Rm", "ROOM": "Rm", "SPC": "Spc", "SPACE": "Spc", "TRLR": "Trlr", "TRAILER": "Trlr",
                      "BLDG": "Bldg", "BUILDING": "Bldg", "FL": "Fl", "FLOOR": "Fl", "DEPT": "Dept", "PH": "PH"}

LANGUAGES = {
    "en": ["english", "eng", "en", "inglés", "ingles"],
    "es": ["spanish", "spa", "es", "español", "espanol", "castellano", "sp", "span", "esp"],
    "vi": ["vietnamese", "vie", "vi", "tiếng việt", "tieng viet", "viet", "vietnamita", "vn"],
    "ko": ["korean", "kor", "ko", "한국어", "hangul", "coreano", "kr"],
    "zh": ["chinese", "chi", "zho", "zh", "中文", "mandarin", "cantonese", "汉语", "漢語", "普通话", "廣東話", "chinese mandarin",
           "chinese cantonese", "chn", "chino", "mandarín", "cantonés"],
    "tl": ["tagalog", "filipino", "tgl", "tl"], "ar": ["arabic", "ara", "ar"], "ru": ["russian", "rus", "ru"],
    "ht": ["haitian creole", "creole", "kreyol", "ht"], "pt": ["portuguese", "por", "pt"], "fr": ["french", "fra", "fr"],
    "hmn": ["hmong", "hmn"], "so": ["somali", "som", "so"], "am": ["amharic", "amh"], "hi": ["hindi", "hin"],
    "bn": ["bengali", "bangla", "ben"], "ur": ["urdu", "urd"], "fa": ["farsi", "persian", "fas"],
    "km": ["khmer", "cambodian", "khm"], "lo": ["lao", "laotian"], "pl": ["polish", "pol"], "ja": ["japanese", "jpn"],
}
_LANGUAGE_LOOKUP = {alias: code for code, aliases in LANGUAGES.items() for alias in aliases}
PARTIES = {"D": "DEM", "DEMOCRAT": "DEM", "DEMOCRATIC": "DEM", "DEMOCRATIC PARTY": "DEM", "R": "REP",
           "REPUBLICAN": "REP", "REPUBLICAN PARTY": "REP", "L": "LIB", "LIBERTARIAN": "LIB", "G": "GRE", "GREEN": "GRE",
           "U": "UNA", "UNAFFILIATED": "UNA", "NO PARTY": "NPA", "NO PARTY AFFILIATION": "NPA", "NONPARTISAN": "NPA",
           "INDEPENDENT": "IND", "C": "CST", "CONSTITUTION": "CST"}
# Voter files say F/M; sign-up forms spell it out, in English or Spanish. Anything else is kept as written.
GENDERS = {"FEMALE": "F", "WOMAN": "F", "MUJER": "F", "FEMENINO": "F", "FEMENINA": "F",
           "MALE": "M", "MAN": "M", "HOMBRE": "M", "MASCULINO": "M"}
TRUTHY = {"y", "yes", "true", "t", "1", "x"}
PLACEHOLDER_NAMES = re.compile(r"^-?VOTER_DID_NOT_PROVIDE_\w+$|^\*+$", re.IGNORECASE)


@dataclass
class Normalized:
    people: pd.DataFrame  # one row per kept file row, indexed by spreadsheet row
    phones: pd.DataFrame  # row, e164, type, source, rank
    emails: pd.DataFrame  # row, address
    problems: list[dict] = field(default_factory=list)
    problem_count: int = 0
    rejected_rows: set[int] = field(default_factory=set)


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
_SPACES = " \t\n\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_S = f"[{_SPACES}]"
_PO_BOX = f"^{_S}*(?:P\\.?{_S}*O\\.?{_S}*BOX|POST{_S}+OFFICE{_S}+BOX|BOX){_S}*#?{_S}*[0-9]"

#: From this many rows, a file is normalised in two halves at once (see ``normalize``).
PARALLEL_ROWS = 50_000


def normalize(frame: pd.DataFrame, mapping: dict[str, str], layout: Layout | None = None,
              today: date | None = None) -> Normalized:
    """Turns the file's columns into canvass's fields. Pure: no database, no Flask.

    Every step works row by row, so a big file is done in two halves on two threads: pyarrow's string kernels,
    which do most of the work, release the GIL (a million rows: about a quarter faster on two cores)."""
    today = today or date.today()
    if len(frame) < PARALLEL_ROWS:
        return _normalize(frame, mapping, layout, today)
    middle = len(frame) // 2
    with ThreadPoolExecutor(max_workers=1) as pool:
        second = pool.submit(_normalize, frame.iloc[middle:], mapping, layout, today)
        first = _normalize(frame.iloc[:middle], mapping, layout, today)
        return joined([first, second.result()])


def joined(parts: list[Normalized], *, with_rows: bool = True) -> Normalized:
    """Consecutive parts of one file, normalised apart, as one (``with_rows=False``: their problems only)."""
    if len(parts) == 1 and with_rows:
        return parts[0]
    some = slice(None) if with_rows else slice(0, 0)
    return Normalized(pd.concat([p.people.iloc[some] for p in parts]),
                      pd.concat([p.phones.iloc[some] for p in parts], ignore_index=True),
                      pd.concat([p.emails.iloc[some] for p in parts], ignore_index=True),
                      [item for p in parts for item in p.problems][:PROBLEM_LIMIT],
                      sum(p.problem_count for p in parts), set().union(*(p.rejected_rows for p in parts)))


def _normalize(frame: pd.DataFrame, mapping: dict[str, str], layout: Layout | None, today: date) -> Normalized:
    problems = Problems()
    empty = pd.Series("", index=frame.index, dtype="str")

    def column(field_name: str) -> pd.Series:
        headers = [h for h, f in mapping.items() if f == field_name and h in frame.columns]
        if not headers:
            return empty.copy()  # a copy: callers may fill it in place
        values = frame[headers[0]]
        return strip_float_artifact(values) if field_name in FLOAT_PRONE else values

    def source_of(field_name: str) -> str:
        return next((h for h, f in mapping.items() if f == field_name), field_name)

    masked = _masked_rows(frame, layout)
    out = pd.DataFrame(index=frame.index)
    _ids(out, column, problems, source_of)
    if (out["county_voter_id"] != "").any() and (column("county") != "").any():
        # County-assigned numbers repeat across counties (NC voter_reg_num): qualify them with the county.
        out["county_voter_id"] = (column("county") + "-" + out["county_voter_id"]).where(out["county_voter_id"] != "", "")
    _names(out, column, masked)
    doorless = _address(out, column, masked, problems, source_of)
    _coordinates(out, column, problems, source_of)
    out["language"] = per_unique_text(collapse(column("language")), language_code)
    out["party"] = per_unique_text(collapse(column("party")).str.upper(), lambda v: PARTIES.get(v, v[:40]))
    out["precinct"] = collapse(column("precinct")).str.slice(0, 64)
    out["gender"] = per_unique_text(collapse(column("gender")).str.upper(), lambda v: GENDERS.get(v, v)[:16])
    out["birth_year"] = _birth_year(column, today, problems, source_of)
    out["is_protected"] = masked | column("confidential").str.lower().isin(TRUTHY)
    out["do_not_call"] = column("do_not_call").str.lower().isin(TRUTHY)
    phones = _phones(frame, mapping, column, problems)
    emails = _emails(frame, mapping, problems)
    out["email"] = emails.drop_duplicates("row").set_index("row")["address"].reindex(out.index, fill_value="")
    out["custom"] = json_objects(frame, [h for h, f in mapping.items() if f == CUSTOM])
    out["vote_history"] = json_objects(frame, [h for h, f in mapping.items() if f == HISTORY])
    _protect(out)
    no_ids = (out[list(ID_FIELDS)] == "").all(axis=1)
    total = _not_a_person(out, no_ids, phones)
    problems.add(total, "", lambda rows: _row_text(frame.loc[rows]),
                 N_("This row is a total or a note, not a person; it was skipped."), reject=True)
    nameless = (out[["first_name", "last_name"]] == "").all(axis=1) & no_ids & ~total
    unusable = nameless & (out["address_key"] == "")
    reachable = (out["email"] != "") | out.index.isin(phones["row"]) if unusable.any() else unusable
    problems.add(unusable & ~reachable, "", lambda rows: _row_text(frame.loc[rows]),
                 N_("This row has no name, no ID and no address; it was skipped."), reject=True)
    problems.add(unusable & reachable, "", lambda rows: _row_text(frame.loc[rows]),
                 N_("This row has a phone number or email but no name, ID or address, so there is no one to file "
                    "it under; it was skipped. Add the name to the file and import it again."), reject=True)
    out["doors_only"] = nameless & (out["address_key"] != "")
    if any(f in ADDRESS_FIELDS for f in mapping.values()):
        kept = ~out.index.isin(list(problems.rejected))
        given = doorless & (column("address") + column("street_name") + column("house_number") != "")
        problems.add(doorless & kept & ~given, source_of("address"), column("address"),
                     N_("This row has no address, so the person was kept without a door: they can be called or "
                        "emailed, not visited. Add the address to the file to put them on a walk list."))
        problems.add(given & kept, source_of("address"), lambda rows: _row_address(column, rows),
                     N_("This address has no street name and house number that can be read, so the person was "
                        "kept without a door. Correct it in the file."))
    rejected = problems.rejected & set(out.index)
    if rejected:
        out = out.drop(index=list(rejected))
    phones = phones[phones["row"].isin(out.index)]
    emails = emails[emails["row"].isin(out.index)]
    out["match_key"] = _match_keys(out)
    out["source_hash"] = _source_hash(out, phones, emails)
    return Normalized(out, phones.reset_index(drop=True), emails.reset_index(drop=True), problems.items,
                      problems.count, problems.rejected)


# A report's last line: "Total: 250", "TOTALS", "Grand total 1,204".
_TOTAL_ROW = r"(?:grand\s+)?totale?s?\s*:?\s*[\d,.]*"


def _not_a_person(out: pd.DataFrame, no_ids: pd.Series, phones: pd.DataFrame) -> pd.Series:
    """Rows that are a report's total or a note under the list ("Generated by VAN on 11/20/2026 by jdoe"): no ID, no
    door, no phone, no email, and a "name" that is a total, holds a digit or runs longer than any name."""
    found = pd.Series(False, index=out.index)
    unplaced = no_ids & (out["address_key"] == "") & (out["email"] == "")
    if not unplaced.any():  # the usual case: every row has an ID, a door or an email
        return found
    unplaced.loc[unplaced] = ~unplaced.index[unplaced].isin(phones["row"])
    name = out.loc[unplaced, "first_name"] + " " + out.loc[unplaced, "middle_name"] + " " + \
        out.loc[unplaced, "last_name"]
    name = name.str.split().str.join(" ")
    note = name.str.fullmatch(_TOTAL_ROW, case=False) | name.str.contains(r"\d", regex=True) | \
        (name.str.count(" ") >= 5)
    found.loc[unplaced] = note.to_numpy(dtype=bool)
    return found


def _masked_rows(frame: pd.DataFrame, layout: Layout | None) -> pd.Series:
    if layout is None or not layout.masked:
        return pd.Series(False, index=frame.index)
    return (frame == layout.masked).sum(axis=1) >= 3


def _row_text(frame: pd.DataFrame) -> pd.Series:
    return frame.iloc[:, : min(4, frame.shape[1])].astype("str").agg(" | ".join, axis=1) if len(frame) else \
        pd.Series(dtype="str")


# ------------------------------------------------------------------------------------------------------------------
# Identifiers and names


_FLOAT_ARTIFACT = re.compile(r"^(\d+)\.0+$")


# "9.19555E+09": a spreadsheet showed a long number in scientific notation and saved it that way; its digits are lost.
_SCIENTIFIC = r"^\d(?:\.\d+)?[eE]\+\d+$"
LOST_ID_DIGITS = N_("A spreadsheet turned this number into scientific notation, so its digits are lost; the row was "
                    "kept without this ID. Format the column as text in the spreadsheet and export the file again.")
LOST_PHONE_DIGITS = N_("A spreadsheet turned this number into scientific notation, so its digits are lost; it was "
                       "left out. Format the column as text in the spreadsheet and export the file again.")


def _in_scientific_notation(series: pd.Series) -> pd.Series:
    suspect = series.str.contains("+", regex=False)
    if not suspect.any():
        return suspect
    return suspect & series.where(suspect, "").str.fullmatch(_SCIENTIFIC)


def _ids(out: pd.DataFrame, column, problems: Problems, source_of) -> None:
    for id_field in ID_FIELDS:
        ids = clean_id(column(id_field))
        # Such IDs would all read alike ("1.23457E+11") and merge different people into one: they are dropped.
        mangled = _in_scientific_notation(ids)
        if mangled.any():
            problems.add(mangled, source_of(id_field), ids, LOST_ID_DIGITS)
            ids = ids.where(~mangled, "")
        out[id_field] = ids


def clean_id(series: pd.Series) -> pd.Series:
    """``12345.0`` -> ``12345`` (a pandas re-export), ``="00123"`` -> ``00123`` (Excel-protected); zeros kept."""
    return strip_float_artifact(series.str.replace(r'^="?(.*?)"?$', r"\1", regex=True).where(
        series.str.startswith("="), series)).str.slice(0, 64)


def strip_float_artifact(series: pd.Series) -> pd.Series:
    suspect = series.str.endswith(".0") | series.str.endswith(".00")
    if not suspect.any():
        return series
    return series.where(~suspect, series[suspect].str.replace(_FLOAT_ARTIFACT, r"\1", regex=True))


def _names(out: pd.DataFrame, column, masked: pd.Series) -> None:
    for name in ("first_name", "middle_name", "last_name", "suffix"):
        limit = 20 if name == "suffix" else 80
        out[name] = per_unique_text(column(name), lambda v, limit=limit: "" if PLACEHOLDER_NAMES.match(v) else
                                    " ".join(v.split())[:limit])
    full = collapse(column("full_name"))
    need = (out["first_name"] == "") & (out["last_name"] == "") & (full != "")
    if need.any():
        split = per_unique_parts(full[need], split_full_name, ["first_name", "middle_name", "last_name", "suffix"])
        for name in split.columns:
            given = out.loc[need, name]
            out.loc[need, name] = given.where(given != "", split[name].str.slice(0, 20 if name == "suffix" else 80))


_EAST_ASIAN_LETTERS = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\u3400-\u4dbf\u4e00-\u9fff"  # Hangul, CJK
_EAST_ASIAN_NAME = re.compile(rf"[{_EAST_ASIAN_LETTERS} ]+")
_HONORIFICS = {"MR", "MRS", "MS", "MISS", "MX", "DR", "REV", "SRA", "SRTA", "SR"}
_SUFFIXES = {"JR", "SR", "II", "III", "IV"}


def split_full_name(full: str) -> tuple[str, str, str, str]:
    """``DOE, JANE M``, ``Mr. Jane M. Doe Jr.`` and ``Doe Jr, Jane`` -> (first, middle, last, suffix)."""
    def bare(token: str) -> str:
        return token.rstrip(".,").upper()

    if _EAST_ASIAN_NAME.fullmatch(full):
        # A Korean or Chinese name is written family name first ("김민준", "김 민준"). Pages show first then last, so
        # it is kept whole as the first name: it then reads as written.
        return full, "", "", ""
    suffix = ""
    if "," in full:
        before, _, after = (part.strip() for part in full.partition(","))
        if after and " " not in after and bare(after) in _SUFFIXES:  # "Jane Doe, Jr."
            full, suffix = before, after
        else:  # "Doe, Jane M"
            given, family = after.split(), before.split()
            if len(family) > 1 and bare(family[-1]) in _SUFFIXES:
                suffix, family = family[-1], family[:-1]
            if given and bare(given[-1]) in _SUFFIXES and len(given) > 1:
                suffix, given = given[-1], given[:-1]
            return (given[0] if given else ""), " ".join(given[1:]), " ".join(family), suffix
    tokens = full.split()
    if len(tokens) > 2 and bare(tokens[0]) in _HONORIFICS:  # "Mr. John Smith"; "Sr." first is Señor
        tokens = tokens[1:]
    if not suffix and len(tokens) > 2 and bare(tokens[-1]) in _SUFFIXES:
        suffix, tokens = tokens[-1], tokens[:-1]
    if len(tokens) == 1:
        return tokens[0], "", "", suffix
    if _vietnamese_order(tokens):  # "Nguyễn Văn An": family name, middle name, given name
        return tokens[-1], " ".join(tokens[1:-1]), tokens[0], suffix
    return tokens[0], " ".join(tokens[1:-1]), tokens[-1], suffix


# The family names most Vietnamese people bear, as name keys (without accents).
_VIETNAMESE_FAMILY = {"NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "HUYNH", "PHAN", "VU", "VO", "DANG", "BUI", "DO", "HO",
                      "NGO", "DUONG", "LY", "TRUONG", "DINH", "LAM", "MAI", "TRINH", "LUONG", "CAO", "DOAN", "LUU",
                      "QUACH", "CHAU", "TON", "THAI", "HA", "KIEU", "VUONG", "PHUNG", "TA", "TO"}
_VIETNAMESE_MIDDLE = {"VAN", "THI"}
# Breve, circumflex, horn, hook above and dot below: Vietnamese writing (with đ); Spanish or French names on their
# own would need a Vietnamese family name first as well.
_VIETNAMESE_MARKS = re.compile("[\u0302\u0306\u031b\u0309\u0323đĐ]")


def _vietnamese_order(tokens: list[str]) -> bool:
    """Whether a whole name is written family name first, the Vietnamese way. Voter files hold these names as last
    name Nguyễn, first name An: splitting them the same way lets a sign-up sheet find the voter again.

    Only clear cases: a Vietnamese family name first, then "Văn"/"Thị" as the middle name, or Vietnamese accents
    with a last word that is no family name ("An Nguyễn" and "Mai Trần" are given name first)."""
    if name_key(tokens[0]) not in _VIETNAMESE_FAMILY:
        return False
    if len(tokens) >= 3 and name_key(tokens[1]) in _VIETNAMESE_MIDDLE:
        return True
    written = unicodedata.normalize("NFD", " ".join(tokens))
    return bool(_VIETNAMESE_MARKS.search(written)) and name_key(tokens[-1]) not in _VIETNAMESE_FAMILY


# Latin letters that do not come apart into a letter and an accent (Vietnamese Đ, Scandinavian Ø, Polish Ł...).
_UNACCENTED = str.maketrans({"Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
                             "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "ß": "ss", "Þ": "TH", "þ": "th", "ı": "i"})


def name_key(value: str) -> str:
    """Upper case without accents or punctuation: ``María-José`` and ``MARIA JOSE`` match; ``Đặng`` is ``DANG``.

    Letters of every script are kept (Korean, Chinese, Arabic, Cyrillic...): a name with no Latin form must still
    find its person again. Accents and other marks are dropped, so spellings with and without them match."""
    if not value.isascii():
        decomposed = unicodedata.normalize("NFKD", value.translate(_UNACCENTED))
        # Marks and non-Latin punctuation vanish (O’Brien is OBRIEN, as it always was); Hangul's jamo are put back
        # together.
        value = unicodedata.normalize("NFC", "".join(
            ch for ch in decomposed if ch.isascii() or (ch.isalnum() and not unicodedata.combining(ch))))
    return " ".join(_NOT_NAME_CHARACTER.sub(" ", value.upper()).split())


_NOT_NAME_CHARACTER = re.compile(r"[^\w]|_")


# ------------------------------------------------------------------------------------------------------------------
# Addresses


@lru_cache(maxsize=200_000)
def street_key(street: str) -> str:
    """``North Main Street`` and ``N MAIN ST.`` give the same key."""
    words = street.upper().replace(".", "").replace(",", " ").split()
    return " ".join(STREET_WORDS.get(word, word) for word in words)


UNIT_TYPES = set(UNIT_WORDS.split("|"))
STREET_TOKENS = set(STREET_WORDS) | set(STREET_WORDS.values())
_HOUSE_TOKEN = re.compile(r"^\d+[A-Z]?(?:-\d+[A-Z]?)?$", re.IGNORECASE)


def parse_street_line(line: str) -> tuple[str, str, str, str]:
    """``64  WILLOW WAY   #A`` -> (house number, street, unit type, unit)."""
    tokens = line.replace(",", " ").split()
    utype, unit = "", ""
    if len(tokens) >= 4 and tokens[0].upper().rstrip(".") in UNIT_TYPES and _is_unit_value(tokens[1]) and \
            _HOUSE_TOKEN.match(tokens[2]):  # "Apt 4, 125 Main St": the unit written first
        utype, unit, tokens = tokens[0].upper().rstrip("."), tokens[1].lstrip("#"), tokens[2:]
    elif len(tokens) >= 3 and tokens[0].startswith("#") and len(tokens[0]) > 1 and _HOUSE_TOKEN.match(tokens[1]):
        utype, unit, tokens = "#", tokens[0][1:], tokens[1:]  # "#4 125 Main St"
    elif len(tokens) >= 3:
        last, before = tokens[-1], tokens[-2]
        before_word = before.upper().rstrip(".#")
        if last.startswith("#") and len(last) > 1:
            utype, unit, tokens = "#", last[1:], tokens[:-1]
        elif before == "#":
            utype, unit, tokens = "#", last, tokens[:-2]
        elif before_word in UNIT_TYPES and last.upper() not in STREET_TOKENS and _is_unit_value(last):
            utype, unit, tokens = before_word, last.lstrip("#"), tokens[:-2]
    house = ""
    if len(tokens) >= 2 and _HOUSE_TOKEN.match(tokens[0]):
        house, tokens = tokens[0], tokens[1:]
        if len(tokens) >= 2 and tokens[0] == "1/2":
            house, tokens = f"{house} 1/2", tokens[1:]
    return house, " ".join(tokens), utype, unit


def _is_unit_value(token: str) -> bool:
    """A unit number or letter (4B, 12, A, 3-C), not a street word like RD."""
    return any(ch.isdigit() for ch in token) or len(token.lstrip("#")) <= 2


def parse_unit(text: str) -> tuple[str, str]:
    """``APT 4B`` / ``# 3`` / ``Unit B`` / ``4B`` -> (type, unit)."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return "", ""
    match = re.match(rf"^(?:(?P<utype>{UNIT_WORDS})\.?\s*#?\s*|#\s*)?(?P<unit>[A-Z0-9][A-Z0-9 -]*)$", text, re.IGNORECASE)
    if match:
        return (match.group("utype") or ("#" if text.startswith("#") else "")), match.group("unit").strip()
    return "", text


def unit_display(utype: str, unit: str) -> str:
    if not unit:
        return ""
    kind = _UNIT_TYPE_DISPLAY.get(utype.upper().rstrip("."), "")
    return f"{kind} {unit}" if kind else f"#{unit}"


LINE_PARTS = ["house_number", "street_display", "street", "utype", "unit", "address"]


def parse_line_parts(line: str) -> tuple[str, str, str, str, str, str]:
    """Everything a door needs from one street line, computed once per distinct line."""
    house, street, utype, unit = parse_street_line(line)
    return (house[:20], street[:120], street_key(street)[:120], utype, unit,
            (f"{house} {street}" if house else street)[:300])


# A plain street line: a house number, then words of letters, digits, ' and -, spaces between (no unit word, no #, no
# dot, comma or slash). Most lines of a voter file; what parse_street_line makes of them is plain too, so they are
# split on whole columns, and only the other lines go through it one distinct line at a time.
_PLAIN_LINE = "[0-9]+[A-Za-z]?(?:-[0-9]+[A-Za-z]?)?(?: +[A-Za-z0-9'-]+)+"
_UNIT_WORD = f"(?i)(?:^| )(?:{UNIT_WORDS})(?: |$)"


def _parse_lines(line: pd.Series) -> pd.DataFrame:
    """``parse_line_parts`` for every row, as a frame of ``LINE_PARTS``."""
    trimmed = line.str.strip()
    plain = trimmed.str.fullmatch(_PLAIN_LINE) & ~trimmed.str.contains(_UNIT_WORD, regex=True)
    if not plain.any():
        return per_unique_parts(line, parse_line_parts, LINE_PARTS)
    spaced = trimmed[plain].str.replace(" +", " ", regex=True)
    street = spaced.str.replace("^[^ ]* ", "", regex=True)
    fast = pd.DataFrame({"house_number": spaced.str.replace(" .*$", "", regex=True).str.slice(0, 20),
                         "street_display": street.str.slice(0, 120),
                         "street": per_unique_text(street, street_key).str.slice(0, 120),
                         "utype": "", "unit": "", "address": spaced.str.slice(0, 300)}, index=spaced.index)
    if plain.all():
        return fast
    return pd.concat([fast, per_unique_parts(line[~plain], parse_line_parts, LINE_PARTS)]).reindex(line.index)


ADDRESS_FIELDS = ("address", "street_name", "house_number")
_PLACEHOLDER_LINE = r"(?i)\s*(?:n/?a|none|unknown|no address|homeless|tbd|same|\?+)\s*"


def _row_address(column, rows: pd.Index) -> pd.Series:
    return (column("address") + " " + column("house_number") + " " + column("street_name")).loc[rows].str.strip()


def _address(out: pd.DataFrame, column, masked: pd.Series, problems: Problems, source_of) -> pd.Series:
    """Fills the door fields. Returns the rows left without a door for no reason listed yet: their address was
    blank, or not a street and house number (the caller lists those it keeps)."""
    line = column("address")
    if (column("street_name") != "").any():
        # Split address parts (house number, direction, street name, type...) are joined into one line.
        joined = column("house_number") + " " + column("house_fraction") + " " + column("street_prefix") + " " + \
            column("street_name") + " " + column("street_type") + " " + column("street_suffix")
        line = line.where(column("street_name") == "", joined)
    elif (column("house_number") != "").any():
        # An address column holding only the street name, next to a house-number column (OpenAddresses).
        number_apart = (column("house_number") != "") & ~line.str.match(r"^\d")
        line = line.where(~number_apart, column("house_number") + " " + line)
    city, state, zip_text = collapse(column("city")), column("state").str.upper(), column("zip")
    # A whole address in one field ("12 Main St, Springfield, IL 62701") is split into its parts.
    joined_full = line.str.contains(",", regex=False)
    if joined_full.any():
        joined_full &= line.str.contains(r"\d{5}", regex=True)
        parts = line[joined_full].str.extract(_JOINED_RE)
        parts = parts[parts["line"].notna()]
        parts = pd.DataFrame({"line": parts["line"].str.strip(), "city": parts["city"].str.strip(),
                              "state": parts["state"].str.upper(), "zip": parts["zip"]})
        line, city, state, zip_text = _take_joined_parts(parts, line, city, state, zip_text)
    # The same without commas ("123 Main St Apt 4 Durham NC 27701"): the line ends at its street type.
    run_on = ~line.str.contains(",", regex=False) & line.str.contains(_RUN_ON_TAIL, regex=True)
    if run_on.any():
        parts = per_unique_parts(line[run_on], split_run_on_address, ["line", "city", "state", "zip"])
        line, city, state, zip_text = _take_joined_parts(parts[parts["line"] != ""], line, city, state, zip_text)
    # A post office box is no door to knock on: the person is kept without one (they can still be called).
    po_box = line.str.contains(_PO_BOX, case=False, regex=True)
    if po_box.any():
        problems.add(po_box & ~masked, source_of("address"), line,
                     N_("This is a post office box, not a door; the person was kept without a door."))
        line = line.where(~po_box, "")
    # A street line needs a word in it: "12", "n/a" or "-" is no door anyone can find.
    line = line.where(line.str.contains(r"[^\W\d_]{2}", regex=True) & ~line.str.fullmatch(_PLACEHOLDER_LINE), "")
    parsed = _parse_lines(line)
    utype, unit = parsed["utype"], parsed["unit"]
    explicit_unit = column("unit")
    if (explicit_unit != "").any():
        given = explicit_unit != ""
        unit = unit.where(~given, collapse(explicit_unit))
        utype = utype.where(~given, column("unit_type"))
    second = column("address2")
    from_second = (unit == "") & (second != "")
    if from_second.any():
        parsed_second = per_unique_parts(second[from_second], parse_unit, ["utype", "unit"])
        unit, utype = unit.copy(), utype.copy()
        utype.loc[parsed_second.index] = parsed_second["utype"]
        unit.loc[parsed_second.index] = parsed_second["unit"]
    out["house_number"] = parsed["house_number"]
    leading_digits = parsed["house_number"].str.replace("[^0-9].*$", "", regex=True).str.slice(0, 9)
    out["house_number_int"] = pd.to_numeric(leading_digits, errors="coerce").astype("Int64")
    out["street_display"] = parsed["street_display"]
    out["street"] = parsed["street"]
    has_unit = unit != ""
    out["unit"] = ""
    unit_key = pd.Series("", index=out.index, dtype="str")
    if has_unit.any():
        units = per_unique_parts(utype[has_unit] + "\x1f" + unit[has_unit], _unit_parts, ["display", "key"])
        out.loc[units.index, "unit"] = units["display"]
        unit_key.loc[units.index] = units["key"]
    out["address"] = parsed["address"]
    out["city"] = city.str.slice(0, 80)
    out["state"] = state.str.slice(0, 4)
    zips = split_zip(zip_text, column("zip4"), out["state"])
    bad_zip = (zip_text != "") & (zips.zip5 == "") & ~masked & ~zips.unpadded
    problems.add(bad_zip, source_of("zip"), zip_text, N_("This is not a US ZIP code; the row was kept without it."))
    problems.add(zips.unpadded & ~masked, source_of("zip"), zip_text,
                 N_("This ZIP code is missing digits, and ZIP codes in this state do not start with 0, so they "
                    "cannot be put back; the row was kept without it. Correct the ZIP code in the file."))
    problems.add(zips.guessed & ~masked, source_of("zip"), zip_text,
                 N_("This ZIP code had lost its leading zero and was read as a New England, New Jersey or Puerto "
                    "Rico ZIP code; check it if the person lives elsewhere."))
    out["zip5"], out["zip4"] = zips.zip5, zips.zip4
    place = out["zip5"].where(out["zip5"] != "", out["city"].str.upper())
    has_door = (out["street"] != "") & (place != "")
    building = (out["house_number"].str.upper() + " " + out["street"] + "|" + place).where(has_door, "")
    out["building_key"] = building.str.slice(0, 300)
    out["address_key"] = (building + "|" + unit_key).where(has_door, "").str.slice(0, 300)
    missing_place = (out["street"] != "") & (place == "") & ~masked
    problems.add(missing_place, source_of("address"), line,
                 N_("This address has no ZIP code or city, so it cannot be placed on a turf; the person was kept "
                 "without a door."))
    return (out["street"] == "") & ~masked & ~po_box


def _take_joined_parts(parts: pd.DataFrame, line: pd.Series, city: pd.Series, state: pd.Series, zip_text: pd.Series
                       ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """The street line from a whole address split into ``parts``; its city, state and ZIP where the file's own
    columns leave them blank."""
    line, city, state, zip_text = line.copy(), city.copy(), state.copy(), zip_text.copy()
    idx = parts.index
    line.loc[idx] = parts["line"]
    for given, part in ((city, "city"), (state, "state"), (zip_text, "zip")):
        given.loc[idx] = given.loc[idx].where(given.loc[idx] != "", parts[part])
    return line, city, state, zip_text


_RUN_ON_TAIL = f"{_S}[A-Za-z]{{2}}\\.?{_S}+[0-9]{{5}}(?:-?[0-9]{{4}})?$"
_COMMON_TYPES = {"ST", "AVE", "RD", "DR", "LN", "CT", "BLVD", "WAY", "PL", "CIR", "PKWY", "HWY", "TER", "TRL", "LOOP"}
_STREET_TYPES = set(STREET_WORDS.values())


def split_run_on_address(text: str) -> tuple[str, str, str, str]:
    """``123 Main St Apt 4 Durham NC 27701`` -> (``123 Main St Apt 4``, ``Durham``, ``NC``, ``27701``); all ""
    when the street line cannot be told from the city (no street type after the house number)."""
    tokens = text.split()
    state, zip_code, words = tokens[-2].rstrip(".").upper(), tokens[-1], tokens[:-2]
    if not words or not _HOUSE_TOKEN.match(words[0]):
        return "", "", "", ""
    kinds = [STREET_WORDS.get(w.upper().rstrip("."), w.upper().rstrip(".")) for w in words]
    # The last street type that leaves a city after it; the common ones first ("Lake Park Dr Lake Park").
    for wanted in (_COMMON_TYPES, _STREET_TYPES):
        ends = [i for i in range(2, len(words) - 1) if kinds[i] in wanted]
        if ends:
            end = ends[-1] + 1
            if end + 1 < len(words) and words[end].upper().rstrip(".#") in UNIT_TYPES and _is_unit_value(words[end + 1]):
                end += 2  # "Apt 4" belongs to the line
            elif end < len(words) and words[end].startswith("#") and len(words[end]) > 1:
                end += 1
            if end < len(words):
                return " ".join(words[:end]), " ".join(words[end:]), state, zip_code
    return "", "", "", ""


def _unit_parts(joined: str) -> tuple[str, str]:
    utype, unit = joined.split("\x1f")
    return unit_display(utype, unit)[:40], re.sub(r"[^A-Z0-9]+", "", unit.upper())


#: The first three digits of the ZIP codes that start with 0, by state: only there does a 3- or 4-digit ZIP (a
#: spreadsheet dropped its zeros) get them back. Elsewhere a short ZIP is a typo, and padding it would invent a
#: place (9270 in California is not 09270).
LEADING_ZERO_ZIPS = {
    "MA": r"0(?:1\d|2[0-7]|55)", "RI": r"02[89]", "NH": r"03[0-8]", "ME": r"0(?:39|4\d)",
    "VT": r"05(?:[0-46-9])", "CT": r"06\d", "NJ": r"0[78]\d", "PR": r"00[679]", "VI": r"008", "NY": r"005",
    "AE": r"09[0-8]",
}
#: Without a state, only the places people knock on (not the military's AE post offices) are guessed.
_DOOR_LEADING_ZERO = "|".join(f"(?:{pattern})" for code, pattern in LEADING_ZERO_ZIPS.items() if code != "AE")


@dataclass
class Zips:
    zip5: pd.Series
    zip4: pd.Series
    unpadded: pd.Series  # 3- or 4-digit ZIPs left out: their zeros cannot be put back
    guessed: pd.Series  # padded without a state to confirm it, in a file whose other ZIPs do not start with 0


def split_zip(zip_text: pd.Series, zip4_text: pd.Series, state: pd.Series | None = None) -> Zips:
    """``27517.0`` -> 27517; ``02111-0000`` -> 02111 (a 0000 plus-four means none); ``2111`` in MA -> 02111."""
    digits = strip_float_artifact(zip_text)
    spaced = digits.str.contains("-", regex=False) | digits.str.contains(" ", regex=False)
    if spaced.any():
        # "NC 27701" (the state typed into the ZIP column) keeps its ZIP
        digits = digits.where(~spaced, digits[spaced].str.replace(r"^[A-Za-z]{2}\.?\s+(?=\d)", "", regex=True)
                              .str.replace(r"[\s-]", "", regex=True))
    valid = digits.str.fullmatch(r"\d{3,5}|\d{9}")
    zip5 = digits.str.slice(0, 5)
    short = digits.str.len().between(3, 4) & valid
    unpadded = pd.Series(False, index=digits.index)
    guessed = pd.Series(False, index=digits.index)
    if short.any():
        state = state if state is not None else pd.Series("", index=digits.index)
        padded = digits.where(~short, digits.str.zfill(5))
        fits, unconfirmed = _leading_zero_fit(padded, short, state, valid)
        zip5 = zip5.where(~short, padded.where(fits, ""))
        unpadded, guessed = short & ~fits, fits & unconfirmed
    zip5 = zip5.where(valid, "")
    zip4 = digits.str.slice(5, 9).where(digits.str.len() == 9, "")
    other = clean_id(zip4_text).str.zfill(4).where(zip4_text != "", "")
    zip4 = zip4.where(zip4 != "", other).where(lambda z: z.str.fullmatch(r"\d{4}") & (z != "0000"), "")
    return Zips(zip5.astype("str"), zip4.astype("str"), unpadded, guessed)


def _leading_zero_fit(padded: pd.Series, short: pd.Series, state: pd.Series, valid: pd.Series
                      ) -> tuple[pd.Series, pd.Series]:
    """Which short ZIPs may be padded, and which of those without a state to confirm it."""
    fits = pd.Series(False, index=padded.index)
    for code, pattern in LEADING_ZERO_ZIPS.items():
        here = short & (state == code)
        if here.any():
            fits |= here & padded.str.match(pattern)
    stateless = short & ~state.str.fullmatch(r"[A-Z]{2}")
    if not stateless.any():
        return fits, fits & False
    fits |= stateless & padded.str.match(_DOOR_LEADING_ZERO)
    # A file whose whole ZIPs mostly start with 0, or that has none (Excel dropped the zeros of a whole New England
    # list), needs no warning.
    whole = valid & ~short
    leading_zero_file = not whole.any() or padded[whole].str.startswith("0").mean() > 0.5
    return fits, stateless & (not leading_zero_file)


def _coordinates(out: pd.DataFrame, column, problems: Problems, source_of) -> None:
    lat = pd.to_numeric(column("lat"), errors="coerce")
    lon = pd.to_numeric(column("lon"), errors="coerce")
    given = (column("lat") != "") | (column("lon") != "")
    bad = given & (lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180) | ((lat == 0) & (lon == 0)))
    problems.add(bad, source_of("lat"), column("lat") + "," + column("lon"),
                 N_("These are not usable coordinates; the door was kept without a map position."))
    out["lat"] = lat.where(~bad)
    out["lon"] = lon.where(~bad)


def _protect(out: pd.DataFrame) -> None:
    """A protected record is kept and flagged but holds no address: it is never placed on a door or a map."""
    protected = out["is_protected"]
    if protected.any():
        for name in ("house_number", "street", "street_display", "unit", "address", "address_key", "building_key",
                     "zip4"):
            out.loc[protected, name] = ""
        out.loc[protected, ["lat", "lon"]] = np.nan
        out.loc[protected, "house_number_int"] = pd.NA


# ------------------------------------------------------------------------------------------------------------------
# People's details


def language_code(value: str) -> str:
    """``Spanish``/``SPA``/``Español`` -> ``es``. Unknown languages are kept as written (short)."""
    key = value.strip().lower()
    if not key:
        return ""
    found = _LANGUAGE_LOOKUP.get(key) or _LANGUAGE_LOOKUP.get(key.split("(")[0].strip())
    if not found and re.search(r"[,;/&+]| and | y ", key):
        # Several languages ("Spanish, English", "Vietnamese and English"): the first one named is kept.
        named = (language_code(part) for part in re.split(r"\s*(?:[,;/&+]|\band\b|\by\b)\s*", key) if part)
        found = next((code for code in named if code in LANGUAGES), None)
    return found or key[:8]


_DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%Y%m%d", "%m/%d/%y", "%m-%d-%Y", "%Y/%m/%d", "%m%d%Y", "%d.%m.%Y")


def year_from_date(value: str, this_year: int) -> float:
    from datetime import datetime

    text = value.strip().split(" ")[0].split("T")[0]
    number = re.fullmatch(r"(\d{4,5})(?:\.0+)?", text)
    if number and len(number.group(1)) == 4:
        return float(number.group(1))  # only the year was given
    if number:
        # A date cell formatted as a plain number in Excel: days since 1899-12-30 (29358 is 1980-05-17).
        return float((date(1899, 12, 30) + timedelta(days=int(number.group(1)))).year)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        year = parsed.year
        if fmt == "%m/%d/%y" and year > this_year:
            year -= 100  # 10/20/52 is 1952
        return float(year)
    day_first = _DAY_FIRST.fullmatch(text)  # 17/05/1980, as most of the world writes it: the year is what is kept
    if day_first and 1 <= int(day_first.group(2)) <= 12 and int(day_first.group(1)) <= 31:
        return float(day_first.group(3))
    return np.nan


_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def _birth_year(column, today: date, problems: Problems, source_of) -> pd.Series:
    year = pd.to_numeric(strip_float_artifact(column("birth_year")), errors="coerce")
    dates = column("birth_date")
    need = year.isna() & (dates != "")
    if need.any():
        year = year.where(~need, per_unique(dates[need], lambda v: year_from_date(v, today.year)).astype("float"))
    age = pd.to_numeric(strip_float_artifact(column("age")), errors="coerce")
    need = year.isna() & age.notna()
    year = year.where(~need, today.year - age)
    plausible = year.between(today.year - 120, today.year - 14)
    given = (column("birth_year") != "") | (column("birth_date") != "") | (column("age") != "")
    source = "birth_year" if (column("birth_year") != "").any() else ("birth_date" if (column("birth_date") != "").any()
                                                                        else "age")
    problems.add(given & ~plausible, source_of(source), column(source),
                 N_("This birth year or age is not plausible; the row was kept without it."))
    return year.where(plausible).round().astype("Int64")


# ------------------------------------------------------------------------------------------------------------------
# Phones and emails

PHONE_TYPES = {"cell_phone": "cell", "home_phone": "landline", "work_phone": "unknown", "phone": "unknown"}
_PHONE_RANK = {"cell_phone": 0, "phone": 1, "home_phone": 2, "work_phone": 3}
_TYPE_WORDS = [("not a cell", "landline"), ("likely not", "landline"), ("landline", "landline"), ("home", "landline"),
               ("cell", "cell"), ("mobile", "cell"), ("wireless", "cell"), ("sms", "cell"), ("celular", "cell"),
               ("móvil", "cell"), ("movil", "cell"), ("casa", "landline")]
# A number written with what it is: "Cell: 919-555-0101", "Home - 919 555 0102", "celular: ...".
_PHONE_LABEL = r"^\s*([^\W\d_][^\d+(:]{0,18}?)\s*[:-]\s*[+(\d]"
_PHONE_LABEL_AFTER = r"\d\s*[-(]?\s*([^\W\d_]{1,12})\.?\s*\)?\s*$"


def phone_e164(raw: str) -> str:
    """A phone number in E.164 (``+19195551212``), or "" when it cannot be a real number."""
    text = raw.strip()
    if not text:
        return ""
    text = _FLOAT_ARTIFACT.sub(r"\1", text)
    text = re.split(r"\s*(?:x|ext\.?|extension)\s*\d+$", text, flags=re.IGNORECASE)[0]
    if text.startswith("011"):
        text = "+" + text[3:]  # dialled from the US: 011 52 ... is +52 ...
    if text.startswith("+") and not text.startswith("+1"):
        text = _MEXICAN_MOBILE_ONE.sub(r"+52\1", text)
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            return ""
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
            if phonenumbers.is_possible_number(number) else ""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return ""
    return "+1" + digits


# Mexico dropped the "1" before mobile numbers in 2019; contact lists still have +52 1 55 1234 5678.
_MEXICAN_MOBILE_ONE = re.compile(r"^\+\s*52[\s.-]*1[\s.-]*((?:\d[\s.-]*){10})$")


def us_phones(values: pd.Series) -> pd.Series:
    """E.164 for every value: plain 10/11-digit US numbers vectorised, anything else through ``phone_e164``."""
    original_index = values.index
    values = strip_float_artifact(values.reset_index(drop=True))  # a split list repeats its row's label
    plain = values.str.fullmatch(f"[0-9{_SPACES}().-]{{10,16}}") & ~values.str.contains(r"(?i)x", regex=True) & \
        ~values.str.startswith("011")
    digits = values[plain].str.replace(r"\D", "", regex=True)
    digits = digits.where(~((digits.str.len() == 11) & digits.str.startswith("1")), digits.str.slice(1))
    ok = digits.str.fullmatch(r"[2-9]\d{2}[2-9]\d{6}")
    result = pd.Series("", index=values.index, dtype="str")
    result.loc[digits.index] = ("+1" + digits).where(ok, "")
    rest = ~plain
    if rest.any():
        result.loc[rest] = per_unique_text(values[rest], phone_e164)
    result.index = original_index
    return result


def split_phone_list(text: str) -> list[str]:
    return [p for p in re.split(r"\s*(?:[,;/]|\bor\b|\n)\s*", text) if p.strip()]


def _phones(frame: pd.DataFrame, mapping: dict[str, str], column, problems: Problems) -> pd.DataFrame:
    pieces = []
    declared_type = per_unique_text(column("phone_type").str.lower(), _phone_type_word)
    for header, field_name in mapping.items():
        if field_name not in PHONE_FIELDS or header not in frame.columns:
            continue
        raw = frame[header]
        filled = raw != ""
        if not filled.any():
            continue
        values = raw[filled]
        several = values.str.contains(r"[,;/]|\bor\b|\n", regex=True)
        if several.any():
            values = pd.concat([values[~several], per_unique(values[several], split_phone_list).explode().dropna()
                                .astype("str")]).sort_index(kind="stable")
        e164 = us_phones(values)
        bad = e164 == ""
        if bad.any():
            bad_rows = pd.Series(False, index=frame.index)
            bad_rows.loc[bad[bad].index.unique()] = True
            mangled = _in_scientific_notation(raw[bad_rows]).reindex(frame.index, fill_value=False)
            problems.add(mangled, header, raw, LOST_PHONE_DIGITS)
            problems.add(bad_rows & ~mangled & ~_said_none(raw, bad_rows), header, raw,
                         N_("This phone number is incomplete or not a valid number; it was left out."))
        good = e164[~bad]
        kind = PHONE_TYPES[field_name]
        types = pd.Series(kind, index=good.index, dtype="str")
        if field_name == "phone":
            types = declared_type.reindex(good.index).where(lambda t: t != "", kind)
        said = _labelled_types(values[~bad])
        if said is not None:  # what the number itself says wins over the column
            types = types.where(said == "", said)
        pieces.append(pd.DataFrame({"row": good.index, "e164": good.values, "type": types.values, "source": header,
                                    "rank": _PHONE_RANK[field_name]}))
    split = _split_field_phone(column, frame.index)
    if split is not None:
        pieces.append(split)
    if not pieces:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "e164": pd.Series(dtype="str"),
                             "type": pd.Series(dtype="str"), "source": pd.Series(dtype="str"),
                             "rank": pd.Series(dtype="int64")})
    phones = pd.concat(pieces, ignore_index=True).sort_values(["row", "rank"], kind="stable")
    phones = phones.drop_duplicates(["row", "e164"])
    phones["rank"] = phones.groupby("row").cumcount()
    return phones


# What sign-up sheets write for "nothing to give": no warning is due for these, only a blank.
_NONE_GIVEN = (r"(?:n/?a|none|null|nil|unknown|no|x+|-+|\.+|0+|\?+|declined|refused|not (?:given|provided)|"
               r"no (?:phone|cell|number|email|e-?mail)|sin (?:tel[eé]fono|correo|email)|no tiene|ninguno)")


def _said_none(raw: pd.Series, rows: pd.Series) -> pd.Series:
    """Which of ``rows`` (the rows with a bad value) hold a placeholder such as "N/A", "none" or "-"."""
    said = pd.Series(False, index=raw.index)
    said.loc[rows] = raw[rows].str.strip().str.fullmatch(_NONE_GIVEN, case=False).to_numpy(dtype=bool)
    return said


def _phone_type_word(value: str) -> str:
    return next((kind for word, kind in _TYPE_WORDS if word in value), "") if value else ""


_LETTER_TYPES = {"c": "cell", "m": "cell", "h": "landline"}  # "919-555-0101 (c)" on a sign-up sheet


def _labelled_types(values: pd.Series) -> np.ndarray | None:
    """The type each number's own label gives ("Cell: 919…", "919… (home)", "919… c"), "" where none; None when no
    number has a label. Only values that start or end with a letter (or a bracket) are looked at."""
    trimmed = values.str.strip()
    first, last = trimmed.str.slice(0, 1), trimmed.str.slice(-1)
    before, after = first.str.isalpha(), last.str.isalpha() | (last == ")")
    if not (before.any() or after.any()):
        return None
    labels = trimmed.where(before, "").str.extract(_PHONE_LABEL, expand=False).fillna("")
    trailing = trimmed.where(after & (labels == ""), "").str.extract(_PHONE_LABEL_AFTER, expand=False).fillna("")
    labels = labels.where(labels != "", trailing).str.lower()
    return per_unique_text(labels, lambda v: _LETTER_TYPES.get(v) or _phone_type_word(v)).to_numpy()


def _split_field_phone(column, index) -> pd.DataFrame | None:
    """Phones given in parts: area code + number (FL, NC snapshot), or area + exchange + last four (KS)."""
    if not (column("phone_area") != "").any():
        return None
    area, line = clean_id(column("phone_area")), clean_id(column("phone_line"))
    exchange = clean_id(column("phone_exchange"))
    digits = (area.str.zfill(3) + exchange.str.zfill(3).where(exchange != "", "") +
              line.str.zfill(4 if (exchange != "").any() else 7)).where((area != "") & (line != ""), "")
    e164 = per_unique_text(digits, phone_e164)
    good = e164 != ""
    return pd.DataFrame({"row": index[good], "e164": e164[good].values, "type": "unknown", "source": "phone (parts)",
                         "rank": 5})


EMAIL_RE = r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$"


def _emails(frame: pd.DataFrame, mapping: dict[str, str], problems: Problems) -> pd.DataFrame:
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
            problems.add(rows & ~_said_none(raw, rows), header, raw, N_("This is not an email address; it was left out."))
        good = values[~bad]
        pieces.append(pd.DataFrame({"row": good.index, "address": good.values.astype(str)}))
    if not pieces:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "address": pd.Series(dtype="str")})
    return pd.concat(pieces, ignore_index=True).drop_duplicates(["row", "address"])


# ------------------------------------------------------------------------------------------------------------------
# Custom fields, keys and hashes


def _json_text(series: pd.Series) -> pd.Series:
    escaped = series.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    if escaped.str.contains(r"[\x00-\x1f]", regex=True).any():
        escaped = escaped.str.replace(r"[\x00-\x1f]", " ", regex=True)
    return '"' + escaped + '"'


def json_objects(frame: pd.DataFrame, headers: list[str]) -> pd.Series:
    """One JSON object per row of the non-empty values of ``headers``, built with vectorised string operations."""
    result = pd.Series("", index=frame.index, dtype="str")
    for header in headers:
        values = frame[header]
        piece = (_json_text(pd.Series([header])).iloc[0] + ": " + _json_text(values)).where(values != "", "")
        separator = pd.Series(", ", index=frame.index, dtype="str").where((result != "") & (piece != ""), "")
        result = result + separator + piece
    return "{" + result + "}"


def _match_keys(out: pd.DataFrame) -> pd.Series:
    """Name + where they live (door, else email): finds a person again when the file has no ID for them."""
    last = per_unique_text(out["last_name"], name_key)
    first = per_unique_text(out["first_name"], name_key)
    suffix = per_unique_text(out["suffix"], name_key)
    place = out["address_key"].where(out["address_key"] != "", out["email"])
    named = (last != "") | (first != "")
    return (last + "|" + first + "|" + suffix + "|" + place).where(named & (place != ""), "").str.slice(0, 200)


HASHED = ["voter_id", "county_voter_id", "van_id", "vendor_id", "member_id", "first_name", "middle_name", "last_name",
          "suffix", "address_key", "address", "city", "state", "zip4", "lat", "lon", "language", "party", "precinct",
          "gender", "birth_year", "email", "is_protected", "do_not_call", "custom", "vote_history"]


def _source_hash(out: pd.DataFrame, phones: pd.DataFrame, emails: pd.DataFrame) -> pd.Series:
    """A fingerprint of everything the file says about the person: equal fingerprints mean nothing to update."""
    parts = out[HASHED].astype("str")
    parts["phones"] = _hash_per_row(phones, "e164", out.index)
    parts["emails"] = _hash_per_row(emails, "address", out.index)
    hashed = pd.util.hash_pandas_object(parts, index=False).to_numpy()
    return pd.Series(pd.array(hashed.astype(np.uint64)).astype("str"), index=out.index)


def _hash_per_row(items: pd.DataFrame, column: str, index: pd.Index) -> np.ndarray:
    """An order-independent hash of each row's items (sum of their hashes)."""
    if items.empty:
        return np.zeros(len(index), dtype=np.uint64)
    hashes = pd.Series(pd.util.hash_array(items[column].to_numpy(dtype=object)), index=items["row"].to_numpy())
    return hashes.groupby(level=0).sum().reindex(index, fill_value=0).to_numpy(dtype=np.uint64)
