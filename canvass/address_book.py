"""People a volunteer knows, read from what a phone gives: a vCard file (3.0 or 4.0, several cards, folded lines),
a contacts CSV (Google's export, Outlook's, the columns iOS export apps write), or lines pasted or typed one per
person. Pure functions: text in, a DataFrame out (``COLUMNS``), names and phone numbers normalised the way the voter
import does it (``canvass.importing.names`` and ``canvass.importing.phones``)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pandas as pd

from canvass.i18n import N_, UserError
from canvass.importing.names import split_full_name
from canvass.importing.phones import split_phone_list, us_phones

#: One row per person: the name as given and split, every phone number (E.164, best first), email, city and age.
COLUMNS = ["name", "first_name", "last_name", "phones", "email", "city", "age"]
MAX_PEOPLE = 2000  # a phone's whole address book; more is not one volunteer's people
MAX_BYTES = 5 * 1024 * 1024


class AddressBookError(UserError):
    """The file or text cannot be read as people; the message says what to do."""


def read_upload(data: bytes, filename: str, *, today: date) -> pd.DataFrame:
    """A contacts file as people: vCard when it holds BEGIN:VCARD (whatever its name), else CSV."""
    if len(data) > MAX_BYTES:
        raise AddressBookError(N_("This file is too big for a list of people you know (at most 5 MB)."))
    text = _decode(data)
    if re.search(r"(?im)^BEGIN:VCARD\s*$", text):
        return parse_vcards(text, today=today)
    if filename.lower().endswith((".vcf", ".vcard")):
        raise AddressBookError(N_("This contacts file holds no contact cards. Export the contacts again."))
    return parse_contacts_csv(text, today=today)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# ------------------------------------------------------------------------------------------------------------------
# vCard


def parse_vcards(text: str, *, today: date) -> pd.DataFrame:
    """Every card of a vCard file: FN (else N), each TEL (cell first, then preferred, faxes left out), the first
    EMAIL, ADR's city and BDAY's age."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text.replace("\r\n", "\n"))  # RFC 6350 3.2: a line break + one space
    unfolded = re.sub(r"=\n", "", unfolded) if "QUOTED-PRINTABLE" in unfolded.upper() else unfolded
    rows, card = [], None
    for line in unfolded.split("\n"):
        name, params, value = _property(line)
        if name == "BEGIN" and value.upper() == "VCARD":
            card = {"tels": [], "emails": []}
        elif name == "END" and card is not None:
            rows.append(_card_row(card, today))
            card = None
        elif card is not None and name:
            _read_property(card, name, params, value)
    if not rows:
        raise AddressBookError(N_("This contacts file holds no contact cards. Export the contacts again."))
    return _frame(rows)


def _property(line: str) -> tuple[str, dict[str, str], str]:
    """``item1.TEL;TYPE=CELL,VOICE;PREF=1:+1 919…`` -> ("TEL", {"TYPE": "CELL,VOICE", "PREF": "1"}, "+1 919…")."""
    head, colon, value = _split_unquoted(line, ":")
    if not colon:
        return "", {}, ""
    parts = head.split(";")
    name = parts[0].rsplit(".", 1)[-1].strip().upper()
    params: dict[str, str] = {}
    for part in parts[1:]:
        key, equals, val = part.partition("=")
        if equals:
            params[key.strip().upper()] = (params.get(key.strip().upper(), "") + "," + val.strip('"')).strip(",")
        else:  # vCard 2.1: TEL;CELL:...
            params["TYPE"] = (params.get("TYPE", "") + "," + key).strip(",")
    return name, params, value


def _split_unquoted(line: str, separator: str) -> tuple[str, str, str]:
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            return line[:index], separator, line[index + 1:]
    return line, "", ""


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value).strip()


def _components(value: str) -> list[str]:
    return [_unescape(part) for part in re.split(r"(?<!\\);", value)]


