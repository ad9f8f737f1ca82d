"""What each role's home page shows, computed with grouped queries (one query per figure, not per row)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import exports, recontact, tallies, volunteer_path, walk_lists
from canvass.models import (
    AssignmentStatus,
    AuditLog,
    CallList,
    CallListAssignment,
    CallListStatus,
    Campaign,
    ContactAttempt,
    Household,
    ImportBatch,
    Person,
    Phone,
    Role,
    Turf,
    TurfAssignment,
    TurfDoor,
    TurfStatus,
    User,
    UserToken,
    utcnow,
)


def _count_by(session: Session, column, *where) -> dict[Any, int]:
    query = select(column, sa.func.count()).group_by(column)
    for clause in where:
        query = query.where(clause)
    return dict(session.execute(query).all())


def campaign_rows(session: Session) -> list[dict[str, Any]]:
    """Every active campaign with its people, doors, phones, turfs and contacts counts."""
    campaigns = session.exec(select(Campaign).where(Campaign.archived.is_(False)).order_by(Campaign.id)).all()
    people = _count_by(session, Person.campaign_id)
    doors = _count_by(session, Household.campaign_id)
    phones = dict(session.execute(select(Person.campaign_id, sa.func.count(Phone.id))
                                  .join(Phone, Phone.person_id == Person.id).group_by(Person.campaign_id)).all())
    turfs = _count_by(session, Turf.campaign_id, Turf.status == TurfStatus.active)
    contacts = _count_by(session, ContactAttempt.campaign_id, ContactAttempt.undone_at.is_(None))
    return [{"campaign": c, "people": people.get(c.id, 0), "doors": doors.get(c.id, 0),
             "phones": phones.get(c.id, 0), "turfs": turfs.get(c.id, 0), "contacts": contacts.get(c.id, 0)}
            for c in campaigns]


def admin_overview(session: Session) -> dict[str, Any]:
    users = session.exec(select(User).order_by(User.role, User.email)).all()
    recent = session.execute(
        select(AuditLog.at, AuditLog.action, AuditLog.object_type, AuditLog.object_id, User.email)
        .outerjoin(User, User.id == AuditLog.user_id).order_by(AuditLog.id.desc()).limit(15)).all()
    return {"users": users, "users_by_role": _count_by(session, User.role, User.is_active.is_(True)),
            "pending_invites": pending_invites(session), "campaigns": campaign_rows(session), "recent": recent}


def pending_invites(session: Session) -> list[tuple[User, UserToken]]:
    rows = session.execute(
        select(User, UserToken).join(UserToken, UserToken.user_id == User.id)
        .where(User.password_hash.is_(None), UserToken.purpose == "invite", UserToken.used_at.is_(None))
        .order_by(UserToken.expires_at)).all()
    return [(user, token) for user, token in rows]


def lead_overview(session: Session) -> dict[str, Any]:
    from canvass.canvassing import volunteers_out

    volunteers = session.exec(select(User).where(User.role == Role.volunteer, User.is_active.is_(True))
                              .order_by(User.name, User.email)).all()
    turf_counts = _count_by(session, TurfAssignment.user_id)
    rows = campaign_rows(session)
    out = [shift for row in rows for shift in volunteers_out(session, row["campaign"])]
    return {"campaigns": rows, "volunteers": volunteers, "turf_counts": turf_counts, "out": out,
            "join_requests": join_requests(session)}


def join_requests(session: Session) -> list[tuple[Turf, User]]:
    """Volunteers who asked for a turf by its code and wait for a lead's approval, oldest first."""
    return list(session.exec(
        select(Turf, User).join(TurfAssignment, TurfAssignment.turf_id == Turf.id)
        .join(User, User.id == TurfAssignment.user_id)
        .where(TurfAssignment.status == AssignmentStatus.pending, Turf.status == TurfStatus.active)
        .order_by(TurfAssignment.assigned_at)).all())


def data_overview(session: Session) -> dict[str, Any]:
    imports = session.exec(select(ImportBatch).order_by(ImportBatch.id.desc()).limit(10)).all()
    return {"campaigns": campaign_rows(session), "imports": imports}


