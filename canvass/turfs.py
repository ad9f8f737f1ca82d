"""Turf: choosing a universe of doors, cutting it into balanced turfs, editing, assigning, walking. Caller commits.

Cutting is pure (``cut``: a frame of doors in, a turf label per door out); the database side reads the universe in
one query and writes turfs and their doors in bulk. An apartment building is never split between turfs.
"""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from canvass import bulk, routing
from canvass.db import write_session
from canvass.i18n import N_, UserError
from canvass.models import (
    AssignmentStatus,
    AuditLog,
    Campaign,
    CampaignMember,
    ContactAttempt,
    Household,
    Person,
    PersonTag,
    Role,
    Turf,
    TurfAssignment,
    TurfDoor,
    TurfStatus,
    User,
    utcnow,
)

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread off a poster
METHODS = ("geo", "precinct", "zip", "street")


MAX_AGE = 130
MAX_ID = 2**31 - 1  # a PostgreSQL integer: a larger id names nothing


class TurfError(UserError):
    """A turf request that cannot be done; the message says why."""


# ------------------------------------------------------------------------------------------------------------------
# Universe


@dataclass
class Universe:
    """Which doors of a campaign to cut: every filter narrows; empty filters take everyone."""

    precincts: list[str] = field(default_factory=list)
    zips: list[str] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    min_age: int | None = None
    max_age: int | None = None
    tag_ids: list[int] = field(default_factory=list)
    custom: dict[str, str] = field(default_factory=dict)  # custom field -> value
    not_reached: bool = False  # nobody at the door has been talked to yet
    today: date | None = None  # the day ages are counted on (default: the day it runs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Universe:
        """The universe a form or command line describes; TurfError says which value is wrong."""
        def listed(key: str) -> list[str]:
            value = data.get(key) or []
            items = value.split(",") if isinstance(value, str) else value
            return [str(v).strip() for v in items if str(v).strip()]

        def age(key: str) -> int | None:
            value = data.get(key)
            if value in (None, ""):
                return None
            if not str(value).strip().isdigit() or not 0 <= int(value) <= MAX_AGE:
                raise TurfError(N_("Ages are whole numbers of years between 0 and %(max)s, such as 18 or 65."),
                                max=MAX_AGE)
            return int(value)

        tag_ids = listed("tag_ids")
        if not all(t.isdigit() and 0 < int(t) <= MAX_ID for t in tag_ids):
            raise TurfError(N_("Choose the tags from the list."))
        return cls(precincts=listed("precincts"), zips=listed("zips"), parties=[p.upper() for p in listed("parties")],
                   languages=[lang.lower() for lang in listed("languages")], min_age=age("min_age"),
                   max_age=age("max_age"), tag_ids=[int(t) for t in tag_ids],
                   custom={str(k): str(v) for k, v in (data.get("custom") or {}).items()},
                   not_reached=bool(data.get("not_reached")))

    def person_filters(self) -> list:
        year = (self.today or date.today()).year
        clauses = []
        if self.precincts:
            clauses.append(Person.precinct.in_(self.precincts))
        if self.parties:
            clauses.append(Person.party.in_(self.parties))
        if self.languages:
            clauses.append(Person.language.in_(self.languages))
        if self.min_age is not None:
            clauses.append(Person.birth_year <= year - self.min_age)
        if self.max_age is not None:
            clauses.append(Person.birth_year >= year - self.max_age)
        if self.tag_ids:
            clauses.append(Person.id.in_(select(PersonTag.person_id).where(PersonTag.tag_id.in_(self.tag_ids))))
        for key, value in self.custom.items():
            clauses.append(Person.custom[key].as_string() == value)
        return clauses


def _eligible_people(campaign_id: int, universe: Universe):
    """People who may be knocked: not do-not-contact, deceased, moved or protected, and matching the filters."""
    return select(Person.household_id).where(
        Person.campaign_id == campaign_id, Person.household_id.is_not(None), Person.do_not_contact.is_(False),
        Person.deceased.is_(False), Person.moved.is_(False), Person.is_protected.is_(False),
        *universe.person_filters())


