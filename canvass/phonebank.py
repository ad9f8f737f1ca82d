"""Phone banking: call lists, handing out one person at a time under a lease, and the rules after each call.

Claiming is safe with many callers and several app processes: PostgreSQL picks the next entry with
``FOR UPDATE SKIP LOCKED``; SQLite runs the claim in a transaction that took the write lock first, so claims
queue one after another. The caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import bulk, campaigns, contacts, opt_outs
from canvass.i18n import N_, UserError
from canvass.models import (
    CallEntry,
    CallEntryStatus,
    CallList,
    CallListAssignment,
    CallListStatus,
    Campaign,
    CampaignMember,
    Channel,
    ContactAttempt,
    Household,
    OptOutScope,
    Person,
    Phone,
    PhoneStatus,
    ResultCode,
    Role,
    Suppression,
    User,
    utcnow,
)
from canvass.universe import Universe

PHONE_PRIORITY = {"cell": 0, "unknown": 1, "landline": 2}


class CallingError(UserError):
    """A phone-banking request that cannot be done; the message says why (shown to the caller or lead)."""


class OutsideCallingHours(CallingError):
    pass


# ------------------------------------------------------------------------------------------------------------------
# Call lists


def _callable_people(campaign_id: int, universe: Universe) -> sa.Select:
    """People with a usable phone who may be called, matching the filters, without a final result already."""
    usable = select(Phone.person_id).where(Phone.status == PhoneStatus.ok, ~opt_outs.number_closed(OptOutScope.phone))
    finals = select(ResultCode.code).where(ResultCode.campaign_id == campaign_id, ResultCode.is_final.is_(True))
    done = select(ContactAttempt.person_id).where(ContactAttempt.campaign_id == campaign_id,
                                                  ContactAttempt.undone_at.is_(None),
                                                  ContactAttempt.person_id.is_not(None),
                                                  ContactAttempt.result_code.in_(finals))
    query = select(Person.id).where(
        Person.campaign_id == campaign_id, opt_outs.open_to("phone"), Person.deceased.is_(False), Person.is_protected.is_(False), Person.id.in_(usable), Person.id.not_in(done),
        *universe.campaign_filters(campaign_id))
    if universe.zips:
        query = query.where(Person.household_id.in_(select(Household.id).where(Household.zip5.in_(universe.zips))))
    if universe.not_reached:
        reached = select(ContactAttempt.person_id).where(ContactAttempt.campaign_id == campaign_id,
                                                         ContactAttempt.is_contact.is_(True),
                                                         ContactAttempt.undone_at.is_(None),
                                                         ContactAttempt.person_id.is_not(None))
        query = query.where(Person.id.not_in(reached))
    return query


def count_callable(session: Session, campaign: Campaign, universe: Universe) -> int:
    return session.execute(select(sa.func.count()).select_from(_callable_people(campaign.id, universe).subquery())
                           ).scalar_one()


def create_call_list(session: Session, campaign: Campaign, name: str, universe: Universe, *, open_to_all: bool = False,
                     user: User | None = None) -> CallList:
    """A call list of everyone callable in the universe, best phone type first (cell before landline)."""
    name = name.strip()
    if not name:
        raise CallingError(N_("Give the call list a name."))
    people = _callable_people(campaign.id, universe).subquery()
    best = bulk.read_frame(session, select(Phone.person_id, Phone.type, Phone.rank).join(
        people, people.c.id == Phone.person_id).where(Phone.status == PhoneStatus.ok,
                                                      ~opt_outs.number_closed(OptOutScope.phone)))
    if best.empty:
        raise CallingError(N_("Nobody matches with a phone that can be called."))
    best["priority"] = best["type"].map(PHONE_PRIORITY).fillna(1).astype("int64") * 10 + \
        best["rank"].clip(upper=9).astype("int64")
    priority = best.groupby("person_id")["priority"].min().sort_values(kind="stable")
    call_list = CallList(campaign_id=campaign.id, name=name[:120], open_to_all=open_to_all,
                         filters={k: v for k, v in universe.__dict__.items() if k != "now"},
                         created_by_id=user.id if user else None)
    session.add(call_list)
    session.flush()
    bulk.insert_frame(session, CallEntry.__table__, pd.DataFrame({
        "call_list_id": call_list.id, "person_id": priority.index.to_numpy(dtype=np.int64),
        "priority": priority.to_numpy(dtype=np.int64), "status": CallEntryStatus.pending.value, "attempts": 0,
        "claim_token": "", "handed_out": 0}))
    return call_list


def set_status(session: Session, call_list: CallList, status: str, *, open_to_all: bool | None = None) -> None:
    """Runs, pauses or closes the list, and opens it to every caller or only its own (None leaves that as it is)."""
    try:
        call_list.status = CallListStatus(status)
    except ValueError:
        raise CallingError(N_("Choose whether the list runs, pauses or closes.")) from None
    if open_to_all is not None:
        call_list.open_to_all = open_to_all
    session.add(call_list)


def assign(session: Session, call_list: CallList, user: User) -> None:
    if session.get(CallListAssignment, (call_list.id, user.id)) is None:
        session.add(CallListAssignment(call_list_id=call_list.id, user_id=user.id))
    if session.get(CampaignMember, (call_list.campaign_id, user.id)) is None:
        session.add(CampaignMember(campaign_id=call_list.campaign_id, user_id=user.id))


def unassign(session: Session, call_list: CallList, user: User) -> None:
    assignment = session.get(CallListAssignment, (call_list.id, user.id))
    if assignment is not None:
        session.delete(assignment)


def progress(session: Session, call_list: CallList) -> dict[str, int]:
    rows = dict(session.execute(select(CallEntry.status, sa.func.count()).where(
        CallEntry.call_list_id == call_list.id).group_by(CallEntry.status)).all())
    calls = session.execute(select(sa.func.count()).select_from(ContactAttempt).where(
        ContactAttempt.call_list_id == call_list.id, ContactAttempt.undone_at.is_(None))).scalar_one()
    total = sum(rows.values())
    return {"total": total, "done": rows.get(CallEntryStatus.done, 0), "claimed": rows.get(CallEntryStatus.claimed, 0),
            "pending": rows.get(CallEntryStatus.pending, 0), "calls": calls}


# ------------------------------------------------------------------------------------------------------------------
# Calling hours


def calling_window(campaign: Campaign, timezone: str) -> tuple[time, time, ZoneInfo]:
    start, end = campaigns.setting(campaign, "calling_hours")
    return time.fromisoformat(start), time.fromisoformat(end), ZoneInfo(timezone)


@dataclass
class CallingHours:
    """Whether calls may be made now, and if not, when they may (both in the organization's time zone)."""

    open: bool
    start: time
    end: time
    opens_at: datetime | None  # the next opening, when closed now
    wait: timedelta | None


def calling_hours(campaign: Campaign, timezone: str, now: datetime) -> CallingHours:
    start, end, zone = calling_window(campaign, timezone)
    local = now.astimezone(zone)
    if start <= local.time() < end:
        return CallingHours(True, start, end, None, None)
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opens_at = datetime.combine(day, start, zone)
    return CallingHours(False, start, end, opens_at, opens_at - local)


def check_calling_hours(campaign: Campaign, timezone: str, now: datetime) -> None:
    hours = calling_hours(campaign, timezone, now)
    if not hours.open:
        raise OutsideCallingHours(N_("Calls are made between %(start)s and %(end)s. Come back then."),
                                  start=f"{hours.start:%H:%M}", end=f"{hours.end:%H:%M}")


# ------------------------------------------------------------------------------------------------------------------
# Claiming


@dataclass
class Claim:
    entry: CallEntry
    person: Person
    phones: list[Phone]


def claim_next(session: Session, call_list: CallList, user: User, *, timezone: str,
               now: datetime | None = None) -> Claim | None:
    """The next person for ``user`` under a lease (their current one if they hold one), or None when nobody is left.

    Raises OutsideCallingHours, or CallingError when the list is paused or closed."""
    now = now or utcnow()
    campaign = session.get(Campaign, call_list.campaign_id)
    if call_list.status != CallListStatus.active:
        raise CallingError(N_("This call list is paused or closed."))
    check_calling_hours(campaign, timezone, now)
    _lock_for_claims(session)
    held = session.exec(select(CallEntry).where(
        CallEntry.call_list_id == call_list.id, CallEntry.claimed_by_id == user.id,
        CallEntry.status == CallEntryStatus.claimed, CallEntry.lease_expires_at > now)).first()
    if held is not None:
        return _claim_view(session, held)
    lease = timedelta(minutes=campaigns.setting(campaign, "lease_minutes"))
    while True:
        entry = _next_entry(session, call_list, now)
        if entry is None:
            return None
        claim = _claim_view(session, entry)
        if not claim.phones or not _still_callable(session, claim.person):
            entry.status, entry.claimed_by_id, entry.lease_expires_at = CallEntryStatus.done, None, None
            session.add(entry)
            continue  # suppressed since the list was made (do-not-call, deceased, every number bad)
        entry.status, entry.claimed_by_id = CallEntryStatus.claimed, user.id
        entry.lease_expires_at, entry.claim_token = now + lease, str(uuid.uuid4())
        entry.handed_out += 1
        session.add(entry)
        session.flush()
        return claim


def _lock_for_claims(session: Session) -> None:
    """SQLite: become the writer before choosing, so two callers cannot choose the same entry."""
    if bulk.dialect(session) == "sqlite":
        session.execute(sa.text("UPDATE call_entry SET id = id WHERE 0"))


def _next_entry(session: Session, call_list: CallList, now: datetime) -> CallEntry | None:
    due = sa.or_(
        sa.and_(CallEntry.status == CallEntryStatus.pending,
                sa.or_(CallEntry.next_attempt_at.is_(None), CallEntry.next_attempt_at <= now)),
        sa.and_(CallEntry.status == CallEntryStatus.claimed, CallEntry.lease_expires_at <= now))
    query = select(CallEntry).where(CallEntry.call_list_id == call_list.id, due) \
        .order_by(CallEntry.priority, CallEntry.id).limit(1)
    if bulk.dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.exec(query).first()


def _still_callable(session: Session, person: Person) -> bool:
    """Not deceased or protected, and not on the do-not-contact list for calls (``opt_outs.closed_to``)."""
    if person.deceased or person.is_protected:
        return False
    return session.exec(select(Person.id).where(Person.id == person.id, opt_outs.closed_to("phone"))).first() is None


def _claim_view(session: Session, entry: CallEntry) -> Claim:
    person = session.get(Person, entry.person_id)
    phones = session.exec(select(Phone).where(Phone.person_id == person.id, Phone.status == PhoneStatus.ok,
                                              ~opt_outs.number_closed(OptOutScope.phone)).order_by(Phone.rank)).all()
    phones = sorted(phones, key=lambda p: (PHONE_PRIORITY.get(str(p.type), 1), p.rank))
    return Claim(entry, person, phones)


def numbers_to_dial(session: Session, entry: CallEntry) -> list[Phone]:
    """The numbers a caller may dial for this entry's person (the ones the caller's screen shows), best first."""
    return _claim_view(session, entry).phones


def current_claim(session: Session, call_list: CallList, user: User, now: datetime | None = None) -> Claim | None:
    """The person ``user`` is calling now (an unexpired lease), without claiming anyone new."""
    held = session.exec(select(CallEntry).where(
        CallEntry.call_list_id == call_list.id, CallEntry.claimed_by_id == user.id,
        CallEntry.status == CallEntryStatus.claimed, CallEntry.lease_expires_at > (now or utcnow()))).first()
    return _claim_view(session, held) if held is not None else None


def release(session: Session, entry: CallEntry, user: User) -> None:
    """The caller skips this person: back to the list for someone else, attempts unchanged."""
    if entry.claimed_by_id == user.id and entry.status == CallEntryStatus.claimed:
        entry.status, entry.claimed_by_id, entry.lease_expires_at, entry.claim_token = \
            CallEntryStatus.pending, None, None, ""
        session.add(entry)


# ------------------------------------------------------------------------------------------------------------------
# After the call


def record_call(session: Session, user: User, entry: CallEntry, item: contacts.ContactIn, *,
                callback_at: datetime | None = None, now: datetime | None = None) -> contacts.ItemResult:
    """Logs the call (once, by its UUID) and decides when, if ever, this person is called again."""
    now = now or utcnow()
    call_list = session.get(CallList, entry.call_list_id)
    campaign = session.get(Campaign, call_list.campaign_id)
    code = session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign.id,
                                                 ResultCode.code == item.result_code.upper())).first()
    if code is not None and code.suppresses == Suppression.call_back and callback_at is None:
        raise CallingError(N_("Choose when to call back."))
    item = item.model_copy(update={"person_id": entry.person_id, "call_list_id": call_list.id,
                                   "channel": Channel.phone, "turf_id": None})
    [result] = contacts.log_contacts(session, user, campaign, [item], now=now)  # its person is the entry's, checked above
    if result.status != "created":
        return result  # a retry of a call already recorded changes nothing more
    session.flush()
    entry.attempts += 1
    entry.claimed_by_id, entry.lease_expires_at, entry.claim_token = None, None, ""
    _schedule(session, campaign, entry, code, callback_at, now)
    session.add(entry)
    return result


