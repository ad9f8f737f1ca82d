"""Relational lists: the people a volunteer knows, matched to the campaign's voter file, reached from the volunteer's
own phone with the campaign's script in each person's language, and the reach leads see per volunteer.

People are added a batch at a time (a contacts file, pasted lines, one typed person): matched in bulk (one query for
the candidates, pandas for the scoring), inserted in one statement that skips anyone already on the list. The caller
commits. A volunteer only ever reads their own list (``canvass.access.own_relational``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from canvass import access, bulk, opt_outs
from canvass.i18n import N_, UserError
from canvass.importing.columns import per_unique_text
from canvass.importing.names import name_key
from canvass.models import (
    Campaign,
    Channel,
    ContactAttempt,
    Household,
    Person,
    Phone,
    RelationalMatch,
    RelationalPerson,
    Script,
    User,
    utcnow,
)

EXACT, NEAR = "exact", "near"
SOURCES = ("typed", "pasted", "vcard", "csv")


class RelationalError(UserError):
    """A relational list cannot do this; the message says why."""


# ------------------------------------------------------------------------------------------------------------------
# Matching against the voter file

#: Common short forms of given names (English and Spanish), folded as ``name_key`` folds them: each maps to one
#: form, so "Bob" and "Robert", "Pepe" and "José" compare equal.
NICKNAMES = {
    "ROBERT": ["BOB", "BOBBY", "ROB", "ROBBIE", "BERT"], "WILLIAM": ["BILL", "BILLY", "WILL", "WILLIE", "LIAM"],
    "ELIZABETH": ["LIZ", "LIZZY", "BETH", "BETTY", "ELIZA", "LIZA", "BETSY"], "JAMES": ["JIM", "JIMMY", "JAMIE"],
    "MARGARET": ["MAGGIE", "PEGGY", "MEG", "MARGIE"], "RICHARD": ["RICK", "RICKY", "DICK", "RICH"],
    "MICHAEL": ["MIKE", "MIKEY", "MICKEY"], "JOSEPH": ["JOE", "JOEY"], "THOMAS": ["TOM", "TOMMY"],
    "CHRISTOPHER": ["CHRIS"], "DANIEL": ["DAN", "DANNY"], "ANTHONY": ["TONY"], "KATHERINE": ["KATE", "KATIE",
    "KATHY", "KAT", "CATHERINE", "KATHRYN"], "PATRICIA": ["PAT", "PATTY", "TRISH"], "JENNIFER": ["JEN", "JENNY"],
    "DEBORAH": ["DEB", "DEBBIE", "DEBRA"], "SUSAN": ["SUE", "SUZY"], "EDWARD": ["ED", "EDDIE", "TED"],
    "ALEXANDER": ["ALEX", "SANDY"], "ALEJANDRO": ["ALEX", "ALE"], "ALEXANDRA": ["ALEX", "LEXI", "SANDRA"],
    "BENJAMIN": ["BEN", "BENNY"], "SAMUEL": ["SAM", "SAMMY"], "NICHOLAS": ["NICK", "NICKY"],
    "JOSE": ["PEPE", "CHEPE", "JOSELITO"], "FRANCISCO": ["PACO", "PANCHO", "FRANK", "CISCO"],
    "GUADALUPE": ["LUPE", "LUPITA"], "JESUS": ["CHUY", "CHUCHO"], "ENRIQUE": ["KIKE", "QUIQUE"],
    "GUILLERMO": ["MEMO", "WILLY"], "ROBERTO": ["BETO", "TITO"], "ALBERTO": ["BETO", "TITO"],
    "EDUARDO": ["LALO"], "IGNACIO": ["NACHO"], "CONCEPCION": ["CONCHA", "CONCHITA"], "DOLORES": ["LOLA", "LOLITA"],
    "ROSARIO": ["CHARO"], "MERCEDES": ["MECHE"], "REFUGIO": ["CUCA", "CUQUITA"], "MARIA": ["MARI"],
    "MANUEL": ["MANNY", "MANOLO"], "RAFAEL": ["RAFA"], "GABRIEL": ["GABE"], "GABRIELA": ["GABY", "GABI"],
}
_CANONICAL = {short: full for full, shorts in NICKNAMES.items() for short in shorts}


def _given(key: str) -> str:
    """A folded first name's usual form: its first word, nicknames mapped to the full name."""
    first = key.split(" ")[0] if key else ""
    return _CANONICAL.get(first, first)


