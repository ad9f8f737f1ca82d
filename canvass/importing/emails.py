"""Email addresses: split where a cell holds several, checked as email-validator checks them, kept in lower case.

email-validator is the judge, but a Python call per address costs 30 µs: a million addresses, half a minute. So the
plain ones (most of a list) are recognised by one pattern on the whole column that accepts nothing email-validator
refuses, and only the others are put to it, once per distinct address.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from canvass.i18n import N_
from canvass.importing.columns import per_unique, said_none
from canvass.importing.problems import Problems

#: What could be an address at all: something, @, a domain ending in letters; the rest is not asked about.
EMAIL_RE = r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$"
#: A plain address (lower case): dot-separated words of common characters, @, host names of letters, digits and
#: inner hyphens, a top-level domain of letters. Every one passes email-validator (tests/test_importing_reading.py).
PLAIN_EMAIL = r"^[a-z0-9_+'-]+(?:\.[a-z0-9_+'-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
# Domains no mail goes to (.test, .invalid, .local...): email-validator refuses them, so they are put to it.
_SPECIAL_USE = "(?:^|[.@])(?:" + "|".join(SPECIAL_USE_DOMAIN_NAMES) + ")$"


def is_email_address(address: str) -> bool:
    """email-validator's verdict on the address's form (no DNS look-up)."""
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def valid_emails(values: pd.Series) -> np.ndarray:
    """Which of ``values`` (lower case) are email addresses, as email-validator says."""
    shaped = values.str.match(EMAIL_RE).to_numpy(dtype=bool)
    plain = shaped & values.str.match(PLAIN_EMAIL).to_numpy(dtype=bool) & \
        (values.str.len() <= 254).to_numpy(dtype=bool) & (values.str.find("@") <= 64).to_numpy(dtype=bool) & \
        ~values.str.contains(_SPECIAL_USE, regex=True).to_numpy(dtype=bool) & \
        ~values.str.contains("--", regex=False).to_numpy(dtype=bool)  # IDNA: "ab--" only as xn-- (Punycode)
    others = shaped & ~plain
    if others.any():
        plain[others] = per_unique(values[others], is_email_address).to_numpy(dtype=bool)
    return plain


def email_rows(frame: pd.DataFrame, mapping: dict[str, str], problems: Problems) -> pd.DataFrame:
    """One row per email address (row, address), lower case; several in one cell are split."""
    pieces = []
    for header, field_name in mapping.items():
        if field_name != "email" or header not in frame.columns:
            continue
        raw = frame[header].str.strip()
        filled = raw[raw != ""]
        values = filled.str.split(r"[,;\s]+", regex=True).explode().dropna().astype("str").str.strip().str.lower()
        values = values.str.removeprefix("mailto:")  # copied from a web page's link
        values = values[values != ""]
        bad = pd.Series(~valid_emails(values), index=values.index)
        if bad.any():
            rows = pd.Series(False, index=frame.index)
            rows.loc[bad[bad].index.unique()] = True
            problems.add(rows & ~said_none(raw, rows), header, raw, N_("This is not an email address; it was left out."))
        good = values[~bad]
        pieces.append(pd.DataFrame({"row": good.index, "address": good.values.astype(str)}))
    if not pieces:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "address": pd.Series(dtype="str")})
    return pd.concat(pieces, ignore_index=True).drop_duplicates(["row", "address"])
