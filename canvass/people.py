"""People: finding them, and everything known about one of them (their do-not-contact entries: ``canvass.opt_outs``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import turnout
from canvass.models import (
    ContactAttempt,
    Email,
    ExternalId,
    Household,
    Person,
    PersonTag,
    Phone,
    Tag,
    User,
)


@dataclass
class PersonDetail:
    person: Person
    household: Household | None
    phones: list[Phone]
    emails: list[Email]
    ids: list[ExternalId]
    tags: list[Tag]
    contacts: list[dict[str, Any]]
    turnout: list[turnout.Score]  # per kind of election
    votes: list[turnout.PersonVote]  # latest first


def full_name(person: Person) -> str:
    return " ".join(p for p in (person.first_name, person.middle_name, person.last_name, person.suffix) if p) or "—"


def person_detail(session: Session, person_id: int) -> PersonDetail | None:
    person = session.get(Person, person_id)
    if person is None:
        return None
    household = session.get(Household, person.household_id) if person.household_id and not person.is_protected else None
    contacts = session.execute(
        select(ContactAttempt.contacted_at, ContactAttempt.channel, ContactAttempt.result_code, ContactAttempt.notes,
               ContactAttempt.undone_at, User.name, User.email)
        .outerjoin(User, User.id == ContactAttempt.user_id)
        .where(ContactAttempt.person_id == person_id).order_by(ContactAttempt.contacted_at.desc())).all()
    return PersonDetail(
        person=person, household=household,
        phones=list(session.exec(select(Phone).where(Phone.person_id == person_id).order_by(Phone.rank))),
        emails=list(session.exec(select(Email).where(Email.person_id == person_id))),
        ids=list(session.exec(select(ExternalId).where(ExternalId.person_id == person_id))),
        tags=list(session.exec(select(Tag).join(PersonTag, PersonTag.tag_id == Tag.id)
                               .where(PersonTag.person_id == person_id))),
        contacts=[dict(row._mapping) for row in contacts], turnout=turnout.person_scores(session, person),
        votes=turnout.person_votes(session, person_id))


def search_people(session: Session, campaign_id: int, query: str, limit: int = 50) -> list[tuple[Person, str]]:
    """People whose name, ID, phone or email contains ``query`` (protected records show no address)."""
    terms = [t for t in query.strip().split() if t]
    statement = select(Person, Household.address).outerjoin(Household, Household.id == Person.household_id).where(
        Person.campaign_id == campaign_id)
    for term in terms:
        like = f"%{term.lower()}%"
        digits = "".join(ch for ch in term if ch.isdigit())
        matches = [sa.func.lower(Person.first_name).like(like), sa.func.lower(Person.last_name).like(like),
                   sa.func.lower(Person.email).like(like),
                   Person.id.in_(select(ExternalId.person_id).where(ExternalId.value == term))]
        if len(digits) >= 4:
            matches.append(Person.id.in_(select(Phone.person_id).where(Phone.e164.like(f"%{digits}%"))))
        statement = statement.where(sa.or_(*matches))
    rows = session.execute(statement.order_by(Person.last_name, Person.first_name).limit(limit)).all()
    return [(person, "" if person.is_protected else (address or "")) for person, address in rows]


def person_phones(session: Session, person_id: int) -> list[Phone]:
    return list(session.exec(select(Phone).where(Phone.person_id == person_id).order_by(Phone.rank)))
