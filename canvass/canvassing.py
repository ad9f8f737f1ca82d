"""Door canvassing: what a volunteer needs for a turf (and nothing more), check-in and check-out. Caller commits."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import campaigns, contacts, conversation, opt_outs, walk_lists
from canvass.contact_input import ContactIn
from canvass.i18n import N_, UserError
from canvass.models import (
    Campaign,
    Channel,
    ContactAttempt,
    Household,
    OptOutReason,
    OptOutScope,
    Person,
    Shift,
    Turf,
    TurfAssignment,
    TurfStatus,
    User,
    utcnow,
)


class CanvassError(UserError):
    """A canvassing request that cannot be done; the message says why."""


def door_view(door: walk_lists.Door, campaign: Campaign, last_results: dict[int, str]) -> dict[str, Any]:
    household = door.household
    return {"id": household.id, "position": door.position, "address": household.address, "unit": household.unit,
            "city": household.city, "lat": household.lat, "lon": household.lon, "floor": door.floor,
            "hostile_note": household.hostile_note, "attempted": door.attempted, "contacted": door.contacted,
            "closed": door.all_closed,
            "people": [{**conversation.person_view(p, campaign), "last_result": last_results.get(p.id, ""),
                        "closed": door.closed.get(p.id, "")} for p in door.people]}


def last_entry(session: Session, user_id: int, turf_id: int) -> ContactAttempt | None:
    """The user's latest entry on this turf that still counts (what Undo would take back)."""
    return session.exec(select(ContactAttempt).where(ContactAttempt.user_id == user_id,
                                                     ContactAttempt.turf_id == turf_id,
                                                     ContactAttempt.undone_at.is_(None))
                        .order_by(ContactAttempt.id.desc()).limit(1)).first()


def entry_view(session: Session, entry: ContactAttempt | None, campaign: Campaign, language: str
               ) -> dict[str, Any] | None:
    """An entry as the volunteer reads it: who, or which door, and the result in words ("Luis Lopez · Talked")."""
    if entry is None:
        return None
    person = session.get(Person, entry.person_id) if entry.person_id else None
    household = session.get(Household, entry.household_id) if entry.household_id else None
    return _entry_in_words(entry, person and (person.first_name, person.last_name), household and household.address,
                           conversation.result_labels(session, campaign, language))


_LAST_ENTRY = select(ContactAttempt.result_code, ContactAttempt.household_id, ContactAttempt.person_id,
                     ContactAttempt.contacted_at, Person.first_name, Person.last_name,
                     Person.id.is_not(None).label("has_person"), Household.address) \
    .outerjoin(Person, Person.id == ContactAttempt.person_id) \
    .outerjoin(Household, Household.id == ContactAttempt.household_id) \
    .where(ContactAttempt.user_id == sa.bindparam("user_id"), ContactAttempt.turf_id == sa.bindparam("turf_id"),
           ContactAttempt.undone_at.is_(None)).order_by(ContactAttempt.id.desc()).limit(1)


def last_entry_view(session: Session, user_id: int, turf_id: int, labels: dict[str, str]) -> dict[str, Any] | None:
    """``entry_view`` of ``last_entry``, read with its person and door in one query; ``labels`` as
    ``conversation.result_labels``."""
    row = session.execute(_LAST_ENTRY, {"user_id": user_id, "turf_id": turf_id}).first()
    if row is None:
        return None
    return _entry_in_words(row, (row.first_name, row.last_name) if row.has_person else None, row.address, labels)


def _entry_in_words(entry: ContactAttempt | sa.Row, name: tuple[str, str] | None, address: str | None,
                    labels: dict[str, str]) -> dict[str, Any]:
    who = f"{name[0]} {name[1]}".strip() if name else (address or "")
    return {"who": who, "result": labels.get(entry.result_code, entry.result_code),
            "household_id": entry.household_id, "person_id": entry.person_id, "at": entry.contacted_at}


def walk_page(session: Session, user: User, turf: Turf, campaign: Campaign, language: str) -> dict[str, Any]:
    """What a walk list shows: the doors (``door_view``) with the progress, the next door to knock, the user's open
    shift and last entry on the turf, with the campaign's words in ``language``."""
    results: dict[int, str] = {}
    doors = walk_lists.turf_doors(session, turf, results=results)
    views = [door_view(d, campaign, results) for d in doors]
    labels = conversation.result_labels(session, campaign, language)
    return {"doors": views, "total": len(views), "done": sum(v["attempted"] for v in views),
            "next_door": next((v for v in views if not v["attempted"] and not v["closed"]), None),
            "shift": open_shift(session, user, turf), "labels": labels,
            "last": last_entry_view(session, user.id, turf.id, labels)}


