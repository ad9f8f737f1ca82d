"""The fields canvass understands, the header names files use for them, and automatic column mapping."""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from canvass.i18n import N_

CUSTOM = "custom"  # keep the column as a custom field on the person
SKIP = "skip"  # ignore the column
HISTORY = "vote_history"

#: Canonical field -> (label for the mapping form, header aliases in normalized form).
#: Normalized: camelCase split, lowercased, anything not a letter or digit turned into single spaces.
FIELDS: dict[str, tuple[str, list[str]]] = {
    "voter_id": (N_("State voter ID"), [
        "ncid", "sos voterid", "sos voter id", "voter id", "state voter id", "statevoterid", "voter identification number",
        "voterid", "text registrant id", "registrant id", "voters state voter id", "vb voterid", "voter file id",
        "state id"]),
    "county_voter_id": (N_("County voter ID"), [
        "voter reg num", "county voter id", "countyvoterid", "voters county voter id", "county id number"]),
    "van_id": (N_("VAN ID"), ["voter file vanid", "vanid", "van id", "my campaign vanid", "mycampaign vanid"]),
    "vendor_id": (N_("Vendor ID"), ["lalvoterid", "vb voterbase id", "voterbase id", "vendor id", "vendorid"]),
    "member_id": (N_("Member / supporter ID"), [
        "ak id", "dsa id", "uuid", "member id", "supporter id", "person id", "contact id", "actionkit id",
        "action network id", "mobilize id", "user id", "id"]),
    "first_name": (N_("First name"), [
        "nombre", "primer nombre", "ten", "tên", "名",
        "first name", "fname", "first", "firstname", "given name", "name first", "voters first name",
        "tsmart first name", "text name first", "forename"]),
    "middle_name": (N_("Middle name"), [
        "middle name", "midl name", "mname", "middle", "middlename", "name middle", "text name middle", "middle initial"]),
    "last_name": (N_("Last name"), [
        "apellido", "apellidos", "ho", "họ", "성", "姓",
        "last name", "lname", "last", "lastname", "surname", "family name", "name last", "text name last"]),
    "suffix": (N_("Name suffix"), ["suffix", "name suffix", "name suffix lbl", "name sufx cd", "namesuffix", "name sufx"]),
    "full_name": (N_("Full name"), ["name", "full name", "contact name", "person name", "fullname", "first and last name",
                                "name first and last", "first last name", "nombre completo", "nombre y apellido",
                                "ho va ten", "ho ten", "이름", "성명", "姓名", "名字"]),
    "address": (N_("Street address (whole line)"), [
        "domicilio", "direccion", "dirección", "calle", "dia chi", "địa chỉ", "주소", "地址",
        "res street address", "residential address1", "residential address 1", "residence address line 1",
        "address", "street address", "address line 1", "address1", "addr1", "address line1", "street",
        "home address", "residence addresses address line", "tsmart full address", "vf reg cass address full",
        "user address", "registered address street", "street line 1", "full address", "complete address",
        "address full", "residential address", "residence address", "home street address"]),
    "address2": (N_("Address line 2 / unit"), [
        "residential secondary addr", "residence address line 2", "address line 2", "address2", "addr2",
        "address line2", "home unit", "residence addresses extra address line", "secondary address", "apt",
        "apartment", "street line 2"]),
    "house_number": (N_("House number"), [
        "house num", "house number", "street number", "street no", "streetno", "reg st num", "housenumber",
        "text res address nbr", "residence addresses house number", "st num", "address number", "number"]),
    "house_fraction": (N_("House number fraction"), ["half code", "reg st frac", "street no half", "street number suffix"]),
    "street_prefix": (N_("Street direction (before)"), [
        "street dir", "street prefix", "reg st pre direction", "cde street dir prefix", "direction prefix",
        "residence addresses prefix direction", "pre direction", "predir"]),
    "street_name": (N_("Street name"), [
        "street name", "reg st name", "streetname", "text street name", "residence addresses street name"]),
    "street_type": (N_("Street type"), [
        "street type cd", "street type", "reg st type", "cde street type", "streettype", "street suffix type"]),
    "street_suffix": (N_("Street direction (after)"), [
        "street sufx cd", "street suffix", "reg st post direction", "direction suffix", "post direction", "postdir"]),
    "unit_type": (N_("Unit type"), ["unit designator", "reg unit type", "unit type", "apt type", "unittype",
                                "residence addresses apartment type"]),
    "unit": (N_("Unit number"), ["unit num", "unit number", "reg unit num", "apt no", "unitnumber", "text res unit nbr",
                             "unit", "apartment number", "residence addresses designator", "extension"]),
    "city": (N_("City"), [
        "ciudad", "thanh pho", "thành phố", "도시", "城市", "res city desc", "residential city", "residence city", "city", "reg city", "text res city",
                      "residence addresses city", "tsmart city", "user city", "registered address city",
                      "residence city usps", "town"]),
    "state": (N_("State"), ["state cd", "residential state", "residence state", "state", "reg state", "st",
                        "residence addresses state", "tsmart state", "user state", "state abbreviated",
                        "registered address state", "state addr"]),
    "zip": (N_("ZIP code"), [
        "codigo postal", "código postal", "cp", "ma buu chinh", "우편번호", "邮编", "郵遞區號", "邮政编码",
        "zip code", "residential zip", "residence zipcode", "zip", "zip5", "zipcode", "reg zip code", "postal code",
        "text res zip5", "residence addresses zip", "tsmart zip", "vf reg zip", "postcode", "registered address zip",
        "home zip code", "zip postal code"]),
    "zip4": (N_("ZIP+4"), ["residential zip plus4", "zip4", "zip plus4", "zip plus 4", "text res zip4",
                       "residence addresses zip plus4", "tsmart zip4"]),
    "lat": (N_("Latitude"), ["latitude", "lat", "residence addresses latitude", "y"]),
    "lon": (N_("Longitude"), ["longitude", "lon", "lng", "long", "residence addresses longitude", "x"]),
    "phone": (N_("Phone"), [
        "telefono", "teléfono", "dien thoai", "điện thoại", "so dien thoai", "numero de telefono", "전화", "전화번호",
        "연락처", "电话", "電話", "电话号码", "電話號碼", "联系电话", "聯絡電話",
        "full phone number", "phone", "phone number", "phonenumber", "telephone", "preferred phone", "daytime phone",
        "voterbase phone", "contact phone", "phone sync", "primary phone", "tel", "phone 1", "can2 phone"]),
    "cell_phone": (N_("Cell phone"), [
        "celular", "movil", "móvil", "telefono celular", "telefono movil", "dien thoai di dong", "휴대폰", "핸드폰",
        "휴대전화", "手机", "手機", "手机号码", "手機號碼",
        "cell phone", "mobile phone", "mobile", "cell", "cellphone", "voter telephones cell phone formatted",
        "tsmart wireless phone", "cell phone number", "sms phone", "mobile number", "wireless phone"]),
    "home_phone": (N_("Landline / home phone"), [
        "home phone", "landline", "voter telephones landline formatted", "home phone number", "landline phone"]),
    "work_phone": (N_("Work phone"), ["work phone", "business phone", "office phone"]),
    "phone_area": (N_("Phone area code"), ["area cd", "daytime area code", "text phone area code", "area code",
                                       "phone area code"]),
    "phone_exchange": (N_("Phone exchange"), ["text phone exchange", "phone exchange", "exchange"]),
    "phone_line": (N_("Phone number (without area code)"), [
        "phone num", "daytime phone number", "text phone last four", "phone last four", "last four"]),
    "phone_ext": (N_("Phone extension"), ["daytime phone extension", "phone extension", "extension number", "ext"]),
    "phone_type": (N_("Phone type"), ["phone type", "phonetype", "phone kind"]),
    "email": (N_("Email"), [
        "correo", "correo electronico", "correo electrónico", "이메일", "电子邮件", "電子郵件", "邮箱", "郵箱",
        "email", "email address", "e mail", "emailaddress", "email 1", "primary email", "contact email",
                        "user email"]),
    "language": (N_("Language"), [
        "idioma", "lengua", "ngon ngu", "ngôn ngữ", "idioma preferido", "언어", "语言", "語言", "language", "languages description", "preferred language", "primary language",
                              "lang", "spoken language", "language preference", "languages", "languages spoken",
                              "spoken languages"]),
    "party": (N_("Party"), ["party cd", "party affiliation", "party", "desc party", "parties description", "vf party",
                        "party code", "political party", "party desc", "partyname"]),
    "precinct": (N_("Precinct"), ["precinct abbrv", "precinct code", "precinct", "precinct name", "precinct text name",
                              "precinctname", "precinctcode", "ward precinct", "precinct desc", "pct"]),
    "birth_year": (N_("Birth year"), ["birth year", "dobyear", "dob year", "year of birth", "yob", "birthyear"]),
    "birth_date": (N_("Birth date"), ["birth date", "birthdate", "date of birth", "dob", "voterbase dob",
                                  "birthday", "date of birth mmddyyyy"]),
    "age": (N_("Age"), ["age", "birth age", "age at year end", "voters age", "voterbase age"]),
    "gender": (N_("Gender"), ["gender code", "gender", "sex", "voters gender", "voterbase gender"]),
    "confidential": (N_("Confidential / protected record"), [
        "confidential ind", "requested public records exemption", "public records exemption", "confidential",
        "protected", "exempt"]),
    "do_not_call": (N_("Do not call"), ["do not call", "dnc", "do not phone"]),
    "county": (N_("County"), ["county id", "county code", "county number", "countycode", "county", "county desc",
                          "county name", "db logid"]),
}