def find_matches(session: Session, campaign_id: int, people: pd.DataFrame, *, today: date) -> pd.DataFrame:
    """The likeliest voter for each row of ``people`` (``address_book.COLUMNS``): columns ``suggested_id`` (<NA>
    when none) and ``quality`` (``exact``: same name, nothing disagreeing; ``near``: a nickname, a shortened or
    fuller first name, accents and case aside; ""), indexed like ``people``.

    One query reads the candidates: the campaign's people with one of the folded last names (a range of the
    ``(campaign_id, match_key)`` index, which starts with the folded last name) or one of the phone numbers."""
    wanted = pd.DataFrame({"row": people.index, "last": per_unique_text(people["last_name"], name_key).values,
                           "first": per_unique_text(people["first_name"], name_key).values,
                           "city": per_unique_text(people["city"], name_key).values,
                           "birth_year": (today.year - people["age"]).astype("Int64").values})
    phones = people["phones"].explode().dropna()
    candidates = _candidates(session, campaign_id, sorted(set(wanted["last"]) - {""}), sorted(set(phones)))
    empty = pd.DataFrame({"suggested_id": pd.Series(pd.NA, index=people.index, dtype="Int64"),
                          "quality": pd.Series("", index=people.index, dtype="str")})
    if candidates.empty:
        return empty
    candidates["last"] = per_unique_text(candidates["last_name"], name_key)
    candidates["first"] = per_unique_text(candidates["first_name"], name_key)
    candidates["city_key"] = per_unique_text(candidates["city"].fillna(""), name_key)
    by_name = wanted[wanted["last"] != ""].merge(candidates.drop(columns="e164").drop_duplicates("id"), on="last",
                                                 suffixes=("", "_voter"))
    by_name["last_voter"] = by_name["last"]
    by_phone = pd.DataFrame({"row": phones.index, "e164": phones.values}).merge(candidates[candidates["e164"] != ""],
                                                                               on="e164")
    by_phone = by_phone[["row", "id"]].merge(wanted, on="row").merge(
        candidates.drop(columns="e164").drop_duplicates("id").rename(columns={"first": "first_voter",
                                                                              "last": "last_voter"}),
        on="id", suffixes=("", "_voter"))
    by_phone["same_phone"] = True
    pairs = pd.concat([by_name.assign(same_phone=False), by_phone], ignore_index=True)
    if pairs.empty:
        return empty
    pairs = _scored(pairs)
    pairs = pairs[pairs["score"] > 0].sort_values(["row", "score", "id"], ascending=[True, False, True])
    best = pairs.drop_duplicates("row").set_index("row")
    empty.loc[best.index, "suggested_id"] = best["id"].astype("Int64")
    empty.loc[best.index, "quality"] = best["quality"]
    return empty


def _candidates(session: Session, campaign_id: int, lasts: list[str], phones: list[str]) -> pd.DataFrame:
    """The campaign's people who might be one of them, with their city and each of their numbers ("" when none).
    People met at a door have no match key: they are found by their last name as typed, case aside."""
    if not lasts and not phones:
        return pd.DataFrame()
    by_name = [sa.and_(Person.match_key >= f"{last}|", Person.match_key < f"{last}}}") for last in lasts]
    by_name.append(sa.and_(Person.match_key == "", sa.func.upper(Person.last_name).in_(lasts)))
    by_phone = [Person.id.in_(select(Phone.person_id).where(Phone.e164.in_(phones)))] if phones else []
    query = select(Person.id, Person.first_name, Person.last_name, Person.birth_year, Household.city,
                   sa.func.coalesce(Phone.e164, "").label("e164")) \
        .outerjoin(Household, Household.id == Person.household_id).outerjoin(Phone, Phone.person_id == Person.id) \
        .where(Person.campaign_id == campaign_id, access.shown_at_a_door(), sa.or_(*by_name, *by_phone))
    return bulk.read_frame(session, query)


