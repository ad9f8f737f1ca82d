"""Turf: cutting, balance and routes, universe filters, editing, assignment and who may see what."""

import dataclasses
import json
import re
import statistics
from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import select

from canvass import accounts, cutting, importing, routing, turfs, walk_lists
from canvass.cli import main
from canvass.models import (
    AssignmentStatus,
    ContactAttempt,
    Household,
    Person,
    Role,
    Tag,
    Turf,
    TurfAssignment,
    TurfDoor,
)
from canvass.universe import Universe, universe_counts, universe_frame
from tests.conftest import SHARED_DATA, make_user, walkable_turf

SANFORD = SHARED_DATA / "addr_osm_sanford_nc.csv"


def sanford_doors() -> pd.DataFrame:
    raw = pd.read_csv(SANFORD, dtype=str)
    number = raw["House number"].str.extract(r"^(\d+)", expand=False).astype("float")
    return pd.DataFrame({
        "id": np.arange(len(raw)), "street": raw["Street name"].str.upper(), "house_number_int": number,
        "building_key": raw["House number"] + " " + raw["Street name"].str.upper(), "unit": "",
        "precinct": "", "zip5": raw["Postal code"].str[:5], "city": "Sanford",
        "lat": raw["Latitude"].astype(float), "lon": raw["Longitude"].astype(float)})


def as_route_doors(frame: pd.DataFrame) -> list[routing.Place]:
    return [routing.Place(id=int(r.id), street=r.street, house_number=None if pd.isna(r.house_number_int) else
                         int(r.house_number_int), building=r.building_key, unit=r.unit, lat=r.lat, lon=r.lon)
            for r in frame.itertuples()]


# ------------------------------------------------------------------------------------------------------------------
# Pure cutting and routing


def test_geo_cut_is_balanced_and_loses_or_doubles_no_door():
    doors = sanford_doors()
    labels = cutting.cut(doors, "geo", 60)
    assert (labels >= 0).all() and len(labels) == len(doors)  # every door in exactly one turf
    sizes = doors.groupby("building_key").size().groupby(labels.groupby(doors["building_key"]).first()).sum()
    within = ((sizes - 60).abs() <= 12).mean()
    assert within >= 0.9, sizes.describe()


def test_buildings_are_never_split():
    doors = pd.DataFrame({"id": range(40), "street": "MAIN ST", "house_number_int": [100] * 30 + list(range(1, 11)),
                          "building_key": ["100 MAIN ST|1"] * 30 + [f"{n} MAIN ST|1" for n in range(1, 11)],
                          "unit": [f"{f}0{u}" for f in (1, 2, 3) for u in range(10)] + [""] * 10,
                          "precinct": "", "zip5": "27701", "city": "", "lat": 35.0, "lon": -79.0})
    doors.loc[30:, "lat"] = 35.0 + np.arange(10) * 0.0005
    labels = cutting.cut(doors, "geo", 10)
    assert labels[:30].nunique() == 1


@pytest.mark.parametrize("by", ["precinct", "zip", "street"])
def test_other_cuts_follow_their_boundaries(by):
    doors = sanford_doors()
    doors["precinct"] = np.where(doors["lat"] > doors["lat"].median(), "P1", "P2")
    labels = cutting.cut(doors, by, 60)
    assert (labels >= 0).all()
    column = {"precinct": "precinct", "zip": "zip5", "street": None}[by]
    if column:
        assert (doors.groupby(labels)[column].nunique() == 1).all()  # no turf crosses a precinct or ZIP
    else:
        streets_per_turf = doors.groupby(labels)["street"].nunique()
        long_streets = doors.groupby("street").size()
        for street in long_streets[long_streets >= 60].index:
            assert streets_per_turf[labels[doors["street"] == street].unique()].eq(1).all()


def test_doors_without_coordinates_fall_back_to_streets_and_are_kept():
    doors = sanford_doors().head(300).copy()
    doors.loc[doors.index[:100], ["lat", "lon"]] = np.nan
    labels = cutting.cut(doors, "geo", 50)
    assert (labels >= 0).all()
    unlocated, located = set(labels[:100]), set(labels[100:])
    assert not unlocated & located  # no turf mixes map doors with street doors


