"""Logging contacts (a knock or a call and its result), exactly once, and what each result code then does.

Every contact carries a UUID made by the device that logged it; the same UUID sent again (a retry, a double tap, a
second device replaying a queue) is answered "duplicate" and stored nothing. The caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import field_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, select

from canvass.access import may_work_turf
from canvass.i18n import N_, UserError
from canvass.models import (
    CallList,
    Campaign,
    Channel,
    ContactAttempt,
    Household,
    Person,
    PersonTag,
    Phone,
    PhoneStatus,
    QuestionKind,
    ResultCode,
    Suppression,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
    Tag,
    Turf,
    TurfDoor,
    User,
    utcnow,
)

MAX_NOTES = 2000
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little fast; never accept a contact from the future
OLDEST_ACCEPTED = timedelta(days=30)  # an offline queue may hold a contact this long


#: Ids are PostgreSQL integers: a larger number names nothing, and would fail the whole batch's query.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A survey answer: an option code, several (a multiple-choice question) or free text.
Answer = Annotated[str, Field(max_length=MAX_NOTES)] | Annotated[list[Annotated[str, Field(max_length=64)]],
                                                                  Field(max_length=50)]


class ContactIn(SQLModel):
    """A contact as the form, the JSON API, the CLI and the tests send it. Anything that could not be stored is
    refused here, item by item, so one bad item never fails a phone's whole batch."""

    client_uuid: uuid.UUID
    person_id: RowId | None = None
    household_id: RowId | None = None
    turf_id: RowId | None = None
    call_list_id: RowId | None = None
    phone_id: RowId | None = None
    channel: Channel = Channel.door
    result_code: str = Field(min_length=1, max_length=16)
    answers: dict[Annotated[str, Field(max_length=64)], Answer | None] = Field(default_factory=dict, max_length=100)
    notes: str = Field(default="", max_length=MAX_NOTES)
    language_heard: str = Field(default="", max_length=8)
    followups: list[RowId] = Field(default_factory=list, max_length=50)  # tag ids
    contacted_at: datetime | None = None

    @field_validator("result_code")
    @classmethod
    def upper_code(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("result_code", "notes", "language_heard", "answers")
    @classmethod
    def no_nul(cls, value):
        """A NUL character is never typed; no database stores it in text (PostgreSQL refuses it)."""
        if _holds_nul(value):
            raise ValueError("must not contain a NUL character")
        return value


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


NOT_YOURS = N_("This door or person is not on your list.")


def not_yours() -> ContactRejected:
    return ContactRejected(NOT_YOURS)


class ContactRejected(UserError):
    """This contact cannot be stored; the message says why (shown to the volunteer)."""


@dataclass
class ItemResult:
    client_uuid: str
    status: str  # created | duplicate | rejected
    contact_id: int | None = None
    error: str = ""  # why it was rejected, in English
    problem: UserError | None = None  # the same, for any language

    def error_in(self, gettext) -> str:
        return self.problem.in_language(gettext) if self.problem is not None else self.error

    def as_dict(self, gettext=None) -> dict[str, Any]:
        """For the API, with the reason in the reader's language when ``gettext`` is given."""
        return {"client_uuid": self.client_uuid, "status": self.status, "contact_id": self.contact_id,
                "error": self.error_in(gettext) if gettext else self.error}


def result_codes(session: Session, campaign_id: int, channel: Channel | None = None) -> list[ResultCode]:
    query = select(ResultCode).where(ResultCode.campaign_id == campaign_id, ResultCode.active.is_(True)) \
        .order_by(ResultCode.position)
    codes = session.exec(query).all()
    return [c for c in codes if channel is None or c.channel in (channel.value, "both")]


def log_contacts(session: Session, user: User, campaign: Campaign, items: list[ContactIn], *,
                 on_turfs: set[int] | None = None,
                 read: SyncRead | None = None, now: datetime | None = None) -> list[ItemResult]:
    """Stores each new contact once and applies its result code's rules; returns a status per item, in order.

    With ``on_turfs``, only doors on one of those turfs may be logged, checked in the same query that reads the doors
    (``access.turfs_to_log_on`` says which turfs a user's batch may log on; None: any door of the campaign).
    ``campaign`` needs only ``id`` and ``codes_stamp``. ``read`` is the batch's people and doors when the caller has
    read them already (``read_for_sync``).

    A batch costs a fixed handful of queries, whatever its size: the people and doors it names are read together,
    every item is checked before anything is written, and the new contacts go in as one
    INSERT ... ON CONFLICT (client_uuid) DO NOTHING. A rejected item therefore never leaves half a contact behind.
    Only the items that did not go in (or were rejected) are then looked up by UUID: those already stored, by an
    earlier send or a concurrent request, are answered "duplicate"."""
    now = now or utcnow()
    session.flush()  # the reads below go through the Core connection, which does not autoflush
    context = _BatchContext.load(session, campaign, items, on_turfs, read)
    results: list[ItemResult | None] = [None] * len(items)
    ready: dict[uuid.UUID, tuple[int, _Checked]] = {}
    repeats: list[int] = []
    rejected: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        if item.client_uuid in ready:
            repeats.append(index)  # the same UUID twice in one batch: answered after the first is stored
            continue
        try:
            ready[item.client_uuid] = (index, _check(context, user, item, now))
        except ContactRejected as exc:
            rejected.append((index, exc))
    inserted = _insert_new(session, [checked.values for _index, checked in ready.values()])
    answers, not_inserted = [], []
    for client_uuid, (index, checked) in ready.items():
        contact_id = inserted.get(client_uuid)
        if contact_id is None:
            not_inserted.append(index)  # already stored: sent before, or by a concurrent request
            continue
        effects = _apply_rules_if_any(session, checked, now)
        if effects:
            session.execute(sa.update(ContactAttempt).where(ContactAttempt.id == contact_id).values(effects=effects))
        answers.extend({**row, "contact_id": contact_id} for row in checked.answers)
        _add_followups(session, context, checked.person and checked.person.id, checked.item.followups, user, now)
        results[index] = ItemResult(str(client_uuid), "created", contact_id)
    if answers:
        session.execute(sa.insert(SurveyResponse), answers)
    # A contact stored earlier stays "duplicate" even if it would not pass the checks today (its turf reassigned,
    # its code retired): the phone must learn that it is safe, not that it failed.
    unsure = not_inserted + [index for index, _error in rejected]
    stored = stored_contact_ids(session, [items[index].client_uuid for index in unsure]) if unsure else {}
    for index in not_inserted:
        results[index] = ItemResult(str(items[index].client_uuid), "duplicate", stored.get(items[index].client_uuid))
    for index, error in rejected:
        results[index] = refusal(stored, items[index].client_uuid, error)
    for index in repeats:
        first = results[ready[items[index].client_uuid][0]]
        results[index] = ItemResult(first.client_uuid, "duplicate", first.contact_id)
    return results


@dataclass
class _BatchContext:
    """What a batch's items are checked against, read once per batch.

    People, doors and phones are read as the few columns the checks need (rows with ``.id``, ``.campaign_id``,
    ``.household_id``, ``.person_id``), not as full objects: a voter row carries custom fields and vote history.
    The survey and tags are read only when some item uses them."""

    campaign: Campaign
    codes: dict[str, ResultCode]
    survey: dict[str, tuple[SurveyQuestion, dict[str, SurveyOption]]]
    people: dict[int, Any]
    households: dict[int, Door]
    phones: dict[int, Any]
    tags: set[int]
    on_turfs: set[int] | None  # when set, only doors on one of these turfs may be logged
    call_lists: dict[int, int]  # the call lists the items name -> their campaign

    @classmethod
    def load(cls, session: Session, campaign: Campaign, items: list[ContactIn], on_turfs: set[int] | None = None,
             read: SyncRead | None = None) -> _BatchContext:
        if read is None:
            read = _read(session, _PEOPLE_AND_DOORS, _batch_params(items, on_turfs or set()))
        people, households = read.people, read.doors
        tag_ids = {tag for item in items for tag in item.followups}
        tags = set(session.exec(select(Tag.id).where(Tag.campaign_id == campaign.id, Tag.id.in_(tag_ids))).all()) \
            if tag_ids else set()
        survey = _survey(session, campaign.id) if any(item.answers for item in items) else {}
        return cls(campaign=campaign, codes=_code_rules(session, campaign),
                   survey=survey, people=people, households=households,
                   phones=_rows_by_id(session, [Phone.id, Phone.person_id],
                                      {item.phone_id for item in items if item.phone_id}), tags=tags,
                   on_turfs=on_turfs, call_lists=_call_list_campaigns(session, items))


# The hot path of every sync request reads plain rows through the Core connection: no ORM objects to build.

#: Result codes by ``Campaign.codes_stamp``, shared by the threads of a process; a new stamp is a miss.
_CODES_BY_STAMP: dict[str, dict[str, Any]] = {}
MAX_CACHED_CAMPAIGNS = 256


def _code_rules(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The campaign's active result codes as rows with what logging and the rules need.

    Kept in memory by the campaign's codes stamp, which is on the campaign row every request reads anyway: a code
    edited in any process changes the stamp, so no process keeps using the old codes."""
    stamp = campaign.codes_stamp
    if stamp and stamp in _CODES_BY_STAMP:
        return _CODES_BY_STAMP[stamp]
    table = ResultCode.__table__
    query = sa.select(table.c.code, table.c.label, table.c.channel, table.c.is_contact, table.c.suppresses) \
        .where(table.c.campaign_id == campaign.id, table.c.active.is_(True))
    codes = {row.code: row for row in session.connection().execute(query)}
    if stamp:
        if len(_CODES_BY_STAMP) >= MAX_CACHED_CAMPAIGNS:
            _CODES_BY_STAMP.clear()
        _CODES_BY_STAMP[stamp] = codes
    return codes


@dataclass
class Door:
    id: int
    campaign_id: int
    turfs: set[int]  # those of the batch's turfs (``:turf_ids``) this door is on


@dataclass
class CampaignRef:
    """What logging needs of a campaign (see ``log_contacts``)."""

    id: int
    codes_stamp: str


@dataclass
class SyncRead:
    """What a sync batch is checked against, read in one statement (one round trip) by ``read_for_sync``."""

    user: Any = None  # row with id, role, active and stamp (the password hash), when asked for
    campaigns: dict[int, CampaignRef] = field(default_factory=dict)  # turf id -> its campaign, if the user may open it
    people: dict[int, Any] = field(default_factory=dict)  # rows with id, campaign_id, household_id
    doors: dict[int, Door] = field(default_factory=dict)  # the doors named and the named people's doors


def _people_and_doors_query(*, with_user: bool) -> sa.CompoundSelect:
    """People ``:person_ids``, their doors and doors ``:household_ids``; a door comes once for each of turfs
    ``:turf_ids`` it is on (once with no turf when none). ``with_user`` adds the row of user ``:user_id`` and, for each
    of ``:turf_ids`` that user may work (log contacts on), its campaign. Built once per form: every sync request runs it."""
    person, household, door, campaign, turf, user = (model.__table__ for model in (Person, Household, TurfDoor,
                                                                                  Campaign, Turf, User))
    person_ids, household_ids, turf_ids = (sa.bindparam(name, expanding=True)
                                           for name in ("person_ids", "household_ids", "turf_ids"))
    text, number, flag = sa.cast(sa.null(), sa.Text), sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.Boolean)
    # Every branch has the same columns: kind, id, campaign_id, household_id, turf_id, stamp, role, active.
    people = sa.select(sa.literal("person").label("kind"), person.c.id, person.c.campaign_id, person.c.household_id,
                       number.label("turf_id"), text.label("stamp"), text.label("role"), flag.label("active")) \
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
                                  campaign.c.codes_stamp, text, flag)
                        .select_from(turf.join(campaign, campaign.c.id == turf.c.campaign_id)
                                     .join(user, user.c.id == user_id))
                        .where(turf.c.id.in_(turf_ids), may_work_turf(user.c.id, user.c.role)))
    return sa.union_all(*branches)


_PEOPLE_AND_DOORS = _people_and_doors_query(with_user=False)
_SYNC_READ = _people_and_doors_query(with_user=True)


def read_for_sync(session: Session, user_id: int, items: list[ContactIn]) -> SyncRead:
    """For the sync API, in one round trip: user ``user_id`` (for the caller to check the sign-in against), the
    campaigns of the turfs the items name that this user may open, and the items' people and doors."""
    turf_ids = {item.turf_id for item in items if item.turf_id}
    return _read(session, _SYNC_READ, {**_batch_params(items, turf_ids), "user_id": user_id})


def _batch_params(items: list[ContactIn], turf_ids: set[int]) -> dict[str, list[int]]:
    """The people and doors the items name, and the turfs their doors are looked up on."""
    return {"person_ids": list({item.person_id for item in items if item.person_id}),
            "household_ids": list({item.household_id for item in items if item.household_id}),
            "turf_ids": list(turf_ids)}


def _read(session: Session, statement: sa.CompoundSelect, params: dict[str, Any]) -> SyncRead:
    read = SyncRead()
    if not (params["person_ids"] or params["household_ids"] or "user_id" in params):
        return read
    for row in session.connection().execute(statement, params):
        if row.kind == "person":
            read.people[row.id] = row
        elif row.kind == "door":
            door = read.doors.setdefault(row.id, Door(row.id, row.campaign_id, set()))
            if row.turf_id is not None:
                door.turfs.add(row.turf_id)
        elif row.kind == "user":
            read.user = row
        else:
            read.campaigns[row.turf_id] = CampaignRef(row.id, row.stamp)
    return read


def refusal(stored: dict[uuid.UUID, int], client_uuid: uuid.UUID, error: UserError | str) -> ItemResult:
    """The answer for an item that cannot be stored now: "duplicate" if it already was (see ``stored_contact_ids``),
    so a phone replaying its queue learns the contact is safe, else "rejected" with ``error``."""
    if client_uuid in stored:
        return ItemResult(str(client_uuid), "duplicate", stored[client_uuid])
    problem = error if isinstance(error, UserError) else None
    return ItemResult(str(client_uuid), "rejected", error=str(error), problem=problem)


def stored_contact_ids(session: Session, uuids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The ids of the contacts already stored under these client UUIDs."""
    if not uuids:
        return {}
    table = ContactAttempt.__table__
    query = sa.select(table.c.client_uuid, table.c.id).where(table.c.client_uuid.in_(uuids))
    return dict(session.connection().execute(query).all())


def _call_list_campaigns(session: Session, items: list[ContactIn]) -> dict[int, int]:
    ids = {item.call_list_id for item in items if item.call_list_id}
    return {row.id: row.campaign_id for row in _rows_by_id(session, [CallList.id, CallList.campaign_id], ids).values()}


def _rows_by_id(session: Session, columns: list, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    table = columns[0].class_.__table__
    query = sa.select(*(table.c[column.key] for column in columns)).where(table.c.id.in_(ids))
    return {row.id: row for row in session.connection().execute(query)}


def _apply_rules_if_any(session: Session, checked: _Checked, now: datetime) -> dict[str, Any]:
    """Runs the result code's rules on the real objects, loaded only when the code or the item changes something."""
    item, code = checked.item, checked.code
    if code.suppresses == Suppression.none and not (item.language_heard and checked.person is not None):
        return {}

    def load(model, row):
        return session.get(model, row.id) if row is not None else None

    return apply_rules(session, code, load(Person, checked.person), load(Household, checked.household),
                       load(Phone, checked.phone), item, now)


@dataclass
class _Checked:
    item: ContactIn
    code: ResultCode
    person: Any  # rows from _BatchContext, not full objects
    household: Any
    phone: Any
    values: dict[str, Any]  # the contact_attempt row
    answers: list[dict[str, Any]]  # survey_response rows, without their contact id yet


def _check(context: _BatchContext, user: User, item: ContactIn, now: datetime) -> _Checked:
    """The row to store for ``item``, or ContactRejected saying why it cannot be stored. Writes nothing."""
    campaign = context.campaign
    code = context.codes.get(item.result_code)
    if code is None or code.channel not in (item.channel.value, "both"):
        raise ContactRejected(N_("%(code)s is not a door result code of this campaign.") if item.channel == Channel.door
                              else N_("%(code)s is not a phone result code of this campaign."), code=item.result_code)
    person = context.people.get(item.person_id) if item.person_id else None
    if item.person_id and (person is None or person.campaign_id != campaign.id):
        raise ContactRejected(N_("This person is not in the campaign."))
    household_id = item.household_id or (person.household_id if person else None)
    household = context.households.get(household_id) if household_id else None
    if household_id and (household is None or household.campaign_id != campaign.id):
        raise ContactRejected(N_("This door is not in the campaign."))
    if person is None and household is None:
        raise ContactRejected(N_("A contact needs a person or a door."))
    if person is not None and household is not None and person.household_id != household.id:
        raise ContactRejected(N_("This person does not live at this door."))
    if item.call_list_id is not None and (item.channel == Channel.door or
                                          context.call_lists.get(item.call_list_id) != campaign.id):
        raise ContactRejected(N_("This call list is not in the campaign, or not for a knock at a door."))
    if context.on_turfs is not None and (household is None or not household.turfs & context.on_turfs):
        raise ContactRejected(NOT_YOURS)
    phone = _phone(context, item, person)
    answers = _answer_rows(item.answers, context.survey)
    values = {"client_uuid": item.client_uuid, "campaign_id": campaign.id, "person_id": person.id if person else None,
              "household_id": household.id if household else None, "turf_id": item.turf_id,
              "call_list_id": item.call_list_id, "phone_id": phone.id if phone else None, "user_id": user.id,
              "channel": item.channel.value, "result_code": code.code, "is_contact": code.is_contact,
              "notes": item.notes.strip(), "language_heard": item.language_heard.strip().lower(),
              "contacted_at": _when(item.contacted_at, now), "received_at": now, "effects": {}}
    return _Checked(item, code, person, household, phone, values, answers)


def _when(sent: datetime | None, now: datetime) -> datetime:
    """The device's time when plausible (an offline contact keeps the time it happened), else the server's."""
    if sent is None:
        return now
    if sent.tzinfo is None:
        raise ContactRejected(N_("The contact time must say its time zone."))
    if sent > now + CLOCK_SKEW or sent < now - OLDEST_ACCEPTED:
        return now
    return min(sent, now)


def _phone(context: _BatchContext, item: ContactIn, person) -> Any:
    if item.phone_id is None:
        return None
    phone = context.phones.get(item.phone_id)
    if phone is None or person is None or phone.person_id != person.id:
        raise ContactRejected(N_("This phone number is not this person's."))
    return phone


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> dict[uuid.UUID, int]:
    """INSERT ... ON CONFLICT (client_uuid) DO NOTHING for all rows at once; returns the ids of the rows inserted.

    Rows go in UUID order, so two requests carrying overlapping UUIDs wait for each other instead of deadlocking."""
    if not rows:
        return {}
    # Core executemany: SQLAlchemy folds it into one multi-row INSERT ("insertmanyvalues").
    statement = _INSERT_NEW[session.get_bind().dialect.name]
    ordered = sorted(rows, key=lambda row: row["client_uuid"])
    return dict(session.connection().execute(statement, ordered).all())


def _insert_new_statement(insert) -> sa.Insert:
    table = ContactAttempt.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["client_uuid"]).returning(table.c.client_uuid,
                                                                                          table.c.id)


_INSERT_NEW = {"postgresql": _insert_new_statement(pg_insert), "sqlite": _insert_new_statement(sqlite_insert)}


#: Result codes whose rule is to set a flag on the person.
PERSON_FLAGS = {Suppression.moved: "moved", Suppression.wrong_address: "moved", Suppression.deceased: "deceased",
                Suppression.do_not_call: "do_not_call", Suppression.do_not_contact: "do_not_contact",
                Suppression.language_barrier: "needs_language"}


def apply_rules(session: Session, code: ResultCode, person: Person | None, household: Household | None,
                phone: Phone | None, item: ContactIn, now: datetime) -> dict[str, Any]:
    """Does what the result code suppresses, and records each change made (for undo)."""
    effects: dict[str, Any] = {}

    def set_flag(obj, name: str, value) -> None:
        if obj is not None and getattr(obj, name) != value:
            effects[f"{type(obj).__name__.lower()}.{obj.id}.{name}"] = getattr(obj, name)
            setattr(obj, name, value)
            session.add(obj)

    rule = code.suppresses
    if rule in PERSON_FLAGS:
        set_flag(person, PERSON_FLAGS[rule], True)
    elif rule == Suppression.hostile and household is not None:
        set_flag(household, "hostile_note", (item.notes.strip() or code.label)[:300])
        set_flag(household, "hostile_at", now)
    elif rule == Suppression.wrong_number:
        set_flag(phone, "status", PhoneStatus.wrong)
    elif rule == Suppression.disconnected and phone is not None:
        # A dead number is dead for everyone who has it, in every list.
        for same in session.exec(select(Phone).where(Phone.e164 == phone.e164)).all():
            set_flag(same, "status", PhoneStatus.disconnected)
    if item.language_heard and person is not None:
        set_flag(person, "language", item.language_heard.strip().lower()[:8])
        set_flag(person, "language_source", "door")
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in effects.items()}


def _survey(session: Session, campaign_id: int) -> dict[str, tuple[SurveyQuestion, dict[str, SurveyOption]]]:
    questions = session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign_id)).all()
    options = session.exec(select(SurveyOption).where(SurveyOption.question_id.in_([q.id for q in questions]))).all()
    by_question: dict[int, dict[str, SurveyOption]] = {}
    for option in options:
        by_question.setdefault(option.question_id, {})[option.code] = option
    return {q.code: (q, by_question.get(q.id, {})) for q in questions}