def _scored(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each (person, voter) pair's score (0: ruled out) and quality, vectorised over the pairs."""
    same_first = pairs["first"] == pairs["first_voter"]
    given, given_voter = pairs["first"].map(_given), pairs["first_voter"].map(_given)
    prefix = pd.Series([bool(a and b and min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)))
                        for a, b in zip(given, given_voter, strict=True)], index=pairs.index, dtype=bool)
    near_first = ~same_first & (((given != "") & (given == given_voter)) | prefix)
    same_last = pairs["last"] == pairs["last_voter"]
    city_known = (pairs["city"] != "") & (pairs["city_key"] != "")
    other_city = city_known & (pairs["city"] != pairs["city_key"])
    years = (pairs["birth_year"] - pairs["birth_year_voter"].astype("Int64")).abs()
    other_age = years.notna() & (years > 2)
    names = same_first | near_first
    score = (names.astype(int) * 4 + same_first.astype(int) * 2 + (city_known & ~other_city).astype(int) * 2
             + (years.notna() & ~other_age).astype(int) * 2 + pairs["same_phone"].astype(int) * 5)
    ruled_out = ~(names | pairs["same_phone"]) | other_age | (other_city & ~pairs["same_phone"])
    exact = same_first & same_last & ~other_city & ~other_age
    return pairs.assign(score=score.where(~ruled_out, 0), quality=pd.Series(NEAR, index=pairs.index).where(~exact, EXACT))


# ------------------------------------------------------------------------------------------------------------------
# Adding people


@dataclass
class Added:
    added: int  # new on the list
    already: int  # on the list already (same name and number)
    suggested: int  # of the new ones, how many have a likely voter to confirm


def add_people(session: Session, user: User, campaign: Campaign, people: pd.DataFrame, source: str, *,
               today: date, language: str = "") -> Added:
    """Puts ``people`` (``address_book.COLUMNS``) on ``user``'s list in ``campaign``, each with the voter canvass
    suggests; people already on it (same folded name and first number) are left as they are."""
    if source not in SOURCES:
        raise ValueError(source)
    if people.empty:
        return Added(0, 0, 0)
    matches = find_matches(session, campaign.id, people, today=today)
    now = utcnow()
    first_phone = people["phones"].map(lambda numbers: numbers[0] if numbers else "")
    keys = per_unique_text(people["name"], name_key).str.slice(0, 96) + "|" + first_phone
    rows = [{"campaign_id": campaign.id, "user_id": user.id, "name": row.name, "first_name": row.first_name,
             "last_name": row.last_name, "phone": phone, "phones": list(row.phones), "email": row.email,
             "city": row.city, "age": None if pd.isna(row.age) else int(row.age), "language": language[:8],
             "source": source, "dedupe_key": key,
             "match": RelationalMatch.suggested.value if pd.notna(suggested) else RelationalMatch.none.value,
             "suggested_id": None if pd.isna(suggested) else int(suggested), "person_id": None, "created_at": now}
            for row, phone, key, suggested in zip(people.itertuples(index=False), first_phone, keys,
                                                  matches["suggested_id"], strict=True)]
    rows = list({row["dedupe_key"]: row for row in rows}.values())  # the same card twice in one file
    table = RelationalPerson.__table__
    insert = pg_insert if bulk.dialect(session) == "postgresql" else sqlite_insert
    statement = insert(table).on_conflict_do_nothing(index_elements=["campaign_id", "user_id", "dedupe_key"]) \
        .returning(table.c.id, table.c.suggested_id)
    inserted = session.connection().execute(statement, rows).all()
    return Added(len(inserted), len(people) - len(inserted), sum(1 for row in inserted if row.suggested_id))


def decide_match(session: Session, person: RelationalPerson, *, confirmed: bool) -> RelationalPerson:
    """The volunteer says the suggested voter is (``confirmed``) or is not their person."""
    if confirmed and person.suggested_id is None:
        raise RelationalError(N_("There is no suggestion to confirm for this person."))
    person.person_id = person.suggested_id if confirmed else None
    person.match = RelationalMatch.confirmed if confirmed else RelationalMatch.not_listed
    person.matched_at = utcnow()
    session.add(person)
    return person


# ------------------------------------------------------------------------------------------------------------------
# The volunteer's list


def relational_script(session: Session, campaign_id: int) -> dict[str, str]:
    """The campaign's text for reaching people one knows, by language: the relational script where written, else
    the phone script, else the door script."""
    scripts = session.exec(select(Script).where(Script.campaign_id == campaign_id, Script.body != "")).all()
    chosen: dict[str, str] = {}
    for channel in (Channel.door, Channel.phone, Channel.relational):  # later channels win
        chosen.update({s.language: s.body for s in scripts if s.channel == channel})
    return chosen


def message_for(scripts: dict[str, str], language: str, fallback: str, *, volunteer: str, first_name: str
                ) -> tuple[str, str]:
    """(language, text) of the message for one person: in ``language``, else ``fallback``, else English."""
    chosen = next((lang for lang in (language, fallback, "en") if lang and lang in scripts), next(iter(scripts), ""))
    if not chosen:
        return "", ""
    text = scripts[chosen].replace("{volunteer}", volunteer).replace("{name}", first_name)
    return chosen, text


