"""What a batch of contacts is checked against, read in a fixed handful of statements whatever its size: the people
and doors it names (and which of its turfs each door is on), for the sync API also the user and the campaigns of the
turfs they may work (one round trip), the campaign's result codes (cached per process by their version) and survey.

The hot path of every sync request reads plain rows through the Core connection: no ORM objects to build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass.access import may_work_turf, own_relational
from canvass.models import (
    CallList,
    Campaign,
    Household,
    Person,
    RelationalPerson,
    ResultCode,
    SurveyOption,
    SurveyQuestion,
    Turf,
    TurfDoor,
    User,
)

if TYPE_CHECKING:  # contacts imports this module
    from canvass.contact_input import ContactIn

#: Result codes by ``Campaign.codes_version``, shared by the threads of a process; a new version is a miss.
_CODES_BY_VERSION: dict[str, dict[str, Any]] = {}
MAX_CACHED_CAMPAIGNS = 256


def code_rules(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The campaign's active result codes as rows with what logging and the rules need.

    Kept in memory by the campaign's codes version, which is on the campaign row every request reads anyway: a code
    edited in any process changes the version, so no process keeps using the old codes."""
    version = campaign.codes_version
    if version and version in _CODES_BY_VERSION:
        return _CODES_BY_VERSION[version]
    table = ResultCode.__table__
    query = sa.select(table.c.code, table.c.label, table.c.channel, table.c.is_contact, table.c.is_final,
                      table.c.suppresses) \
        .where(table.c.campaign_id == campaign.id, table.c.active.is_(True))
    codes = {row.code: row for row in session.connection().execute(query)}
    if version:
        if len(_CODES_BY_VERSION) >= MAX_CACHED_CAMPAIGNS:
            _CODES_BY_VERSION.clear()
        _CODES_BY_VERSION[version] = codes
    return codes



@dataclass
class DoorOnTurfs:
    """A door a batch names, and which of the batch's turfs it is on."""

    id: int
    campaign_id: int
    turfs: set[int]  # those of the batch's turfs (``:turf_ids``) this door is on


@dataclass
class CampaignRef:
    """What logging needs of a campaign (see ``log_contacts``)."""

    id: int
    codes_version: str
    closed: bool = False  # closed to new contacts (canvass.retention)


@dataclass
class BatchRead:
    """What a sync batch is checked against, read in one statement (one round trip) by ``read_for_sync``."""

    user: Any = None  # row with id, role, active and key (the user's sign-in key), when asked for
    campaigns: dict[int, CampaignRef] = field(default_factory=dict)  # turf id -> its campaign, if the user may open it
    people: dict[int, Any] = field(default_factory=dict)  # rows with id, campaign_id, household_id
    doors: dict[int, DoorOnTurfs] = field(default_factory=dict)  # the doors named and the named people's doors


def _people_and_doors_query(*, with_user: bool) -> sa.CompoundSelect:
    """People ``:person_ids``, their doors and doors ``:household_ids``; a door comes once for each of turfs
    ``:turf_ids`` it is on (once with no turf when none). ``with_user`` adds the row of user ``:user_id`` and, for each
    of ``:turf_ids`` that user may work (log contacts on), its campaign. Built once per form: every sync request runs it."""
    person, household, door, campaign, turf, user = (model.__table__ for model in (Person, Household, TurfDoor,
                                                                                  Campaign, Turf, User))
    person_ids, household_ids, turf_ids = (sa.bindparam(name, expanding=True)
                                           for name in ("person_ids", "household_ids", "turf_ids"))
    text, number, flag = sa.cast(sa.null(), sa.Text), sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.Boolean)
    # Every branch has the same columns: kind, id, campaign_id, household_id, turf_id, key, role, active (key: the
    # user's sign-in key, or the campaign's codes version; active: the user's, or for a campaign whether it is
    # closed).
    people = sa.select(sa.literal("person").label("kind"), person.c.id, person.c.campaign_id, person.c.household_id,
                       number.label("turf_id"), text.label("key"), text.label("role"), flag.label("active")) \
        .where(person.c.id.in_(person_ids))
    door_columns = (sa.literal("door"), household.c.id, household.c.campaign_id, number, door.c.turf_id, text, text,
                    flag)
    on_turfs = sa.and_(door.c.household_id == household.c.id, door.c.turf_id.in_(turf_ids))
    named_doors = sa.select(*door_columns).select_from(household.outerjoin(door, on_turfs)) \
        .where(household.c.id.in_(household_ids))
    # A join, not "id IN (...) OR id IN (subquery)": PostgreSQL answers that OR with a scan of every door.
    their_doors = sa.select(*door_columns).select_from(
        household.join(person, person.c.household_id == household.c.id).outerjoin(door, on_turfs)) \
        .where(person.c.id.in_(person_ids))
    branches = [people, named_doors, their_doors]
    if with_user:
        user_id = sa.bindparam("user_id")
        branches.append(sa.select(sa.literal("user"), user.c.id, number, number, number, user.c.sign_in_key,
                                  user.c.role, user.c.is_active).where(user.c.id == user_id))
        branches.append(sa.select(sa.literal("campaign"), campaign.c.id, campaign.c.id, number, turf.c.id,
                                  campaign.c.codes_version, text, campaign.c.closed_at.is_not(None))
                        .select_from(turf.join(campaign, campaign.c.id == turf.c.campaign_id)
                                     .join(user, user.c.id == user_id))
                        .where(turf.c.id.in_(turf_ids), may_work_turf(user.c.id, user.c.role)))
    return sa.union_all(*branches)


