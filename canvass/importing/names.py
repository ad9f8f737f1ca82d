"""People's names: first, middle, last and suffix from a file's columns, a whole name split, and the key that matches
spellings with and without accents (Vietnamese names written family name first; Korean and Chinese kept whole)."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from canvass.importing.columns import collapse, per_unique_parts, per_unique_text

PLACEHOLDER_NAMES = re.compile(r"^-?VOTER_DID_NOT_PROVIDE_\w+$|^\*+$", re.IGNORECASE)


def fill_names(out: pd.DataFrame, column) -> None:
    """Sets first, middle and last name and suffix: from their own columns, else split from a whole name."""
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
# Generations, and the degrees voter files keep in the suffix column (Florida: "GROSS MD, ANTHONY DAVID").
_SUFFIXES = {"JR", "SR", "II", "III", "IV", "MD", "DDS", "DVM", "PHD", "ESQ"}


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
