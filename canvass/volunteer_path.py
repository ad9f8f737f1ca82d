"""A volunteer's path in a campaign: their history (shifts signed up for, attended and led; doors, calls and
relational contacts), the steps the organization names, and who is ready to be asked to lead. Read-only but for
``save_steps``; the caller commits.

Figures are computed for every volunteer at once, one grouped query per source (sign-ups, contacts, members), never
a query per volunteer. Leads and staff see them; a volunteer sees only their own (``my_figures``), never a ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass.i18n import N_, UserError
from canvass.models import (
    Campaign,
    CampaignMember,
    Channel,
    ContactAttempt,
    Role,
    ShiftEvent,
    ShiftSignup,
    User,
)


class Metric(StrEnum):
    """What a step's rule counts, per volunteer in one campaign."""

    signed_up = "signed_up"  # shifts and events signed up for
    attended = "attended"  # ... and checked in at (by a lead or themself)
    led = "led"  # ... checked in at, and marked their leader by a lead on the roster
    doors = "doors"  # different doors knocked (a household counts once, as in the tallies)
    calls = "calls"  # calls made (each attempt)
    relational = "relational"  # contacts logged with people they know
    conversations = "conversations"  # results that count as a conversation, on any channel


#: Each measure as leads read it (a step's rule, the list's columns).
METRIC_NAMES: dict[Metric, str] = {
    Metric.signed_up: N_("Shifts signed up for"),
    Metric.attended: N_("Shifts attended"),
    Metric.led: N_("Shifts led"),
    Metric.doors: N_("Doors knocked"),
    Metric.calls: N_("Calls made"),
    Metric.relational: N_("Contacts with people they know"),
    Metric.conversations: N_("Conversations (any channel)"),
}

MAX_STEPS = 8
NAME_LENGTH = 60
MOST = 100_000


@dataclass(frozen=True)
class Step:
    """A step of the path: reached when ``metric`` is at least ``at_least``. ``translated``: the name is one of the
    defaults (an English msgid) shown in each reader's language; otherwise it is shown as the organization typed it."""

    name: str
    metric: Metric
    at_least: int
    translated: bool = False

    def reached(self, counts: dict[Metric, int]) -> bool:
        return counts.get(self.metric, 0) >= self.at_least

    def as_setting(self) -> dict:
        return {"name": self.name, "metric": self.metric.value, "at_least": self.at_least,
                "translated": self.translated}


#: The path a campaign starts with: attended → knocked doors → led a shift, after signing up.
DEFAULT_STEPS: tuple[Step, ...] = (
    Step(N_("Signed up"), Metric.signed_up, 1, translated=True),
    Step(N_("Attended a shift"), Metric.attended, 1, translated=True),
    Step(N_("Knocked doors"), Metric.doors, 25, translated=True),
    Step(N_("Led a shift"), Metric.led, 1, translated=True),
)
SETTING = "path_steps"


class PathError(UserError):
    """A user-facing problem with the steps a lead saves."""


def steps_of(campaign: Campaign) -> list[Step]:
    """The campaign's steps, in order: those its leads saved, else the defaults."""
    saved = (campaign.settings or {}).get(SETTING)
    if not saved:
        return list(DEFAULT_STEPS)
    return [Step(str(s["name"]), Metric(s["metric"]), int(s["at_least"]), bool(s.get("translated"))) for s in saved]


def named(name: str, metric: Metric, at_least: int, translate: Callable[[str], str]) -> Step:
    """A step as a lead typed it. A name left as the default was shown (in the lead's language, by ``translate``)
    stays a default, so every reader keeps seeing it in their own language; any other name is kept as typed."""
    typed = " ".join((name or "").split())
    for default in DEFAULT_STEPS:
        if typed and typed in (default.name, translate(default.name)):
            return Step(default.name, metric, at_least, translated=True)
    return Step(typed, metric, at_least)


