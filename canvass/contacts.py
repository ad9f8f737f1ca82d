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
from pydantic import field_validator
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, select

from canvass.models import (
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
    User,
    utcnow,
)

MAX_NOTES = 2000
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little fast; never accept a contact from the future
OLDEST_ACCEPTED = timedelta(days=30)  # an offline queue may hold a contact this long


class ContactIn(SQLModel):
    """A contact as the form, the JSON API, the CLI and the tests send it."""

    client_uuid: uuid.UUID
    person_id: int | None = None
    household_id: int | None = None
    turf_id: int | None = None
    call_list_id: int | None = None
    phone_id: int | None = None
    channel: Channel = Channel.door
    result_code: str = Field(min_length=1, max_length=16)
    answers: dict[str, Any] = Field(default_factory=dict)  # question code -> option code, [codes] or text
    notes: str = Field(default="", max_length=MAX_NOTES)
    language_heard: str = Field(default="", max_length=8)
    followups: list[int] = Field(default_factory=list)  # tag ids
    contacted_at: datetime | None = None

    @field_validator("result_code")
    @classmethod
    def upper_code(cls, value: str) -> str:
        return value.strip().upper()


class ContactRejected(ValueError):
    """This contact cannot be stored; the message says why (shown to the volunteer)."""


@dataclass
class ItemResult:
    client_uuid: str
    status: str  # created | duplicate | rejected
    contact_id: int | None = None
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"client_uuid": self.client_uuid, "status": self.status, "contact_id": self.contact_id,
                "error": self.error}


def result_codes(session: Session, campaign_id: int, channel: Channel | None = None) -> list[ResultCode]:
    query = select(ResultCode).where(ResultCode.campaign_id == campaign_id, ResultCode.active.is_(True)) \
        .order_by(ResultCode.position)
    codes = session.exec(query).all()
    return [c for c in codes if channel is None or c.channel in (channel.value, "both")]


def log_contacts(session: Session, user: User, campaign: Campaign, items: list[ContactIn], *,
                 may_contact=lambda person, household: True, now: datetime | None = None) -> list[ItemResult]:
    """Stores each new contact once and applies its result code's rules; returns a status per item, in order.

    ``may_contact(person, household)`` says whether ``user`` may log for that door or person (ownership)."""
    now = now or utcnow()
    codes = {c.code: c for c in result_codes(session, campaign.id)}
    survey = _survey(session, campaign.id)
    known = _stored_uuids(session, [item.client_uuid for item in items])
    results = []
    for item in items:
        key = str(item.client_uuid)
        if item.client_uuid in known:
            results.append(ItemResult(key, "duplicate", known[item.client_uuid]))
            continue
        try:
            with session.begin_nested():
                contact_id = _log_one(session, user, campaign, item, codes, survey, may_contact, now)
        except ContactRejected as exc:
            results.append(ItemResult(key, "rejected", error=str(exc)))
            continue
        if contact_id is None:  # stored meanwhile by a concurrent request with the same UUID
            existing = _stored_uuids(session, [item.client_uuid])
            results.append(ItemResult(key, "duplicate", existing.get(item.client_uuid)))
        else:
            known[item.client_uuid] = contact_id
            results.append(ItemResult(key, "created", contact_id))
    return results


