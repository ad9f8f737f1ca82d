"""Likely duplicate people in a campaign, found set-based (SQL groups, pandas joins), with each pair's reasons and a
confidence; and the reviewer's "not the same person", which keeps a pair from being offered again. The caller
commits.

Three reasons make a pair, each read as whole groups, never person by person:
- the same ID value held by two people under two sources (a voter ID one file called "voter ID" and another
  "county voter ID"): the import matches within a source only;
- the same name (folded: case, accents and punctuation ignored) and birth year, usually at two addresses (a person
  who moved and came back in the next file, or a sign-up sheet at another door);
- the same phone number, when the first name or the birth year also agrees (a family's shared landline alone is
  not a duplicate).
Known birth years that differ rule a pair out (a parent and child), unless an ID says otherwise.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import audit, bulk
from canvass.models import ExternalId, Household, NotDuplicate, Person, Phone, PhoneStatus, User, utcnow

SAME_ID, SAME_NAME_BIRTH_YEAR, SAME_PHONE = "same_id", "same_name_birth_year", "same_phone"
#: How much each reason alone says; reasons together combine as independent evidence (1 - product of misses).
WEIGHTS = {SAME_ID: 0.9, SAME_NAME_BIRTH_YEAR: 0.7, SAME_PHONE: 0.5}
#: A name, number or ID shared by more people than this is a common name, an office line or a placeholder ID.
MAX_GROUP = 6
VERY_LIKELY, LIKELY = 0.9, 0.7


@dataclass
class Candidate:
    """Two people who may be one: ``person_id`` < ``other_id``."""

    person_id: int
    other_id: int
    confidence: float
    reasons: list[dict] = field(default_factory=list)  # {"code": SAME_ID, "sources": [...], "value": ...} ...

    @property
    def codes(self) -> list[str]:
        return [reason["code"] for reason in self.reasons]


# ------------------------------------------------------------------------------------------------------------------
# Finding


def find_duplicates(session: Session, campaign_id: int) -> pd.DataFrame:
    """Every likely duplicate pair of the campaign not yet judged different, most likely first: columns
    ``person_id``, ``other_id`` (the higher id), ``confidence`` and ``reasons`` (a list of dicts per pair)."""
    if bulk.dialect(session) == "postgresql":
        # Room to group a million IDs and numbers in memory (the default 4 MB spills them to disk); this
        # transaction only.
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    people = _people(session, campaign_id)
    pairs = [_same_ids(session, campaign_id), _same_name_and_birth_year(people),
             _same_phones(session, campaign_id, people)]
    found = _without_decided(session, campaign_id, _together(pairs))
    return _scored(found, people)


def _together(pairs: list[pd.DataFrame]) -> pd.DataFrame:
    found = [p for p in pairs if not p.empty]
    return pd.concat(found, ignore_index=True) if found else _no_pairs()


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame({"person_id": pd.Series(dtype="int64"), "other_id": pd.Series(dtype="int64"),
                         "reason": pd.Series(dtype="object")})


def _people(session: Session, campaign_id: int) -> pd.DataFrame:
    """Every person's folded names, birth year (0 when unknown) and door (0 when none), indexed by id."""
    frame = bulk.read_frame(session, select(Person.id, Person.first_name, Person.last_name, Person.birth_year,
                                            Person.household_id).where(Person.campaign_id == campaign_id))
    frame["first"] = fold_names(frame["first_name"])
    frame["last"] = fold_names(frame["last_name"])
    frame["birth_year"] = pd.to_numeric(frame["birth_year"]).fillna(0).astype("int64")
    frame["household_id"] = pd.to_numeric(frame["household_id"]).fillna(0).astype("int64")
    return frame.drop(columns=["first_name", "last_name"]).set_index(frame["id"].astype("int64"))


def fold_names(names: pd.Series) -> pd.Series:
    """Names as compared: upper case, accents and anything not a letter or digit dropped ("O'Brien" = "OBRIEN").
    Computed once per distinct name: a million people have a few tens of thousands."""
    codes, distinct = pd.factorize(names.fillna("").astype("str"))
    distinct = pd.Series(distinct, dtype="object")
    plain = distinct.str.isascii().to_numpy(dtype=bool)  # most of a voter file: vectorised string operations
    folded = distinct.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True).to_numpy(dtype=object, copy=True)
    folded[~plain] = [_fold(name) for name in distinct[~plain]]
    return pd.Series(folded[codes] if len(codes) else [], index=names.index, dtype="object")


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch)).upper()