ID_FIELDS = ("voter_id", "county_voter_id", "van_id", "vendor_id", "member_id")
PHONE_FIELDS = ("phone", "cell_phone", "home_phone", "work_phone")
#: Fields that may take several columns (every one of them is used).
MULTI_FIELDS = set(PHONE_FIELDS) | {"email"}

# Columns about another address than the residence; never mapped onto the door a volunteer knocks on.
_MAILING = re.compile(r"^(m |mail)|(?<!e )\bmail(ing)?\b")
_PREFIXES = ("voters", "voter", "vb", "tsmart", "ts", "can2", "user", "donor", "res", "residence", "residential",
             "reg", "registered", "registrant", "text", "cde", "billing", "contact", "person", "member", "home",
             "primary", "my")
_HISTORY = re.compile(
    r"^(general|primary|special|municipal|muni|pres|presidential|runoff|gen|pri|spec|local|city|school|consolidated)"
    r"[a-z ]*[ _-]*\d{2}|\b(vf )?(g|p|pp|s|r)\d{4}$|\belection code \d+$|^vf [gp] method \d{4}$|"
    r"^e\d{1,2}$|^(general|primary|special)[- ]\d{1,2}[/ -]\d{1,2}[/ -]\d{2,4}$|^(general|primary|special) \d{4} \d{2} \d{2}$")