def my_list(session: Session, user: User, campaign: Campaign, *, volunteer_language: str, today: date
            ) -> list[dict[str, Any]]:
    """``user``'s people in ``campaign``, newest first, each with the voter suggested or confirmed, the language
    and text of the message, tel: and sms: links, and the last result logged. Reads only."""
    voter = sa.orm.aliased(Person)
    rows = session.execute(
        select(RelationalPerson, voter.first_name, voter.last_name, voter.birth_year, voter.language,
               Household.city, opt_outs.closed_to("relational", voter), voter.deceased)
        .outerjoin(voter, voter.id == sa.func.coalesce(RelationalPerson.person_id, RelationalPerson.suggested_id))
        .outerjoin(Household, Household.id == voter.household_id)
        .where(access.own_relational(user.id), RelationalPerson.campaign_id == campaign.id)
        .order_by(RelationalPerson.created_at.desc(), RelationalPerson.id.desc())).all()
    last = _last_results(session, [row[0].id for row in rows])
    scripts = relational_script(session, campaign.id)
    people = []
    for person, first, last_name, birth_year, voter_language, city, listed, deceased in rows:
        confirmed = person.match == RelationalMatch.confirmed
        language = (voter_language if confirmed and voter_language else "") or person.language
        message_language, text = message_for(scripts, language, volunteer_language, volunteer=user.display_name,
                                              first_name=person.first_name or person.name)
        people.append({
            "id": person.id, "name": person.name, "phone": person.phone, "city": person.city, "age": person.age,
            "match": str(person.match), "language": language,
            "voter": None if first is None else {"name": f"{first} {last_name}".strip(), "city": city or "",
                                                 "age": (today.year - birth_year) if birth_year else None},
            "opted_out": bool(confirmed and (listed or deceased)),  # on the do-not-contact list (canvass.opt_outs)
            "message_language": message_language, "message": text,
            "tel": f"tel:{person.phone}" if person.phone else "",
            "sms": f"sms:{person.phone}?&body={quote(text)}" if person.phone else "",
            "last_result": last.get(person.id, "")})
    return people


def _last_results(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    newest = select(ContactAttempt.relational_id, ContactAttempt.result_code,
                    sa.func.row_number().over(partition_by=ContactAttempt.relational_id,
                                              order_by=(ContactAttempt.contacted_at.desc(), ContactAttempt.id.desc()))
                    .label("n")).where(ContactAttempt.relational_id.in_(ids), ContactAttempt.undone_at.is_(None)) \
        .subquery()
    return dict(session.execute(select(newest.c.relational_id, newest.c.result_code).where(newest.c.n == 1)).all())


# ------------------------------------------------------------------------------------------------------------------
# Reach, for leads


def reach(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Per volunteer with a list in ``campaign``: people added, matched to a voter (confirmed), reached (a result
    that counts as a conversation), and attempts. Counts only: leads do not see who is on a volunteer's list."""
    people = RelationalPerson.__table__
    contact = ContactAttempt.__table__
    contacts = sa.select(contact.c.relational_id, sa.func.count().label("attempts"),
                         sa.func.max(sa.case((contact.c.is_contact, 1), else_=0)).label("reached")) \
        .where(contact.c.campaign_id == campaign.id, contact.c.channel == Channel.relational.value,
               contact.c.relational_id.is_not(None), contact.c.undone_at.is_(None)) \
        .group_by(contact.c.relational_id).subquery()
    query = sa.select(User.id, User.name, User.email, sa.func.count(people.c.id).label("added"),
                      sa.func.sum(sa.case((people.c.match == RelationalMatch.confirmed.value, 1), else_=0)),
                      sa.func.coalesce(sa.func.sum(contacts.c.reached), 0),
                      sa.func.coalesce(sa.func.sum(contacts.c.attempts), 0)) \
        .select_from(people.join(User, User.id == people.c.user_id)
                     .outerjoin(contacts, contacts.c.relational_id == people.c.id)) \
        .where(people.c.campaign_id == campaign.id).group_by(User.id, User.name, User.email) \
        .order_by(sa.func.count(people.c.id).desc(), User.email)
    return [{"volunteer": name or email.split("@")[0], "added": added, "matched": int(matched or 0),
             "reached": int(reached), "attempts": int(attempts)}
            for _id, name, email, added, matched, reached, attempts in session.execute(query)]

