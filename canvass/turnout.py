"""Turnout: how often a person votes, per kind of election, and the universe filters built on it, as SQL.

A person is counted for an election when it was held on or after their registration date (every election of the
campaign when that date is unknown) or when they voted in it (a file's history outranks a late registration date).
Every filter here is one SQL expression on ``person.id``: a universe stays one query, whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from canvass.models import Election, ElectionKind, Person, Vote

KINDS = (ElectionKind.general, ElectionKind.primary, ElectionKind.municipal)


@dataclass(frozen=True)
class Score:
    kind: ElectionKind
    voted: int
    eligible: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.voted / self.eligible) if self.eligible else None


@dataclass(frozen=True)
class PersonVote:
    held_on: date
    kind: ElectionKind
    name: str
    method: str


def person_scores(session: Session, person: Person) -> list[Score]:
    """The person's turnout per kind (general, primary, municipal), for the kinds the campaign has elections of."""
    voted = select(Vote.election_id).where(Vote.person_id == person.id)
    counted = sa.or_(Election.id.in_(voted), Election.held_on >= person.registered_on) \
        if person.registered_on else sa.true()
    rows = session.execute(
        select(Election.kind, sa.func.count(), sa.func.sum(sa.case((Election.id.in_(voted), 1), else_=0)))
        .where(Election.campaign_id == person.campaign_id, counted).group_by(Election.kind)).all()
    by_kind = {ElectionKind(kind): (eligible, int(votes or 0)) for kind, eligible, votes in rows}
    return [Score(kind, by_kind[kind][1], by_kind[kind][0]) for kind in KINDS if kind in by_kind]


def person_votes(session: Session, person_id: int) -> list[PersonVote]:
    """The elections the person voted in, latest first."""
    rows = session.execute(select(Election.held_on, Election.kind, Election.name, Vote.method)
                           .join(Vote, Vote.election_id == Election.id).where(Vote.person_id == person_id)
                           .order_by(Election.held_on.desc())).all()
    return [PersonVote(held_on, ElectionKind(kind), name, method) for held_on, kind, name, method in rows]


# ------------------------------------------------------------------------------------------------------------------
# Universe filters (each an SQL condition on Person)


def last_elections(kind: ElectionKind, count: int) -> sa.Select:
    """The ids of every campaign's last ``count`` elections of ``kind`` (a person's votes are all in their own
    campaign's elections, so one list serves every campaign; the election table is small)."""
    ranked = select(Election.id, sa.func.row_number().over(
        partition_by=Election.campaign_id, order_by=Election.held_on.desc()).label("rank")).where(
        Election.kind == kind).subquery()
    return select(ranked.c.id).where(ranked.c.rank <= count)


def voted_in_last(kind: ElectionKind, count: int, *, at_least: int | None = None,
                  at_most: int | None = None) -> list[sa.ColumnElement[bool]]:
    """People who voted in at least / at most so many of their campaign's last ``count`` elections of ``kind``."""
    votes = select(Vote.person_id).where(Vote.election_id.in_(last_elections(kind, count))).group_by(Vote.person_id)
    clauses = []
    if at_least:
        clauses.append(Person.id.in_(votes.having(sa.func.count() >= at_least)))
    if at_most is not None:
        clauses.append(Person.id.not_in(votes.having(sa.func.count() > at_most)))
    return clauses


def never_voted() -> sa.ColumnElement[bool]:
    """People with no vote on record, in any election."""
    return ~select(Vote.person_id).where(Vote.person_id == Person.id).exists()


def registered_since(day: date) -> sa.ColumnElement[bool]:
    return Person.registered_on >= day


def turnout_at_most(kind: ElectionKind, percent: int) -> sa.ColumnElement[bool]:
    """People who voted in at most ``percent`` % of the elections of ``kind`` they were registered for (people
    registered for none of them are left out: they have no turnout yet)."""
    counted = sa.and_(Election.campaign_id == Person.campaign_id, Election.kind == kind, sa.or_(
        Person.registered_on.is_(None), Election.held_on >= Person.registered_on,
        # Two levels down: SQLAlchemy correlates only the nearest level by itself.
        select(Vote.person_id).where(Vote.person_id == Person.id, Vote.election_id == Election.id)
        .correlate(Person, Election).exists()))
    eligible = select(sa.func.count()).select_from(Election).where(counted).scalar_subquery()
    voted = (select(sa.func.count()).select_from(Vote).join(Election, Election.id == Vote.election_id)
             .where(Vote.person_id == Person.id, Election.kind == kind).scalar_subquery())
    return sa.and_(eligible > 0, voted * 100 <= eligible * percent)
