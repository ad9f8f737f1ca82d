"""Household results: one tap records a result for everyone at a door, stored per person, undone as one entry."""

import re

import pytest
from sqlmodel import select

from canvass.models import ContactAttempt, Person
from tests.conftest import walkable_turf
from tests.test_canvassing import PEOPLE, door_page, person


@pytest.fixture
def turf(session, campaign, tmp_path, volunteer):
    """Ana and Luis at 1 Oak St, Cy at 3 Oak St, on the volunteer's turf."""
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    return walkable_turf(session, campaign, volunteer, path)


def door_tap(client, turf, household_id, code):
    page = door_page(client, turf, household_id)
    uuids = re.findall(r'<input type="hidden" name="client_uuid" value="([0-9a-f-]{36})">\n', page)
    return client.post(f"/walk/{turf.id}/door/{household_id}/nobody-home", data={"result": code, "client_uuid": uuids})


def test_the_door_offers_moved_and_inaccessible_for_everyone_in_the_volunteers_language(app, session, turf,
                                                                                         volunteer):
    page = door_page(app.test_client(user=volunteer), turf, person(session, "Ana").household_id)
    page_es = app.test_client(user=volunteer).get(
        f"/walk/{turf.id}/door/{person(session, 'Ana').household_id}?lang=es").get_data(as_text=True)
    for code in ("MV", "IN", "CB", "WA"):
        assert f'name="result" value="{code}"' in page
    assert 'value="TK"' not in page.split("door-wide")[1].split("</details>")[0]  # a conversation is per person
    assert "Otro resultado para toda la puerta" in page_es


def test_moved_for_the_whole_door_is_stored_per_person_with_its_rule_and_undone_as_one(app, session, turf,
                                                                                         volunteer):
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    response = door_tap(client, turf, ana.household_id, "MV")
    assert response.status_code == 302
    flashed = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Moved, for everyone at the door" in flashed
    session.rollback()
    stored = session.exec(select(ContactAttempt).where(ContactAttempt.household_id == ana.household_id)).all()
    assert sorted((c.person_id, c.result_code) for c in stored) == sorted(
        (p.id, "MV") for p in session.exec(select(Person).where(Person.household_id == ana.household_id)))
    assert all(p.moved for p in session.exec(select(Person).where(Person.household_id == ana.household_id)))
    client.post(f"/walk/{turf.id}/undo")
    session.rollback()
    assert all(c.undone_at is not None for c in session.exec(select(ContactAttempt)).all())  # both, in one undo
    assert not any(p.moved for p in session.exec(select(Person).where(Person.household_id == ana.household_id)))


def test_a_result_about_a_conversation_cannot_be_recorded_for_a_whole_door(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    response = door_tap(client, turf, person(session, "Ana").household_id, "TK")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cannot be recorded for a whole door" in page
    assert session.exec(select(ContactAttempt)).all() == []


def test_a_retried_door_tap_stores_nothing_twice(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    page = door_page(client, turf, ana.household_id)
    uuids = re.findall(r'<input type="hidden" name="client_uuid" value="([0-9a-f-]{36})">\n', page)
    for _ in range(2):
        client.post(f"/walk/{turf.id}/door/{ana.household_id}/nobody-home", data={"result": "IN", "client_uuid": uuids})
    session.rollback()
    assert len(session.exec(select(ContactAttempt)).all()) == 2
