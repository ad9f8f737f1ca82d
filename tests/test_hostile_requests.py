"""What a probe of the production setup found (issue 20): each finding, and the behaviour that closes it."""

import json
import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass.models import CallList, ContactAttempt, Person
from tests.conftest import make_user
from tests.test_api import contact, turf  # noqa: F401 (a fixture)


def stored(session) -> int:
    session.rollback()
    return session.exec(select(sa.func.count()).select_from(ContactAttempt)).one()


# ------------------------------------------------------------------------------------------------------------------
# Contacts from the phone's queue


def test_a_volunteer_cannot_log_a_person_who_lives_at_no_door(app, session, campaign, turf, volunteer):  # noqa: F811
    stranger = Person(campaign_id=campaign.id, first_name="No", last_name="Door")
    session.add(stranger)
    session.commit()
    door = session.exec(select(Person).where(Person.first_name == "Ana")).one().household_id
    client = app.test_client(user=volunteer)
    item = {"client_uuid": str(uuid.uuid4()), "person_id": stranger.id, "household_id": door, "turf_id": turf.id,
            "result_code": "DC"}
    [answer] = client.post("/api/v1/contacts", json={"contacts": [item]}).get_json()["results"]
    assert answer["status"] == "rejected" and answer["error"] == "This person does not live at this door."
    assert stored(session) == 0 and not session.get(Person, stranger.id).deceased


@pytest.mark.parametrize(("bad", "error"), [
    ({"notes": "a\x00b"}, "notes: Value error, must not contain a NUL character"),
    ({"language_heard": "e\x00"}, "language_heard: Value error, must not contain a NUL character"),
    ({"answers": {"SUPPORT": "1\x00"}}, "answers: Value error, must not contain a NUL character"),
    ({"person_id": 2**31}, "person_id: Input should be less than or equal to 2147483647"),
    ({"household_id": 2**40}, "household_id: Input should be less than or equal to 2147483647"),
    ({"call_list_id": 999_999}, "This call list is not in the campaign, or not for a knock at a door."),
])
def test_one_bad_item_is_refused_alone_and_the_rest_of_the_batch_is_stored(app, session, turf, volunteer,  # noqa: F811
                                                                           bad, error):
    people = session.exec(select(Person).order_by(Person.id)).all()
    good = [contact(people[0], turf), contact(people[2], turf)]
    items = [good[0], {**contact(people[1], turf), **bad}, good[1]]
    response = app.test_client(user=volunteer).post("/api/v1/contacts", json={"contacts": items})
    assert response.status_code == 200
    answers = response.get_json()["results"]
    assert [a["status"] for a in answers] == ["created", "rejected", "created"]
    assert answers[1]["error"] == error
    assert stored(session) == 2


def test_a_contact_cannot_name_another_campaigns_call_list(app, session, turf, volunteer):  # noqa: F811
    from canvass import campaigns

    other = campaigns.create_campaign(session, "Other", "other")
    session.flush()
    elsewhere = CallList(campaign_id=other.id, name="Their calls")
    session.add(elsewhere)
    session.commit()
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    item = {**contact(ana, turf), "call_list_id": elsewhere.id}
    [answer] = app.test_client(user=volunteer).post("/api/v1/contacts", json={"contacts": [item]}).get_json()["results"]
    assert answer["status"] == "rejected"
    assert stored(session) == 0


def test_a_huge_or_deeply_nested_body_is_refused_before_it_is_parsed(app, volunteer):
    client = app.test_client(user=volunteer)
    huge = b'{"contacts": [' + b'{"x": "' + b"y" * (3 * 1024 * 1024) + b'"}]}'
    response = client.post("/api/v1/contacts", data=huge, content_type="application/json")
    assert response.status_code == 413 and response.get_json() == {"error": "Send at most 200 contacts at a time."}
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/contacts", data=json.dumps({"contacts": []})[:-1] + ', "x": ' + nested + "}",
                           content_type="application/json")
    assert response.status_code == 400 and "contacts" in response.get_json()["error"]


def test_an_error_while_storing_still_answers_with_the_error_page(app, session, turf, volunteer, monkeypatch):  # noqa: F811
    """The 500 page itself must never fail, even when the request's transaction is broken."""
    from canvass import contacts

    def broken(session_in_request, *args, **kwargs):  # a foreign key that fails, as a bad call list id did
        session_in_request.execute(sa.text("INSERT INTO audit_log (at, user_id, action, object_type, details) "
                                           "VALUES (CURRENT_TIMESTAMP, 999999, 'x', '', '{}')"))

    monkeypatch.setattr(contacts, "log_contacts", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    response = app.test_client(user=volunteer).post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]})
    assert response.status_code == 500
    assert response.get_json() == {"error": "Something went wrong on our side. Nothing you entered was lost; "
                                            "try again."}
    page = app.test_client(user=volunteer)
    assert page.get("/my").status_code == 200


# ------------------------------------------------------------------------------------------------------------------
# Pages


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_after_unassigning_the_app_only_goes_back_to_its_own_pages(app, session, turf, lead, target):  # noqa: F811
    volunteer = make_user(session, "volunteer", "v2@example.org")
    from canvass import turfs

    turfs.assign_turf(session, turf, volunteer)
    session.commit()
    response = app.test_client(user=lead).post(f"/turfs/{turf.id}/unassign/{volunteer.id}", data={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == f"/turfs/{turf.id}"