def save_steps(session: Session, campaign: Campaign, steps: Sequence[Step]) -> list[Step]:
    """Checks and stores the campaign's steps in order (in its settings). Returns them. The caller commits."""
    steps = [s for s in steps if s.name]
    if not steps:
        raise PathError(N_("Give the path at least one step."))
    if len(steps) > MAX_STEPS:
        raise PathError(N_("A path has at most %(most)s steps."), most=MAX_STEPS)
    seen: set[str] = set()
    for step in steps:
        if len(step.name) > NAME_LENGTH:
            raise PathError(N_("A step's name has at most %(most)s characters."), most=NAME_LENGTH)
        if not 1 <= step.at_least <= MOST:
            raise PathError(N_("“%(step)s” needs a number from 1 to %(most)s."), step=step.name, most=MOST)
        if step.name.casefold() in seen:
            raise PathError(N_("Two steps are named “%(step)s”: give each its own name."), step=step.name)
        seen.add(step.name.casefold())
    campaign.settings = {**(campaign.settings or {}), SETTING: [s.as_setting() for s in steps]}
    session.add(campaign)
    session.flush()
    return list(steps)


def reset_steps(session: Session, campaign: Campaign) -> None:
    """Back to the default steps. The caller commits."""
    campaign.settings = {k: v for k, v in (campaign.settings or {}).items() if k != SETTING}
    session.add(campaign)
    session.flush()


# ------------------------------------------------------------------------------------------------------------------
# Figures


@dataclass
class VolunteerPath:
    """One volunteer's figures in a campaign and where they stand on its path (``step``: the index of the highest
    step reached, -1 for none yet)."""

    user_id: int
    name: str
    email: str
    role: str
    counts: dict[Metric, int] = field(default_factory=dict)
    first_at: datetime | None = None
    last_at: datetime | None = None
    step: int = -1


def step_reached(counts: dict[Metric, int], steps: Sequence[Step]) -> int:
    """The index of the highest step whose rule ``counts`` meet (-1 when none): a volunteer who led a shift has
    reached "Led a shift" whether or not they knocked the doors a step before it asks."""
    return max((i for i, step in enumerate(steps) if step.reached(counts)), default=-1)


def ready_step(steps: Sequence[Step]) -> int | None:
    """The step a volunteer stands on when they are ready to be asked to lead: the one before the top step (None
    for a path of one step)."""
    return len(steps) - 2 if len(steps) >= 2 else None


def is_ready(row: VolunteerPath, steps: Sequence[Step]) -> bool:
    return ready_step(steps) is not None and row.step == ready_step(steps)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((x for x in (a, b) if x is not None), default=None)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((x for x in (a, b) if x is not None), default=None)


def _door() -> sa.ColumnElement:
    """The door a door contact was at (its own id when the household is gone), for counting different doors."""
    return sa.case((ContactAttempt.channel == Channel.door.value,
                    sa.func.coalesce(ContactAttempt.household_id, -ContactAttempt.id)))


def _signup_figures(campaign_id: int, user_ids: Iterable[int] | None):
    attended = ShiftSignup.checked_in_at.is_not(None)
    query = (select(ShiftSignup.user_id, sa.func.count(), sa.func.sum(sa.case((attended, 1), else_=0)),
                    sa.func.sum(sa.case((sa.and_(attended, ShiftSignup.leader.is_(True)), 1), else_=0)),
                    sa.func.min(ShiftSignup.signed_up_at), sa.func.max(ShiftSignup.signed_up_at),
                    sa.func.max(ShiftSignup.checked_in_at))
             .join(ShiftEvent, ShiftEvent.id == ShiftSignup.shift_id)
             .where(ShiftEvent.campaign_id == campaign_id).group_by(ShiftSignup.user_id))
    return query if user_ids is None else query.where(ShiftSignup.user_id.in_(list(user_ids)))


