"""The do-not-contact list: one list per campaign, honoured by every channel (doors, calls, texts, a volunteer's own
contacts, exports for outreach). Entries come from results (do not contact, do not call, wrong number, a final
refusal), from staff or a volunteer without a result, and from files; re-imports never clear them, and only staff lift
them (the entry stays, marked lifted, with who and when).

``closed_to(channel)`` is THE rule, as SQL about the Person in a query's FROM: every list that offers people to
approach uses it. Person.do_not_contact and do_not_call are kept equal to the active entries (``sync_flags``), so
readers of the flags see the same list. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlmodel import Session, select

from canvass import audit
from canvass.i18n import N_, UserError
from canvass.models import (
    OptOut,
    OptOutReason,
    OptOutScope,
    OptOutSource,
    Person,
    Phone,
    PhoneStatus,
    Role,
    User,
    utcnow,
)

#: Each reason in words, as volunteers and staff read it (never a code).
REASON_WORDS = {
    OptOutReason.do_not_contact: N_("Asked not to be contacted"),
    OptOutReason.do_not_call: N_("Asked not to be called"),
    OptOutReason.stop_texting: N_("Asked for no texts"),
    OptOutReason.wrong_number: N_("Wrong number"),
    OptOutReason.refused: N_("Refused"),
    OptOutReason.other: N_("Other reason"),
}
SCOPE_WORDS = {
    OptOutScope.all: N_("Every channel"),
    OptOutScope.phone: N_("Calls"),
    OptOutScope.texts: N_("Texts"),
    OptOutScope.door: N_("Doors"),
}
SOURCE_WORDS = {OptOutSource.contact: N_("After a result"), OptOutSource.imported: N_("From a file"),
                OptOutSource.manual: N_("Recorded by hand")}
#: The channels an entry of the reason closes when nobody says.
DEFAULT_SCOPE = {OptOutReason.do_not_contact: OptOutScope.all, OptOutReason.do_not_call: OptOutScope.phone,
                 OptOutReason.stop_texting: OptOutScope.texts, OptOutReason.wrong_number: OptOutScope.phone,
                 OptOutReason.refused: OptOutScope.all, OptOutReason.other: OptOutScope.all}
#: Who may lift an entry (and record one from a person's page).
STAFF = (Role.admin, Role.lead, Role.data)
CHANNELS = ("door", "phone", "texts", "relational")


class OptOutError(UserError):
    """An opt-out that cannot be recorded or lifted; the message says why."""


def active() -> sa.ColumnElement[bool]:
    return OptOut.lifted_at.is_(None)


def _person_entry(scopes: Iterable[OptOutScope], person=Person) -> sa.ColumnElement[bool]:
    """SQL: ``person`` (the Person in the FROM, or an alias of it) has an active person-wide entry (not one number's)
    of one of these scopes."""
    return sa.exists().where(OptOut.person_id == person.id, active(), OptOut.phone_id.is_(None),
                             OptOut.e164 == "", OptOut.scope.in_([s.value for s in scopes]))


def closed_to(channel: str, person=Person) -> sa.ColumnElement[bool]:
    """SQL: ``person`` (the Person in the query's FROM, or an alias of it) is on the do-not-contact list for
    ``channel`` (door, phone, texts, relational). The one rule every channel uses: call it rather than reading the
    flags."""
    if channel == "phone":
        return sa.or_(person.do_not_contact.is_(True), person.do_not_call.is_(True))
    if channel == "door":
        return sa.or_(person.do_not_contact.is_(True), _person_entry([OptOutScope.door], person))
    if channel == "texts":
        return sa.or_(person.do_not_contact.is_(True), _person_entry([OptOutScope.texts], person))
    if channel == "relational":  # a volunteer's own call or text (tel: and sms: links)
        return sa.or_(person.do_not_contact.is_(True), person.do_not_call.is_(True),
                      _person_entry([OptOutScope.texts], person))
    raise ValueError(f"no channel {channel!r}")


def open_to(channel: str) -> sa.ColumnElement[bool]:
    """SQL: the Person in the query's FROM may be approached on ``channel`` (see ``closed_to``)."""
    return sa.not_(closed_to(channel))


def number_closed(scope: OptOutScope) -> sa.ColumnElement[bool]:
    """SQL: the Phone in the query's FROM has an active entry of its own closing calls or texts."""
    return sa.exists().where(OptOut.phone_id == Phone.id, active(), OptOut.scope.in_([scope.value, "all"]))


# ------------------------------------------------------------------------------------------------------------------
# Recording and lifting


def sync_flags(session: Session, person_ids: Iterable[int]) -> None:
    """Sets Person.do_not_contact and do_not_call to what the active entries say (one statement)."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    session.flush()
    for start in range(0, len(ids), 5000):  # SQLite takes at most 32766 parameters
        session.execute(sa.update(Person).where(Person.id.in_(ids[start:start + 5000])).values(
            do_not_contact=_person_entry([OptOutScope.all]), do_not_call=_person_entry([OptOutScope.phone]))
            .execution_options(synchronize_session=False))
    wanted = set(ids)
    for person in [obj for obj in session.identity_map.values() if isinstance(obj, Person) and obj.id in wanted]:
        session.refresh(person, ["do_not_contact", "do_not_call"])


def record(session: Session, person: Person, *, reason: OptOutReason | str, source: OptOutSource,
           user: User | None, scope: OptOutScope | str | None = None, phone: Phone | None = None,
           note: str = "", contact_id: int | None = None, import_name: str = "",
           now: datetime | None = None) -> OptOut:
    """Puts ``person`` (or one of their numbers) on the list. An active entry of the same reach is kept rather than
    repeated: returns it, or the new entry."""
    reason = OptOutReason(reason)
    scope = OptOutScope(scope or DEFAULT_SCOPE[reason])
    if phone is not None and phone.person_id != person.id:
        raise OptOutError(N_("That number is not this person's."))
    if phone is None and reason in (OptOutReason.wrong_number,):
        raise OptOutError(N_("Choose which number is wrong."))
    existing = session.exec(select(OptOut).where(
        OptOut.person_id == person.id, active(), OptOut.scope == scope,
        OptOut.phone_id.is_(None) if phone is None else OptOut.phone_id == phone.id)).first()
    if existing is not None:
        return existing
    entry = OptOut(campaign_id=person.campaign_id, person_id=person.id, phone_id=phone.id if phone else None,
                   e164=phone.e164 if phone else "", scope=scope, reason=reason, note=note.strip()[:300],
                   source=source, contact_id=contact_id, import_name=import_name[:255],
                   created_by_id=user.id if user else None, created_at=now or utcnow())
    session.add(entry)
    if phone is not None and reason == OptOutReason.wrong_number and phone.status == PhoneStatus.ok:
        phone.status, phone.status_changed_at = PhoneStatus.wrong, now or utcnow()
        session.add(phone)
    session.flush()
    sync_flags(session, [person.id])
    return entry


def record_by_hand(session: Session, person: Person, user: User, *, reason: str, scope: str | None = None,
                   phone_id: int | None = None, note: str = "") -> OptOut:
    """An opt-out without a contact: staff on the person's page (any reason and reach), a volunteer at the door
    ("asked not to be contacted", every channel). Audited."""
    if user.role not in STAFF and (reason != OptOutReason.do_not_contact or scope not in (None, OptOutScope.all)):
        raise OptOutError(N_("Only staff can record that; record that they asked not to be contacted."))
    phone = None
    if phone_id is not None:
        phone = session.get(Phone, phone_id)
        if phone is None or phone.person_id != person.id:
            raise OptOutError(N_("That number is not this person's."))
    entry = record(session, person, reason=reason, scope=scope, phone=phone, note=note, source=OptOutSource.manual,
                   user=user)
    audit.record(session, user, "opt_out.recorded", object_type="opt_out", object_id=entry.id,
                 person_id=person.id, reason=str(entry.reason), scope=str(entry.scope))
    return entry


def lift(session: Session, entry: OptOut, user: User, note: str = "", now: datetime | None = None) -> None:
    """Takes the entry off the list (staff only), keeping it as history; a wrong number it marked becomes usable
    again. Audited."""
    if user.role not in STAFF:
        raise OptOutError(N_("Only staff can take someone off the do-not-contact list."))
    if entry.lifted_at is not None:
        raise OptOutError(N_("This was already taken off the list."))
    entry.lifted_at, entry.lifted_by_id, entry.lift_note = now or utcnow(), user.id, note.strip()[:300]
    session.add(entry)
    if entry.reason == OptOutReason.wrong_number and entry.phone_id is not None:
        phone = session.get(Phone, entry.phone_id)
        others = session.exec(select(OptOut.id).where(OptOut.phone_id == entry.phone_id, active(),
                                                      OptOut.id != entry.id,
                                                      OptOut.reason == OptOutReason.wrong_number)).first()
        if phone is not None and phone.status == PhoneStatus.wrong and others is None:
            phone.status, phone.status_changed_at = PhoneStatus.ok, entry.lifted_at
            session.add(phone)
    session.flush()
    sync_flags(session, [entry.person_id])
    audit.record(session, user, "opt_out.lifted", object_type="opt_out", object_id=entry.id,
                 person_id=entry.person_id)


def remove_for_undo(session: Session, entry_id: int) -> None:
    """Undoing the result that made an entry deletes it (it was never meant), and puts the flags back."""
    entry = session.get(OptOut, entry_id)
    if entry is None:
        return
    person_id = entry.person_id
    session.delete(entry)
    session.flush()
    sync_flags(session, [person_id])


def entries_for_flags(session: Session, campaign_id: int, *, import_name: str, user_id: int | None) -> int:
    """Entries for the campaign's people flagged by a file (a voter file's do-not-call column) with no active entry
    of that reach yet, so the list and the flags agree. Set-based; returns the number added."""
    added = 0
    for flag, scope, reason in ((Person.do_not_call, OptOutScope.phone, OptOutReason.do_not_call),
                                (Person.do_not_contact, OptOutScope.all, OptOutReason.do_not_contact)):
        rows = select(Person.campaign_id, Person.id, sa.literal(""), sa.literal(scope.value),
                      sa.literal(reason.value), sa.literal(""), sa.literal(OptOutSource.imported.value),
                      sa.literal(import_name[:255]), sa.literal(user_id, sa.Integer), sa.literal(utcnow(), OptOut.created_at.type),
                      sa.literal("")).where(Person.campaign_id == campaign_id, flag.is_(True),
                                            ~_person_entry([scope]))
        added += session.execute(sa.insert(OptOut).from_select(
            ["campaign_id", "person_id", "e164", "scope", "reason", "note", "source", "import_name", "created_by_id",
             "created_at", "lift_note"], rows)).rowcount or 0
    return added


# ------------------------------------------------------------------------------------------------------------------
# Reading


@dataclass
class Closed:
    """Why a person is not offered on a channel, in words for the page (translated there)."""

    reason: OptOutReason
    words: str


def reasons_closed(session: Session, person_ids: list[int], channel: str) -> dict[int, Closed]:
    """The people of ``person_ids`` on the list for ``channel``, each with the reason of their latest entry that
    closes it (one query)."""
    if not person_ids:
        return {}
    closed = session.exec(select(Person.id).where(Person.id.in_(person_ids), closed_to(channel))).all()
    return reasons_of(session, closed, channel)


def reasons_of(session: Session, closed: Sequence[int], channel: str) -> dict[int, Closed]:
    """The reasons of people already known to be on the list for ``channel`` (``closed_to``): the latest entry that
    closes it, else the flag's reason. No query when ``closed`` is empty."""
    if not closed:
        return {}
    scopes = {"door": ("all", "door"), "phone": ("all", "phone"), "texts": ("all", "texts")}.get(channel, ("all",))
    rows = session.exec(select(OptOut.person_id, OptOut.reason).where(
        OptOut.person_id.in_(closed), active(), OptOut.phone_id.is_(None), OptOut.e164 == "",
        OptOut.scope.in_(scopes)).order_by(OptOut.created_at, OptOut.id)).all()
    latest = {person_id: OptOutReason(reason) for person_id, reason in rows}
    fallback = OptOutReason.do_not_call if channel == "phone" else OptOutReason.do_not_contact
    return {pid: Closed(latest.get(pid, fallback), REASON_WORDS[latest.get(pid, fallback)]) for pid in closed}


def listed_people(session: Session, campaign_id: int) -> dict[int, str]:
    """Everyone of the campaign on the list for some channel -> the reason of their latest person-wide entry, in
    English words (for files read outside the app: an export for outreach marks them)."""
    rows = session.execute(select(OptOut.person_id, OptOut.reason).where(
        OptOut.campaign_id == campaign_id, active(), OptOut.phone_id.is_(None), OptOut.e164 == "")
        .order_by(OptOut.created_at, OptOut.id)).all()
    listed = {person_id: REASON_WORDS[OptOutReason(reason)] for person_id, reason in rows}
    for person_id, contact in session.execute(select(Person.id, Person.do_not_contact).where(
            Person.campaign_id == campaign_id, sa.or_(Person.do_not_contact, Person.do_not_call))).all():
        listed.setdefault(person_id, REASON_WORDS[OptOutReason.do_not_contact if contact else OptOutReason.do_not_call])
    return listed


def entry_of(session: Session, person_id: int, entry_id: int) -> OptOut | None:
    """The entry if it is this person's; None otherwise, whether or not it exists."""
    entry = session.get(OptOut, entry_id)
    return entry if entry is not None and entry.person_id == person_id else None


def person_entries(session: Session, person_id: int) -> list[tuple[OptOut, str, str]]:
    """Every entry of a person, active first, newest first (lifted ones are history), with who recorded it and who
    lifted it (their emails)."""
    by, lifter = orm.aliased(User), orm.aliased(User)
    return [(entry, created or "", lifted or "") for entry, created, lifted in session.execute(
        select(OptOut, by.email, lifter.email).outerjoin(by, by.id == OptOut.created_by_id)
        .outerjoin(lifter, lifter.id == OptOut.lifted_by_id).where(OptOut.person_id == person_id)
        .order_by(OptOut.lifted_at.is_not(None), OptOut.created_at.desc(), OptOut.id.desc())).all()]


def campaign_entries(session: Session, campaign_id: int, *, lifted: bool = False, limit: int = 50
                     ) -> list[tuple[OptOut, Person, str]]:
    """The campaign's list, newest first, with each person and who recorded it (a page of ``limit``)."""
    query = select(OptOut, Person, User.email).join(Person, Person.id == OptOut.person_id) \
        .outerjoin(User, User.id == OptOut.created_by_id).where(OptOut.campaign_id == campaign_id)
    query = query.where(OptOut.lifted_at.is_not(None) if lifted else active())
    return [(entry, person, email or "") for entry, person, email in
            session.execute(query.order_by(OptOut.created_at.desc(), OptOut.id.desc()).limit(limit)).all()]


def count_active(session: Session, campaign_id: int) -> int:
    return session.execute(select(sa.func.count()).select_from(OptOut).where(
        OptOut.campaign_id == campaign_id, active())).scalar_one()
