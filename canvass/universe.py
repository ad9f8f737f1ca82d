"""A universe: which of a campaign's people and doors a turf cut, a call list or a universe count takes (filters on
the voter file and on what canvassing learned), as SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import bulk
from canvass.i18n import N_, UserError
from canvass.models import Campaign, ContactAttempt, Household, Person, PersonTag, TurfDoor

MAX_AGE = 130
MAX_ID = 2**31 - 1  # a PostgreSQL integer: a larger id names nothing


class UniverseError(UserError):
    """A filter value that cannot be used; the message says which and why."""


@dataclass
class Universe:
    """Which doors of a campaign to cut: every filter narrows; empty filters take everyone."""

    precincts: list[str] = field(default_factory=list)
    zips: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    min_age: int | None = None
    max_age: int | None = None
    tag_ids: list[int] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)  # custom field -> value
    not_reached: bool = False  # nobody at the door has been talked to yet
    today: date | None = None  # the day ages are counted on (default: the day it runs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Universe:
        """The universe a form or command line describes; UniverseError says which value is wrong."""
        def listed(key: str) -> list[str]:
            value = data.get(key) or []
            items = value.split(",") if isinstance(value, str) else value
            return [str(v).strip() for v in items if str(v).strip()]

        def age(key: str) -> int | None:
            value = data.get(key)
            if value in (None, ""):
                return None
            if not str(value).strip().isdigit() or not 0 <= int(value) <= MAX_AGE:
                raise UniverseError(N_("Ages are whole numbers of years between 0 and %(max)s, such as 18 or 65."),
                                max=MAX_AGE)
            return int(value)

        tag_ids = listed("tag_ids")
        if not all(t.isdigit() and 0 < int(t) <= MAX_ID for t in tag_ids):
            raise UniverseError(N_("Choose the tags from the list."))
        return cls(precincts=listed("precincts"), zips=listed("zips"), parties=[p.upper() for p in listed("parties")],
                   languages=[lang.lower() for lang in listed("languages")], min_age=age("min_age"),
                   max_age=age("max_age"), tag_ids=[int(t) for t in tag_ids],
                   custom={str(k): str(v) for k, v in (data.get("custom") or {}).items()},
                   not_reached=bool(data.get("not_reached")))

    def person_filters(self) -> list:
        year = (self.today or date.today()).year
        clauses = []
        if self.precincts:
            clauses.append(Person.precinct.in_(self.precincts))
        if self.parties:
            clauses.append(Person.party.in_(self.parties))
        if self.languages:
            clauses.append(Person.language.in_(self.languages))
        if self.min_age is not None:
            clauses.append(Person.birth_year <= year - self.min_age)
        if self.max_age is not None:
            clauses.append(Person.birth_year >= year - self.max_age)
        if self.tag_ids:
            clauses.append(Person.id.in_(select(PersonTag.person_id).where(PersonTag.tag_id.in_(self.tag_ids))))
        for key, value in self.custom.items():
            clauses.append(Person.custom[key].as_string() == value)
        return clauses


def eligible_people(campaign_id: int, universe: Universe):
    """People who may be knocked: not do-not-contact, deceased, moved or protected, and matching the filters."""
    return select(Person.household_id).where(
        Person.campaign_id == campaign_id, Person.household_id.is_not(None), Person.do_not_contact.is_(False),
        Person.deceased.is_(False), Person.moved.is_(False), Person.is_protected.is_(False),
        *universe.person_filters())


def universe_query(campaign_id: int, universe: Universe) -> sa.Select:
    """The campaign's doors in the universe that are in no turf yet."""
    eligible = eligible_people(campaign_id, universe)
    people_filtered = bool(universe.person_filters())
    in_turf = select(TurfDoor.household_id).where(TurfDoor.campaign_id == campaign_id,
                                                  TurfDoor.household_id == Household.id).exists()
    somebody = select(Person.id).where(Person.household_id == Household.id).exists()
    query = select(Household.id).where(Household.campaign_id == campaign_id, ~in_turf)
    if universe.zips:
        query = query.where(Household.zip5.in_(universe.zips))
    if people_filtered:
        query = query.where(Household.id.in_(eligible))
    else:  # also the doors nobody is listed at (a blind canvass), but not doors where nobody may be knocked
        query = query.where(sa.or_(Household.id.in_(eligible), ~somebody))
    if universe.not_reached:
        reached = select(ContactAttempt.household_id).where(
            ContactAttempt.campaign_id == campaign_id, ContactAttempt.is_contact.is_(True),
            ContactAttempt.undone_at.is_(None), ContactAttempt.household_id.is_not(None))
        query = query.where(Household.id.not_in(reached))
    return query


def universe_counts(session: Session, campaign: Campaign, universe: Universe) -> dict[str, int]:
    """How many doors, and eligible people at them, the universe holds (shown before cutting)."""
    doors = universe_query(campaign.id, universe).subquery()
    door_count = session.execute(select(sa.func.count()).select_from(doors)).scalar_one()
    people = session.execute(select(sa.func.count()).select_from(
        eligible_people(campaign.id, universe).where(Person.household_id.in_(select(doors.c.id))).subquery())
    ).scalar_one()
    return {"doors": door_count, "people": people}


def universe_frame(session: Session, campaign: Campaign, universe: Universe) -> pd.DataFrame:
    doors = universe_query(campaign.id, universe).subquery()
    return bulk.read_frame(session, select(
        Household.id, Household.street, Household.house_number_int, Household.building_key, Household.unit,
        Household.precinct, Household.zip5, Household.city, Household.lat, Household.lon)
        .join(doors, doors.c.id == Household.id))