def volunteer_overview(session: Session, user: User) -> dict[str, Any]:
    """The turfs and call lists assigned to ``user``, with progress, and their own figures (never anyone else's)."""
    done_doors = (select(TurfDoor.turf_id, sa.func.count(sa.distinct(TurfDoor.household_id)).label("done"))
                  .join(ContactAttempt, sa.and_(ContactAttempt.household_id == TurfDoor.household_id,
                                                ContactAttempt.turf_id == TurfDoor.turf_id,
                                                ContactAttempt.undone_at.is_(None)))
                  .group_by(TurfDoor.turf_id).subquery())
    total_doors = (select(TurfDoor.turf_id, sa.func.count().label("total")).group_by(TurfDoor.turf_id).subquery())
    turfs = session.execute(
        select(Turf, TurfAssignment.status, Campaign.name, sa.func.coalesce(total_doors.c.total, 0),
               sa.func.coalesce(done_doors.c.done, 0))
        .join(TurfAssignment, TurfAssignment.turf_id == Turf.id).join(Campaign, Campaign.id == Turf.campaign_id)
        .outerjoin(total_doors, total_doors.c.turf_id == Turf.id).outerjoin(done_doors, done_doors.c.turf_id == Turf.id)
        .where(TurfAssignment.user_id == user.id, Turf.status == TurfStatus.active).order_by(Turf.name)).all()
    call_lists = session.execute(
        select(CallList, Campaign.name).join(Campaign, Campaign.id == CallList.campaign_id)
        .outerjoin(CallListAssignment, sa.and_(CallListAssignment.call_list_id == CallList.id,
                                               CallListAssignment.user_id == user.id))
        .where(CallList.status == CallListStatus.active,
               sa.or_(CallListAssignment.user_id.is_not(None), CallList.open_to_all.is_(True)))
        .order_by(CallList.name)).all()
    closed = walk_lists.unknocked_closed_doors(session, [t.id for t, *_ in turfs], knocked_on_the_turf=True)
    return {"turfs": [{"turf": t, "status": s, "campaign": c, "doors": total - closed.get(t.id, 0), "done": done}
                      for t, s, c, total, done in turfs],
            "call_lists": [{"call_list": cl, "campaign": c} for cl, c in call_lists], "now": utcnow(),
            "my_figures": volunteer_path.my_figures(session, user)}


def dashboard(session: Session, campaign: Campaign, timezone: str, *, now: datetime | None = None) -> dict[str, Any]:
    """What the field lead watches during a canvass day: today's counts, results, survey and flags."""
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)).date()
    if campaign.purged_at is not None:
        return _purged_dashboard(session, campaign, today, now or datetime.now(UTC))
    frame = exports.contacts_frame(session, campaign, exports.Filters(), timezone)
    today_frame = frame[frame["contacted_at"].dt.date == today]
    volunteers = tallies.tally_by(today_frame.assign(v=today_frame["volunteer"].fillna(today_frame["volunteer_email"])), "v",
                          "Volunteer") if len(today_frame) else pd.DataFrame()
    results = tallies.by_result(frame)
    return {"summary": tallies.summary(frame).set_index("Channel").to_dict("index"),
            "today": tallies.summary(today_frame).set_index("Channel").to_dict("index") if len(today_frame) else None,
            "volunteers_today": volunteers.to_dict("records"),
            "results": list(zip(results["Code"], results["Attempts"], strict=True)),
            "survey": tallies.survey_results(frame), "flags": tallies.quality_flags(frame), "today_date": today,
            "passes": recontact.pass_summary(session, campaign.id, now or datetime.now(UTC))}


def _purged_dashboard(session: Session, campaign: Campaign, today, now: datetime) -> dict[str, Any]:
    """A purged campaign's dashboard: the tallies kept when its contacts were deleted."""
    from canvass.retention import stored_tallies

    kept = stored_tallies(session, campaign.id)
    results = kept["by_result"]
    return {"summary": kept["summary"].set_index("Channel").to_dict("index"), "today": None, "volunteers_today": [],
            "results": list(zip(results["Code"], results["Attempts"], strict=True)),
            "survey": kept["survey"],
            "flags": [], "today_date": today, "passes": recontact.pass_summary(session, campaign.id, now)}