def door_page(session: Session, user: User, turf: Turf, campaign: Campaign, place: walk_lists.DoorPlace,
              language: str) -> dict[str, Any]:
    """What a door page shows (but the request's own: new UUIDs, a confirmation, the add-person form), with the
    campaign's words in ``language``: four queries, five when someone at the door is on the do-not-contact list."""
    people, results, closed = walk_lists.door_people(session, place.household)
    resident = next((p.language for p in people if p.language and p.language != language), "")
    labels = conversation.result_labels(session, campaign, language)
    open_people = [p for p in people if p.id not in closed]
    return {"household": place.household, "position": place.position + 1, "total": place.total,
            "neighbours": {"previous": place.previous, "next": place.next},
            "people": [{**conversation.person_view(p, campaign), "last_result": results.get(p.id, ""),
                        "closed": closed.get(p.id, "")} for p in people],
            "open_people": open_people,
            **conversation.door_buttons(conversation.result_codes_for(session, campaign, Channel.door, language)),
            "labels": labels, "survey": conversation.survey_for(session, campaign, language),
            "followups": conversation.followup_tags(session, campaign, language),
            "script": conversation.script_for(session, campaign, Channel.door, language, resident),
            "last": last_entry_view(session, user.id, turf.id, labels)}


def last_results(session: Session, person_ids: list[int]) -> dict[int, str]:
    """The latest result code per person (what the walk list shows next to a name)."""
    if not person_ids:
        return {}
    latest = select(ContactAttempt.person_id, sa.func.max(ContactAttempt.id).label("id")).where(
        ContactAttempt.person_id.in_(person_ids), ContactAttempt.undone_at.is_(None)).group_by(
        ContactAttempt.person_id).subquery()
    rows = session.execute(select(ContactAttempt.person_id, ContactAttempt.result_code)
                           .join(latest, latest.c.id == ContactAttempt.id)).all()
    return dict(rows)


def turf_package(session: Session, turf: Turf, user: User, campaign: Campaign | None = None) -> dict[str, Any]:
    """Everything the phone keeps for working the turf offline (``campaign``: the turf's, if already read)."""
    campaign = campaign or session.get(Campaign, turf.campaign_id)
    results: dict[int, str] = {}
    doors = walk_lists.turf_doors(session, turf, results=results)
    language = user.language or "en"
    scripts = conversation.scripts_for(session, campaign, Channel.door)
    return {"turf": {"id": turf.id, "name": turf.name, "campaign": campaign.name},
            "doors": [_versioned(door_view(d, campaign, results)) for d in doors],
            "scripts": scripts, "survey": conversation.survey_for(session, campaign, language),
            "result_codes": conversation.result_codes_for(session, campaign, Channel.door, language),
            "followups": conversation.followup_tags(session, campaign, language)}


def _versioned(view: dict[str, Any]) -> dict[str, Any]:
    """A door with ``v``, a digest of everything shown about it: the phone fetches a door page again only when it
    changed."""
    return {**view, "v": hashlib.sha1(json.dumps(view, sort_keys=True, default=str).encode()).hexdigest()[:12]}


#: ``open_shift`` and ``last_entry`` of a user on a turf, their ids only, in one statement.
_VERSION_STATE = select(
    select(Shift.id).where(Shift.user_id == sa.bindparam("user_id"), Shift.checked_out_at.is_(None),
                           Shift.turf_id == sa.bindparam("turf_id")).order_by(Shift.id.desc()).limit(1)
    .scalar_subquery(),
    select(ContactAttempt.id).where(ContactAttempt.user_id == sa.bindparam("user_id"),
                                    ContactAttempt.turf_id == sa.bindparam("turf_id"),
                                    ContactAttempt.undone_at.is_(None)).order_by(ContactAttempt.id.desc()).limit(1)
    .scalar_subquery())


def turf_version(session: Session, turf: Turf, user: User, package: dict[str, Any], language: str) -> str:
    """What the turf's pages show this user, as one digest: its package, the user's open shift and last entry on
    it, and the language. The phone keeps the walk list while this stays the same (an ETag)."""
    shift_id, entry_id = session.execute(_VERSION_STATE, {"user_id": user.id, "turf_id": turf.id}).one()
    state = [package, shift_id, entry_id, language, user.id]
    return hashlib.sha1(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:20]


