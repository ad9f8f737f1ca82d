"""Logging contacts (a knock or a call and its result), exactly once, and what each result code then does.

Every contact carries a UUID made by the device that logged it; the same UUID sent again (a retry, a double tap, a
second device replaying a queue) is answered "duplicate" and stored nothing. The caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from canvass import batch_reads, result_rules
from canvass.access import may_log_relational
from canvass.contact_input import MAX_NOTES, ContactIn
from canvass.i18n import N_, UserError
from canvass.models import (
    Campaign,
    Channel,
    ContactAttempt,
    PersonTag,
    Phone,
    QuestionKind,
    ResultCode,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
    Tag,
    User,
    utcnow,
)

CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little fast; never accept a contact from the future
OLDEST_ACCEPTED = timedelta(days=30)  # an offline queue may hold a contact this long


NOT_YOURS = N_("This door or person is not on your list.")
CLOSED = N_("This campaign is closed: it takes no new contacts.")


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


#: The result codes (their ``channel``) each contact channel may log. Reaching someone one knows is a call or a
#: text from the volunteer's own phone: the phone results apply (a wrong number, do not call...).
CODE_CHANNELS = {Channel.door: ("door", "both"), Channel.phone: ("phone", "both"),
                 Channel.relational: ("phone", "both")}


def is_closed(campaign) -> bool:
    """Whether the campaign (a Campaign, or the sync API's CampaignRef) is closed to new contacts."""
    closed = getattr(campaign, "closed", None)
    return bool(closed) if closed is not None else getattr(campaign, "closed_at", None) is not None


def result_codes(session: Session, campaign_id: int, channel: Channel | None = None) -> list[ResultCode]:
    query = select(ResultCode).where(ResultCode.campaign_id == campaign_id, ResultCode.active.is_(True)) \
        .order_by(ResultCode.position)
    codes = session.exec(query).all()
    return [c for c in codes if channel is None or c.channel in CODE_CHANNELS[channel]]


def log_contacts(session: Session, user: User, campaign: Campaign, items: list[ContactIn], *,
                 on_turfs: set[int] | None = None,
                 read: batch_reads.BatchRead | None = None, now: datetime | None = None) -> list[ItemResult]:
    """Stores each new contact once and applies its result code's rules; returns a status per item, in order.

    With ``on_turfs``, only doors on one of those turfs may be logged, checked in the same query that reads the doors
    (``access.turfs_to_log_on`` says which turfs a user's batch may log on; None: any door of the campaign).
    ``campaign`` needs only ``id``, ``codes_version`` and whether it is closed (a closed campaign's items are each
    refused, saying so). ``read`` is the batch's people and doors when the caller has
    read them already (``batch_reads.read_for_sync``).

    A batch costs a fixed handful of queries, whatever its size: the people and doors it names are read together,
    every item is checked before anything is written, and the new contacts go in as one
    INSERT ... ON CONFLICT (client_uuid) DO NOTHING. A rejected item therefore never leaves half a contact behind.
    Only the items that did not go in (or were rejected) are then looked up by UUID: those already stored, by an
    earlier send or a concurrent request, are answered "duplicate"."""
    now = now or utcnow()
    if is_closed(campaign):
        stored = stored_contact_ids(session, [item.client_uuid for item in items])
        return [refusal(stored, item.client_uuid, ContactRejected(CLOSED)) for item in items]
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
        effects = result_rules.apply_rules_if_any(session, checked.code, checked.item, checked.person,
                                                   checked.household, checked.phone, now, contact_id=contact_id,
                                                   user=user)
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
    households: dict[int, batch_reads.DoorOnTurfs]
    phones: dict[int, Any]
    tags: set[int]
    on_turfs: set[int] | None  # when set, only doors on one of these turfs may be logged
    call_lists: dict[int, int]  # the call lists the items name -> their campaign
    relationals: dict[int, Any]  # the relational people the items name: id, user_id, campaign_id, person_id

    @classmethod
    def load(cls, session: Session, campaign: Campaign, items: list[ContactIn], on_turfs: set[int] | None = None,
             read: batch_reads.BatchRead | None = None) -> _BatchContext:
        if read is None:
            read = batch_reads.read_batch(session, batch_reads.PEOPLE_AND_DOORS,
                                          batch_reads.batch_params(items, on_turfs or set()))
        people, households = read.people, read.doors
        tag_ids = {tag for item in items for tag in item.followups}
        tags = set(session.exec(select(Tag.id).where(Tag.campaign_id == campaign.id, Tag.id.in_(tag_ids))).all()) \
            if tag_ids else set()
        survey = batch_reads.survey_of(session, campaign.id) if any(item.answers for item in items) else {}
        return cls(campaign=campaign, codes=batch_reads.code_rules(session, campaign),
                   survey=survey, people=people, households=households,
                   phones=batch_reads.rows_by_id(session, [Phone.id, Phone.person_id],
                                      {item.phone_id for item in items if item.phone_id}), tags=tags,
                   on_turfs=on_turfs, call_lists=batch_reads.call_list_campaigns(session, items),
                   relationals=batch_reads.relational_rows(session, items))


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
    if code is None or code.channel not in CODE_CHANNELS[item.channel]:
        raise ContactRejected(_NOT_A_CODE[item.channel], code=item.result_code)
    if item.channel == Channel.relational or item.relational_id is not None:
        return _check_relational(context, user, item, code, now)
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
              "contacted_at": _when(item.contacted_at, now), "received_at": now, "effects": {},
              "relational_id": None}
    return _Checked(item, code, person, household, phone, values, answers)