def test_turf_names_are_readable_and_unique():
    doors = sanford_doors()
    labels = cutting.cut(doors, "geo", 60)
    names = cutting.turf_names(doors, labels, "geo")
    assert len(set(names.values())) == len(names)
    assert all(re.match(r"^[A-Z0-9]", n) for n in names.values())
    assert sum(" & " in n for n in names.values()) > len(names) / 2  # named after their two main streets
    for label, name in names.items():  # each named after streets its own doors are on
        streets = {cutting.display_street(street) for street in doors.loc[labels == label, "street"]}
        assert set(re.sub(r" \(\d+\)$", "", name).split(" & ")) <= streets, (name, streets)


def test_routes_on_real_address_points_are_much_shorter_than_street_order():
    doors = sanford_doors()
    labels = cutting.cut(doors, "geo", 60)
    ratios = []
    for label in sorted(labels.unique()):
        part = doors[labels == label]
        points = routing.project(part["lat"].to_numpy(), part["lon"].to_numpy())
        index = {door_id: i for i, door_id in enumerate(part["id"])}
        route = [index[d] for d in routing.walking_route(as_route_doors(part))]
        plain = [index[d] for d in routing.plain_street_order(as_route_doors(part))]
        assert sorted(route) == list(range(len(part)))  # every door once
        ratios.append(routing.path_length(points, route) / routing.path_length(points, plain))
    assert statistics.median(ratios) <= 0.85


def test_units_of_a_building_are_listed_by_floor():
    doors = [routing.Place(id=i, street="OAK ST", house_number=5, building="5 OAK ST", unit=u, lat=35.0, lon=-79.0)
             for i, u in enumerate(["Apt 302", "Apt 101", "#2B", "Apt 1A", "Unit 201"])]
    doors.append(routing.Place(id=9, street="OAK ST", house_number=7, building="7 OAK ST", lat=35.0002, lon=-79.0))
    route = routing.walking_route(doors)
    floors = [routing.unit_floor(doors[i].unit) for i in route if i != 9]
    assert floors == [1, 1, 2, 2, 3]
    assert route.index(9) in (0, 5)  # the building's units stay together


def test_street_order_walks_one_side_up_and_the_other_back():
    doors = [routing.Place(id=n, street="ELM ST", house_number=n, building=f"{n}") for n in (1, 2, 3, 4, 5, 6)]
    assert routing.street_order(doors) == [1, 3, 5, 6, 4, 2]


# ------------------------------------------------------------------------------------------------------------------
# In the database


@pytest.fixture
def sanford(session, campaign):
    importing.import_file(session, campaign, SANFORD)
    session.commit()
    return campaign


def door_ids(session, turf_id):
    return session.exec(select(TurfDoor.household_id).where(TurfDoor.turf_id == turf_id)).all()


def test_cut_turfs_puts_every_door_in_one_turf_and_a_second_cut_finds_none(session, sanford):
    ids = turfs.cut_turfs(session, sanford, Universe(), by="geo", target=60)
    session.commit()
    sizes = [len(door_ids(session, turf_id)) for turf_id in ids]
    assert min(sizes) >= 1 and sum(sizes) / len(sizes) == pytest.approx(60, rel=0.25)  # about 60 doors each
    total, distinct = session.execute(sa.text("SELECT count(*), count(DISTINCT household_id) FROM turf_door")).one()
    assert total == distinct == session.exec(select(sa.func.count()).select_from(Household)).one()
    with pytest.raises(turfs.TurfError, match="No doors match"):
        turfs.cut_turfs(session, sanford, Universe(), by="geo", target=60)


def write(tmp_path, text):
    path = tmp_path / "people.csv"
    path.write_text(text)
    return path


PEOPLE = ("voter_id,first,last,address,zip,party,language,birth_year,union\n"
          "1,Ana,Diaz,1 Oak St,27701,DEM,es,1990,yes\n2,Bo,Kim,2 Oak St,27701,REP,ko,1950,\n"
          "3,Cy,Lo,3 Oak St,27702,DEM,,1985,yes\n4,Di,Ng,4 Oak St,27702,DEM,vi,2000,\n")


