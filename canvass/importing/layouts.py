"""Known file layouts: how to recognise them and the columns whose meaning a header alone does not settle.

Files with headers are mapped by header name (``fields.map_columns``); a layout adds only what is specific to it.
Files without a header (Florida's extract, Michigan's fixed-width QVF) are recognised by their shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from canvass.importing.fields import CUSTOM, normalize_header


@dataclass(frozen=True)
class Layout:
    key: str
    label: str
    detect: Callable[[set[str]], bool] = lambda headers: False
    overrides: dict[str, str] = field(default_factory=dict)  # normalized header -> field
    columns: tuple[str, ...] = ()  # for files without a header
    colspecs: tuple[tuple[int, int], ...] = ()  # for fixed-width files
    masked: str = ""  # a value that marks a protected (masked) field, e.g. Florida's "*"
    notes: str = ""


def _has(*names: str) -> Callable[[set[str]], bool]:
    return lambda headers: all(n in headers for n in names)


FL_COLUMNS = (
    "County Code", "Voter ID", "Name Last", "Name Suffix", "Name First", "Name Middle",
    "Requested public records exemption", "Residence Address Line 1", "Residence Address Line 2",
    "Residence City (USPS)", "Residence State", "Residence Zipcode", "Mailing Address Line 1",
    "Mailing Address Line 2", "Mailing Address Line 3", "Mailing City", "Mailing State", "Mailing Zipcode",
    "Mailing Country", "Gender", "Race", "Birth Date", "Registration Date", "Party Affiliation", "Precinct",
    "Precinct Group", "Precinct Split", "Precinct Suffix", "Voter Status", "Congressional District", "House District",
    "Senate District", "County Commission District", "School Board District", "Daytime Area Code",
    "Daytime Phone Number", "Daytime Phone Extension", "Email address")

MI_COLUMNS = (
    "LAST_NAME", "FIRST_NAME", "MIDDLE_NAME", "NAME_SUFFIX", "YEAR_OF_BIRTH", "GENDER", "REGISTRATION_DATE",
    "STREET_NUMBER_PREFIX", "STREET_NUMBER", "STREET_NUMBER_SUFFIX", "DIRECTION_PREFIX", "STREET_NAME", "STREET_TYPE",
    "DIRECTION_SUFFIX", "EXTENSION", "CITY", "STATE", "ZIP_CODE", "MAILING_ADDRESS_LINE_ONE", "MAILING_ADDRESS_LINE_TWO",
    "MAILING_ADDRESS_LINE_THREE", "MAILING_ADDRESS_LINE_FOUR", "MAILING_ADDRESS_LINE_FIVE",
    "VOTER_IDENTIFICATION_NUMBER", "COUNTY_CODE", "JURISDICTION_CODE", "WARD_PRECINCT", "SCHOOL_DISTRICT_CODE",
    "STATE_HOUSE", "STATE_SENATE", "US_CONGRESS", "COUNTY_COMMISSIONER", "VILLAGE_DISTRICT_CODE", "VILLAGE_PRECINCT",
    "SCHOOL_PRECINCT", "IS_PERMANENT_ABSENTEE_VOTER", "VOTER_STATUS_TYPE_CODE", "UOCAVA_STATUS_CODE")
MI_COLSPECS = (
    (0, 35), (35, 55), (55, 75), (75, 78), (78, 82), (82, 83), (83, 91), (91, 92), (92, 99), (99, 103), (103, 105),
    (105, 135), (135, 141), (141, 143), (143, 156), (156, 191), (191, 193), (193, 198), (198, 248), (248, 298),
    (298, 348), (348, 398), (398, 448), (448, 461), (461, 463), (463, 468), (468, 474), (474, 479), (479, 484),
    (484, 489), (489, 494), (494, 499), (499, 504), (504, 510), (510, 516), (516, 517), (517, 519), (519, 520))

_NC_COMMON = {"county id": "county", "county desc": CUSTOM, "voter reg num": "county_voter_id",
              "confidential ind": "confidential", "drivers lic": CUSTOM, "precinct desc": CUSTOM,
              "birth state": CUSTOM, "birth place": CUSTOM, "age at year end": "age", "birth age": "age"}

LAYOUTS: tuple[Layout, ...] = (
    Layout("nc_vr_snapshot", "North Carolina VR snapshot", _has("ncid", "house num", "street name"),
           {**_NC_COMMON, "res street address": CUSTOM, "area cd": "phone_area", "phone num": "phone_line",
            "sex": "gender", "age": "age"}),
    Layout("nc_ncvoter", "North Carolina ncvoter", _has("ncid", "voter reg num", "res street address"), _NC_COMMON),
    Layout("oh_swvf", "Ohio statewide voter file (SWVF)", _has("sos voterid"),
           {"county number": "county", "county id": "county_voter_id", "city": CUSTOM, "village": CUSTOM,
            "township": CUSTOM, "date of birth": "birth_date", "precinct name": CUSTOM, "precinct code": "precinct",
            "residential secondary addr": "address2", "residential country": CUSTOM,
            "residential postalcode": CUSTOM, "ward": CUSTOM}),
    Layout("wa_vrdb", "Washington VRDB extract", _has("state voter id", "reg st num"),
           {"county code": "county", "precinct part": CUSTOM, "title": CUSTOM, "last voted": CUSTOM}),
    Layout("mn_voter", "Minnesota voter file", _has("voter id", "house number", "dob year"),
           {"county code": "county", "precinct name": CUSTOM, "legacy id": CUSTOM, "address2": "address2"}),
    Layout("ks_voter", "Kansas voter file", _has("text registrant id"),
           {"db logid": "county", "text phone area code": "phone_area", "text phone exchange": "phone_exchange",
            "text phone last four": "phone_line", "date of birth": "birth_date"}),
    Layout("mi_qvf_csv", "Michigan QVF (CSV)", _has("voter identification number", "street number"),
           {"year of birth": "birth_year", "ward precinct": CUSTOM, "precinct": "precinct", "extension": "unit",
            "street number prefix": CUSTOM, "street number suffix": "house_fraction"}),
    Layout("van", "VAN / VoteBuilder export", lambda h: "voter file vanid" in h or "vanid" in h,
           {"address": "address", "street no": "house_number", "street no half": "house_fraction",
            "street prefix": "street_prefix", "street name": "street_name", "street type": "street_type",
            "street suffix": "street_suffix", "apt type": "unit_type", "apt no": "unit"}),
    Layout("l2", "L2 voter file", _has("lalvoterid"),
           {"voters state voter id": "voter_id", "voters county voter id": "county_voter_id",
            "residence addresses address line": "address", "residence addresses house number": CUSTOM,
            "residence addresses street name": CUSTOM, "residence addresses prefix direction": CUSTOM,
            "residence addresses designator": CUSTOM, "residence addresses apartment type": CUSTOM}),
    Layout("targetsmart", "TargetSmart file", _has("vb voterbase id"),
           {"vb voterid": "voter_id", "vb tsmart full address": "address", "vb vf reg cass address full": CUSTOM}),
    Layout("actionkit", "ActionKit / membership export", lambda h: "ak id" in h,
           {"dsa id": CUSTOM, "family first name": CUSTOM, "family last name": CUSTOM, "organization": CUSTOM,
            "country": CUSTOM, "billing address line 1": "address", "billing address line 2": "address2",
            "billing city": "city", "billing state": "state", "billing zip": "zip"}),
    Layout("action_network", "Action Network export", lambda h: "uuid" in h and any(x.startswith("can2") for x in h),
           {"can2 user address": "address", "can2 user city": "city", "can2 user state": "state",
            "can2 state abbreviated": "state", "can2 county": CUSTOM}),
    Layout("mobilize", "Mobilize attendee export", _has("event id", "event name")),
    Layout("openaddresses", "OpenAddresses points", _has("lon", "lat", "number", "street"),
           {"number": "house_number", "street": "street_name", "postcode": "zip", "district": CUSTOM,
            "region": "state", "id": CUSTOM, "hash": CUSTOM}),
)

FL_EXTRACT = Layout("fl_extract", "Florida voter extract (no header)", columns=FL_COLUMNS, masked="*",
                    overrides={"county code": "county", "requested public records exemption": "confidential",
                               "daytime area code": "phone_area", "daytime phone number": "phone_line",
                               "daytime phone extension": "phone_ext", "precinct group": CUSTOM,
                               "precinct split": CUSTOM, "precinct suffix": CUSTOM, "race": CUSTOM})
MI_FIXED = Layout("mi_qvf_fixed", "Michigan QVF (fixed width, no header)", columns=MI_COLUMNS, colspecs=MI_COLSPECS,
                  overrides={"ward precinct": "precinct", "extension": "unit", "year of birth": "birth_year",
                             "street number prefix": CUSTOM, "street number suffix": "house_fraction"})
FL_HISTORY = Layout("fl_history", "Florida voter history (no header)",
                    notes="This is a Florida voter-history file (5 columns: county, voter ID, election date, type, "
                          "how voted). Import the voter extract itself; vote-history files are not imported.")

_FL_COUNTY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def detect_layout(headers: list[str]) -> Layout | None:
    normalized = {normalize_header(h) for h in headers}
    for layout in LAYOUTS:
        if layout.detect(normalized):
            return layout
    return None


def detect_headerless(first_rows: list[list[str]]) -> Layout | None:
    """Recognises files that carry no header by the shape of their first rows."""
    rows = [r for r in first_rows if any(v.strip() for v in r)][:20]
    if not rows:
        return None
    widths = {len(r) for r in rows}
    if widths == {38} and all(_FL_COUNTY.match(r[0].strip()) for r in rows) and \
            all(r[1].strip().isdigit() or r[1].strip() == "*" for r in rows):
        return FL_EXTRACT
    if widths == {5} and all(_FL_COUNTY.match(r[0].strip()) and _DATE.match(r[2].strip()) for r in rows):
        return FL_HISTORY
    return None


def fixed_width_layout(lines: list[str]) -> Layout | None:
    """Michigan's legacy QVF: lines of 519-520 characters without delimiters."""
    lengths = {len(line.rstrip("\r\n")) for line in lines if line.strip()}
    if lengths and lengths <= {517, 518, 519, 520} and not any("\t" in line or "|" in line for line in lines):
        return MI_FIXED
    return None


def layout_mapping(layout: Layout | None, headers: list[str], auto: dict[str, str]) -> dict[str, str]:
    """The automatic mapping with the layout's overrides applied."""
    if layout is None or not layout.overrides:
        return auto
    mapping = dict(auto)
    for header in headers:
        override = layout.overrides.get(normalize_header(header))
        if override:
            # The override takes the field; whichever column had it before becomes custom.
            for other, assigned in mapping.items():
                if assigned == override and other != header and override not in ("custom", "skip"):
                    mapping[other] = CUSTOM
            mapping[header] = override
    return mapping
