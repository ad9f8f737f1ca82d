"""Turfs in the database: cut from a universe (read in one query, written in bulk), edited, assigned and joined by
code, and the leads' board. The caller commits. The cutting itself is in ``cutting``, the walk order in ``walk_lists``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import accounts, bulk, cutting
from canvass.i18n import N_, UserError
from canvass.models import (
    AssignmentStatus,
    AuditLog,
    Campaign,
    CampaignMember,
    ContactAttempt,
    Household,
    Person,
    Turf,
    TurfAssignment,
    TurfDoor,
    TurfStatus,
    User,
    utcnow,
)
from canvass.universe import Universe, universe_frame, universe_query
from canvass.walk_lists import route_turf, unknocked_closed_doors

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread off a poster
METHODS = cutting.METHODS


class TurfError(UserError):
    """A turf request that cannot be done; the message says why."""


# ------------------------------------------------------------------------------------------------------------------
# Writing turfs


JOIN_CODE_LENGTH = 10  # 32**10 codes: guessing one of a campaign's turfs, 10 tries an hour, takes ages
JOIN_FAILURES_PER_HOUR = 10


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def plain_code(code: str) -> str:
    """A join code as typed off a poster: any case, with or without the dash or spaces it is printed with."""
    return re.sub(r"[\s-]+", "", code or "").upper()[:32]


def _join_codes(session: Session, count: int) -> list[str]:
    taken = set(session.exec(select(Turf.join_code)).all())
    codes: list[str] = []
    while len(codes) < count:
        code = new_join_code()
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def cut_turfs(session: Session, campaign: Campaign, universe: Universe, *, by: str, target: int,
              user: User | None = None) -> list[int]:
    """Cuts the universe into turfs of about ``target`` doors. Returns the new turf ids."""
    if by not in METHODS:
        raise TurfError(N_("Cut by one of %(methods)s, not %(by)s."), methods=", ".join(METHODS), by=by)
    if target < 1:
        raise TurfError(N_("A turf needs at least one door."))
    if universe.next_pass and universe.now is None:  # one moment for reading the doors and moving them
        universe = dataclasses.replace(universe, now=utcnow())
    doors = universe_frame(session, campaign, universe)
    if doors.empty:
        raise TurfError(N_("No doors match: every door is already in a turf, or the filters leave none."))
    labels = cutting.cut(doors, by, target)
    taken = set(session.exec(select(Turf.name).where(Turf.campaign_id == campaign.id)).all())
    names = cutting.turf_names(doors, labels, by, taken)
    count = len(names)
    ids = bulk.reserve_ids(session, Turf.__table__, count)
    label_to_id = dict(zip(sorted(names), (int(i) for i in ids), strict=True))
    now = utcnow()
    bulk.insert_frame(session, Turf.__table__, pd.DataFrame({
        "id": ids, "campaign_id": campaign.id, "name": [names[label] for label in sorted(names)],
        "status": TurfStatus.active.value, "cut_method": by, "join_code": _join_codes(session, count),
        "join_requires_approval": True, "created_at": now, "created_by_id": user.id if user else None}))
    if universe.next_pass:  # doors of the last pass's closed turfs move to the new ones (contacts keep their turf)
        session.execute(sa.delete(TurfDoor).where(TurfDoor.campaign_id == campaign.id, TurfDoor.household_id.in_(
            universe_query(campaign.id, universe).scalar_subquery())))
    positions = cutting.street_positions(doors, labels)
    order = np.lexsort((positions.to_numpy(), labels.to_numpy()))
    bulk.insert_frame(session, TurfDoor.__table__, pd.DataFrame({
        "turf_id": labels.map(label_to_id).to_numpy()[order], "household_id": doors["id"].to_numpy()[order],
        "campaign_id": campaign.id, "position": positions.to_numpy()[order]}))
    if len(doors) >= bulk.ANALYZE_AFTER_ROWS:
        bulk.refresh_statistics(session, TurfDoor.__table__)
    return [int(i) for i in ids]


def create_turf(session: Session, campaign: Campaign, name: str, household_ids: Sequence[int], *, method: str = "",
                created_by: User | None = None) -> Turf:
    """Returns a new turf holding these doors in the given order (they must be in no other turf)."""
    turf = Turf(campaign_id=campaign.id, name=name.strip()[:120] or "Turf", cut_method=method,
                join_code=_join_codes(session, 1)[0], created_by_id=created_by.id if created_by else None)
    session.add(turf)
    session.flush()
    if household_ids:
        session.execute(sa.insert(TurfDoor), [
            {"turf_id": turf.id, "household_id": hid, "campaign_id": campaign.id, "position": position}
            for position, hid in enumerate(household_ids)])
    return turf


# ------------------------------------------------------------------------------------------------------------------
# Editing


def rename_turf(session: Session, turf: Turf, name: str) -> None:
    name = name.strip()
    if not name:
        raise TurfError(N_("Give the turf a name."))
    turf.name = name[:120]
    session.add(turf)


def merge_turfs(session: Session, keep: Turf, others: list[Turf | None]) -> None:
    """Moves the other turfs' doors and volunteers into ``keep`` and deletes them."""
    for other in others:
        if other is None or other.id == keep.id or other.campaign_id != keep.campaign_id:
            raise TurfError(N_("Merge turfs of the same campaign, and not a turf with itself."))
        session.execute(sa.update(TurfDoor).where(TurfDoor.turf_id == other.id).values(turf_id=keep.id))
        for assignment in session.exec(select(TurfAssignment).where(TurfAssignment.turf_id == other.id)).all():
            if session.get(TurfAssignment, (keep.id, assignment.user_id)) is None:
                session.add(TurfAssignment(turf_id=keep.id, user_id=assignment.user_id, status=assignment.status))
        session.flush()
        session.delete(other)
    route_turf(session, keep)
    session.flush()