def normalize_header(header: str) -> str:
    """``Voters_FirstName`` -> ``voters first name``; ``first-name`` -> ``first name``; ``\\ufeffak_id`` -> ``ak id``."""
    text = str(header).replace("\ufeff", "").strip().replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)  # Hangul decomposed into jamo above: put its syllables back
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    # Letters of every script are kept: a Korean or Chinese header is a name like any other.
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def header_signature(headers: list[str]) -> str:
    """Identifies a file layout by its header, so a confirmed mapping can be reused for the next file like it."""
    joined = "\x1f".join(normalize_header(h) for h in headers)
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


_ALIASES: dict[str, str] = {}
for _field, (_label, _aliases) in FIELDS.items():
    for _alias in _aliases:
        for _form in (_alias, normalize_header(_alias)):
            _ALIASES.setdefault(_form, _field)
            _ALIASES.setdefault(_form.replace(" ", ""), _field)


def is_vote_history(normalized: str) -> bool:
    return bool(_HISTORY.search(normalized))


@dataclass(frozen=True)
class Guess:
    field: str
    score: float  # 1.0 exact alias, lower for fuzzy matches


def guess_field(header: str) -> Guess:
    """The best field for one column header, on its own (``map_columns`` settles columns that compete)."""
    norm = normalize_header(header)
    if not norm or re.fullmatch(r"unnamed \d+", norm):
        return Guess(SKIP, 1.0)  # a nameless column (a pandas index written out)
    if is_vote_history(norm):
        return Guess(HISTORY, 1.0)
    if _MAILING.search(norm):
        return Guess(CUSTOM, 1.0)
    for candidate, score in _candidates(norm):
        field = _ALIASES.get(candidate) or _ALIASES.get(candidate.replace(" ", ""))
        if field:
            return Guess(field, score)
    best = difflib.get_close_matches(norm, list(_ALIASES), n=1, cutoff=0.86)
    if best:
        return Guess(_ALIASES[best[0]], 0.6)
    return Guess(CUSTOM, 0.0)