@pytest.mark.parametrize(("universe", "expected"), [
    ({}, {"1 Oak St", "2 Oak St", "3 Oak St", "4 Oak St"}),
    ({"parties": "DEM"}, {"1 Oak St", "3 Oak St", "4 Oak St"}),
    ({"zips": "27702"}, {"3 Oak St", "4 Oak St"}),
    ({"languages": ["es", "vi"]}, {"1 Oak St", "4 Oak St"}),
    ({"min_age": 30, "max_age": 60}, {"1 Oak St", "3 Oak St"}),
    ({"custom": {"union": "yes"}}, {"1 Oak St", "3 Oak St"}),
])
def test_universe_filters(session, campaign, tmp_path, universe, expected):
    importing.import_file(session, campaign, write(tmp_path, PEOPLE))
    session.commit()
    chosen = dataclasses.replace(Universe.from_dict(universe), today=date(2026, 11, 3))  # ages on that day
    frame = universe_frame(session, campaign, chosen)
    addresses = set(session.exec(select(Household.address).where(Household.id.in_(frame["id"].tolist()))).all())
    assert addresses == expected


def test_universe_leaves_out_do_not_contact_deceased_and_reached_doors(session, campaign, tmp_path, volunteer):
    importing.import_file(session, campaign, write(tmp_path, PEOPLE))
    session.commit()
    people = {p.first_name: p for p in session.exec(select(Person)).all()}
    people["Ana"].do_not_contact, people["Bo"].deceased = True, True
    session.add_all(people.values())
    tag = Tag(campaign_id=campaign.id, name="Member")
    session.add(tag)
    session.flush()
    from canvass.models import PersonTag

    session.add(PersonTag(person_id=people["Di"].id, tag_id=tag.id))
    import uuid

    session.add(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=people["Cy"].id,
                               household_id=people["Cy"].household_id, channel="door", result_code="TK",
                               is_contact=True, user_id=volunteer.id))
    session.commit()
    assert universe_counts(session, campaign, Universe()) == {"doors": 2, "people": 2}
    assert universe_counts(session, campaign, Universe(not_reached=True)) == {"doors": 1, "people": 1}
    assert universe_counts(session, campaign, Universe(tag_ids=[tag.id])) == {"doors": 1, "people": 1}


def test_rename_split_merge_move_and_delete(session, sanford, volunteer):
    first, second = turfs.cut_turfs(session, sanford, Universe(), by="geo", target=60)[:2]
    a, b = session.get(Turf, first), session.get(Turf, second)
    size = len(door_ids(session, a.id))
    turfs.rename_turf(session, a, "Downtown A")
    new = turfs.split_turf(session, a)
    assert len(door_ids(session, a.id)) + len(door_ids(session, new.id)) == size
    assert abs(len(door_ids(session, a.id)) - len(door_ids(session, new.id))) <= 6
    moved = door_ids(session, b.id)[:5]
    assert turfs.move_doors(session, moved, a, campaign_id=a.campaign_id) == 5
    assert set(moved) <= set(door_ids(session, a.id)) and not set(moved) & set(door_ids(session, b.id))
    turfs.assign_turf(session, new, volunteer)
    turfs.merge_turfs(session, a, [new])
    assert len(door_ids(session, a.id)) == size + 5 and session.get(Turf, new.id) is None
    assert session.get(TurfAssignment, (a.id, volunteer.id)) is not None
    import uuid

    household = door_ids(session, a.id)[0]
    session.add(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=sanford.id, household_id=household,
                               turf_id=a.id, channel="door", result_code="NH", user_id=volunteer.id))
    session.commit()
    turfs.delete_turf(session, a)
    session.commit()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 1  # contacts stay
    assert universe_counts(session, sanford, Universe())["doors"] == size + 5  # doors back in the pool


def test_route_is_shown_before_it_is_stored_and_stored_again_after_changes(session, engine, sanford):
    turf = session.get(Turf, turfs.cut_turfs(session, sanford, Universe(), by="geo", target=60)[0])
    session.commit()
    assert turf.routed_at is None
    shown = [d.household.id for d in walk_lists.turf_doors(session, turf)]  # worked out for the page, not stored
    assert not session.dirty and turf.routed_at is None
    assert shown == walk_lists.walk_order(session, turf)
    turf_id = turf.id
    session.rollback()  # no snapshot held across the job's commits
    assert walk_lists.route_new_turfs(lambda *_: None, engine, [turf_id]) == {"routed": 1}
    turf = session.get(Turf, turf_id)
    assert turf.routed_at is not None
    assert [d.household.id for d in walk_lists.turf_doors(session, turf)] == shown == walk_lists.walk_order(session, turf)
    routed_at = turf.routed_at
    new = turfs.split_turf(session, turf)
    assert turf.routed_at > routed_at and new.routed_at is not None  # the change that moved doors routes them