def split_turf(session: Session, turf: Turf, name: str = "") -> Turf:
    """Splits a turf into two compact halves; the new half has no volunteers yet."""
    doors = bulk.read_frame(session, select(
        Household.id, Household.street, Household.house_number_int, Household.building_key, Household.unit,
        Household.precinct, Household.zip5, Household.lat, Household.lon)
        .join(TurfDoor, TurfDoor.household_id == Household.id).where(TurfDoor.turf_id == turf.id))
    if len(doors) < 2:
        raise TurfError(N_("A turf needs at least two doors to split."))
    labels = cutting.cut(doors, "geo" if doors["lat"].notna().any() else "street", max(1, math.ceil(len(doors) / 2)))
    if labels.nunique() < 2:  # one building, or everything in one street run: split the walk order in half
        labels = pd.Series(np.arange(len(doors)) >= len(doors) // 2, index=doors.index).astype("int64")
    moving = doors.loc[labels == labels.max(), "id"].tolist()
    campaign = session.get(Campaign, turf.campaign_id)
    session.execute(sa.delete(TurfDoor).where(TurfDoor.turf_id == turf.id, TurfDoor.household_id.in_(moving)))
    new = create_turf(session, campaign, name or f"{turf.name} (2)", moving, method="split")
    route_turf(session, turf)
    route_turf(session, new)
    return new


def move_doors(session: Session, household_ids: list[int], target: Turf | None, *, campaign_id: int) -> int:
    """Moves doors (from any turf of the campaign, or from none) into ``target``. Returns how many moved."""
    if target is None or target.campaign_id != campaign_id or not household_ids:
        raise TurfError(N_("Tick the doors to move and choose the turf they go to."))
    doors = session.exec(select(Household.id).where(Household.id.in_(household_ids),
                                                    Household.campaign_id == target.campaign_id)).all()
    sources = set(session.exec(select(TurfDoor.turf_id).where(TurfDoor.household_id.in_(doors))).all())
    session.execute(sa.delete(TurfDoor).where(TurfDoor.campaign_id == target.campaign_id,
                                              TurfDoor.household_id.in_(doors)))
    last = session.execute(select(sa.func.coalesce(sa.func.max(TurfDoor.position), -1))
                           .where(TurfDoor.turf_id == target.id)).scalar_one()
    session.execute(sa.insert(TurfDoor), [{"turf_id": target.id, "household_id": hid, "campaign_id": target.campaign_id,
                                           "position": last + 1 + i} for i, hid in enumerate(doors)])
    for turf_id in sources | {target.id}:
        route_turf(session, session.get(Turf, turf_id))
    return len(doors)


def delete_turf(session: Session, turf: Turf) -> None:
    """Deletes the turf: its doors go back to the pool, contacts logged in it stay."""
    session.delete(turf)
    session.flush()


# ------------------------------------------------------------------------------------------------------------------
# Assignment


def assign_turf(session: Session, turf: Turf, user: User, *, by: User | None = None,
                status: AssignmentStatus = AssignmentStatus.active) -> TurfAssignment:
    if not user.is_active:
        raise TurfError(N_("%(email)s cannot log in any more."), email=user.email)
    assignment = session.get(TurfAssignment, (turf.id, user.id))
    if assignment is None:
        assignment = TurfAssignment(turf_id=turf.id, user_id=user.id, assigned_by_id=by.id if by else None)
        session.add(assignment)
    assignment.status = status
    if session.get(CampaignMember, (turf.campaign_id, user.id)) is None:
        session.add(CampaignMember(campaign_id=turf.campaign_id, user_id=user.id))
    session.flush()
    return assignment


def unassign_turf(session: Session, turf: Turf, user: User) -> None:
    assignment = session.get(TurfAssignment, (turf.id, user.id))
    if assignment is not None:
        session.delete(assignment)
        session.flush()


class JoinThrottled(TurfError):
    """Too many join codes that matched nothing, lately, from this user."""


def join_by_code(session: Session, code: str, user: User, *, now: datetime | None = None
                 ) -> tuple[Turf, TurfAssignment]:
    """A volunteer scanned a turf's join code at the staging location. A code that matches no open turf is
    recorded (the caller commits it even then), and after JOIN_FAILURES_PER_HOUR of them the user must wait."""
    from canvass import audit

    now = now or utcnow()
    recent = session.exec(select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.user_id == user.id, AuditLog.action == "turf.join_failed", AuditLog.at >= now - timedelta(hours=1))
    ).one()
    if recent >= JOIN_FAILURES_PER_HOUR:
        raise JoinThrottled(N_("Too many codes that did not match. Wait an hour, or ask your field lead for the "
                               "turf."))
    turf = session.exec(select(Turf).where(Turf.join_code == plain_code(code))).first()
    if turf is None or turf.status != TurfStatus.active:
        audit.record(session, user, "turf.join_failed", object_type="user", object_id=user.id)
        raise TurfError(N_("This join code does not match an open turf. Check it with your field lead."))
    existing = session.get(TurfAssignment, (turf.id, user.id))
    if existing is not None and existing.status == AssignmentStatus.active:
        return turf, existing
    status = AssignmentStatus.pending if turf.join_requires_approval else AssignmentStatus.active
    return turf, assign_turf(session, turf, user, status=status)


