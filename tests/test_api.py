"""The sync API: shapes match the OpenAPI document; contacts are stored once however often they are sent."""

import json
import threading
import uuid
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass import accounts, importing, turfs
from canvass.models import ContactAttempt, Person, SurveyResponse, Turf
from tests.conftest import make_user, walkable_turf

SPEC = json.loads((Path(__file__).resolve().parents[1] / "canvass" / "openapi.json").read_text())
PEOPLE = ("voter_id,first,last,address,zip,language\n1,Ana,Diaz,1 Oak St,27701,es\n2,Bo,Kim,1 Oak St,27701,ko\n"
          "3,Cy,Lo,3 Oak St,27701,\n4,Di,Ng,5 Oak St,27701,vi\n")


def valid(name: str, data) -> None:
    jsonschema.validate(data, {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]})


@pytest.fixture
def turf(session, campaign, tmp_path, volunteer):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    from canvass.models import QuestionKind, SurveyOption, SurveyQuestion

    question = SurveyQuestion(campaign_id=campaign.id, code="SUPPORT", text="Support?", kind=QuestionKind.scale)
    session.add(question)
    session.flush()
    session.add_all([SurveyOption(question_id=question.id, code=str(n), label=str(n), position=n) for n in range(1, 6)])
    return walkable_turf(session, campaign, volunteer)


def contact(person, turf, code="TK", **extra):
    return {"client_uuid": str(uuid.uuid4()), "person_id": person.id, "household_id": person.household_id,
            "turf_id": turf.id, "result_code": code, **extra}


def test_openapi_document_is_served_and_valid(client):
    served = client.get("/api/v1/openapi.json").get_json()
    assert served == SPEC and served["openapi"].startswith("3.1")
    for schema in SPEC["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_me_and_turf_package_match_the_document(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    me = client.get("/api/v1/me").get_json()
    valid("Me", me)
    assert me["turfs"] == [turf.id]
    package = client.get(f"/api/v1/turfs/{turf.id}").get_json()
    valid("TurfPackage", package)
    people = [p for door in package["doors"] for p in door["people"]]
    assert {p["first_name"] for p in people} == {"Ana", "Bo", "Cy", "Di"}
    assert "birth_year" not in json.dumps(people) and "party" not in people[0]  # only what the door needs
    assert package["survey"][0]["code"] == "SUPPORT" and {c["code"] for c in package["result_codes"]} >= {"NH", "TK"}


def test_a_turf_that_is_not_yours_is_404(app, session, turf):
    stranger = make_user(session, "volunteer", "stranger@example.org")
    client = app.test_client(user=stranger)
    response = client.get(f"/api/v1/turfs/{turf.id}")
    assert response.status_code == 404
    valid("Error", response.get_json())
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    result = client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]}).get_json()
    assert result["results"][0]["status"] == "rejected"
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 0


def test_the_same_batch_sent_three_times_is_stored_once(app, session, turf, volunteer):
    people = session.exec(select(Person).order_by(Person.id)).all()
    batch = [contact(p, turf, answers={"SUPPORT": "2"}) for p in people]
    client = app.test_client(user=volunteer)
    statuses = []
    for _ in range(3):
        response = client.post("/api/v1/contacts", json={"contacts": batch})
        valid("BatchResults", response.get_json())
        statuses.append([r["status"] for r in response.get_json()["results"]])
    assert statuses == [["created"] * 4, ["duplicate"] * 4, ["duplicate"] * 4]
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 4
    assert session.exec(select(sa.func.count()).select_from(SurveyResponse)).one() == 4


def test_two_clients_sending_the_same_batch_at_once_store_it_once(app, session, turf, volunteer):
    people = session.exec(select(Person).order_by(Person.id)).all()
    batch = [contact(p, turf) for p in people] * 1
    start = threading.Barrier(2)
    answers = []

    def send():
        client = app.test_client(user=volunteer)
        start.wait()
        answers.append(client.post("/api/v1/contacts", json={"contacts": batch}).get_json())

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r["status"] for answer in answers for r in answer["results"])
    assert statuses == ["created"] * 4 + ["duplicate"] * 4
    session.rollback()
    stored = session.exec(select(ContactAttempt.client_uuid)).all()
    assert sorted(str(u) for u in stored) == sorted(c["client_uuid"] for c in batch)


