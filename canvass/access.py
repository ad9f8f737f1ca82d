"""Who may see and do what: the one place that decides, for pages, the sync API, the command line and the
authorization test (which is generated from ``PAGES``).

Two kinds of rule:
- by role, per page (``PAGES``): a role not listed is refused (403); an anonymous visitor goes to the login page;
- by object (a turf, a call list, a person at a door): SQL expressions and checks used by the load helpers, so that
  another volunteer's turf is a 404 and its existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass.models import (
    AssignmentStatus,
    CallList,
    CallListAssignment,
    Campaign,
    CampaignMember,
    Person,
    RelationalPerson,
    Role,
    Turf,
    TurfAssignment,
    TurfStatus,
    User,
)

ADMIN, LEAD, DATA, VOLUNTEER = Role.admin, Role.lead, Role.data, Role.volunteer
STAFF = (ADMIN, LEAD, DATA)  # see every turf and person of a campaign
LEADS = (ADMIN, LEAD)  # run the field: cut and assign turf, call lists, set-up; log at any door
EVERYONE_SIGNED_IN = (ADMIN, LEAD, DATA, VOLUNTEER)


class Scope(StrEnum):
    """What a page is about, beyond the role: a volunteer reaches only their own."""

    none = "none"
    turf = "turf"  # a turf: staff, and the volunteer it is assigned to (others: 404)
    turf_work = "turf_work"  # logging at a turf's doors: leads, and whoever it is assigned to (data staff: 403)
    call_list = "call_list"  # a call list: leads, its callers, and anyone when it is open to all callers (others: 404)
    relational = "relational"  # someone on a volunteer's relational list: that volunteer only, whatever the role (404)


@dataclass(frozen=True)
class Rule:
    roles: tuple[Role, ...]  # who may use the page; empty: anyone, signed in or not
    scope: Scope = Scope.none
    # The page checks the sign-in itself, in the same statement that reads its data (the sync API: one round trip
    # per batch); the roles still say who may use it.
    checked_by_the_page: bool = False

    @property
    def public(self) -> bool:
        return not self.roles


PUBLIC = Rule(())
SIGNED_IN = Rule(EVERYONE_SIGNED_IN)
ON_TURF = Rule(EVERYONE_SIGNED_IN, Scope.turf)
WORKS_TURF = Rule(EVERYONE_SIGNED_IN, Scope.turf_work)
ON_CALL_LIST = Rule(EVERYONE_SIGNED_IN, Scope.call_list)
OWN_RELATIONAL = Rule(EVERYONE_SIGNED_IN, Scope.relational)

#: Every page (Flask endpoint) and who may use it. A page missing here is refused to everyone (and fails the
#: authorization test).
PAGES: dict[str, Rule] = {
    # signing in, and what a phone or a proxy asks for before it is signed in
    "auth.login": PUBLIC, "auth.logout": PUBLIC, "auth.choose_language": PUBLIC, "auth.accept_invite": PUBLIC,
    "auth.reset_password": PUBLIC, "home.health": PUBLIC, "home.service_worker": PUBLIC, "home.index": PUBLIC,
    "api.openapi": PUBLIC, "static": PUBLIC,
    # anyone signed in
    "home.volunteer": SIGNED_IN, "api.me": SIGNED_IN,
    "api.post_contacts": Rule(EVERYONE_SIGNED_IN, checked_by_the_page=True), "turfs.join": SIGNED_IN,
    # home pages
    "home.admin": Rule((ADMIN,)), "home.lead": Rule(LEADS), "home.data": Rule(STAFF),
    # a turf and its doors
    "api.turf": ON_TURF, "canvassing.walk": ON_TURF, "canvassing.door": ON_TURF, "canvassing.next_door": ON_TURF,
    "turfs.show": ON_TURF, "turfs.print_list": ON_TURF, "turfs.entry": ON_TURF,
    "canvassing.log": WORKS_TURF, "canvassing.nobody_home": WORKS_TURF, "canvassing.undo": WORKS_TURF,
    "canvassing.add_person": WORKS_TURF, "canvassing.opt_out": WORKS_TURF, "canvassing.check_in": WORKS_TURF, "canvassing.check_out": WORKS_TURF,
    # the turf board
    "turfs.board": Rule(STAFF), "turfs.cut": Rule(LEADS), "turfs.rename": Rule(LEADS), "turfs.split": Rule(LEADS),
    "turfs.merge": Rule(LEADS), "turfs.move": Rule(LEADS), "turfs.delete": Rule(LEADS), "turfs.assign": Rule(LEADS),
    "turfs.unassign": Rule(LEADS), "turfs.approve": Rule(LEADS), "turfs.approval": Rule(LEADS),
    # phone banks
    "calling.caller": ON_CALL_LIST, "calling.next_call": ON_CALL_LIST, "calling.result": ON_CALL_LIST,
    "calling.skip": ON_CALL_LIST, "calling.index": Rule(LEADS), "calling.create": Rule(LEADS),
    "calling.set_status": Rule(LEADS), "calling.assign": Rule(LEADS),
    # campaigns and their set-up
    "campaigns.index": Rule(STAFF), "campaigns.create": Rule(LEADS), "campaigns.setup": Rule(LEADS),
    "campaigns.set_script": Rule(LEADS), "campaigns.add_question": Rule(LEADS),
    "campaigns.question_active": Rule(LEADS), "campaigns.save_code": Rule(LEADS), "campaigns.add_tag": Rule(LEADS),
    "campaigns.save_settings": Rule(LEADS),
    # retention: closing a campaign to new contacts, reopening it, purging its personal data (admins only)
    "campaigns.retention_page": Rule((ADMIN,)), "campaigns.close": Rule((ADMIN,)), "campaigns.reopen": Rule((ADMIN,)),
    "campaigns.purge": Rule((ADMIN,)),
    # lists in and results out
    "importing.index": Rule(STAFF), "importing.upload": Rule(STAFF), "importing.show": Rule(STAFF),
    "importing.remap": Rule(STAFF), "importing.confirm": Rule(STAFF), "importing.discard": Rule(STAFF),
    "importing.problems_csv": Rule(STAFF),
    "history.index": Rule(STAFF), "history.upload": Rule(STAFF), "history.show": Rule(STAFF),
    "history.confirm": Rule(STAFF), "history.discard": Rule(STAFF),
    "exports.index": Rule(STAFF), "exports.create": Rule(STAFF), "exports.show": Rule(STAFF),
    "exports.download": Rule(STAFF), "exports.dashboard": Rule(LEADS),
    # people and accounts
    "people.index": Rule(STAFF), "people.show": Rule(STAFF),
    # the do-not-contact list: recorded and lifted by staff (a volunteer records "asked not to be contacted" at a
    # door: canvassing.opt_out), exported and imported
    "people.opt_out": Rule(STAFF), "people.lift_opt_out": Rule(STAFF),
    "opt_outs.index": Rule(STAFF), "opt_outs.export_csv": Rule(STAFF), "opt_outs.upload": Rule(STAFF),
    "opt_outs.show": Rule(STAFF), "opt_outs.confirm": Rule(STAFF), "opt_outs.discard": Rule(STAFF),
    # duplicate people: the list, a pair side by side, merging and its undo
    "duplicates.index": Rule(STAFF), "duplicates.review": Rule(STAFF), "duplicates.merge": Rule(STAFF),
    "duplicates.different": Rule(STAFF), "duplicates.record": Rule(STAFF), "duplicates.undo": Rule(STAFF),
    # shifts and events: the public sign-up link and its calendar file (a first-timer signs up there, throttled by
    # canvass.shifts); a volunteer's own shifts and checking in on their phone (their own sign-up only, checked by
    # canvass.shifts); the leads' list, set-up, roster and check-in
    "shifts.signup": PUBLIC, "shifts.calendar": PUBLIC,
    "shifts.mine": SIGNED_IN, "shifts.my_calendar": SIGNED_IN, "shifts.check_in_myself": SIGNED_IN,
    "shifts.index": Rule(LEADS), "shifts.create": Rule(LEADS), "shifts.edit": Rule(LEADS),
    "shifts.roster": Rule(LEADS), "shifts.check_in": Rule(LEADS), "shifts.print_roster": Rule(LEADS),
    "shifts.roster_csv": Rule(LEADS), "shifts.set_leader": Rule(LEADS),
    # a volunteer's path: every volunteer's figures and step, read by staff (data staff too, as they read people
    # and contacts); the steps named by leads. A volunteer sees only their own figures (home.volunteer), never others'
    "path.index": Rule(STAFF), "path.show": Rule(STAFF), "path.export_csv": Rule(STAFF),
    "path.steps": Rule(LEADS), "path.save_steps": Rule(LEADS), "path.reset_steps": Rule(LEADS),
    "users.index": Rule(LEADS), "users.invite": Rule(LEADS), "users.reset_link": Rule(LEADS),
    "users.change_role": Rule((ADMIN,)), "users.toggle_active": Rule((ADMIN,)),
    # relational lists: anyone's own list of people they know; the reach per volunteer (counts) for leads
    "relational.index": SIGNED_IN, "relational.add": SIGNED_IN, "relational.paste": SIGNED_IN,
    "relational.upload": SIGNED_IN, "relational.match": OWN_RELATIONAL, "relational.log": OWN_RELATIONAL,
    "relational.reach": Rule(LEADS),
}


def may_use(endpoint: str | None, user) -> bool | None:
    """Whether ``user`` (anonymous or not) may use the page by role: True, False (403), or None when they must sign
    in first. An endpoint nobody listed is refused."""
    rule = PAGES.get(endpoint or "")
    if rule is None:
        return False
    if rule.public or rule.checked_by_the_page:
        return True
    if not getattr(user, "is_authenticated", False):
        return None
    return Role(user.role) in rule.roles


# ------------------------------------------------------------------------------------------------------------------
# Turfs


def _worked_by(user_id) -> sa.ColumnElement[bool]:
    """The turf in the query's FROM is open and actively assigned to ``user_id`` (an SQL expression)."""
    assigned = sa.exists().where(TurfAssignment.turf_id == Turf.id, TurfAssignment.user_id == user_id,
                                 TurfAssignment.status == AssignmentStatus.active)
    return sa.and_(Turf.status == TurfStatus.active, assigned)