# ------------------------------------------------------------------------------------------------------------------
# The board and language match


def turf_languages(session: Session, turf_ids: list[int]) -> dict[int, Counter]:
    """Languages spoken at each turf's doors: from the list, and heard at the door."""
    result: dict[int, Counter] = {tid: Counter() for tid in turf_ids}
    if not turf_ids:
        return result
    rows = session.execute(select(TurfDoor.turf_id, Person.language, sa.func.count())
                           .join(Person, Person.household_id == TurfDoor.household_id)
                           .where(TurfDoor.turf_id.in_(turf_ids), Person.language != "")
                           .group_by(TurfDoor.turf_id, Person.language)).all()
    for turf_id, language, count in rows:
        result[turf_id][language] += count
    return result


def suggest_volunteers(languages: Counter, volunteers: Sequence[User], exclude: set[int] = frozenset(),
                       limit: int = 5) -> list[User]:
    """Of ``volunteers``, those who speak the turf's languages (English aside), most people they can talk to first."""
    wanted = {lang: count for lang, count in languages.items() if lang != "en"}
    if not wanted:
        return []
    scored = [(sum(wanted.get(lang, 0) for lang in (v.languages_spoken or [])), v) for v in volunteers
              if v.id not in exclude]
    return [v for score, v in sorted(scored, key=lambda pair: (-pair[0], pair[1].email)) if score > 0][:limit]


