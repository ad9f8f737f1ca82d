"""A turf's doors in walk order, with who lives there, who is on the do-not-contact list and whether they were
knocked; and the stored walking route,
written by the changes that make it stale (and by a job after a cut), so that reading a turf never writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from canvass import access, opt_outs, routing
from canvass.cutting import display_street
from canvass.db import write_session
from canvass.i18n import N_
from canvass.models import ContactAttempt, Household, Person, Turf, TurfDoor, utcnow


@dataclass
class Door:
    """A door of a turf as volunteers, maps and paper lists show it."""

    household: Household
    position: int  # in walk order, from 0
    people: list[Person]  # those shown at a door (see ``access.shown_at_a_door``)
    attempted: bool = False  # knocked (any result not undone)
    contacted: bool = False  # somebody talked
    floor: int = 0
    closed: dict[int, str] = field(default_factory=dict)  # person id -> why they are not to be knocked (words)

    @property
    def open_people(self) -> list[Person]:
        """Those a volunteer may knock for: not on the do-not-contact list for doors."""
        return [p for p in self.people if p.id not in self.closed]

    @property
    def all_closed(self) -> bool:
        """Somebody is listed and every one of them is on the list: the door is never offered."""
        return bool(self.people) and not self.open_people

    @property
    def status(self) -> str:
        return "contacted" if self.contacted else "attempted" if self.attempted else "todo"

    @property
    def label(self) -> str:
        """The address as people read it: "12 Main St, Apt 3"."""
        return f"{self.household.address}{', ' + self.household.unit if self.household.unit else ''}"

    @property
    def street_name(self) -> str:
        """The street as people read it ("N Lacy St")."""
        return display_street(self.household.street or "")

    @property
    def lat(self) -> float | None:
        return self.household.lat

    @property
    def lon(self) -> float | None:
        return self.household.lon


def _knocked(*, contact: bool = False) -> sa.Exists:
    """SQL: someone knocked at the Household in the query's FROM (any result not undone), or ``contact``: talked."""
    return sa.exists().where(ContactAttempt.household_id == Household.id, ContactAttempt.undone_at.is_(None),
                             *([ContactAttempt.is_contact.is_(True)] if contact else []))


_TURF_HOUSEHOLDS = select(Household, _knocked(), _knocked(contact=True)) \
    .join(TurfDoor, TurfDoor.household_id == Household.id) \
    .where(TurfDoor.turf_id == sa.bindparam("turf_id")).order_by(TurfDoor.position)


def turf_doors(session: Session, turf: Turf, *, results: dict[int, str] | None = None) -> list[Door]:
    """The turf's doors in walk order, with their people and whether they were knocked (two queries, three when
    someone is on the do-not-contact list). Pass a dict as ``results`` to have it filled with each person's latest
    result (as ``canvassing.last_results``), read with the people. Reads only: a turf whose route is not stored yet
    (a job stores it after a cut) is put in route order here, not saved."""
    rows = session.execute(_TURF_HOUSEHOLDS, {"turf_id": turf.id}).all()
    status = {household.id: (bool(attempted), bool(contacted)) for household, attempted, contacted in rows}
    households = _in_walk_order(turf, [household for household, *_ in rows])
    people: dict[int, list[Person]] = {}
    closed_ids = []
    columns = [Person, opt_outs.closed_to("door")] + ([_LATEST_RESULT] if results is not None else [])
    for person, closed, *result in session.execute(
            select(*columns).where(Person.household_id.in_(list(status)), access.shown_at_a_door())
            .order_by(Person.last_name, Person.first_name)) if status else ():
        people.setdefault(person.household_id, []).append(person)
        if closed:
            closed_ids.append(person.id)
        if result and result[0] is not None:
            results[person.id] = result[0]
    closed = {pid: reason.words for pid, reason in opt_outs.reasons_of(session, closed_ids, "door").items()}
    return [Door(h, pos, people.get(h.id, []), *status[h.id], floor=routing.unit_floor(h.unit),
                 closed={p.id: closed[p.id] for p in people.get(h.id, []) if p.id in closed})
            for pos, h in enumerate(households)]


def closed_at_doors(session: Session, person_ids: list[int]) -> dict[int, str]:
    """Of these people, those on the do-not-contact list for doors, with the reason in words (English; pages
    translate it)."""
    return {pid: closed.words for pid, closed in opt_outs.reasons_closed(session, person_ids, "door").items()}