# ------------------------------------------------------------------------------------------------------------------
# Assignment and permissions


@pytest.fixture
def two_turfs(session, sanford):
    ids = turfs.cut_turfs(session, sanford, Universe(), by="geo", target=60)[:2]
    session.commit()
    return [session.get(Turf, i) for i in ids]


def test_volunteer_never_sees_a_turf_not_assigned_to_them(app, session, two_turfs, volunteer):
    mine, other = two_turfs
    turfs.assign_turf(session, mine, volunteer)
    session.commit()
    client = app.test_client(user=volunteer)
    other_door = door_ids(session, other.id)[0]
    for path in (f"/turfs/{other.id}", f"/walk/{other.id}", f"/turfs/{other.id}/print", f"/turfs/{other.id}/entry",
                 f"/walk/{other.id}/door/{other_door}", f"/walk/{other.id}/next"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/walk/{other.id}/door/{other_door}/nobody-home").status_code == 404
    mine_door = door_ids(session, mine.id)[0]
    assert client.get(f"/walk/{mine.id}").status_code == 200
    assert client.get(f"/walk/{mine.id}/door/{other_door}").status_code == 404  # not a door of this turf
    assert client.get(f"/walk/{mine.id}/door/{mine_door}").status_code == 200
    assert client.get("/turfs/").status_code == 403
    assert client.post(f"/turfs/{mine.id}/rename", data={"name": "x"}).status_code == 403


def test_unassigning_takes_the_turf_away_on_next_load(app, session, two_turfs, lead, volunteer):
    turf = two_turfs[0]
    lead_client, client = app.test_client(user=lead), app.test_client(user=volunteer)
    lead_client.post(f"/turfs/{turf.id}/assign", data={"user_id": volunteer.id})
    assert client.get(f"/walk/{turf.id}").status_code == 200
    import html

    assert html.escape(turf.name) in client.get("/my").get_data(as_text=True)
    lead_client.post(f"/turfs/{turf.id}/unassign/{volunteer.id}")
    assert client.get(f"/walk/{turf.id}").status_code == 404
    assert html.escape(turf.name) not in client.get("/my").get_data(as_text=True)


def test_board_shows_who_has_what_and_progress(app, session, two_turfs, lead, volunteer):
    turfs.assign_turf(session, two_turfs[0], volunteer)
    session.commit()
    import html

    page = app.test_client(user=lead).get("/turfs/").get_data(as_text=True)
    size = len(door_ids(session, two_turfs[0].id))
    assert html.escape(two_turfs[0].name) in page and volunteer.display_name in page and f"0 / {size}" in page


def test_lead_cuts_from_the_board_after_seeing_counts(app, session, sanford, lead):
    client = app.test_client(user=lead)
    page = client.get(f"/turfs/?campaign={sanford.id}").get_data(as_text=True)
    assert "<strong>3,942</strong> doors" in page
    response = client.post("/turfs/cut", data={"campaign_id": sanford.id, "by": "geo", "doors": "100"})
    assert response.status_code == 302
    session.rollback()  # read what the app committed
    assert session.exec(select(sa.func.count()).select_from(Turf)).one() == 39


def test_join_code_waits_for_approval_unless_the_lead_lets_them_start_at_once(app, session, two_turfs, lead,
                                                                               volunteer):
    turf, other = two_turfs
    assert len(turf.join_code) == 10 and turf.join_requires_approval  # asking first is the default
    client = app.test_client(user=volunteer)
    assert client.get(f"/join/{turf.join_code}").status_code == 200
    typed = f"{turf.join_code[:5].lower()}-{turf.join_code[5:].lower()}"  # as printed on the poster, any case
    client.post(f"/join/{typed}")
    assert session.get(TurfAssignment, (turf.id, volunteer.id)).status == AssignmentStatus.pending
    assert client.get(f"/walk/{turf.id}").status_code == 404
    app.test_client(user=lead).post(f"/turfs/{turf.id}/approve/{volunteer.id}")
    session.expire_all()
    assert client.get(f"/walk/{turf.id}").status_code == 200
    session.rollback()  # a fresh snapshot before writing: the app committed meanwhile (SQLite)
    other.join_requires_approval = False
    session.add(other)
    session.commit()
    response = client.post(f"/join/{other.join_code}")
    assert response.headers["Location"] == f"/walk/{other.id}"


def test_join_codes_reveal_nothing_to_a_look_and_guessing_them_is_throttled(app, session, two_turfs, volunteer):
    turf = two_turfs[0]
    client = app.test_client(user=volunteer)
    assert client.get("/join/NOPE99NOPE").status_code == client.get(f"/join/{turf.join_code}").status_code == 200
    for _ in range(10):
        wrong = client.post("/join/NOPE99NOPE")
        assert wrong.status_code == 404 and "does not match an open turf" in wrong.get_data(as_text=True)
    refused = client.post(f"/join/{turf.join_code}")  # even the right code, once guessing went on too long
    assert refused.status_code == 429 and "Too many codes that did not match" in refused.get_data(as_text=True)
    assert session.get(TurfAssignment, (turf.id, volunteer.id)) is None


def test_turf_languages_suggest_volunteers_who_speak_them(session, campaign, tmp_path):
    importing.import_file(session, campaign, write(tmp_path, PEOPLE))
    make_user(session, Role.volunteer, "hoa@example.org", languages_spoken=["vi", "en"])
    make_user(session, Role.volunteer, "eng@example.org", languages_spoken=["en"])
    session.commit()
    turf = session.get(Turf, turfs.cut_turfs(session, campaign, Universe(), by="geo", target=10)[0])
    languages = turfs.turf_languages(session, [turf.id])[turf.id]
    assert languages == {"es": 1, "ko": 1, "vi": 1}
    assert [u.email for u in turfs.suggest_volunteers(languages, accounts.volunteers(session))] == ["hoa@example.org"]


def test_paper_results_are_entered_once_even_if_sent_twice(app, session, campaign, tmp_path, volunteer):
    importing.import_file(session, campaign, write(tmp_path, PEOPLE))
    session.commit()
    turf = walkable_turf(session, campaign, volunteer)
    client = app.test_client(user=volunteer)
    page = client.get(f"/turfs/{turf.id}/entry").get_data(as_text=True)
    fields = dict(re.findall(r'name="(person_\d+-uuid)" type="hidden" value="([0-9a-f-]+)"', page))
    assert fields
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    form = {**fields, f"person_{ana.id}-result": "TK"}
    client.post(f"/turfs/{turf.id}/entry", data=form)
    client.post(f"/turfs/{turf.id}/entry", data=form)  # sent again
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 1


def test_printable_list_has_a_qr_code_opening_each_persons_form(app, session, campaign, tmp_path, lead, monkeypatch):
    importing.import_file(session, campaign, write(tmp_path, PEOPLE))
    session.commit()
    turf = session.get(Turf, turfs.cut_turfs(session, campaign, Universe(), by="street", target=10)[0])
    session.commit()
    encoded = []
    from canvass import maps

    real = maps.qr_svg
    monkeypatch.setattr(maps, "qr_svg", lambda data, **kw: encoded.append(data) or real(data, **kw))
    page = app.test_client(user=lead).get(f"/turfs/{turf.id}/print").get_data(as_text=True)
    assert 'class="walk-sheet"' in page and "NH = Not home" in page
    people = session.exec(select(Person).join(TurfDoor, TurfDoor.household_id == Person.household_id)
                          .where(TurfDoor.turf_id == turf.id)).all()
    assert len(encoded) == len(people) == page.count('<td class="qr">')
    person = people[0]
    assert any(re.search(rf"/walk/{turf.id}/door/{person.household_id}\?person={person.id}$", url) for url in encoded)


def test_cli_turf_cut_list_and_assign(database_url, sanford, volunteer):
    env = {"CANVASS_DATABASE_URL": database_url}
    cut = CliRunner().invoke(main, ["turf", "cut", "--campaign", "test", "--by", "geo", "--doors", "60", "--json"],
                             env=env)
    assert cut.exit_code == 0, cut.output
    made = json.loads(cut.output.strip().splitlines()[-1])
    assert made["turfs"] == len(made["ids"]) and made["doors"] / made["turfs"] == pytest.approx(60, rel=0.25)
    listed = json.loads(CliRunner().invoke(main, ["turf", "list", "--campaign", "test", "--json"], env=env)
                        .output.strip().splitlines()[-1])
    first = listed["turfs"][0]
    assert set(first) == {"id", "name", "doors", "people", "assigned"} and first["assigned"] == []
    result = CliRunner().invoke(main, ["turf", "assign", str(first["id"]), volunteer.email], env=env)
    assert result.exit_code == 0
    listed = json.loads(CliRunner().invoke(main, ["turf", "list", "--campaign", "test", "--json"], env=env)
                        .output.strip().splitlines()[-1])
    assert next(t for t in listed["turfs"] if t["id"] == first["id"])["assigned"] == [volunteer.email]


def test_a_lead_approves_a_join_request_from_the_home_page_in_one_tap(app, session, two_turfs, lead, volunteer):
    turf = two_turfs[0]
    app.test_client(user=volunteer).post(f"/join/{turf.join_code}")
    client = app.test_client(user=lead)
    home = client.get("/lead").get_data(as_text=True)
    assert "Asking to join a turf" in home and f"/turfs/{turf.id}/approve/{volunteer.id}" in home
    response = client.post(f"/turfs/{turf.id}/approve/{volunteer.id}", data={"next": "/lead#join-requests"})
    assert response.headers["Location"] == "/lead#join-requests"
    session.expire_all()
    assert session.get(TurfAssignment, (turf.id, volunteer.id)).status == AssignmentStatus.active
    assert "Asking to join a turf" not in client.get("/lead").get_data(as_text=True)


# ------------------------------------------------------------------------------------------------------------------
# The map


def test_the_map_draws_each_street_through_its_doors_in_house_number_order_with_its_name():
    from canvass import maps

    def door(position: int, lat, lon, number: int, street: str) -> walk_lists.Door:
        household = Household(id=position, campaign_id=1, address=f"{number} {street.title()}", street=street,
                              house_number_int=number, lat=lat, lon=lon)
        return walk_lists.Door(household, position, [])

    doors = [door(i, 35.0 + n * 0.0001, -78.0, n, "OAK ST") for i, n in enumerate((30, 10, 20))]
    doors += [door(3 + n, 35.001, -78.0 + n * 0.0001, n, "ELM AVE") for n in (1, 3)]
    doors.append(door(8, None, None, 1, "NOWHERE RD"))
    svg = maps.turf_svg(doors, status_words={"todo": "not knocked yet"})
    roads = re.findall(r'<polyline points="([^"]+)" fill="none" stroke="#cfc8b8"', svg)
    assert len(roads) == 2  # one per street of two doors or more
    oak = [tuple(map(float, p.split(","))) for p in roads[1].split()]
    assert [y for _x, y in oak] == sorted((y for _x, y in oak), reverse=True)  # 10, 20, 30: north, up the page
    assert ">Oak St</text>" in svg and ">Elm Ave</text>" in svg and "Nowhere" not in svg
    assert 'data-scale="' in svg and 'class="me"' in svg  # so the page can place the volunteer on it
    assert "<title>2. 10 Oak St (not knocked yet)</title>" in svg  # screen readers hear words, not status codes


def test_doors_without_coordinates_are_listed_under_the_map_in_a_sentence(app, session, campaign, tmp_path,
                                                                          volunteer):
    path = tmp_path / "mixed.csv"
    path.write_text("first,last,address,zip,lat,lon\nAna,Diaz,1 Oak St,27701,35.99,-78.90\n"
                    "Bo,Kim,3 Oak St,27701,35.9901,-78.90\nCy,Lo,5 Oak St,27701,,\n")
    turf = walkable_turf(session, campaign, volunteer, path)
    page = app.test_client(user=volunteer).get(f"/turfs/{turf.id}").get_data(as_text=True)
    assert "1 door has no map position (its list came without coordinates); it is in the list below:" in page
    assert re.search(r'id="unplaced".*5 Oak St', page, re.S) and 'class="turf-map"' in page