PEOPLE_AND_DOORS = _people_and_doors_query(with_user=False)
_SYNC_READ = _people_and_doors_query(with_user=True)


def read_for_sync(session: Session, user_id: int, items: list[ContactIn]) -> BatchRead:
    """For the sync API, in one round trip: user ``user_id`` (for the caller to check the sign-in against), the
    campaigns of the turfs the items name that this user may open, and the items' people and doors."""
    turf_ids = {item.turf_id for item in items if item.turf_id}
    return read_batch(session, _SYNC_READ, {**batch_params(items, turf_ids), "user_id": user_id})


def batch_params(items: list[ContactIn], turf_ids: set[int]) -> dict[str, list[int]]:
    """The people and doors the items name, and the turfs their doors are looked up on."""
    return {"person_ids": list({item.person_id for item in items if item.person_id}),
            "household_ids": list({item.household_id for item in items if item.household_id}),
            "turf_ids": list(turf_ids)}


def read_batch(session: Session, statement: sa.CompoundSelect, params: dict[str, Any]) -> BatchRead:
    read = BatchRead()
    if not (params["person_ids"] or params["household_ids"] or "user_id" in params):
        return read
    for row in session.connection().execute(statement, params):
        if row.kind == "person":
            read.people[row.id] = row
        elif row.kind == "door":
            door = read.doors.setdefault(row.id, DoorOnTurfs(row.id, row.campaign_id, set()))
            if row.turf_id is not None:
                door.turfs.add(row.turf_id)
        elif row.kind == "user":
            read.user = row
        else:
            read.campaigns[row.turf_id] = CampaignRef(row.id, row.key, bool(row.active))
    return read


def call_list_campaigns(session: Session, items: list[ContactIn]) -> dict[int, int]:
    ids = {item.call_list_id for item in items if item.call_list_id}
    return {row.id: row.campaign_id for row in rows_by_id(session, [CallList.id, CallList.campaign_id], ids).values()}


def relational_rows(session: Session, items: list[ContactIn]) -> dict[int, Any]:
    """The relational people the items name: id, user_id, campaign_id, person_id."""
    ids = {item.relational_id for item in items if item.relational_id}
    return rows_by_id(session, [RelationalPerson.id, RelationalPerson.user_id, RelationalPerson.campaign_id,
                                RelationalPerson.person_id], ids)


def relational_campaigns(session: Session, user_id: int, items: list[ContactIn]) -> dict[int, CampaignRef]:
    """For the sync API: relational person id -> its campaign, for the people the items name that are on user
    ``user_id``'s own list (anyone else's is left out, so their contacts are refused)."""
    ids = {item.relational_id for item in items if item.relational_id}
    if not ids:
        return {}
    query = sa.select(RelationalPerson.id, Campaign.id.label("campaign_id"), Campaign.codes_version,
                      Campaign.closed_at) \
        .join(Campaign, Campaign.id == RelationalPerson.campaign_id) \
        .where(RelationalPerson.id.in_(ids), own_relational(user_id))
    return {row.id: CampaignRef(row.campaign_id, row.codes_version, row.closed_at is not None)
            for row in session.execute(query)}


def rows_by_id(session: Session, columns: list, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    table = columns[0].class_.__table__
    query = sa.select(*(table.c[column.key] for column in columns)).where(table.c.id.in_(ids))
    return {row.id: row for row in session.connection().execute(query)}


def survey_of(session: Session, campaign_id: int) -> dict[str, tuple[SurveyQuestion, dict[str, SurveyOption]]]:
    questions = session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign_id)).all()
    options = session.exec(select(SurveyOption).where(SurveyOption.question_id.in_([q.id for q in questions]))).all()
    by_question: dict[int, dict[str, SurveyOption]] = {}
    for option in options:
        by_question.setdefault(option.question_id, {})[option.code] = option
    return {q.code: (q, by_question.get(q.id, {})) for q in questions}


