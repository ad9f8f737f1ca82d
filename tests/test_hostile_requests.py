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


# ------------------------------------------------------------------------------------------------------------------
# Signing in


def proxied(client, address: str):
    """Requests as the same-host TLS proxy forwards them: from 127.0.0.1, naming the real client."""
    client.environ_base.update({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": address})
    return client


def test_failed_logins_from_one_address_do_not_lock_out_everyone_behind_the_proxy(app, admin):
    from tests.conftest import PASSWORD

    attacker = proxied(app.test_client(), "203.0.113.66")
    for n in range(25):
        attacker.post("/login", data={"email": f"made-up-{n}@example.org", "password": "wrong guess"})
    assert attacker.post("/login", data={"email": admin.email, "password": PASSWORD}).status_code == 429
    colleague = proxied(app.test_client(), "198.51.100.7")
    response = colleague.post("/login", data={"email": admin.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/admin"


def test_forwarded_addresses_are_believed_only_from_the_trusted_proxy(app, session, volunteer):
    from canvass.models import LoginAttempt

    direct = app.test_client()
    direct.environ_base.update({"REMOTE_ADDR": "192.0.2.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"})
    direct.post("/login", data={"email": volunteer.email, "password": "wrong guess"})
    proxied(app.test_client(), "203.0.113.5").post("/login", data={"email": volunteer.email, "password": "nope"})
    session.rollback()
    assert sorted(session.exec(select(LoginAttempt.remote_addr)).all()) == ["192.0.2.9", "203.0.113.5"]


def test_parallel_wrong_passwords_are_checked_against_the_limit_one_at_a_time(engine, session, volunteer):
    """40 guesses at once for one account: only the first 5 are ever checked, in any number of processes."""
    import threading

    from sqlmodel import Session

    from canvass import accounts, db
    from canvass.models import LoginAttempt

    outcomes, start = [], threading.Barrier(8)

    def guess() -> None:
        start.wait()
        for _ in range(5):
            with Session(db.writer(engine)) as attempt:  # as the login POST does
                try:
                    accounts.authenticate(attempt, volunteer.email, "wrong guess", remote_addr=f"10.0.0.{_}")
                    outcomes.append("checked")
                except accounts.LoginThrottled:
                    outcomes.append("throttled")
                attempt.commit()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("checked") == 5 and outcomes.count("throttled") == 35
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(LoginAttempt)).one() == 5


def test_logging_out_ends_the_session_and_the_remember_me_cookie_everywhere(app, volunteer):
    from tests.conftest import PASSWORD

    phone = app.test_client()
    phone.post("/login", data={"email": volunteer.email, "password": PASSWORD, "remember": "y"})
    stolen = {cookie.key: cookie.value for cookie in phone._cookies.values()}
    assert phone.get("/my").status_code == 200
    phone.post("/logout")
    copy = app.test_client()
    for key, value in stolen.items():
        copy.set_cookie(key, value)
    assert copy.get("/my").status_code == 302  # an old session cookie (or remember-me cookie) no longer works
    assert copy.get("/api/v1/me").status_code == 302


def test_an_invite_link_accepted_twice_at_once_works_once(app, engine, session, admin):
    import threading

    from canvass import accounts
    from canvass.models import AuditLog

    issued = accounts.invite_user(session, admin, "new@example.org", "volunteer")
    session.commit()
    statuses, start = [], threading.Barrier(6)

    def accept() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(f"/invite/{issued.token}", data={"password": "a long new password",
                                                                "confirm": "a long new password", "language": "en"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=accept) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(302) == 1 and statuses.count(410) == 5, statuses
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "user.invite_accepted")).one() == 1


def test_a_lead_cannot_turn_a_pending_admin_invitation_into_a_volunteer_one(app, session, admin, lead):
    from canvass import accounts
    from canvass.models import User

    accounts.invite_user(session, admin, "boss@example.org", "admin")
    session.commit()
    page = app.test_client(user=lead)
    response = page.post("/users/invite", data={"email": "boss@example.org", "role": "volunteer", "name": "",
                                                "language": "en"})
    assert response.status_code == 400  # the form again, with the reason at its top
    assert ("This email already has an invitation for another role; only an admin can change it."
            in response.get_data(as_text=True))
    session.rollback()
    assert session.exec(select(User.role).where(User.email == "boss@example.org")).one() == "admin"


# ------------------------------------------------------------------------------------------------------------------
# Bad parameters get a 400 or a sentence, never a 500


@pytest.mark.parametrize(("path", "status", "sentence"), [
    ("/calllists/?min_age=abc", 200, "Ages are whole numbers of years between 0 and 130"),
    ("/calllists/?max_age=99999999999", 200, "Ages are whole numbers of years between 0 and 130"),
    ("/turfs/?min_age=-3", 200, "Ages are whole numbers of years between 0 and 130"),
    ("/turfs/?tag_ids=x", 200, "Choose the tags from the list."),
    ("/turfs/?tag_ids=99999999999", 200, "Choose the tags from the list."),
    ("/turfs/2147483648", 404, None),
    ("/call/2147483648", 404, None),
    ("/people/?q=a%00b", 400, None),
])
def test_bad_parameters_get_a_sentence_or_a_400(app, lead, campaign, path, status, sentence):
    response = app.test_client(user=lead).get(path, follow_redirects=True)
    assert response.status_code == status
    if sentence:
        assert sentence in response.get_data(as_text=True)


def test_a_nul_character_in_the_login_email_is_a_400(client):
    assert client.post("/login", data={"email": "a\x00@example.org", "password": "x" * 12}).status_code == 400


@pytest.mark.parametrize(("since", "sentence"), [
    ("2026-13-45", "Give the dates as on a calendar, such as 2026-11-03."),
    ("2026-11-05", "The first date comes after the last one: swap them."),
])
def test_an_export_with_an_impossible_date_says_so(app, data_staff, campaign, since, sentence):
    response = app.test_client(user=data_staff).post(
        "/exports/", data={"campaign_id": campaign.id, "format": "xlsx", "sheet": "contacts", "since": since,
                           "until": "2026-11-03"})
    assert response.status_code == 400 and sentence in response.get_data(as_text=True)  # shown beside the date


def test_data_staff_see_turfs_but_do_not_log_at_their_doors_unless_assigned(app, session, turf,  # noqa: F811
                                                                             data_staff):
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    client = app.test_client(user=data_staff)
    assert client.get(f"/walk/{turf.id}").status_code == 200  # they may look (and enter paper results)
    [answer] = client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]}).get_json()["results"]
    assert answer["status"] == "rejected" and answer["error"] == "This door or person is not on your list."
    assert client.post(f"/walk/{turf.id}/door/{ana.household_id}/nobody-home").status_code == 403
    assert stored(session) == 0