def _read_property(card: dict, name: str, params: dict[str, str], value: str) -> None:
    if params.get("ENCODING", "").upper() == "QUOTED-PRINTABLE":
        import quopri

        value = quopri.decodestring(value.encode("latin-1", errors="replace")).decode("utf-8", errors="replace")
    types = params.get("TYPE", "").upper()
    if name == "FN":
        card["fn"] = _unescape(value)
    elif name == "N":
        card["n"] = _components(value)
    elif name == "TEL":
        number = re.sub(r"^tel:", "", value.strip(), flags=re.IGNORECASE).split(";")[0]
        if "FAX" not in types and "PAGER" not in types:
            rank = 0 if re.search(r"CELL|MOBILE|IPHONE", types) else 1 if ("PREF" in types or "PREF" in params) else 2
            card["tels"].append((rank, len(card["tels"]), number))
    elif name == "EMAIL":
        card["emails"].append(_unescape(value))
    elif name == "ADR" and not card.get("city"):
        parts = _components(value)
        card["city"] = parts[3] if len(parts) > 3 else ""
    elif name == "BDAY":
        card["bday"] = value.strip()


def _card_row(card: dict, today: date) -> dict:
    n = card.get("n") or []
    first = n[1] if len(n) > 1 else ""
    last = n[0] if n else ""
    name = card.get("fn") or " ".join(p for p in (first, last) if p)
    tels = [number for _rank, _order, number in sorted(card["tels"])]
    return {"name": name, "first_name": first, "last_name": last, "phones": tels,
            "email": card["emails"][0] if card["emails"] else "", "city": card.get("city", ""),
            "age": _age_from_birthday(card.get("bday", ""), today)}


def _age_from_birthday(value: str, today: date) -> int | None:
    """``1980-05-01``, ``19800501`` or ``--0501`` (no year: no age)."""
    found = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", value)
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    age = today.year - year - ((today.month, today.day) < (month, day))
    return age if 0 < age < 120 else None


# ------------------------------------------------------------------------------------------------------------------
# CSV


_NAME = {"name", "full name", "display name", "nombre"}
_FIRST = {"first name", "given name", "first", "nombre de pila"}
_LAST = {"last name", "family name", "surname", "last", "apellido", "apellidos"}
_CITY = re.compile(r"^(address \d+ - city|home city|city|business city|other city|ciudad|locality)$")
_EMAIL = re.compile(r"^(e-?mail( address)?( \d+ - value)?|e-?mail \d+)$")
_PHONE = re.compile(r"(^phone \d+ - value$)|phone|mobile|cell|tel[eé]fono|celular|móvil")
_AGE = {"age", "edad", "tuổi"}
_BIRTHDAY = {"birthday", "birth date", "birthdate", "fecha de nacimiento"}