def may_work_turf(user_id, role) -> sa.ColumnElement[bool]:
    """SQL: the user may log contacts on the turf in the query's FROM: leads any (they supervise), anyone else only a
    turf assigned to them. Data staff see every turf and enter paper results, but knock only on their own."""
    return sa.or_(role.in_([r.value for r in LEADS]), _worked_by(user_id))


_VISIBLE_TURF = {staff: select(Turf, Campaign).join(Campaign, Campaign.id == Turf.campaign_id).where(
    Turf.id == sa.bindparam("turf_id"), *(() if staff else (_worked_by(sa.bindparam("user_id")),)))
    for staff in (True, False)}


def visible_turf(session: Session, turf_id: int, user: User) -> Turf | None:
    """The turf if ``user`` may open it (staff any, volunteers the active turfs actively assigned to them); None
    otherwise, whether or not it exists."""
    found = visible_turf_and_campaign(session, turf_id, user)
    return found[0] if found is not None else None


def visible_turf_and_campaign(session: Session, turf_id: int, user: User) -> tuple[Turf, Campaign] | None:
    """``visible_turf`` with its campaign, read in the same statement (every page of a turf needs both)."""
    row = session.execute(_VISIBLE_TURF[user.role in STAFF], {"turf_id": turf_id, "user_id": user.id}).first()
    return (row[0], row[1]) if row is not None else None


