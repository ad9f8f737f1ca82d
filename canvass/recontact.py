"""Re-contact rules: who is back in the universe for the next pass, from what the last passes learned.

Each result code says whether it ends the campaign's work with a person (``is_final``: talked, refused, moved), after
how long they may be approached again (``retry_after_hours``: not home, two days) and after how many attempts to stop
(``max_attempts``: three). A person's last result decides; any final result, ever, keeps them out. Everything here is
SQL over the whole campaign (one query, no per-person Python), so a next pass over a million people is one statement.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, select

from canvass.models import ContactAttempt, Person, ResultCode, UTCDateTime

#: What became of each person, in the order the dashboard lists them.
STATES = ("never_tried", "back_now", "waiting", "out_of_tries", "held", "done")


class hours_before(FunctionElement):  # noqa: N801 (an SQL function, named as SQL names them)
    """SQL: the moment ``hours`` (a column) before ``moment``, on either engine."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(hours_before)
def _hours_before_postgresql(element, compiler, **kw) -> str:
    moment, hours = list(element.clauses)
    # The cast: a frame read renders the moment as a literal, which PostgreSQL would otherwise take for an interval.
    return (f"(CAST({compiler.process(moment, **kw)} AS TIMESTAMP WITH TIME ZONE)"
            f" - make_interval(hours => {compiler.process(hours, **kw)}))")


@compiles(hours_before, "sqlite")
def _hours_before_sqlite(element, compiler, **kw) -> str:
    # SQLite keeps UTC datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which compares in time order.
    moment, hours = list(element.clauses)
    return (f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(moment, **kw)}, "
            f"'-' || {compiler.process(hours, **kw)} || ' hours')")


def _attempts(campaign_id: int):
    return (ContactAttempt.campaign_id == campaign_id, ContactAttempt.undone_at.is_(None),
            ContactAttempt.person_id.is_not(None))


def _people_states(campaign_id: int, now: datetime) -> sa.Select:
    """(person_id, state) for every person of the campaign who was attempted at least once."""
    per_person = select(ContactAttempt.person_id, sa.func.max(ContactAttempt.contacted_at).label("last_at"),
                        sa.func.count().label("tries")).where(*_attempts(campaign_id)) \
        .group_by(ContactAttempt.person_id).subquery()
    finals = select(ContactAttempt.person_id).join(ResultCode, sa.and_(
        ResultCode.campaign_id == ContactAttempt.campaign_id, ResultCode.code == ContactAttempt.result_code)).where(
        *_attempts(campaign_id), ResultCode.is_final.is_(True))
    moment = sa.bindparam("recontact_now", now, type_=UTCDateTime())
    state = sa.case(
        (sa.or_(per_person.c.person_id.in_(finals), ResultCode.is_final.is_(True)), "done"),
        (ResultCode.retry_after_hours.is_(None), "held"),
        (sa.and_(ResultCode.max_attempts.is_not(None), per_person.c.tries >= ResultCode.max_attempts),
         "out_of_tries"),
        (per_person.c.last_at <= hours_before(moment, ResultCode.retry_after_hours), "back_now"),
        else_="waiting")
    # A person's last attempt (two at the same instant: the later row) and its result code's rules.
    same = aliased(ContactAttempt)
    last = select(sa.func.max(same.id)).where(
        same.person_id == per_person.c.person_id, same.contacted_at == per_person.c.last_at,
        same.campaign_id == campaign_id, same.undone_at.is_(None)).correlate(per_person).scalar_subquery()
    return select(per_person.c.person_id, state.label("state")).select_from(per_person) \
        .join(ContactAttempt, ContactAttempt.id == last) \
        .outerjoin(ResultCode, sa.and_(ResultCode.campaign_id == campaign_id,
                                       ResultCode.code == ContactAttempt.result_code))


def due_people(campaign_id: int, now: datetime) -> sa.Select:
    """SQL: ids of the campaign's people a next pass takes: never attempted, or back now by their last result's
    rule (its wait over and attempts left), with no final result ever."""
    states = _people_states(campaign_id, now).subquery()
    tried = select(ContactAttempt.person_id).where(*_attempts(campaign_id))
    never = select(Person.id).where(Person.campaign_id == campaign_id, Person.id.not_in(tried))
    back = select(states.c.person_id).where(states.c.state == "back_now")
    return sa.union_all(never, back)


def pass_summary(session: Session, campaign_id: int, now: datetime) -> dict[str, object]:
    """How many people are in each state (``STATES``) and how many were tried once, twice, three times or more:
    what the field lead reads before cutting the next pass."""
    states = _people_states(campaign_id, now).subquery()
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: count for state, count in session.execute(
        select(states.c.state, sa.func.count()).group_by(states.c.state)).all()})
    people = session.execute(select(sa.func.count()).select_from(Person).where(
        Person.campaign_id == campaign_id)).scalar_one()
    counts["never_tried"] = people - sum(counts[state] for state in STATES if state != "never_tried")
    tries = select(sa.func.count().label("tries")).where(*_attempts(campaign_id)) \
        .group_by(ContactAttempt.person_id).subquery()
    passes = {1: 0, 2: 0, 3: 0}
    for tried, count in session.execute(select(sa.func.least(tries.c.tries, 3) if _is_postgresql(session) else
                                               sa.func.min(tries.c.tries, 3), sa.func.count())
                                        .group_by(sa.literal_column("1"))).all():
        passes[int(tried)] = count
    return {"states": counts, "tried": passes, "people": people}


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
