"""From the file's address columns to a door: the street line (split from a whole address where need be), unit,
city, state, ZIP code and map position; each row's door keys. What cannot be a door is listed as a problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from canvass.i18n import N_
from canvass.importing.columns import (
    SPACE,
    at_most,
    clean_id,
    collapse,
    numbers,
    per_unique_parts,
    strip_float_artifact,
)
from canvass.importing.problems import Problems
from canvass.importing.streets import (
    JOINED_ADDRESS,
    RUN_ON_TAIL,
    parse_lines,
    parse_unit,
    split_run_on_address,
    unit_parts,
)

_PO_BOX = f"^{SPACE}*(?:P\\.?{SPACE}*O\\.?{SPACE}*BOX|POST{SPACE}+OFFICE{SPACE}+BOX|BOX){SPACE}*#?{SPACE}*[0-9]"
ADDRESS_FIELDS = ("address", "street_name", "house_number")
# Lines are trimmed and their spaces collapsed before this is matched: ' *' rather than '\s*', which pandas cannot
# hand to Arrow (it matched ten million lines one by one in Python, a tenth of a voter file's cleaning).
_PLACEHOLDER_LINE = r"(?i) *(?:n/?a|none|unknown|no address|homeless|tbd|same|\?+) *"


def row_address(column, rows: pd.Index) -> pd.Series:
    return (column("address") + " " + column("house_number") + " " + column("street_name")).loc[rows].str.strip()


def street_lines(column) -> pd.Series:
    """Each row's street line as written: the address column, or the file's split parts joined into one line."""
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
    return line


def split_whole_addresses(line: pd.Series, city: pd.Series, state: pd.Series, zip_text: pd.Series
                          ) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Where a line holds a whole address, its street line; its city, state and ZIP where the file's own columns
    leave them blank."""
    # A whole address in one field ("12 Main St, Springfield, IL 62701") is split into its parts.
    joined_full = line.str.contains(",", regex=False)
    if joined_full.any():
        joined_full &= line.str.contains(r"\d{5}", regex=True)
        parts = line[joined_full].str.extract(JOINED_ADDRESS)
        parts = parts[parts["line"].notna()]
        parts = pd.DataFrame({"line": parts["line"].str.strip(), "city": parts["city"].str.strip(),
                              "state": parts["state"].str.upper(), "zip": parts["zip"]})
        line, city, state, zip_text = _take_joined_parts(parts, line, city, state, zip_text)
    # The same without commas ("123 Main St Apt 4 Durham NC 27701"): the line ends at its street type.
    run_on = ~line.str.contains(",", regex=False) & line.str.contains(RUN_ON_TAIL, regex=True)
    if run_on.any():
        parts = per_unique_parts(line[run_on], split_run_on_address, ["line", "city", "state", "zip"])
        line, city, state, zip_text = _take_joined_parts(parts[parts["line"] != ""], line, city, state, zip_text)
    return line, city, state, zip_text


def fill_address(out: pd.DataFrame, column, masked: pd.Series, problems: Problems, source_of) -> pd.Series:
    """Fills the door fields. Returns the rows left without a door for no reason listed yet: their address was
    blank, or not a street and house number (the caller lists those it keeps)."""
    line, city, state, zip_text = split_whole_addresses(street_lines(column), collapse(column("city")),
                                                        column("state").str.upper(), column("zip"))
    # A post office box is no door to knock on: the person is kept without one (they can still be called).
    po_box = line.str.contains(_PO_BOX, case=False, regex=True)
    if po_box.any():
        problems.add(po_box & ~masked, source_of("address"), line,
                     N_("This is a post office box, not a door; the person was kept without a door."))
        line = line.where(~po_box, "")
    # A street line needs a word in it: "12", "n/a" or "-" is no door anyone can find.
    line = line.where(line.str.contains(r"[^\W\d_]{2}", regex=True) & ~line.str.fullmatch(_PLACEHOLDER_LINE), "")
    parsed = parse_lines(line)
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
    leading_digits = at_most(parsed["house_number"].str.replace("[^0-9].*$", "", regex=True), 9)
    out["house_number_int"] = numbers(leading_digits).astype("Int64")
    out["street_display"] = parsed["street_display"]
    out["street"] = parsed["street"]
    has_unit = unit != ""
    out["unit"] = ""
    unit_key = pd.Series("", index=out.index, dtype="str")
    if has_unit.any():
        units = per_unique_parts(utype[has_unit] + "\x1f" + unit[has_unit], unit_parts, ["display", "key"])
        out.loc[units.index, "unit"] = units["display"]
        unit_key.loc[units.index] = units["key"]
    out["address"] = parsed["address"]
    out["city"] = at_most(city, 80)
    out["state"] = at_most(state, 4)
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
    out["building_key"] = at_most(building, 300)
    out["address_key"] = at_most((building + "|" + unit_key).where(has_door, ""), 300)
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


def fill_coordinates(out: pd.DataFrame, column, problems: Problems, source_of) -> None:
    lat = numbers(column("lat"))
    lon = numbers(column("lon"))
    given = (column("lat") != "") | (column("lon") != "")
    bad = given & (lat.isna() | lon.isna() | ~lat.between(-90, 90) | ~lon.between(-180, 180) | ((lat == 0) & (lon == 0)))
    problems.add(bad, source_of("lat"), column("lat") + "," + column("lon"),
                 N_("These are not usable coordinates; the door was kept without a map position."))
    out["lat"] = lat.where(~bad)
    out["lon"] = lon.where(~bad)


def clear_protected_addresses(out: pd.DataFrame) -> None:
    """A protected record is kept and flagged but holds no address: it is never placed on a door or a map."""
    protected = out["is_protected"]
    if protected.any():
        for name in ("house_number", "street", "street_display", "unit", "address", "address_key", "building_key",
                     "zip4"):
            out.loc[protected, name] = ""
        out.loc[protected, ["lat", "lon"]] = np.nan
        out.loc[protected, "house_number_int"] = pd.NA