def universe_query(campaign_id: int, universe: Universe) -> sa.Select:
    """The campaign's doors in the universe that are in no turf yet."""
    eligible = _eligible_people(campaign_id, universe)
    people_filtered = bool(universe.person_filters())
    in_turf = select(TurfDoor.household_id).where(TurfDoor.campaign_id == campaign_id,
                                                  TurfDoor.household_id == Household.id).exists()
    somebody = select(Person.id).where(Person.household_id == Household.id).exists()
    query = select(Household.id).where(Household.campaign_id == campaign_id, ~in_turf)
    if universe.zips:
        query = query.where(Household.zip5.in_(universe.zips))
    if people_filtered:
        query = query.where(Household.id.in_(eligible))
    else:  # also the doors nobody is listed at (a blind canvass), but not doors where nobody may be knocked
        query = query.where(sa.or_(Household.id.in_(eligible), ~somebody))
    if universe.not_reached:
        reached = select(ContactAttempt.household_id).where(
            ContactAttempt.campaign_id == campaign_id, ContactAttempt.is_contact.is_(True),
            ContactAttempt.undone_at.is_(None), ContactAttempt.household_id.is_not(None))
        query = query.where(Household.id.not_in(reached))
    return query


def universe_counts(session: Session, campaign: Campaign, universe: Universe) -> dict[str, int]:
    """How many doors, and eligible people at them, the universe holds (shown before cutting)."""
    doors = universe_query(campaign.id, universe).subquery()
    door_count = session.execute(select(sa.func.count()).select_from(doors)).scalar_one()
    people = session.execute(select(sa.func.count()).select_from(
        _eligible_people(campaign.id, universe).where(Person.household_id.in_(select(doors.c.id))).subquery())
    ).scalar_one()
    return {"doors": door_count, "people": people}


def universe_frame(session: Session, campaign: Campaign, universe: Universe) -> pd.DataFrame:
    doors = universe_query(campaign.id, universe).subquery()
    return bulk.read_frame(session, select(
        Household.id, Household.street, Household.house_number_int, Household.building_key, Household.unit,
        Household.precinct, Household.zip5, Household.city, Household.lat, Household.lon)
        .join(doors, doors.c.id == Household.id))


# ------------------------------------------------------------------------------------------------------------------
# Cutting (pure)


def cut(doors: pd.DataFrame, by: str, target: int) -> pd.Series:
    """A turf number for every door. Buildings stay whole; doors without coordinates go by street."""
    if by not in METHODS:
        raise TurfError(N_("Cut by one of %(methods)s, not %(by)s."), methods=", ".join(METHODS), by=by)
    if target < 1:
        raise TurfError(N_("A turf needs at least one door."))
    labels = pd.Series(-1, index=doors.index, dtype="int64")
    if doors.empty:
        return labels
    doors = doors.assign(building=doors["building_key"].where(doors["building_key"] != "", "door:" +
                                                                   doors["id"].astype(str)))
    groups = {"geo": None, "street": None, "precinct": "precinct", "zip": "zip5"}[by]
    next_label = 0
    parts = [doors] if groups is None else [part for _, part in doors.groupby(groups, sort=True)]
    for part in parts:
        located = part["lat"].notna() & part["lon"].notna()
        if by == "street":
            located = pd.Series(False, index=part.index)
        for chunk in (_geo(part[located], target), _by_street(part[~located], target)):
            if len(chunk):
                labels.loc[chunk.index] = chunk + next_label
                next_label = int(labels.max()) + 1
    return labels


def _buildings(doors: pd.DataFrame) -> pd.DataFrame:
    """One row per building (or house) with its weight in doors."""
    return doors.groupby("building", sort=False).agg(
        weight=("id", "size"), lat=("lat", "mean"), lon=("lon", "mean"), street=("street", "first"),
        number=("house_number_int", "first"), place=("zip5", "first"))


def _spread(doors: pd.DataFrame, building_labels: pd.Series) -> pd.Series:
    return doors["building"].map(building_labels).astype("int64")


def _geo(doors: pd.DataFrame, target: int) -> pd.Series:
    """Recursive bisection on the longer side at the weighted median: compact turfs of near-equal size."""
    if doors.empty:
        return pd.Series(dtype="int64")
    buildings = _buildings(doors)
    points = routing.project(buildings["lat"].to_numpy(), buildings["lon"].to_numpy())
    weights = buildings["weight"].to_numpy()
    labels = np.empty(len(buildings), dtype=np.int64)
    total = int(weights.sum())
    stack = [(np.arange(len(buildings)), max(1, round(total / target)))]
    next_label = 0
    while stack:
        members, parts = stack.pop()
        if parts <= 1 or len(members) <= 1:
            labels[members] = next_label
            next_label += 1
            continue
        coords = points[members]
        spans = coords.max(axis=0) - coords.min(axis=0)
        order = members[np.argsort(coords[:, int(spans[1] > spans[0])], kind="stable")]
        cumulative = np.cumsum(weights[order])
        left_parts = parts // 2
        share = cumulative[-1] * left_parts / parts
        cut_at = int(np.searchsorted(cumulative, share))  # first index reaching the share
        if cut_at > 0 and abs(cumulative[cut_at - 1] - share) <= abs(cumulative[cut_at] - share):
            cut_at -= 1
        cut_at = min(max(cut_at, 0), len(order) - 2)
        stack.append((order[cut_at + 1:], parts - left_parts))
        stack.append((order[: cut_at + 1], left_parts))
    return _spread(doors, pd.Series(labels, index=buildings.index))