_NOT_A_CODE = {Channel.door: N_("%(code)s is not a door result code of this campaign."),
               Channel.phone: N_("%(code)s is not a phone result code of this campaign."),
               Channel.relational: N_("%(code)s is not a result for reaching people you know.")}


def _check_relational(context: _BatchContext, user: User, item: ContactIn, code, now: datetime) -> _Checked:
    """A contact with someone on the volunteer's own relational list: their voter, when matched, is the person."""
    row = context.relationals.get(item.relational_id) if item.relational_id else None
    if item.channel != Channel.relational or item.turf_id or item.call_list_id or item.household_id or \
            item.phone_id or not may_log_relational(row, user, context.campaign.id):
        raise ContactRejected(NOT_YOURS)
    person = _Row(row.person_id, context.campaign.id, None) if row.person_id else None
    values = {"client_uuid": item.client_uuid, "campaign_id": context.campaign.id,
              "person_id": row.person_id, "household_id": None, "turf_id": None, "call_list_id": None,
              "phone_id": None, "user_id": user.id, "channel": item.channel.value, "result_code": code.code,
              "is_contact": code.is_contact, "notes": item.notes.strip(),
              "language_heard": item.language_heard.strip().lower(), "contacted_at": _when(item.contacted_at, now),
              "received_at": now, "effects": {}, "relational_id": row.id}
    return _Checked(item, code, person, None, None, values, _answer_rows(item.answers, context.survey))


@dataclass
class _Row:
    """A person as the rules need them (see ``result_rules.apply_rules_if_any``)."""

    id: int
    campaign_id: int
    household_id: int | None


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


def undo_entry(session: Session, user: User, contact_id: int, *, window: timedelta = timedelta(hours=12)
               ) -> list[ContactAttempt]:
    """Undoes an entry as the volunteer made it: one tap for a whole door (Not home for everyone) stored one contact
    per person, and is taken back as one. Returns the contacts undone."""
    contact = session.get(ContactAttempt, contact_id)
    if contact is None or contact.user_id != user.id:
        raise ContactRejected(N_("Only your own entries can be undone."))
    same_tap = [contact]
    if contact.household_id is not None:
        same_tap = session.exec(select(ContactAttempt).where(
            ContactAttempt.user_id == user.id, ContactAttempt.household_id == contact.household_id,
            ContactAttempt.result_code == contact.result_code, ContactAttempt.contacted_at == contact.contacted_at,
            ContactAttempt.received_at == contact.received_at, ContactAttempt.undone_at.is_(None))).all() or [contact]
    for each in same_tap:
        undo_contact(session, user, each.id, window=window)
    return same_tap


def undo_contact(session: Session, user: User, contact_id: int, *, window: timedelta = timedelta(hours=12)) -> None:
    """Undoes a contact the user logged recently: it stops counting, and what it changed is put back."""
    contact = session.get(ContactAttempt, contact_id)
    if contact is None or contact.user_id != user.id:
        raise ContactRejected(N_("Only your own entries can be undone."))
    if contact.undone_at is not None:
        return
    if utcnow() - contact.received_at > window:
        raise ContactRejected(N_("This entry is too old to undo; ask a lead to correct it."))
    result_rules.put_back(session, contact.effects)
    contact.undone_at = utcnow()
    session.add(contact)
