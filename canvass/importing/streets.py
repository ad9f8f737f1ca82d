"""Reading a street line: house number, street, unit type and unit, and the street key that spellings share.

Pure string functions, each run once per distinct line, plus ``parse_lines``: the same on a whole column, where the
plain lines (most of a voter file's) are split by column-wide string operations.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from canvass.importing.columns import SPACE, at_most, per_unique_parts, per_unique_text

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
JOINED_ADDRESS = re.compile(r"^(?P<line>.+?),\s*(?P<city>[^,]+?)(?:,\s*|\s+)(?P<state>[A-Za-z]{2})\.?,?\s+"
                            r"(?P<zip>\d{5}(?:-?\d{4})?)(?:,?\s*(?:USA?|United States))?$")
_UNIT_TYPE_DISPLAY = {"APT": "Apt", "APARTMENT": "Apt", "UNIT": "Unit", "STE": "Ste", "SUITE": "Ste", "LOT": "Lot",
                      "RM": "Rm", "ROOM": "Rm", "SPC": "Spc", "SPACE": "Spc", "TRLR": "Trlr", "TRAILER": "Trlr",
                      "BLDG": "Bldg", "BUILDING": "Bldg", "FL": "Fl", "FLOOR": "Fl", "DEPT": "Dept", "PH": "PH"}


@lru_cache(maxsize=200_000)
def street_key(street: str) -> str:
    """``North Main Street`` and ``N MAIN ST.`` give the same key."""
    words = street.upper().replace(".", "").replace(",", " ").split()
    return " ".join(STREET_WORDS.get(word, word) for word in words)


UNIT_TYPES = set(UNIT_WORDS.split("|"))
STREET_TOKENS = set(STREET_WORDS) | set(STREET_WORDS.values())
# 12, 5B, 12-14, and 313-B (a letter for the house of a duplex, as NC addresses write it).
_HOUSE_TOKEN = re.compile(r"^\d+[A-Z]?(?:-(?:\d+[A-Z]?|[A-Z]))?$", re.IGNORECASE)
_FRACTION = re.compile(r"^\d/\d{1,2}$")  # 12 1/2, and Washington's 40 3/4 and 418 1/3


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
        if len(tokens) >= 2 and _FRACTION.match(tokens[0]):
            house, tokens = f"{house} {tokens[0]}", tokens[1:]
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
_PLAIN_LINE = "[0-9]+[A-Za-z]?(?:-(?:[0-9]+[A-Za-z]?|[A-Za-z]))?(?: +[A-Za-z0-9'-]+)+"
_UNIT_WORD = f"(?i)(?:^| )(?:{UNIT_WORDS})(?: |$)"


def parse_lines(line: pd.Series) -> pd.DataFrame:
    """``parse_line_parts`` for every row, as a frame of ``LINE_PARTS``."""
    trimmed = line.str.strip()
    plain = trimmed.str.fullmatch(_PLAIN_LINE) & ~trimmed.str.contains(_UNIT_WORD, regex=True)
    if not plain.any():
        return per_unique_parts(line, parse_line_parts, LINE_PARTS)
    spaced = trimmed[plain].str.replace(" +", " ", regex=True)
    street = spaced.str.replace("^[^ ]* ", "", regex=True)
    fast = pd.DataFrame({"house_number": at_most(spaced.str.replace(" .*$", "", regex=True), 20),
                         "street_display": at_most(street, 120),
                         "street": at_most(per_unique_text(street, street_key), 120),
                         "utype": "", "unit": "", "address": at_most(spaced, 300)}, index=spaced.index)
    if plain.all():
        return fast
    return pd.concat([fast, per_unique_parts(line[~plain], parse_line_parts, LINE_PARTS)]).reindex(line.index)


# A whole address without commas ("123 Main St Apt 4 Durham NC 27701") ends in a state and a ZIP.
RUN_ON_TAIL = f"{SPACE}[A-Za-z]{{2}}\\.?{SPACE}+[0-9]{{5}}(?:-?[0-9]{{4}})?$"
_COMMON_TYPES = {"ST", "AVE", "RD", "DR", "LN", "CT", "BLVD", "WAY", "PL", "CIR", "PKWY", "HWY", "TER", "TRL", "LOOP"}
# Words that shorten like street types but begin names ("Saint Louis", "Fort Myers", "North Bend"): no street line
# ends with them.
_NAME_WORDS = {"SAINT", "MOUNT", "FORT", "NORTH", "SOUTH", "EAST", "WEST", "NORTHEAST", "NORTHWEST", "SOUTHEAST",
               "SOUTHWEST"}
_STREET_TYPES = {STREET_WORDS[word] for word in STREET_WORDS if word not in _NAME_WORDS} - \
    {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}
# Street types that also end many a city's name ("Chapel Hill", "College Park"): looked for last, and only here (the
# street key keeps them as written).
_CITY_LIKE_TYPES = {"PARK", "HILL", "CENTER", "CTR", "PLAZA", "PLZ", "PASS", "JUNCTION", "JCT"}
# "Elm St NW Seattle": a two-letter direction after the street type is the street's. A single letter is left to the
# city, which it more often begins ("E Lansing").
_AFTER_DIRECTIONS = {"NE", "NW", "SE", "SW"}


def split_run_on_address(text: str) -> tuple[str, str, str, str]:
    """``123 Main St Apt 4 Durham NC 27701`` -> (``123 Main St Apt 4``, ``Durham``, ``NC``, ``27701``); all ""
    when the street line cannot be told from the city (no street type after the house number)."""
    tokens = text.split()
    state, zip_code, words = tokens[-2].rstrip(".").upper(), tokens[-1], tokens[:-2]
    if not words or not _HOUSE_TOKEN.match(words[0]):
        return "", "", "", ""
    kinds = [w if w in _NAME_WORDS else STREET_WORDS.get(w, w) for w in (word.upper().rstrip(".") for word in words)]
    # The last street type that leaves a city after it; the common ones first ("Lake Park Dr Lake Park").
    for wanted in (_COMMON_TYPES, _STREET_TYPES, _CITY_LIKE_TYPES):
        ends = [i for i in range(2, len(words) - 1) if kinds[i] in wanted]
        if ends:
            end = ends[-1] + 1
            if end + 1 < len(words) and kinds[end] in _AFTER_DIRECTIONS:
                end += 1
            if end + 1 < len(words) and words[end].upper().rstrip(".#") in UNIT_TYPES and _is_unit_value(words[end + 1]):
                end += 2  # "Apt 4" belongs to the line
            elif end < len(words) and words[end].startswith("#") and len(words[end]) > 1:
                end += 1
            if end < len(words):
                return " ".join(words[:end]), " ".join(words[end:]), state, zip_code
    return "", "", "", ""


def unit_parts(joined: str) -> tuple[str, str]:
    """``type\x1funit`` -> (the unit as shown, its key)."""
    utype, unit = joined.split("\x1f")
    return unit_display(utype, unit)[:40], re.sub(r"[^A-Z0-9]+", "", unit.upper())