def works_turf(session: Session, turf: Turf, user: User) -> bool:
    """Whether ``user`` may log contacts on ``turf`` (see ``may_work_turf``)."""
    if user.role in LEADS:
        return True
    return session.exec(select(sa.literal(True)).select_from(Turf).where(Turf.id == turf.id, _worked_by(user.id))
                        ).first() is not None


def turfs_to_log_on(user: User, turf_ids: set[int]) -> set[int] | None:
    """The turfs whose doors ``user`` may log contacts at, of those a batch names (already checked to be turfs the
    user may work): those turfs; or None for leads and admins, who may log at any door of the campaign."""
    return None if user.role in LEADS else turf_ids


def shown_at_a_door(person=Person) -> sa.ColumnElement[bool]:
    """The people a door page, a walk list or a call list shows: never the deceased, never protected records.
    ``person``: the Person in the query's FROM, or an alias of it."""
    return sa.and_(person.deceased.is_(False), person.is_protected.is_(False))


# ------------------------------------------------------------------------------------------------------------------
# Call lists and accounts


def may_call(session: Session, call_list: CallList, user: User) -> bool:
    """Assigned callers, anyone when the list is open to all callers, and leads."""
    if user.role in LEADS:
        return True
    if session.get(CallListAssignment, (call_list.id, user.id)) is not None:
        return True
    return call_list.open_to_all and user.role == VOLUNTEER and user.is_active


def invitable_roles(user: User) -> list[Role]:
    """The roles ``user`` may invite: admins any, leads volunteers."""
    return list(Role) if user.role == ADMIN else [VOLUNTEER] if user.role == LEAD else []


def managed_roles(actor: User) -> list[Role]:
    """The roles of the accounts ``actor`` may see and manage (reset link, role, active): admins any, leads
    volunteers."""
    return list(Role) if actor.role == ADMIN else [VOLUNTEER] if actor.role == LEAD else []


def may_manage(actor: User, user: User) -> bool:
    return Role(user.role) in managed_roles(actor)


# ------------------------------------------------------------------------------------------------------------------
# Relational lists


def own_relational(user_id) -> sa.ColumnElement[bool]:
    """SQL: the relational person in the query's FROM is on ``user_id``'s own list. Nobody else's, whatever their
    role: leads see counts per volunteer (``relational.reach``), never the people."""
    return RelationalPerson.user_id == user_id


def my_relational_person(session: Session, relational_id: int, user: User) -> RelationalPerson | None:
    """The person if they are on ``user``'s own list; None otherwise, whether or not they exist."""
    return session.exec(select(RelationalPerson).where(RelationalPerson.id == relational_id,
                                                       own_relational(user.id))).first()


def may_log_relational(row, user: User, campaign_id: int) -> bool:
    """Whether ``user`` may log a contact with relational person ``row`` (any row with ``user_id`` and
    ``campaign_id``): only their own, in the campaign the batch is for."""
    return row is not None and row.user_id == user.id and row.campaign_id == campaign_id


def relational_campaigns(session: Session, user: User) -> list[Campaign]:
    """The campaigns ``user`` may keep a relational list in: staff any open campaign, a volunteer those they work
    on (a turf or a call list made them a member). A closed campaign (canvass.retention) takes no one new."""
    query = select(Campaign).where(Campaign.archived.is_(False), Campaign.closed_at.is_(None)) \
        .order_by(Campaign.name, Campaign.id)
    if user.role not in STAFF:
        query = query.where(Campaign.id.in_(select(CampaignMember.campaign_id)
                                            .where(CampaignMember.user_id == user.id)))
    return list(session.exec(query))