def _by_street(doors: pd.DataFrame, target: int) -> pd.Series:
    """Streets in order; long streets split into equal runs, short neighbouring streets combined."""
    if doors.empty:
        return pd.Series(dtype="int64")
    buildings = _buildings(doors).reset_index()
    buildings["place"] = buildings["place"].fillna("")
    buildings = buildings.sort_values(["place", "street", "number"], na_position="last", kind="stable")
    labels, label, bucket = {}, 0, 0
    for _, street in buildings.groupby(["place", "street"], sort=False):
        weight = int(street["weight"].sum())
        if weight >= 0.8 * target:
            if bucket:
                label, bucket = label + 1, 0
            runs = max(1, round(weight / target))
            bounds = np.cumsum(street["weight"].to_numpy()) * runs / weight
            for building, run in zip(street["building"], np.minimum(np.ceil(bounds - 1e-9) - 1, runs - 1), strict=True):
                labels[building] = label + int(max(run, 0))
            label += runs
        else:
            if bucket and bucket + weight > 1.2 * target:
                label, bucket = label + 1, 0
            for building in street["building"]:
                labels[building] = label
            bucket += weight
    return _spread(doors, pd.Series(labels))


def turf_names(doors: pd.DataFrame, labels: pd.Series, by: str, taken: set[str] = frozenset()) -> dict[int, str]:
    """Readable names from the main streets (and the precinct or ZIP when cut by it), unique in the campaign."""
    names, used = {}, set(taken)
    frame = doors.assign(label=labels)
    for label, part in frame.groupby("label", sort=True):
        streets = [display_street(s) for s, _ in Counter(part["street"].fillna("")).most_common(2) if s]
        name = " & ".join(streets) or "Doors"
        if by == "precinct" and part["precinct"].iloc[0]:
            name = f"{part['precinct'].iloc[0]} · {name}"
        elif by == "zip" and part["zip5"].iloc[0]:
            name = f"{part['zip5'].iloc[0]} · {name}"
        unique, n = name, 2
        while unique in used:
            unique, n = f"{name} ({n})", n + 1
        used.add(unique)
        names[int(label)] = unique[:120]
    return names


def display_street(key: str) -> str:
    """``N MAIN ST`` -> ``N Main St``; ``1ST AVE`` -> ``1st Ave``."""
    return " ".join(word if len(word) <= 2 and word.isalpha() and word in {"N", "S", "E", "W", "NE", "NW", "SE", "SW"}
                    else word.capitalize() for word in key.split())