def _contact_figures(campaign_id: int, user_ids: Iterable[int] | None):
    def of(channel: Channel):
        return sa.func.sum(sa.case((ContactAttempt.channel == channel.value, 1), else_=0))

    query = (select(ContactAttempt.user_id, sa.func.count(sa.distinct(_door())), of(Channel.phone),
                    of(Channel.relational), sa.func.sum(sa.case((ContactAttempt.is_contact.is_(True), 1), else_=0)),
                    sa.func.min(ContactAttempt.contacted_at), sa.func.max(ContactAttempt.contacted_at))
             .where(ContactAttempt.campaign_id == campaign_id, ContactAttempt.user_id.is_not(None),
                    ContactAttempt.undone_at.is_(None))
             .group_by(ContactAttempt.user_id))
    return query if user_ids is None else query.where(ContactAttempt.user_id.in_(list(user_ids)))


def paths(session: Session, campaign: Campaign, steps: Sequence[Step] | None = None, *,
          user_ids: Iterable[int] | None = None) -> list[VolunteerPath]:
    """Every volunteer of ``campaign`` (a member, a sign-up or a contact; staff only once they signed up or made
    contacts), with their figures and step, most recently active first. Three grouped queries and one for the
    names, whatever the number of volunteers."""
    steps = steps_of(campaign) if steps is None else steps
    user_ids = None if user_ids is None else list(user_ids)
    rows: dict[int, VolunteerPath] = {}

    def row(user_id: int) -> VolunteerPath:
        return rows.setdefault(user_id, VolunteerPath(user_id, "", "", ""))

    members = select(CampaignMember.user_id).where(CampaignMember.campaign_id == campaign.id)
    if user_ids is not None:
        members = members.where(CampaignMember.user_id.in_(user_ids))
    for user_id in session.exec(members):
        row(user_id)
    for user_id, signed, attended, led, first, last_signed, last_checked in session.execute(
            _signup_figures(campaign.id, user_ids)):
        found = row(user_id)
        found.counts.update({Metric.signed_up: int(signed), Metric.attended: int(attended or 0),
                             Metric.led: int(led or 0)})
        found.first_at, found.last_at = first, _later(last_signed, last_checked)
    for user_id, doors, calls, relational, conversations, first, last in session.execute(
            _contact_figures(campaign.id, user_ids)):
        found = row(user_id)
        found.counts.update({Metric.doors: int(doors or 0), Metric.calls: int(calls or 0),
                             Metric.relational: int(relational or 0), Metric.conversations: int(conversations or 0)})
        found.first_at, found.last_at = _earlier(found.first_at, first), _later(found.last_at, last)
    if rows:
        for user_id, name, email, role in session.execute(
                select(User.id, User.name, User.email, User.role).where(User.id.in_(list(rows)))):
            found = rows[user_id]
            found.name, found.email, found.role = name or email.split("@")[0], email, str(role)
    for found in rows.values():
        found.counts = {metric: found.counts.get(metric, 0) for metric in Metric}
        found.step = step_reached(found.counts, steps)
    # Staff are members of every campaign they run: on the path only once they did some of the work themselves.
    shown = [r for r in rows.values() if r.role == Role.volunteer.value or any(r.counts.values())]
    return sorted(shown, key=lambda r: (r.last_at is None, -(r.last_at.timestamp() if r.last_at else 0),
                                                r.name.casefold()))


def filtered(rows: Sequence[VolunteerPath], steps: Sequence[Step], *, step: int | None = None,
             ready: bool = False) -> list[VolunteerPath]:
    """The rows at one step (-1: none reached yet), or only those ready to be asked to lead."""
    if ready:
        return [r for r in rows if is_ready(r, steps)]
    if step is not None:
        return [r for r in rows if r.step == step]
    return list(rows)


def counts_per_step(rows: Sequence[VolunteerPath], steps: Sequence[Step]) -> list[int]:
    """How many volunteers stand on each step, and (last) how many on none yet."""
    tally = [0] * (len(steps) + 1)
    for r in rows:
        tally[r.step] += 1  # -1 lands on the last slot: none yet
    return tally


# ------------------------------------------------------------------------------------------------------------------
# One volunteer's history


