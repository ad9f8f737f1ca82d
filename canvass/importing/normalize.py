"""From a table of text and a column mapping to clean people, doors, phones and emails (pure pandas, no database).

Each kind of field has its own module (names, addresses, phones, emails, details); this one runs them over the file,
drops the rows that are no person, and gives each person the keys that find them again on the next import.
Problems are collected per spreadsheet row (the frame's index).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from canvass.i18n import N_
from canvass.importing.addresses import (
    ADDRESS_FIELDS,
    clear_protected_addresses,
    fill_address,
    fill_coordinates,
    row_address,
)
from canvass.importing.columns import (
    at_most,
    clean_id,
    collapse,
    in_scientific_notation,
    per_unique_text,
    strip_float_artifact,
)
from canvass.importing.details import GENDERS, PARTIES, birth_years, language_code
from canvass.importing.emails import email_rows
from canvass.importing.fields import CUSTOM, HISTORY, ID_FIELDS
from canvass.importing.layouts import Layout
from canvass.importing.names import fill_names, name_key
from canvass.importing.phones import phone_rows
from canvass.importing.problems import PROBLEM_LIMIT, Problems

FLOAT_PRONE = {"house_number"}  # numeric columns a pandas or Excel round trip turns into 2200.0
TRUTHY = {"y", "yes", "true", "t", "1", "x"}
LOST_ID_DIGITS = N_("A spreadsheet turned this number into scientific notation, so its digits are lost; the row was "
                    "kept without this ID. Format the column as text in the spreadsheet and export the file again.")


@dataclass
class Normalized:
    people: pd.DataFrame  # one row per kept file row, indexed by spreadsheet row
    phones: pd.DataFrame  # row, e164, type, source, rank
    emails: pd.DataFrame  # row, address
    problems: list[dict] = field(default_factory=list)
    problem_count: int = 0
    rejected_rows: set[int] = field(default_factory=set)


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


def field_columns(frame: pd.DataFrame, mapping: dict[str, str]) -> tuple[Callable[[str], pd.Series],
                                                                           Callable[[str], str]]:
    """``column(field)``: the text of the file's column mapped to a field (blank when none is); ``source_of(field)``:
    that column's header, as problems name it."""
    empty = pd.Series("", index=frame.index, dtype="str")

    def column(field_name: str) -> pd.Series:
        headers = [h for h, f in mapping.items() if f == field_name and h in frame.columns]
        if not headers:
            return empty.copy()  # a copy: callers may fill it in place
        values = frame[headers[0]]
        return strip_float_artifact(values) if field_name in FLOAT_PRONE else values

    def source_of(field_name: str) -> str:
        return next((h for h, f in mapping.items() if f == field_name), field_name)

    return column, source_of


def _normalize(frame: pd.DataFrame, mapping: dict[str, str], layout: Layout | None, today: date) -> Normalized:
    problems = Problems()
    column, source_of = field_columns(frame, mapping)
    masked = _masked_rows(frame, layout)
    out = pd.DataFrame(index=frame.index)
    _ids(out, column, problems, source_of)
    if (out["county_voter_id"] != "").any() and (column("county") != "").any():
        # County-assigned numbers repeat across counties (NC voter_reg_num): qualify them with the county.
        out["county_voter_id"] = (column("county") + "-" + out["county_voter_id"]).where(out["county_voter_id"] != "", "")
    fill_names(out, column)
    doorless = fill_address(out, column, masked, problems, source_of)
    fill_coordinates(out, column, problems, source_of)
    out["language"] = per_unique_text(collapse(column("language")), language_code)
    out["party"] = per_unique_text(collapse(column("party")).str.upper(), lambda v: PARTIES.get(v, v[:40]))
    out["precinct"] = at_most(collapse(column("precinct")), 64)
    out["gender"] = per_unique_text(collapse(column("gender")).str.upper(), lambda v: GENDERS.get(v, v)[:16])
    out["birth_year"] = birth_years(column, today, problems, source_of)
    out["is_protected"] = masked | column("confidential").str.lower().isin(TRUTHY)
    out["do_not_call"] = column("do_not_call").str.lower().isin(TRUTHY)
    phones = phone_rows(frame, mapping, column, problems)
    emails = email_rows(frame, mapping, problems)
    out["email"] = emails.drop_duplicates("row").set_index("row")["address"].reindex(out.index, fill_value="")
    out["custom"] = json_objects(frame, [h for h, f in mapping.items() if f == CUSTOM])
    out["vote_history"] = json_objects(frame, [h for h, f in mapping.items() if f == HISTORY])
    clear_protected_addresses(out)
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
        problems.add(given & kept, source_of("address"), lambda rows: row_address(column, rows),
                     N_("This address has no street name and house number that can be read, so the person was "
                        "kept without a door. Correct it in the file."))
    fingerprints = row_fingerprints(frame, mapping, layout)
    rejected = problems.rejected & set(out.index)
    if rejected:
        out = out.drop(index=list(rejected))
    phones = phones[phones["row"].isin(out.index)]
    emails = emails[emails["row"].isin(out.index)]
    out["match_key"] = _match_keys(out)
    out["source_hash"] = pd.Series(pd.array(fingerprints).astype("str"), index=frame.index).reindex(out.index)
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


def _ids(out: pd.DataFrame, column, problems: Problems, source_of) -> None:
    for id_field in ID_FIELDS:
        ids = clean_id(column(id_field))
        # Such IDs would all read alike ("1.23457E+11") and merge different people into one: they are dropped.
        mangled = in_scientific_notation(ids)
        if mangled.any():
            problems.add(mangled, source_of(id_field), ids, LOST_ID_DIGITS)
            ids = ids.where(~mangled, "")
        out[id_field] = ids



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
    return at_most((last + "|" + first + "|" + suffix + "|" + place).where(named & (place != ""), ""), 200)


#: Part of every fingerprint: a change in how rows are cleaned changes them all, so the next import updates everyone.
FINGERPRINT_VERSION = "raw-1"


def row_fingerprints(frame: pd.DataFrame, mapping: dict[str, str], layout: Layout | None) -> np.ndarray:
    """A fingerprint of each row as the file gives it (trimmed), with the mapping and layout it is read with: the
    same fingerprint means the same person with nothing to update. Taken from the file's text rather than the
    cleaned values, a re-import can tell an unchanged row before cleaning it (most of a weekly file)."""
    if frame.empty:
        return np.empty(0, dtype=np.uint64)
    salt = hashlib.md5(json.dumps([FINGERPRINT_VERSION, sorted(mapping.items()), layout.label if layout else ""])
                       .encode(), usedforsecurity=False).hexdigest()[:16]
    columns = [_arrow_text(frame[column]) for column in frame.columns]
    rows = pc.binary_join_element_wise(*columns, pa.scalar("\x1f", pa.large_string())) if len(columns) > 1 \
        else columns[0]
    return pd.util.hash_array(rows.to_numpy(zero_copy_only=False), hash_key=salt, categorize=False)


def _arrow_text(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column as Arrow text: taken as it is when the reader gave Arrow text (most files; converting it again was
    a fifth of a re-import's fingerprinting), else converted."""
    array = values.array
    if isinstance(array, pd.arrays.ArrowStringArray) and array._pa_array.type == pa.large_string():
        array = array._pa_array
    else:
        array = pa.array(values, type=pa.large_string(), from_pandas=True)
    return array.fill_null("") if array.null_count else array