def street_positions(doors: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Each door's place in its turf in street order (odd side up, even side back, units by floor)."""
    frame = doors.assign(label=labels, number=doors["house_number_int"].fillna(0).astype("int64"))
    frame["side"] = 1 - frame["number"] % 2  # odd side (0) first, up; even side (1) after, back down
    frame["signed"] = np.where(frame["side"] == 0, frame["number"], -frame["number"])
    frame["unit_key"] = frame["unit"].fillna("").map(lambda u: routing.unit_sort_key(u) if u else (0, 0, ""))
    frame = frame.sort_values(["label", "street", "side", "signed", "building_key", "unit_key"], kind="stable")
    return frame.groupby("label").cumcount().reindex(doors.index)


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
    doors = universe_frame(session, campaign, universe)
    if doors.empty:
        raise TurfError(N_("No doors match: every door is already in a turf, or the filters leave none."))
    labels = cut(doors, by, target)
    taken = set(session.exec(select(Turf.name).where(Turf.campaign_id == campaign.id)).all())
    names = turf_names(doors, labels, by, taken)
    count = len(names)
    ids = bulk.reserve_ids(session, Turf.__table__, count)
    label_to_id = dict(zip(sorted(names), (int(i) for i in ids), strict=True))
    now = utcnow()
    bulk.insert_frame(session, Turf.__table__, pd.DataFrame({
        "id": ids, "campaign_id": campaign.id, "name": [names[label] for label in sorted(names)],
        "status": TurfStatus.active.value, "cut_method": by, "join_code": _join_codes(session, count),
        "join_requires_approval": True, "created_at": now, "created_by_id": user.id if user else None}))
    positions = street_positions(doors, labels)
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
# Walking a turf


@dataclass
class DoorRow:
    household: Household
    position: int
    people: list[Person]
    attempted: bool = False
    contacted: bool = False
    floor: int = 0


def turf_doors(session: Session, turf: Turf) -> list[DoorRow]:
    """The turf's doors in walk order, with their people and whether they were knocked (one query each). Reads only:
    a turf whose route is not stored yet (a job stores it after a cut) is put in route order here, not saved."""
    households = _in_walk_order(turf, session.execute(
        select(Household).join(TurfDoor, TurfDoor.household_id == Household.id)
        .where(TurfDoor.turf_id == turf.id).order_by(TurfDoor.position)).scalars().all())
    ids = [h.id for h in households]
    people: dict[int, list[Person]] = {}
    for person in session.exec(select(Person).where(Person.household_id.in_(ids), Person.deceased.is_(False),
                                                    Person.is_protected.is_(False))
                               .order_by(Person.last_name, Person.first_name)):
        people.setdefault(person.household_id, []).append(person)
    status = _door_status(session, ids)
    return [DoorRow(h, pos, people.get(h.id, []), *status.get(h.id, (False, False)), floor=routing.unit_floor(h.unit))
            for pos, h in enumerate(households)]


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
    doors = [routing.Door(id=h.id, street=h.street, house_number=h.house_number_int, building=h.building_key,
                          unit=h.unit, lat=h.lat, lon=h.lon) for h in households]
    return routing.walking_route(doors) if any(d.lat is not None for d in doors) else routing.street_order(doors)


def _door_status(session: Session, household_ids: list[int]) -> dict[int, tuple[bool, bool]]:
    if not household_ids:
        return {}
    rows = session.execute(
        select(ContactAttempt.household_id, sa.func.count(), sa.func.max(sa.case((ContactAttempt.is_contact, 1),
                                                                                 else_=0)))
        .where(ContactAttempt.household_id.in_(household_ids), ContactAttempt.undone_at.is_(None))
        .group_by(ContactAttempt.household_id)).all()
    return {hid: (count > 0, bool(contacted)) for hid, count, contacted in rows}


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


# ------------------------------------------------------------------------------------------------------------------
# Editing


def rename_turf(session: Session, turf: Turf, name: str) -> None:
    name = name.strip()
    if not name:
        raise TurfError(N_("Give the turf a name."))
    turf.name = name[:120]
    session.add(turf)


def merge_turfs(session: Session, keep: Turf, others: list[Turf]) -> None:
    """Moves the other turfs' doors and volunteers into ``keep`` and deletes them."""
    for other in others:
        if other.id == keep.id or other.campaign_id != keep.campaign_id:
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
    labels = cut(doors, "geo" if doors["lat"].notna().any() else "street", max(1, math.ceil(len(doors) / 2)))
    if labels.nunique() < 2:  # one building, or everything in one street run: split the walk order in half
        labels = pd.Series(np.arange(len(doors)) >= len(doors) // 2, index=doors.index).astype("int64")
    moving = doors.loc[labels == labels.max(), "id"].tolist()
    campaign = session.get(Campaign, turf.campaign_id)
    session.execute(sa.delete(TurfDoor).where(TurfDoor.turf_id == turf.id, TurfDoor.household_id.in_(moving)))
    new = create_turf(session, campaign, name or f"{turf.name} (2)", moving, method="split")
    route_turf(session, turf)
    route_turf(session, new)
    return new


def move_doors(session: Session, household_ids: list[int], target: Turf) -> int:
    """Moves doors (from any turf of the campaign, or from none) into ``target``."""
    if not household_ids:
        return 0
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


def suggest_volunteers(session: Session, languages: Counter, exclude: set[int] = frozenset(), limit: int = 5
                       ) -> list[User]:
    """Volunteers who speak the turf's languages (English aside), most people they can talk to first."""
    wanted = {lang: count for lang, count in languages.items() if lang != "en"}
    if not wanted:
        return []
    volunteers = session.exec(select(User).where(User.role == Role.volunteer, User.is_active.is_(True))).all()
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
    return [{"turf": t, "doors": doors.get(t.id, 0), "people": people.get(t.id, 0),
             "attempted": attempted.get(t.id, 0), "assigned": assigned.get(t.id, []),
             "languages": languages[t.id]} for t in turfs]


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