def _pairs_within(groups: pd.DataFrame, key: list[str] | str) -> pd.DataFrame:
    """Every two people sharing ``key`` (groups of 2 to MAX_GROUP people): ``person_id`` < ``other_id``, plus the
    key's columns and each side's others (``_other`` for the second)."""
    key = [key] if isinstance(key, str) else key
    groups = groups.drop_duplicates([*key, "person_id"])
    sizes = groups.groupby(key, sort=False)["person_id"].transform("size")
    groups = groups[(sizes > 1) & (sizes <= MAX_GROUP)]
    pairs = groups.merge(groups, on=key, suffixes=("", "_other"))
    pairs = pairs[pairs["person_id"] < pairs["person_id_other"]]
    return pairs.rename(columns={"person_id_other": "other_id"})


def _two_people(person_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """A group held by two people or more. Not count(DISTINCT ...) > 1: a distinct count makes PostgreSQL sort the
    whole table; min and max aggregate in a hash table."""
    return sa.func.min(person_id) != sa.func.max(person_id)


def _same_ids(session: Session, campaign_id: int) -> pd.DataFrame:
    shared = (select(ExternalId.value).where(ExternalId.campaign_id == campaign_id).group_by(ExternalId.value)
              .having(_two_people(ExternalId.person_id)))
    rows = bulk.read_frame(session, select(ExternalId.value, ExternalId.source, ExternalId.person_id).where(
        ExternalId.campaign_id == campaign_id, ExternalId.value.in_(shared)))
    return _id_pairs(rows)


def _same_name_and_birth_year(people: pd.DataFrame) -> pd.DataFrame:
    named = people[(people["birth_year"] > 0) & (people["first"] != "") & (people["last"] != "")]
    named = named.rename(columns={"id": "person_id"})
    named = named[named.duplicated(["last", "first", "birth_year"], keep=False)]
    if named.empty:
        return _no_pairs()
    pairs = _pairs_within(named, ["last", "first", "birth_year"])
    two_doors = (pairs["household_id"] != pairs["household_id_other"]).to_numpy()
    pairs["reason"] = [{"code": SAME_NAME_BIRTH_YEAR, "birth_year": int(year), "two_addresses": bool(apart)}
                       for year, apart in zip(pairs["birth_year"], two_doors, strict=True)]
    return pairs[["person_id", "other_id", "reason"]]


def _same_phones(session: Session, campaign_id: int, people: pd.DataFrame) -> pd.DataFrame:
    usable = (select(Phone.e164, Phone.person_id).join(Person, Person.id == Phone.person_id)
              .where(Person.campaign_id == campaign_id, Phone.status != PhoneStatus.disconnected))
    # The numbers held by two people or more, grouped by the database; then only their holders are read.
    shared = usable.subquery()
    numbers = (select(shared.c.e164).group_by(shared.c.e164)
               .having(_two_people(shared.c.person_id)).subquery())
    rows = bulk.read_frame(session, select(shared.c.e164, shared.c.person_id).join(
        numbers, numbers.c.e164 == shared.c.e164))
    return _phone_pairs(rows, people)


def _without_decided(session: Session, campaign_id: int, pairs: pd.DataFrame) -> pd.DataFrame:
    decided = bulk.read_frame(session, select(NotDuplicate.person_id, NotDuplicate.other_id).where(
        NotDuplicate.campaign_id == campaign_id))
    if decided.empty:
        return pairs
    keys = pd.MultiIndex.from_frame(pairs[["person_id", "other_id"]].astype("int64"))
    judged = pd.MultiIndex.from_frame(decided.astype("int64"))
    return pairs[~keys.isin(judged)]


def _scored(found: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """One row per pair with its reasons and confidence, most likely first (then by id, for a stable order)."""
    if found.empty:
        return pd.DataFrame({"person_id": pd.Series(dtype="int64"), "other_id": pd.Series(dtype="int64"),
                             "reasons": pd.Series(dtype="object"), "confidence": pd.Series(dtype="float")})
    found = found.assign(code=[reason["code"] for reason in found["reason"]])
    found = found.drop_duplicates(["person_id", "other_id", "code"]).sort_values(["person_id", "other_id"])
    found["miss"] = np.log1p(-found["code"].map(WEIGHTS).to_numpy())
    grouped = found.groupby(["person_id", "other_id"], sort=True)
    result = grouped["miss"].sum().reset_index()
    result["confidence"] = 1 - np.exp(result.pop("miss"))
    # Each pair's reasons, cut from the sorted rows at the pairs' boundaries (no Python call per pair).
    starts = np.flatnonzero(found[["person_id", "other_id"]].ne(found[["person_id", "other_id"]].shift()).any(axis=1))
    result["reasons"] = [list(part) for part in np.split(found["reason"].to_numpy(), starts[1:])]
    a = people["birth_year"].reindex(result["person_id"]).to_numpy()
    b = people["birth_year"].reindex(result["other_id"]).to_numpy()
    ids = np.array([SAME_ID in [r["code"] for r in rs] for rs in result["reasons"]], dtype=bool)
    differ = (a > 0) & (b > 0) & (a != b)
    result = result[~differ | ids].copy()
    result.loc[differ[~differ | ids], "confidence"] *= 0.5  # one ID, two birth years: a typo, or a shared ID
    result["confidence"] = result["confidence"].round(3)
    return result.sort_values(["confidence", "person_id", "other_id"], ascending=[False, True, True],
                              ignore_index=True)


def candidates(found: pd.DataFrame, limit: int = 50, offset: int = 0) -> list[Candidate]:
    """A page of ``find_duplicates``' pairs as Candidates."""
    page = found.iloc[offset:offset + limit]
    return [Candidate(int(a), int(b), float(c), list(r)) for a, b, c, r in
            zip(page["person_id"], page["other_id"], page["confidence"], page["reasons"], strict=True)]


def people_named(session: Session, person_ids: list[int]) -> dict[int, tuple[Person, str]]:
    """The people a page of candidates names, each with their street address ("" for a protected record)."""
    rows = session.execute(select(Person, Household.address, Household.unit).outerjoin(
        Household, Household.id == Person.household_id).where(Person.id.in_(person_ids))).all()
    return {person.id: (person, "" if person.is_protected or not address else
                        f"{address}, {unit}" if unit else address) for person, address, unit in rows}


def pair_reasons(session: Session, person: Person, other: Person) -> Candidate:
    """Why these two people were offered as duplicates (the same rules as ``find_duplicates``, for two people)."""
    low, high = sorted((person, other), key=lambda p: p.id)
    people = pd.DataFrame({"id": [low.id, high.id], "first": fold_names(pd.Series([low.first_name, high.first_name])),
                           "last": fold_names(pd.Series([low.last_name, high.last_name])),
                           "birth_year": [low.birth_year or 0, high.birth_year or 0],
                           "household_id": [low.household_id or 0, high.household_id or 0]}).set_index("id", drop=False)
    ids = bulk.read_frame(session, select(ExternalId.value, ExternalId.source, ExternalId.person_id).where(
        ExternalId.person_id.in_([low.id, high.id])))
    phones = bulk.read_frame(session, select(Phone.e164, Phone.person_id).where(
        Phone.person_id.in_([low.id, high.id]), Phone.status != PhoneStatus.disconnected))
    scored = _scored(_together([_id_pairs(ids), _same_name_and_birth_year(people), _phone_pairs(phones, people)]),
                     people)
    return candidates(scored, 1)[0] if len(scored) else Candidate(low.id, high.id, 0.0, [])


def _id_pairs(ids: pd.DataFrame) -> pd.DataFrame:
    if ids.empty:
        return _no_pairs()
    ids["person_id"] = ids["person_id"].astype("int64")
    pairs = _pairs_within(ids.drop_duplicates(["value", "person_id"]), "value")
    pairs["reason"] = [{"code": SAME_ID, "value": v, "sources": sorted({a, b})}
                       for v, a, b in zip(pairs["value"], pairs["source"], pairs["source_other"], strict=True)]
    return pairs[["person_id", "other_id", "reason"]]


def _phone_pairs(phones: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    if phones.empty:
        return _no_pairs()
    phones["person_id"] = phones["person_id"].astype("int64")
    pairs = _pairs_within(phones, "e164")
    a, b = people.reindex(pairs["person_id"]), people.reindex(pairs["other_id"])
    keep = (((a["first"].to_numpy() == b["first"].to_numpy()) & (a["first"].to_numpy() != ""))
            | ((a["birth_year"].to_numpy() == b["birth_year"].to_numpy()) & (a["birth_year"].to_numpy() > 0)))
    pairs = pairs[keep]
    pairs["reason"] = [{"code": SAME_PHONE, "phone": number} for number in pairs["e164"]]
    return pairs[["person_id", "other_id", "reason"]]


# ------------------------------------------------------------------------------------------------------------------
# Decisions


class DuplicateError(ValueError):
    """Two records that cannot be reviewed as a pair (the same person twice, or two campaigns)."""


def check_pair(person: Person, other: Person) -> None:
    if person.id == other.id:
        raise DuplicateError("a person is not a duplicate of themselves")
    if person.campaign_id != other.campaign_id:
        raise DuplicateError("people of two campaigns are never duplicates")


def mark_not_duplicates(session: Session, person: Person, other: Person, user: User | None) -> NotDuplicate:
    """Records that the two are different people (idempotent): ``find_duplicates`` never offers them again."""
    check_pair(person, other)
    low, high = sorted((person.id, other.id))
    decision = session.get(NotDuplicate, (low, high))
    if decision is None:
        decision = NotDuplicate(person_id=low, other_id=high, campaign_id=person.campaign_id,
                                decided_by_id=user.id if user else None, decided_at=utcnow())
        session.add(decision)
        session.flush()
        audit.record(session, user, "person.not_duplicate", object_type="person", object_id=low, other_id=high)
    return decision