def opt_out_at_door(session: Session, user: User, turf: Turf, household: Household, person_id: int | None) -> Person:
    """A volunteer records that someone at this door asked not to be contacted, without a result. Returns them."""
    person = next((p for p in walk_lists.people_at(session, household) if p.id == person_id), None)
    if person is None:
        raise CanvassError(N_("This door or person is not on your list."))
    opt_outs.record_by_hand(session, person, user, reason=OptOutReason.do_not_contact, scope=OptOutScope.all)
    return person


def add_person_at_door(session: Session, user: User, turf: Turf, household: Household, *, first_name: str,
                       last_name: str = "", language: str = "") -> Person:
    """Someone met at the door who is not on the list. Returns the new person."""
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name and not last_name:
        raise CanvassError(N_("Give at least a first or a last name."))
    person = Person(campaign_id=turf.campaign_id, household_id=household.id, first_name=first_name[:80],
                    last_name=last_name[:80], language=language.strip().lower()[:8],
                    language_source="door" if language else "", added_by_id=user.id)
    session.add(person)
    session.flush()
    return person


# ------------------------------------------------------------------------------------------------------------------
# Safety: check in and out


def open_shift(session: Session, user: User, turf: Turf | None = None) -> Shift | None:
    query = select(Shift).where(Shift.user_id == user.id, Shift.checked_out_at.is_(None))
    if turf is not None:
        query = query.where(Shift.turf_id == turf.id)
    return session.exec(query.order_by(Shift.id.desc())).first()


def check_in(session: Session, user: User, turf: Turf, expected_minutes: int | None = None) -> Shift:
    shift = open_shift(session, user, turf)
    if shift is not None:
        return shift
    campaign = session.get(Campaign, turf.campaign_id)
    shift = Shift(turf_id=turf.id, user_id=user.id,
                  expected_minutes=expected_minutes or campaigns.setting(campaign, "shift_expected_minutes"))
    session.add(shift)
    session.flush()
    return shift


def check_out(session: Session, user: User, turf: Turf) -> Shift | None:
    shift = open_shift(session, user, turf)
    if shift is not None:
        shift.checked_out_at = utcnow()
        session.add(shift)
    return shift


def volunteers_out(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Who is out canvassing now, for how long, and who is overdue (for leads)."""
    now = utcnow()
    rows = session.execute(select(Shift, User, Turf).join(User, User.id == Shift.user_id)
                           .join(Turf, Turf.id == Shift.turf_id)
                           .where(Turf.campaign_id == campaign.id, Shift.checked_out_at.is_(None))
                           .order_by(Shift.checked_in_at)).all()
    return [{"user": user, "turf": turf, "since": shift.checked_in_at,
             "minutes": int((now - shift.checked_in_at).total_seconds() // 60),
             "overdue": now - shift.checked_in_at > timedelta(minutes=shift.expected_minutes)}
            for shift, user, turf in rows]


def my_turf_ids(session: Session, user: User) -> list[int]:
    """The turfs the phone may keep (any other cached turf is wiped from it)."""
    return list(session.exec(select(TurfAssignment.turf_id).join(Turf, Turf.id == TurfAssignment.turf_id).where(
        TurfAssignment.user_id == user.id, TurfAssignment.status == "active", Turf.status == TurfStatus.active)))


def log_whole_door(session: Session, user: User, campaign: Campaign, turf: Turf, household: Household, code: str,
                   uuids: list[str]) -> list:
    """One tap for the whole door (not home, moved, inaccessible...): the result stored once per person listed there,
    or for the door itself when nobody is; ``uuids`` (the phone's, so a retry stores nothing twice) in order.
    Returns the per-item results of ``contacts.log_contacts``."""
    codes = conversation.result_codes_for(session, campaign, Channel.door, "en")
    buttons = conversation.door_buttons(codes)
    allowed = {c["code"] for c in [buttons["not_home"], *buttons["door_wide"]] if c}
    if code.strip().upper() not in allowed:
        raise CanvassError(N_("That result cannot be recorded for a whole door; record it for each person."))
    listed = walk_lists.people_at(session, household)
    people = [person.id for person in walk_lists.open_people_at(session, household)]
    if listed and not people:
        raise CanvassError(N_("Everyone at this door is on the do-not-contact list."))
    people = people or [None]
    items = [ContactIn(client_uuid=uuids[i] if i < len(uuids) else uuid.uuid4(), person_id=person_id,
                       household_id=household.id, turf_id=turf.id, channel=Channel.door, result_code=code)
             for i, person_id in enumerate(people)]
    return contacts.log_contacts(session, user, campaign, items, on_turfs={turf.id})