def _schedule(session: Session, campaign: Campaign, entry: CallEntry, code: ResultCode, callback_at, now) -> None:
    person = session.get(Person, entry.person_id)  # as the result's rules just left it
    usable = session.execute(select(sa.func.count()).select_from(Phone).where(
        Phone.person_id == person.id, Phone.status == PhoneStatus.ok,
        ~opt_outs.number_closed(OptOutScope.phone))).scalar_one()
    entry.status, entry.next_attempt_at = CallEntryStatus.pending, None
    if code.is_final or not _still_callable(session, person) or usable == 0:
        entry.status = CallEntryStatus.done
    elif code.suppresses == Suppression.call_back:
        entry.next_attempt_at = callback_at  # a call-back is an appointment: it does not count against attempts
        entry.attempts -= 1
    elif code.suppresses in (Suppression.wrong_number, Suppression.disconnected):
        entry.attempts -= 1  # that number was never the person's: try their next one now
    elif entry.attempts >= campaigns.setting(campaign, "max_call_attempts"):
        entry.status = CallEntryStatus.done
    else:
        hours = campaigns.setting(campaign, "no_answer_retry_hours") if code.code == "NA" else code.retry_after_hours
        entry.next_attempt_at = now + timedelta(hours=hours or 0)


def find_entry(session: Session, call_list: CallList, entry_id: int, user: User) -> CallEntry:
    """The entry the user holds a lease on (any entry of the list for leads); otherwise CallingError."""
    entry = session.get(CallEntry, entry_id)
    if entry is None or entry.call_list_id != call_list.id:
        raise CallingError(N_("This person is not on this call list."))
    if user.role not in (Role.admin, Role.lead) and entry.claimed_by_id != user.id:
        raise CallingError(N_("This person is no longer yours to call: your time ran out and they went back to the list."))
    return entry


def summary(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    lists = session.exec(select(CallList).where(CallList.campaign_id == campaign.id).order_by(CallList.id)).all()
    assigned: dict[int, list[User]] = {}
    for assignment, user in session.execute(select(CallListAssignment, User).join(
            User, User.id == CallListAssignment.user_id).where(
            CallListAssignment.call_list_id.in_([c.id for c in lists]))).all():
        assigned.setdefault(assignment.call_list_id, []).append(user)
    return [{"call_list": c, "progress": progress(session, c), "assigned": assigned.get(c.id, [])} for c in lists]