def parse_contacts_csv(text: str, *, today: date) -> pd.DataFrame:
    """A contacts CSV with a header row. Google writes ``Phone 1 - Value`` (several numbers in one cell joined with
    `` ::: ``), Outlook ``Mobile Phone``; iOS export apps write ``Mobile`` and ``Phone``. Every cell is read as text."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter, engine="python",
                            skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise AddressBookError(N_("This file cannot be read as contacts. Export them as vCard (.vcf) or CSV.")) \
            from exc
    headers = {column: " ".join(str(column).lower().replace("_", " ").split()) for column in frame.columns}

    def pick(test) -> list[str]:
        return [column for column, header in headers.items() if test(header)]

    names, firsts, lasts = (pick(lambda h, words=words: h in words) for words in (_NAME, _FIRST, _LAST))
    phones = pick(lambda h: bool(_PHONE.search(h)) and "label" not in h and "type" not in h and "fax" not in h)
    if not (names or firsts or lasts) or not phones:
        raise AddressBookError(N_("This file has no name and phone columns. Export the contacts as vCard (.vcf), or "
                                  "as CSV with a name and a phone number for each person."))
    empty = pd.Series("", index=frame.index, dtype="str")
    first = frame[firsts[0]].str.strip() if firsts else empty
    last = frame[lasts[0]].str.strip() if lasts else empty
    whole = frame[names[0]].str.strip() if names else empty
    whole = whole.where(whole != "", (first + " " + last).str.strip())
    mobile_first = sorted(phones, key=lambda c: 0 if re.search(r"mobile|cell|celular|móvil", headers[c]) else 1)
    numbers = frame[mobile_first].apply(lambda row: [p for cell in row for p in re.split(r"\s*:::\s*", cell) if p],
                                        axis=1) if len(frame) else empty
    cities, emails = pick(lambda h: bool(_CITY.match(h))), pick(lambda h: bool(_EMAIL.match(h)))
    ages, birthdays = pick(lambda h: h in _AGE), pick(lambda h: h in _BIRTHDAY)
    age = frame[ages[0]].map(_age_number) if ages else \
        frame[birthdays[0]].map(lambda v: _age_from_birthday(v, today)) if birthdays else pd.Series(None, index=frame.index)
    rows = pd.DataFrame({"name": whole, "first_name": first, "last_name": last, "phones": numbers,
                         "email": frame[emails[0]].str.strip() if emails else empty,
                         "city": _first_filled(frame, cities), "age": age})
    return _frame(rows[rows["name"] != ""].to_dict("records"))


def _first_filled(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    result = pd.Series("", index=frame.index, dtype="str")
    for column in reversed(columns):
        value = frame[column].str.strip()
        result = value.where(value != "", result)
    return result


def _age_number(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and 0 < int(value) < 120 else None


# ------------------------------------------------------------------------------------------------------------------
# Pasted or typed


def parse_lines(text: str) -> pd.DataFrame:
    """One person per line: a name, and in any order a phone number, a city and an age, separated by commas, tabs
    or semicolons (``Maria Lopez, 919-555-0101, Durham, 42``)."""
    rows = []
    for line in text.splitlines():
        parts = [part.strip() for part in re.split(r"[,;\t]", line) if part.strip()]
        if not parts:
            continue
        row = {"name": "", "first_name": "", "last_name": "", "phones": [], "email": "", "city": "", "age": None}
        for part in parts:
            digits = re.sub(r"\D", "", part)
            if len(digits) >= 7 and not re.search(r"[^\d\s().+-]", part):
                row["phones"].append(part)
            elif part.isdigit() and 0 < int(part) < 120 and row["age"] is None:
                row["age"] = int(part)
            elif "@" in part and not row["email"]:
                row["email"] = part
            elif not row["name"]:
                row["name"] = part
            elif not row["city"]:
                row["city"] = part
        if row["name"]:
            rows.append(row)
    if not rows:
        raise AddressBookError(N_("Write one person per line: a name, then a phone number, a city or an age."))
    return _frame(rows)


def one_person(name: str, phone: str, city: str, age: int | None) -> pd.DataFrame:
    """A person typed into the form's fields."""
    return _frame([{"name": name, "first_name": "", "last_name": "", "phones": [phone] if phone else [],
                    "email": "", "city": city, "age": age}])


# ------------------------------------------------------------------------------------------------------------------


def _frame(rows: list[dict]) -> pd.DataFrame:
    """Rows -> ``COLUMNS``: names split where only the whole name was given, numbers in E.164 (vectorised, as the
    voter import reads them), people with the same name and number once."""
    if len(rows) > MAX_PEOPLE:
        raise AddressBookError(N_("At most 2,000 people at a time."))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("name", "first_name", "last_name", "email", "city"):
        frame[column] = frame[column].fillna("").astype(str).map(lambda v: " ".join(v.split()))
    frame["name"] = frame["name"].str.slice(0, 160)
    need = (frame["first_name"] == "") & (frame["last_name"] == "")
    if need.any():
        split = frame.loc[need, "name"].map(split_full_name)
        frame.loc[need, "first_name"] = split.map(lambda parts: parts[0])
        frame.loc[need, "last_name"] = split.map(lambda parts: parts[2])
    frame["first_name"], frame["last_name"] = frame["first_name"].str.slice(0, 80), frame["last_name"].str.slice(0, 80)
    frame["city"], frame["email"] = frame["city"].str.slice(0, 80), frame["email"].str.slice(0, 254)
    exploded = frame["phones"].map(lambda v: v if isinstance(v, list) else []).explode()
    exploded = exploded.dropna().astype(str)
    exploded = exploded.map(split_phone_list).explode().dropna().astype(str) if len(exploded) else exploded
    e164 = us_phones(exploded) if len(exploded) else exploded
    good = e164[e164 != ""]
    frame["phones"] = good.groupby(level=0).agg(lambda numbers: list(dict.fromkeys(numbers))) \
        .reindex(frame.index).map(lambda v: v if isinstance(v, list) else [])
    frame["age"] = pd.to_numeric(frame["age"], errors="coerce").astype("Int64")
    return frame.reset_index(drop=True)