def test_bad_items_are_rejected_one_by_one_and_the_rest_stored(app, session, turf, volunteer):
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    client = app.test_client(user=volunteer)
    good = contact(ana, turf)
    result = client.post("/api/v1/contacts", json={"contacts": [
        {"client_uuid": "not-a-uuid", "turf_id": turf.id, "result_code": "TK"},
        contact(ana, turf, code="ZZ"), contact(ana, turf, answers={"SUPPORT": "9"}), good]}).get_json()
    statuses = [r["status"] for r in result["results"]]
    assert statuses == ["rejected", "rejected", "rejected", "created"]
    assert "ZZ is not a door result code" in result["results"][1]["error"]
    assert "9 is not an answer to SUPPORT" in result["results"][2]["error"]
    session.rollback()
    assert session.exec(select(ContactAttempt.client_uuid)).all() == [uuid.UUID(good["client_uuid"])]


def test_contacts_need_a_csrf_token(database_url, tmp_path, turf, volunteer):
    from flask_login import FlaskLoginClient

    from canvass.app import create_app

    app = create_app({"MODE": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": "s", "JOB_THREADS": 0})
    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=volunteer)
    response = client.post("/api/v1/contacts", json={"contacts": []})
    assert response.status_code == 400
    page = client.get(f"/walk/{turf.id}").get_data(as_text=True)
    token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post("/api/v1/contacts", json={"contacts": []}, headers={"X-CSRFToken": token}).status_code == 200
    app.extensions["canvass.engine"].dispose()


def test_offline_time_is_kept_when_plausible(app, session, turf, volunteer):
    from datetime import UTC, datetime, timedelta

    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    earlier = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    future = datetime.now(UTC) + timedelta(days=2)
    client = app.test_client(user=volunteer)
    client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf, contacted_at=earlier.isoformat()),
                                                       contact(ana, turf, code="NH", contacted_at=future.isoformat())]})
    session.rollback()
    times = dict(session.execute(select(ContactAttempt.result_code, ContactAttempt.contacted_at)).all())
    assert times["TK"] == earlier
    assert abs((times["NH"] - datetime.now(UTC)).total_seconds()) < 60  # a phone clock in the future is not trusted


def test_a_uuid_twice_in_one_batch_is_stored_once_and_a_bad_answer_stores_nothing(app, session, turf, volunteer):
    ana, bo = (session.exec(select(Person).where(Person.first_name == name)).one() for name in ("Ana", "Bo"))
    first = contact(ana, turf, answers={"SUPPORT": "5"})
    items = [first, dict(first), contact(bo, turf, answers={"SUPPORT": "9"}), contact(bo, turf, "NH")]
    results = app.test_client(user=volunteer).post("/api/v1/contacts", json={"contacts": items}).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate", "rejected", "created"]
    assert results[0]["contact_id"] == results[1]["contact_id"]
    assert "9 is not an answer to SUPPORT" in results[2]["error"]
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 2
    assert session.exec(select(SurveyResponse.contact_id)).all() == [results[0]["contact_id"]]


def test_a_batch_costs_the_same_queries_whatever_its_size(app, engine, session, turf, volunteer):
    people = session.exec(select(Person)).all()
    client = app.test_client(user=volunteer)

    def statements_for(size: int) -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            batch = [contact(people[i % len(people)], turf, "NH") for i in range(size)]
            assert client.post("/api/v1/contacts", json={"contacts": batch}).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    first = statements_for(1)  # also reads the result codes, then kept in memory while the codes stamp holds
    assert statements_for(40) == statements_for(1) == first - 1
    # One read (the user, the turf's campaign, the people and doors), the insert; and SQLite's BEGIN.
    assert statements_for(3) <= 3


