"""A person's other details as canvass keeps them: language, party and gender codes, and the birth year."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pandas as pd

from canvass.i18n import N_
from canvass.importing.columns import numbers, per_unique, strip_float_artifact
from canvass.importing.problems import Problems

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


def birth_years(column, today: date, problems: Problems, source_of) -> pd.Series:
    """Each row's birth year: given, else from a birth date, else from an age; implausible ones are left out."""
    year = numbers(strip_float_artifact(column("birth_year")))
    dates = column("birth_date")
    need = year.isna() & (dates != "")
    if need.any():
        year = year.where(~need, per_unique(dates[need], lambda v: year_from_date(v, today.year)).astype("float"))
    age = numbers(strip_float_artifact(column("age")))
    need = year.isna() & age.notna()
    year = year.where(~need, today.year - age)
    plausible = year.between(today.year - 120, today.year - 14)
    given = (column("birth_year") != "") | (column("birth_date") != "") | (column("age") != "")
    source = "birth_year" if (column("birth_year") != "").any() else ("birth_date" if (column("birth_date") != "").any()
                                                                        else "age")
    problems.add(given & ~plausible, source_of(source), column(source),
                 N_("This birth year or age is not plausible; the row was kept without it."))
    return year.where(plausible).round().astype("Int64")
