"""A universe: which of a campaign's people and doors a turf cut, a call list or a universe count takes (filters on
the voter file and on what canvassing learned), as SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import bulk, opt_outs, recontact, turnout
from canvass.i18n import N_, UserError
from canvass.models import (
    Campaign,
    ContactAttempt,
    ElectionKind,
    Household,
    Person,
    PersonTag,
    Turf,
    TurfDoor,
    TurfStatus,
    utcnow,
)

MAX_AGE = 130
MAX_ID = 2**31 - 1  # a PostgreSQL integer: a larger id names nothing
MAX_ELECTIONS = 50


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
    next_pass: bool = False  # only people the re-contact rules bring back (canvass.recontact), doors of closed turfs too
    now: datetime | None = None  # the moment re-contact waits are counted to (default: when it runs)
    today: date | None = None  # the day ages are counted on (default: the day it runs)
    # Vote history (canvass.turnout): "voted in at most 1 of the last 4 generals", "turnout at most 50%" ...
    election_kind: ElectionKind = ElectionKind.general
    last_elections: int | None = None  # the campaign's last N elections of that kind ...
    voted_at_least: int | None = None  # ... of which the person voted in at least
    voted_at_most: int | None = None  # ... and at most so many
    max_turnout: int | None = None  # percent of the elections of that kind they were registered for
    never_voted: bool = False  # no vote on record at all
    registered_since: str = ""  # new registrants: registered on or after this day (YYYY-MM-DD; text, as a call
    # list keeps its universe in JSON)

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
                   not_reached=bool(data.get("not_reached")), next_pass=bool(data.get("next_pass")),
                   **_turnout_values(data))

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
        return clauses + self._turnout_filters()

    def _turnout_filters(self) -> list:
        clauses = []
        if self.last_elections:
            clauses += turnout.voted_in_last(self.election_kind, self.last_elections,
                                             at_least=self.voted_at_least, at_most=self.voted_at_most)
        if self.max_turnout is not None:
            clauses.append(turnout.turnout_at_most(self.election_kind, self.max_turnout))
        if self.never_voted:
            clauses.append(turnout.never_voted())
        if self.registered_since:
            clauses.append(turnout.registered_since(date.fromisoformat(self.registered_since)))
        return clauses

    def campaign_filters(self, campaign_id: int) -> list:
        """The person filters, and the re-contact rules' for a next pass (which need the campaign)."""
        clauses = self.person_filters()
        if self.next_pass:
            clauses.append(Person.id.in_(recontact.due_people(campaign_id, self.now or utcnow())))
        return clauses

    def people_query(self, campaign_id: int) -> sa.Select:
        """The ids of the campaign's people in the universe (doors and what canvassing learned aside: an export
        of results takes everyone the filters describe)."""
        query = select(Person.id).where(Person.campaign_id == campaign_id, *self.campaign_filters(campaign_id))
        if self.zips:
            query = query.where(Person.household_id.in_(select(Household.id).where(
                Household.campaign_id == campaign_id, Household.zip5.in_(self.zips))))
        return query

    @property
    def chooses_people(self) -> bool:
        return bool(self.person_filters() or self.zips or self.next_pass)


def _turnout_values(data: dict[str, Any]) -> dict[str, Any]:
    """The vote-history filters of a form or command line; UniverseError says which value is wrong."""
    kind = str(data.get("election_kind") or ElectionKind.general.value)
    if kind not in ElectionKind.__members__:
        raise UniverseError(N_("Choose general, primary, municipal or other elections."))
    last, at_least, at_most = (_count(data, "last_elections", 1), _count(data, "voted_at_least"),
                               _count(data, "voted_at_most"))
    if (at_least is not None or at_most is not None) and last is None:
        raise UniverseError(N_("Say how many of the last elections to count (for example the last 4)."))
    if last is not None and at_least is None and at_most is None:
        raise UniverseError(N_("Say in at least or at most how many of the last %(count)s elections they voted."),
                            count=last)
    if last is not None and max(at_least or 0, at_most or 0) > last:
        raise UniverseError(N_("They cannot have voted in more than the last %(count)s elections."), count=last)
    return {"election_kind": ElectionKind(kind), "last_elections": last, "voted_at_least": at_least,
            "voted_at_most": at_most, "max_turnout": _percent(data.get("max_turnout")),
            "never_voted": bool(data.get("never_voted")), "registered_since": _day(data.get("registered_since"))}


def _count(data: dict[str, Any], key: str, low: int = 0) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if not str(value).strip().isdigit() or not low <= int(value) <= MAX_ELECTIONS:
        raise UniverseError(N_("Election counts are whole numbers from %(low)s to %(high)s."), low=low,
                            high=MAX_ELECTIONS)
    return int(value)


def _percent(value) -> int | None:
    if value in (None, ""):
        return None
    if not str(value).strip().isdigit() or int(value) > 100:
        raise UniverseError(N_("Turnout is a percentage, a whole number from 0 to 100."))
    return int(value)


def _day(value) -> str:
    """A day as YYYY-MM-DD text (how a call list's universe keeps it in JSON), or blank."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    if not str(value or "").strip():
        return ""
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError as exc:
        raise UniverseError(N_("Give the registration date as YYYY-MM-DD, such as 2024-01-31.")) from exc


def eligible_people(campaign_id: int, universe: Universe):
    """People who may be knocked: not on the do-not-contact list for doors, not deceased, moved or protected, and
    matching the filters."""
    return select(Person.household_id).where(
        Person.campaign_id == campaign_id, Person.household_id.is_not(None), opt_outs.open_to("door"),
        Person.deceased.is_(False), Person.moved.is_(False), Person.is_protected.is_(False),
        *universe.campaign_filters(campaign_id))


def universe_query(campaign_id: int, universe: Universe) -> sa.Select:
    """The campaign's doors in the universe that are in no turf yet (for a next pass: in no open turf)."""
    eligible = eligible_people(campaign_id, universe)
    people_filtered = bool(universe.person_filters()) or universe.next_pass
    in_turf = select(TurfDoor.household_id).where(TurfDoor.campaign_id == campaign_id,
                                                  TurfDoor.household_id == Household.id)
    if universe.next_pass:
        in_turf = in_turf.join(Turf, Turf.id == TurfDoor.turf_id).where(Turf.status == TurfStatus.active)
    in_turf = in_turf.exists()
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