def test_edited_result_codes_apply_at_once_and_a_stored_contact_stays_a_duplicate(app, session, campaign, turf,
                                                                                   volunteer):
    from canvass import campaigns

    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    client = app.test_client(user=volunteer)

    def send(*items):
        response = client.post("/api/v1/contacts", json={"contacts": list(items)})
        return [(r["status"], r["contact_id"], r["error"]) for r in response.get_json()["results"]]

    def edit(code: str, active: bool) -> None:
        session.rollback()  # a fresh transaction: SQLite cannot write from a snapshot older than the app's writes
        campaigns.update_result_code(session, session.get(type(campaign), campaign.id), code, label=code,
                                     channel="door", is_contact=False, is_final=False, retry_after_hours=None,
                                     suppresses="none", active=active)
        session.commit()

    stored = contact(ana, turf, "NH")
    [(status, contact_id, _)] = send(stored)
    assert status == "created"
    edit("NH", active=False)
    # Sent again after its code was retired: the phone must hear "already stored", not "failed".
    assert send(stored) == [("duplicate", contact_id, "")]
    [(status, _, error)] = send(contact(ana, turf, "NH"))
    assert status == "rejected" and "NH is not a door result code" in error
    edit("LIT", active=True)
    assert send(contact(ana, turf, "LIT"))[0][0] == "created"
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 2


def test_the_codes_version_changes_with_any_code_change(session, campaign):
    from canvass.models import Campaign, ResultCode

    def stamp() -> str:
        session.expire_all()
        return session.get(Campaign, campaign.id).codes_version

    before = stamp()
    code = session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign.id)).first()
    code.label = "Renamed"
    session.commit()
    after_edit = stamp()
    session.delete(session.get(ResultCode, code.id))
    session.commit()
    assert len({before, after_edit, stamp()}) == 3


def test_a_queue_replayed_after_its_turf_was_reassigned_hears_duplicate(app, session, turf, volunteer):
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    client = app.test_client(user=volunteer)
    stored, late = contact(ana, turf, "NH"), contact(ana, turf, "TK")
    [first] = client.post("/api/v1/contacts", json={"contacts": [stored]}).get_json()["results"]
    session.rollback()
    turfs.unassign_turf(session, session.get(Turf, turf.id), volunteer)
    session.commit()
    results = client.post("/api/v1/contacts", json={"contacts": [stored, late]}).get_json()["results"]
    assert [(r["status"], r["contact_id"]) for r in results] == [("duplicate", first["contact_id"]), ("rejected", None)]
    assert results[1]["error"] == "This door or person is not on your list."


def test_a_session_that_no_longer_counts_cannot_sync(app, session, turf, volunteer):
    """The sync route checks the sign-in in its own read, not through Flask-Login: the same rules must hold."""

    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()

    def send(client) -> int:
        return client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]}).status_code

    assert send(app.test_client()) == 302  # never signed in: to the login page, as every other route
    signed_in = app.test_client(user=volunteer)
    assert send(signed_in) == 200
    session.rollback()  # end the test's read snapshot before writing (SQLite)
    volunteer.is_active = False
    session.commit()
    assert send(signed_in) == 302
    volunteer.is_active = True
    accounts.set_password(volunteer, "a new password")  # a password change ends other sessions
    session.commit()
    assert send(signed_in) == 302
    with signed_in.session_transaction() as cookie:
        cookie["_user_id"] = f"{volunteer.id + 1000}.{volunteer.sign_in_key}"  # no such user
    assert send(signed_in) == 302
    assert send(app.test_client(user=volunteer)) == 200
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 2


def test_a_phone_signed_in_by_its_remember_me_cookie_can_sync(app, session, turf, volunteer):
    from tests.conftest import login

    client = app.test_client()
    login(client, volunteer)
    with client.session_transaction() as cookie:
        cookie.clear()  # the session cookie lost (the browser was closed); the remember-me cookie is left
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    response = client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]})
    assert response.status_code == 200 and response.get_json()["results"][0]["status"] == "created"


def test_a_lead_may_sync_any_turf_and_a_volunteer_only_their_open_turfs(app, session, campaign, turf, volunteer, lead):
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    lead_client, own = app.test_client(user=lead), app.test_client(user=volunteer)
    assert lead_client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]}).get_json()[
        "results"][0]["status"] == "created"
    session.rollback()
    session.get(Turf, turf.id).status = "closed"
    session.commit()
    [closed] = own.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]}).get_json()["results"]
    assert closed["status"] == "rejected" and closed["error"] == "This door or person is not on your list."
    [lead_result] = lead_client.post("/api/v1/contacts", json={"contacts": [contact(ana, turf)]}).get_json()["results"]
    assert lead_result["status"] == "created"