def _answer_rows(answers: dict[str, Any], survey: dict) -> list[dict[str, Any]]:
    """The survey_response rows for ``answers`` (without contact id), or ContactRejected naming the bad answer."""
    rows = []
    for code, answer in answers.items():
        if answer in (None, "", []):
            continue
        if code not in survey:
            raise ContactRejected(N_("%(code)s is not a survey question of this campaign."), code=code)
        question, options = survey[code]
        if question.kind == QuestionKind.text:
            rows.append({"question_id": question.id, "option_id": None, "value": str(answer)[:MAX_NOTES]})
            continue
        picked = answer if isinstance(answer, list) else [answer]
        if question.kind != QuestionKind.multi and len(picked) > 1:
            raise ContactRejected(N_("%(code)s takes one answer."), code=code)
        for value in picked:
            option = options.get(str(value))
            if option is None:
                raise ContactRejected(N_("%(value)s is not an answer to %(code)s."), value=value, code=code)
            rows.append({"question_id": question.id, "option_id": option.id, "value": ""})
    return rows


def _add_followups(session: Session, context: _BatchContext, person_id: int | None, tag_ids: list[int], user: User,
                   now: datetime) -> None:
    if not tag_ids or person_id is None:
        return
    for tag_id in context.tags.intersection(tag_ids):
        if session.get(PersonTag, (person_id, tag_id)) is None:
            session.add(PersonTag(person_id=person_id, tag_id=tag_id, created_by_id=user.id, created_at=now))


def undo_contact(session: Session, user: User, contact_id: int, *, window: timedelta = timedelta(hours=12)) -> None:
    """Undoes a contact the user logged recently: it stops counting, and what it changed is put back."""
    contact = session.get(ContactAttempt, contact_id)
    if contact is None or contact.user_id != user.id:
        raise ContactRejected(N_("Only your own entries can be undone."))
    if contact.undone_at is not None:
        return
    if utcnow() - contact.received_at > window:
        raise ContactRejected(N_("This entry is too old to undo; ask a lead to correct it."))
    models = {"person": Person, "household": Household, "phone": Phone}
    for key, before in (contact.effects or {}).items():
        kind, object_id, name = key.split(".")
        obj = session.get(models[kind], int(object_id))
        if obj is not None:
            value = datetime.fromisoformat(before) if name.endswith("_at") and before else before
            setattr(obj, name, value)
            session.add(obj)
    contact.undone_at = utcnow()
    session.add(contact)