def unknocked_closed_doors(session: Session, turf_ids: list[int], *, knocked_on_the_turf: bool) -> dict[int, int]:
    """Per turf, its doors left out of its progress: nobody there may be approached (everyone a door page shows is
    on the do-not-contact list for doors: the door is greyed, never offered) and nobody knocked there, on the turf
    (``knocked_on_the_turf``) or in the campaign. Without this a turf's progress never reached its end."""
    if not turf_ids:
        return {}
    shown, still_open = sa.orm.aliased(Person), sa.orm.aliased(Person)
    knocked = sa.exists().where(ContactAttempt.household_id == TurfDoor.household_id,
                                ContactAttempt.undone_at.is_(None),
                                *([ContactAttempt.turf_id == TurfDoor.turf_id] if knocked_on_the_turf else []))
    return dict(session.execute(
        select(TurfDoor.turf_id, sa.func.count())
        .where(TurfDoor.turf_id.in_(turf_ids),
               sa.exists().where(shown.household_id == TurfDoor.household_id, access.shown_at_a_door(shown)),
               ~sa.exists().where(still_open.household_id == TurfDoor.household_id,
                                  access.shown_at_a_door(still_open), ~opt_outs.closed_to("door", still_open)),
               ~knocked)
        .group_by(TurfDoor.turf_id)).all())


def open_people_at(session: Session, household: Household) -> list[Person]:
    """Who a volunteer may record a result for at this door: ``people_at`` less the do-not-contact list."""
    people = people_at(session, household)
    closed = closed_at_doors(session, [p.id for p in people])
    return [p for p in people if p.id not in closed]


def door_of(session: Session, turf: Turf, household_id: int) -> Household | None:
    """The door if it is on this turf; None otherwise, whether or not it exists."""
    return session.exec(select(Household).join(TurfDoor, TurfDoor.household_id == Household.id)
                        .where(TurfDoor.turf_id == turf.id, Household.id == household_id)).first()


@dataclass
class DoorPlace:
    """A door of a turf and where it stands in the walk (what a door page's header and its Previous/Skip show)."""

    household: Household
    position: int  # in walk order, from 0
    total: int  # doors on the turf
    previous: int | None  # household ids of the doors before and after it, if any
    next: int | None


_TURF_DOORS = TurfDoor.__table__
_IN_WALK = {"order_by": _TURF_DOORS.c.position}
#: The turf's doors with their neighbours in the stored walk order, worked out by the database: a door page does not
#: read the whole order to find its own place.
_NEIGHBOURS = select(_TURF_DOORS.c.household_id,
                     (sa.func.row_number().over(**_IN_WALK) - 1).label("position"),
                     sa.func.count().over().label("total"),
                     sa.func.lag(_TURF_DOORS.c.household_id).over(**_IN_WALK).label("previous"),
                     sa.func.lead(_TURF_DOORS.c.household_id).over(**_IN_WALK).label("next")) \
    .where(_TURF_DOORS.c.turf_id == sa.bindparam("turf_id")).subquery("neighbours")
_DOOR_PLACE = select(Household, _NEIGHBOURS.c.position, _NEIGHBOURS.c.total, _NEIGHBOURS.c.previous,
                     _NEIGHBOURS.c.next).join(_NEIGHBOURS, _NEIGHBOURS.c.household_id == Household.id) \
    .where(Household.id == sa.bindparam("household_id"))


def door_place(session: Session, turf: Turf, household_id: int) -> DoorPlace | None:
    """The door and its place in the walk if it is on this turf; None otherwise, whether or not it exists. One
    query once the turf's route is stored (as ``walk_order``, a turf not routed yet is put in order here)."""
    if turf.routed_at is None:
        household = door_of(session, turf, household_id)
        if household is None:
            return None
        order = walk_order(session, turf)
        position = order.index(household.id)
        return DoorPlace(household, position, len(order), order[position - 1] if position > 0 else None,
                         order[position + 1] if position + 1 < len(order) else None)
    row = session.execute(_DOOR_PLACE, {"turf_id": turf.id, "household_id": household_id}).first()
    return DoorPlace(*row) if row is not None else None


_LATEST_RESULT = select(ContactAttempt.result_code).where(ContactAttempt.person_id == Person.id,
                                                          ContactAttempt.undone_at.is_(None)) \
    .order_by(ContactAttempt.id.desc()).limit(1).correlate(Person).scalar_subquery()