def board(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """Every active turf with its size, progress, volunteers and languages (a handful of grouped queries)."""
    turfs = session.exec(select(Turf).where(Turf.campaign_id == campaign.id, Turf.status == TurfStatus.active)
                         .order_by(Turf.name)).all()
    ids = [t.id for t in turfs]
    doors = dict(session.execute(select(TurfDoor.turf_id, sa.func.count()).where(TurfDoor.turf_id.in_(ids))
                                 .group_by(TurfDoor.turf_id)).all())
    people = dict(session.execute(select(TurfDoor.turf_id, sa.func.count(Person.id))
                                  .join(Person, Person.household_id == TurfDoor.household_id)
                                  .where(TurfDoor.turf_id.in_(ids)).group_by(TurfDoor.turf_id)).all())
    knocked = select(ContactAttempt.household_id).where(ContactAttempt.campaign_id == campaign.id,
                                                        ContactAttempt.undone_at.is_(None)).distinct().subquery()
    attempted = dict(session.execute(select(TurfDoor.turf_id, sa.func.count())
                                     .join(knocked, knocked.c.household_id == TurfDoor.household_id)
                                     .where(TurfDoor.turf_id.in_(ids)).group_by(TurfDoor.turf_id)).all())
    assigned: dict[int, list[tuple[User, str]]] = {}
    for assignment, user in session.execute(select(TurfAssignment, User).join(User, User.id == TurfAssignment.user_id)
                                            .where(TurfAssignment.turf_id.in_(ids))).all():
        assigned.setdefault(assignment.turf_id, []).append((user, assignment.status))
    languages = turf_languages(session, ids)
    volunteers = accounts.volunteers(session)
    closed = unknocked_closed_doors(session, ids, knocked_on_the_turf=False)
    # doors: the doors to knock (a greyed door nobody knocked is not one: the bar could never be full)
    return [{"turf": t, "doors": doors.get(t.id, 0) - closed.get(t.id, 0), "people": people.get(t.id, 0),
             "attempted": attempted.get(t.id, 0), "assigned": assigned.get(t.id, []),
             "languages": languages[t.id],
             "suggested": suggest_volunteers(languages[t.id], volunteers, {u.id for u, _s in assigned.get(t.id, [])})}
            for t in turfs]


@dataclass
class TurfDetail:
    """What a lead sees on a turf's page beyond its doors: who has it, its languages, who else could take it, and
    the turfs its doors could move to or merge with."""

    assigned: list[tuple[TurfAssignment, User]]
    languages: Counter
    volunteers: list[User]
    suggested: list[User]
    other_turfs: list[Turf]


def turf_detail(session: Session, turf: Turf) -> TurfDetail:
    assigned = [(a, u) for a, u in session.execute(
        select(TurfAssignment, User).join(User, User.id == TurfAssignment.user_id)
        .where(TurfAssignment.turf_id == turf.id).order_by(User.name, User.email)).all()]
    languages = turf_languages(session, [turf.id])[turf.id]
    volunteers = accounts.volunteers(session)
    others = session.exec(select(Turf).where(Turf.campaign_id == turf.campaign_id, Turf.id != turf.id,
                                             Turf.status == TurfStatus.active).order_by(Turf.name))
    return TurfDetail(assigned=assigned, languages=languages, volunteers=volunteers,
                      suggested=suggest_volunteers(languages, volunteers, {u.id for _a, u in assigned}),
                      other_turfs=list(others))


def set_join_approval(turf: Turf, required: bool) -> None:
    """Whether a volunteer who scans the turf's join code waits for a lead's approval (the default) or starts."""
    turf.join_requires_approval = required


def turf_summaries(session: Session, campaign: Campaign) -> list[dict[str, Any]]:
    """For ``canvass turf list --json``: id, name, doors, people and assigned emails."""
    return [{"id": row["turf"].id, "name": row["turf"].name, "doors": row["doors"], "people": row["people"],
             "assigned": sorted(user.email for user, status in row["assigned"] if status == AssignmentStatus.active)}
            for row in board(session, campaign)]


def find_turf(session: Session, campaign: Campaign | None, reference: str) -> Turf:
    """A turf by id or by exact name (within the campaign when given)."""
    query = select(Turf)
    if campaign is not None:
        query = query.where(Turf.campaign_id == campaign.id)
    turf = session.get(Turf, int(reference)) if re.fullmatch(r"\d+", reference) else \
        session.exec(query.where(Turf.name == reference)).first()
    if turf is None or (campaign is not None and turf.campaign_id != campaign.id):
        raise TurfError(N_("No turf “%(name)s”."), name=reference)
    return turf