def _stored_uuids(session: Session, uuids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not uuids:
        return {}
    rows = session.execute(select(ContactAttempt.client_uuid, ContactAttempt.id)
                           .where(ContactAttempt.client_uuid.in_(uuids))).all()
    return {row[0]: row[1] for row in rows}


def _log_one(session: Session, user: User, campaign: Campaign, item: ContactIn, codes: dict[str, ResultCode],
             survey: dict, may_contact, now: datetime) -> int | None:
    code = codes.get(item.result_code)
    if code is None or code.channel not in (item.channel.value, "both"):
        raise ContactRejected(f"{item.result_code} is not a {item.channel.value} result code of this campaign.")
    person = session.get(Person, item.person_id) if item.person_id else None
    if item.person_id and (person is None or person.campaign_id != campaign.id):
        raise ContactRejected("This person is not in the campaign.")
    household_id = item.household_id or (person.household_id if person else None)
    household = session.get(Household, household_id) if household_id else None
    if household is not None and household.campaign_id != campaign.id:
        raise ContactRejected("This door is not in the campaign.")
    if person is None and household is None:
        raise ContactRejected("A contact needs a person or a door.")
    if person is not None and household is not None and person.household_id not in (None, household.id):
        raise ContactRejected("This person does not live at this door.")
    if not may_contact(person, household):
        raise ContactRejected("This door or person is not on your list.")
    phone = _phone(session, item, person)
    contacted_at = _when(item.contacted_at, now)
    values = {"client_uuid": item.client_uuid, "campaign_id": campaign.id, "person_id": person.id if person else None,
              "household_id": household.id if household else None, "turf_id": item.turf_id,
              "call_list_id": item.call_list_id, "phone_id": phone.id if phone else None, "user_id": user.id,
              "channel": item.channel.value, "result_code": code.code, "is_contact": code.is_contact,
              "notes": item.notes.strip(), "language_heard": item.language_heard.strip().lower(),
              "contacted_at": contacted_at, "received_at": now, "effects": {}}
    contact_id = _insert_once(session, values)
    if contact_id is None:
        return None
    effects = apply_rules(session, code, person, household, phone, item, now)
    _store_answers(session, contact_id, item.answers, survey)
    _add_followups(session, campaign.id, person, item.followups, user, now)
    if effects:
        session.execute(sa.update(ContactAttempt).where(ContactAttempt.id == contact_id).values(effects=effects))
    return contact_id


def _when(sent: datetime | None, now: datetime) -> datetime:
    """The device's time when plausible (an offline contact keeps the time it happened), else the server's."""
    if sent is None:
        return now
    if sent.tzinfo is None:
        raise ContactRejected("The contact time must say its time zone.")
    if sent > now + CLOCK_SKEW or sent < now - OLDEST_ACCEPTED:
        return now
    return min(sent, now)


def _phone(session: Session, item: ContactIn, person: Person | None) -> Phone | None:
    if item.phone_id is None:
        return None
    phone = session.get(Phone, item.phone_id)
    if phone is None or person is None or phone.person_id != person.id:
        raise ContactRejected("This phone number is not this person's.")
    return phone


def _insert_once(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT (client_uuid) DO NOTHING: a concurrent duplicate inserts nothing and returns None."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ContactAttempt).values(**values).on_conflict_do_nothing(index_elements=["client_uuid"]) \
        .returning(ContactAttempt.id)
    return session.execute(statement).scalar_one_or_none()


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


def _store_answers(session: Session, contact_id: int, answers: dict[str, Any], survey: dict) -> None:
    rows = []
    for code, answer in answers.items():
        if answer in (None, "", []):
            continue
        if code not in survey:
            raise ContactRejected(f"{code} is not a survey question of this campaign.")
        question, options = survey[code]
        if question.kind == QuestionKind.text:
            rows.append({"contact_id": contact_id, "question_id": question.id, "option_id": None,
                         "value": str(answer)[:MAX_NOTES]})
            continue
        picked = answer if isinstance(answer, list) else [answer]
        if question.kind != QuestionKind.multi and len(picked) > 1:
            raise ContactRejected(f"{code} takes one answer.")
        for value in picked:
            option = options.get(str(value))
            if option is None:
                raise ContactRejected(f"{value} is not an answer to {code}.")
            rows.append({"contact_id": contact_id, "question_id": question.id, "option_id": option.id, "value": ""})
    if rows:
        session.execute(sa.insert(SurveyResponse), rows)


def _add_followups(session: Session, campaign_id: int, person: Person | None, tag_ids: list[int], user: User,
                   now: datetime) -> None:
    if not tag_ids or person is None:
        return
    valid = set(session.exec(select(Tag.id).where(Tag.campaign_id == campaign_id, Tag.id.in_(tag_ids))).all())
    for tag_id in valid:
        if session.get(PersonTag, (person.id, tag_id)) is None:
            session.add(PersonTag(person_id=person.id, tag_id=tag_id, created_by_id=user.id, created_at=now))


def undo_contact(session: Session, user: User, contact_id: int, *, window: timedelta = timedelta(hours=12)) -> None:
    """Undoes a contact the user logged recently: it stops counting, and what it changed is put back."""
    contact = session.get(ContactAttempt, contact_id)
    if contact is None or contact.user_id != user.id:
        raise ContactRejected("Only your own entries can be undone.")
    if contact.undone_at is not None:
        return
    if utcnow() - contact.received_at > window:
        raise ContactRejected("This entry is too old to undo; ask a lead to correct it.")
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