@dataclass(frozen=True)
class ShiftHistory:
    title: str
    kind: str
    starts_at: datetime
    checked_in_at: datetime | None
    leader: bool


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM, in UTC
    attended: int
    doors: int
    calls: int
    relational: int

    @property
    def first_day(self) -> date:
        year, month = self.month.split("-")
        return date(int(year), int(month), 1)


@dataclass(frozen=True)
class History:
    path: VolunteerPath
    shifts: list[ShiftHistory]
    months: list[Month]


def _month(session: Session, column) -> sa.ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


SHIFTS_SHOWN = 100


def history(session: Session, campaign: Campaign, user_id: int, steps: Sequence[Step] | None = None) -> History | None:
    """One volunteer's figures, their shifts (latest first) and their work month by month; None when they never
    worked on ``campaign``."""
    found = paths(session, campaign, steps, user_ids=[user_id])
    if not found:
        return None
    shifts = [ShiftHistory(title, str(kind), starts_at, checked_in_at, bool(leader))
              for title, kind, starts_at, checked_in_at, leader in session.execute(
                  select(ShiftEvent.title, ShiftEvent.kind, ShiftEvent.starts_at, ShiftSignup.checked_in_at,
                         ShiftSignup.leader).join(ShiftEvent, ShiftEvent.id == ShiftSignup.shift_id)
                  .where(ShiftEvent.campaign_id == campaign.id, ShiftSignup.user_id == user_id)
                  .order_by(ShiftEvent.starts_at.desc()).limit(SHIFTS_SHOWN))]
    months: dict[str, dict[str, int]] = {}
    month = _month(session, ShiftSignup.checked_in_at)
    for key, attended in session.execute(
            select(month, sa.func.count()).join(ShiftEvent, ShiftEvent.id == ShiftSignup.shift_id)
            .where(ShiftEvent.campaign_id == campaign.id, ShiftSignup.user_id == user_id,
                   ShiftSignup.checked_in_at.is_not(None)).group_by(month)):
        months.setdefault(key, {})["attended"] = int(attended)
    month = _month(session, ContactAttempt.contacted_at)
    for key, doors, calls, relational in session.execute(
            select(month, sa.func.count(sa.distinct(_door())),
                   sa.func.sum(sa.case((ContactAttempt.channel == Channel.phone.value, 1), else_=0)),
                   sa.func.sum(sa.case((ContactAttempt.channel == Channel.relational.value, 1), else_=0)))
            .where(ContactAttempt.campaign_id == campaign.id, ContactAttempt.user_id == user_id,
                   ContactAttempt.undone_at.is_(None)).group_by(month)):
        months.setdefault(key, {}).update(doors=int(doors or 0), calls=int(calls or 0),
                                          relational=int(relational or 0))
    return History(found[0], shifts, [Month(key, m.get("attended", 0), m.get("doors", 0), m.get("calls", 0),
                                            m.get("relational", 0)) for key, m in sorted(months.items(), reverse=True)])


# ------------------------------------------------------------------------------------------------------------------
# A volunteer's own figures


def my_figures(session: Session, user: User) -> dict[Metric, int]:
    """``user``'s own figures across every campaign (their home page says them): theirs only, never compared."""
    attended = session.execute(select(sa.func.count()).where(
        ShiftSignup.user_id == user.id, ShiftSignup.checked_in_at.is_not(None))).scalar_one()
    led = session.execute(select(sa.func.count()).where(
        ShiftSignup.user_id == user.id, ShiftSignup.checked_in_at.is_not(None),
        ShiftSignup.leader.is_(True))).scalar_one()
    doors, calls, relational = session.execute(
        select(sa.func.count(sa.distinct(_door())),
               sa.func.sum(sa.case((ContactAttempt.channel == Channel.phone.value, 1), else_=0)),
               sa.func.sum(sa.case((ContactAttempt.channel == Channel.relational.value, 1), else_=0)))
        .where(ContactAttempt.user_id == user.id, ContactAttempt.undone_at.is_(None))).one()
    return {Metric.attended: int(attended), Metric.led: int(led), Metric.doors: int(doors or 0),
            Metric.calls: int(calls or 0), Metric.relational: int(relational or 0)}
