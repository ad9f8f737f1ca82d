"""Phone numbers: to E.164 (plain US numbers on whole columns, the rest one distinct value at a time), lists of
several in one cell split, and each number's type from its column, a type column or its own label."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers

from canvass.i18n import N_
from canvass.importing.columns import (
    FLOAT_ARTIFACT,
    SPACES,
    clean_id,
    in_scientific_notation,
    per_unique,
    per_unique_text,
    said_none,
    strip_float_artifact,
)
from canvass.importing.fields import PHONE_FIELDS
from canvass.importing.problems import Problems

LOST_PHONE_DIGITS = N_("A spreadsheet turned this number into scientific notation, so its digits are lost; it was "
                       "left out. Format the column as text in the spreadsheet and export the file again.")
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
    text = FLOAT_ARTIFACT.sub(r"\1", text)
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
    plain = values.str.fullmatch(f"[0-9{SPACES}().-]{{10,16}}") & ~values.str.contains(r"(?i)x", regex=True) & \
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


def phone_rows(frame: pd.DataFrame, mapping: dict[str, str], column, problems: Problems) -> pd.DataFrame:
    """One row per phone number (row, e164, type, source, rank), each row's best first."""
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
            mangled = in_scientific_notation(raw[bad_rows]).reindex(frame.index, fill_value=False)
            problems.add(mangled, header, raw, LOST_PHONE_DIGITS)
            problems.add(bad_rows & ~mangled & ~said_none(raw, bad_rows), header, raw,
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