# Sign-up forms (Google Forms, Mobilize, Typeform) head their columns with the question asked.
_QUESTION = re.compile(r"^(?:(?:what|whats|which|please (?:enter|give|share|provide|list)|enter|tell us)"
                       r"(?: s| is| are)?(?: your| you| the)?|your)(?: best)? (?=\w)")
_QUESTION_TAIL = re.compile(r" (?:(?:do )?you (?:speak|prefer|use|live in)|(?:to|we can|where we can) (?:reach|call|text|"
                            r"contact) you(?: at)?|please|optional|required)$")


def _candidates(norm: str):
    yield norm, 1.0
    asked = _QUESTION_TAIL.sub("", _QUESTION.sub("", norm))
    if asked != norm and asked:
        yield asked, 0.9
        norm = asked
    tokens = norm.split()
    stripped = list(tokens)
    while len(stripped) > 1 and stripped[0] in _PREFIXES:
        stripped = stripped[1:]
        yield " ".join(stripped), 0.9
    # "Donor First Name" / "Phone Number:" / "Residence_Addresses_Zip": try the trailing words alone.
    for size in (3, 2):
        if len(tokens) > size:
            yield " ".join(tokens[-size:]), 0.75


def map_columns(headers: list[str]) -> dict[str, str]:
    """Maps each column header to a field, HISTORY, CUSTOM or SKIP. Single-valued fields go to their best column."""
    guesses = [guess_field(h) for h in headers]
    best_for: dict[str, tuple[float, int]] = {}
    for index, guess in enumerate(guesses):
        if guess.field in FIELDS and guess.field not in MULTI_FIELDS:
            current = best_for.get(guess.field)
            if current is None or guess.score > current[0]:
                best_for[guess.field] = (guess.score, index)
    mapping = {}
    for index, (header, guess) in enumerate(zip(headers, guesses, strict=True)):
        field = guess.field
        if field in FIELDS and field not in MULTI_FIELDS and best_for[field][1] != index:
            field = CUSTOM
        mapping[header] = field
    return _settle_conflicts(mapping)


def _settle_conflicts(mapping: dict[str, str]) -> dict[str, str]:
    fields = set(mapping.values())
    # A generic "id" column next to a real voter or VAN ID is the file's own row number.
    if fields & {"voter_id", "van_id", "vendor_id"}:
        mapping = {h: (CUSTOM if f == "member_id" and normalize_header(h) == "id" else f) for h, f in mapping.items()}
    # A whole-name column is only used when first and last names are missing.
    if {"first_name", "last_name"} <= fields:
        mapping = {h: (CUSTOM if f == "full_name" else f) for h, f in mapping.items()}
    # x/y are coordinates only in pairs.
    if ("lat" in fields) != ("lon" in fields):
        mapping = {h: (CUSTOM if f in ("lat", "lon") else f) for h, f in mapping.items()}
    return mapping


def field_choices() -> list[tuple[str, str]]:
    """(value, label) pairs for the mapping form."""
    return [(key, label) for key, (label, _) in FIELDS.items()] + [
        (HISTORY, "Vote history"), (CUSTOM, "Keep as a custom field"), (SKIP, "Ignore this column")]


def validate_mapping(mapping: dict[str, str], headers: list[str]) -> list[str]:
    """Problems with a user-given mapping, as sentences (empty when it is usable)."""
    allowed = set(FIELDS) | {HISTORY, CUSTOM, SKIP}
    problems = [f"Column {h!r} is not in the file." for h in mapping if h not in headers]
    problems += [f"Column {h!r}: {f!r} is not a field (choose one of {', '.join(sorted(allowed))})."
                 for h, f in mapping.items() if f not in allowed]
    counts: dict[str, list[str]] = {}
    for header, field in mapping.items():
        counts.setdefault(field, []).append(header)
    problems += [f"{FIELDS[f][0]} is mapped from several columns ({', '.join(hs)}); choose one."
                 for f, hs in counts.items() if f in FIELDS and f not in MULTI_FIELDS and len(hs) > 1]
    return problems