_DOOR_PEOPLE = select(Person, _LATEST_RESULT, opt_outs.closed_to("door")) \
    .where(Person.household_id == sa.bindparam("household_id"), access.shown_at_a_door()) \
    .order_by(Person.last_name, Person.first_name)


def door_people(session: Session, household: Household) -> tuple[list[Person], dict[int, str], dict[int, str]]:
    """``people_at`` this door, with their latest results (as ``canvassing.last_results``) and those on the
    do-not-contact list for doors with the reason (as ``closed_at_doors``): one query, two when someone is closed."""
    rows = session.execute(_DOOR_PEOPLE, {"household_id": household.id}).all()
    results = {person.id: result for person, result, _closed in rows if result is not None}
    reasons = opt_outs.reasons_of(session, [person.id for person, _result, closed in rows if closed], "door")
    return [person for person, *_ in rows], results, {pid: closed.words for pid, closed in reasons.items()}


def people_at(session: Session, household: Household) -> list[Person]:
    """Who a door page shows at this door (see ``access.shown_at_a_door``), by name."""
    return list(session.exec(select(Person).where(Person.household_id == household.id, access.shown_at_a_door())
                             .order_by(Person.last_name, Person.first_name)))


def walk_order(session: Session, turf: Turf) -> list[int]:
    """The turf's door (household) ids in walk order. Reads only, like ``turf_doors``."""
    if turf.routed_at is not None:
        return list(session.exec(select(TurfDoor.household_id).where(TurfDoor.turf_id == turf.id)
                                 .order_by(TurfDoor.position)))
    return [h.id for h in _in_walk_order(turf, session.execute(
        select(Household).join(TurfDoor, TurfDoor.household_id == Household.id)
        .where(TurfDoor.turf_id == turf.id).order_by(TurfDoor.position)).scalars().all())]


def _in_walk_order(turf: Turf, households: Sequence[Household]) -> list[Household]:
    """The doors (given in stored order) in walk order: as stored once routed, else worked out now."""
    if turf.routed_at is not None:
        return list(households)
    by_id = {h.id: h for h in households}
    return [by_id[hid] for hid in route(households)]


def route(households: Sequence[Household]) -> list[int]:
    """The walking route over these doors (by their coordinates; by street where none have any)."""
    doors = [routing.Place(id=h.id, street=h.street, house_number=h.house_number_int, building=h.building_key,
                           unit=h.unit, lat=h.lat, lon=h.lon) for h in households]
    return routing.walking_route(doors) if any(d.lat is not None for d in doors) else routing.street_order(doors)


def route_turf(session: Session, turf: Turf) -> None:
    """Works out the turf's walking route and stores it. Called by every change to a turf's doors, and by
    ``route_new_turfs`` after a cut, so that reading a turf never has to write."""
    households = session.execute(select(Household).join(TurfDoor, TurfDoor.household_id == Household.id)
                                 .where(TurfDoor.turf_id == turf.id).order_by(TurfDoor.position)).scalars().all()
    _set_positions(session, turf, route(households))
    turf.routed_at = utcnow()
    session.add(turf)
    session.flush()


ROUTES_PER_TRANSACTION = 20  # ~20 ms each: a short hold of the write lock between volunteers' syncs


def route_new_turfs(progress, engine: Engine, turf_ids: list[int]) -> dict[str, int]:
    """Job after a cut: stores the walking route of each turf not routed yet, a few turfs per short transaction."""
    done = 0
    for start in range(0, len(turf_ids), ROUTES_PER_TRANSACTION):
        with write_session(engine) as session:
            for turf_id in turf_ids[start:start + ROUTES_PER_TRANSACTION]:
                turf = session.get(Turf, turf_id)
                if turf is not None and turf.routed_at is None:
                    route_turf(session, turf)
                    done += 1
        progress((start + ROUTES_PER_TRANSACTION) / max(len(turf_ids), 1), N_("Working out walking routes"))
    return {"routed": done}


def _set_positions(session: Session, turf: Turf, household_ids: list[int]) -> None:
    if not household_ids:
        return
    table = TurfDoor.__table__
    session.connection().execute(
        table.update().where(table.c.turf_id == turf.id, table.c.household_id == sa.bindparam("h"))
        .values(position=sa.bindparam("p")), [{"h": hid, "p": position} for position, hid in enumerate(household_ids)])
