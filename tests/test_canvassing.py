"""Door canvassing without JavaScript: one tap per result, rules, undo, safety, setup by leads."""

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass import campaigns, contacts, turfs, walk_lists
from canvass.models import (
    Channel,
    ContactAttempt,
    Household,
    Person,
    Phone,
    PhoneStatus,
    ResultCode,
    Script,
    Shift,
    SurveyQuestion,
    Turf,
)
from tests.conftest import make_user, walkable_turf

PEOPLE = ("voter_id,first,last,address,zip,language,party,phone,birth_year\n"
          "1,Ana,Diaz,1 Oak St,27701,es,DEM,9195550001,1980\n2,Luis,Diaz,1 Oak St,27701,es,DEM,9195550002,1978\n"
          "3,Cy,Lo,3 Oak St,27701,,REP,9195550003,1990\n")


@pytest.fixture
def turf(session, campaign, tmp_path, volunteer):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    return walkable_turf(session, campaign, volunteer, path)


def person(session, first):
    return session.exec(select(Person).where(Person.first_name == first)).one()


def door_page(client, turf, household_id):
    return client.get(f"/walk/{turf.id}/door/{household_id}").get_data(as_text=True)


def without_random_tokens(page):
    """CSRF tokens and client UUIDs are random and may contain any short string."""
    return re.sub(r'<input type="hidden"[^>]*>', "", page)


def tap(client, turf, who, code, **fields):
    page = door_page(client, turf, who.household_id)
    token = re.search(rf'name="person_id" value="{who.id}">\s*<input type="hidden" name="client_uuid" value="([^"]+)"',
                      page).group(1)
    data = {"person_id": who.id, "client_uuid": token, "result": code, **fields}
    return client.post(f"/walk/{turf.id}/door/{who.household_id}/log", data=data), data


def count(session, model=ContactAttempt):
    session.rollback()
    return session.exec(select(sa.func.count()).select_from(model)).one()


def test_one_tap_logs_a_result_and_a_double_tap_stores_it_once(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    response, data = tap(client, turf, ana, "TK")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#person-{person(session, 'Luis').id}")
    client.post(f"/walk/{turf.id}/door/{ana.household_id}/log", data=data)  # the same form sent again
    assert count(session) == 1


def test_survey_language_and_followups_are_stored_with_the_result(app, session, turf, volunteer, campaign):
    campaigns.add_question(session, campaign, code="SUPPORT", text="Support?", kind="scale")
    tag = campaigns.add_tag(session, campaign, "Needs a ride", "followup")
    session.commit()
    client = app.test_client(user=volunteer)
    cy = person(session, "Cy")
    tap(client, turf, cy, "TK", **{f"q-{cy.id}-SUPPORT": "2", "language_heard": "vi", "followups": str(tag.id),
                                   "notes": "Works nights"})
    session.rollback()
    cy = person(session, "Cy")
    assert (cy.language, cy.language_source) == ("vi", "door")
    stored = session.exec(select(ContactAttempt)).one()
    assert stored.notes == "Works nights" and stored.is_contact
    from canvass.models import PersonTag, SurveyResponse

    assert session.exec(select(SurveyResponse)).one().question_id == session.exec(select(SurveyQuestion.id)).one()
    assert session.exec(select(PersonTag.tag_id)).one() == tag.id


def test_after_everyone_at_a_door_the_volunteer_goes_to_the_next_door(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    tap(client, turf, person(session, "Ana"), "TK")
    response, _ = tap(client, turf, person(session, "Luis"), "NH")
    assert response.headers["Location"] == f"/walk/{turf.id}/next"
    assert client.get(response.headers["Location"]).headers["Location"].startswith(f"/walk/{turf.id}/door/")


def test_nobody_home_logs_the_whole_door_at_once(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    page = door_page(client, turf, ana.household_id)
    uuids = re.findall(r'<input type="hidden" name="client_uuid" value="([0-9a-f-]{36})">\n', page)
    client.post(f"/walk/{turf.id}/door/{ana.household_id}/nobody-home", data={"result": "NH", "client_uuid": uuids[:2]})
    session.rollback()
    assert sorted(session.exec(select(ContactAttempt.result_code)).all()) == ["NH", "NH"]


def test_deceased_asks_to_confirm_before_anything_is_stored(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    response, data = tap(client, turf, ana, "DC")
    assert response.status_code == 200 and "Record this person as deceased?" in response.get_data(as_text=True)
    assert count(session) == 0
    client.post(f"/walk/{turf.id}/door/{ana.household_id}/log", data={**data, "confirm": "1"})
    assert count(session) == 1 and person(session, "Ana").deceased
    assert f'id="person-{ana.id}"' not in door_page(client, turf, ana.household_id)  # off every list


@pytest.mark.parametrize(("code", "check"), [
    ("MV", lambda s, p, h, ph: p.moved),
    ("WA", lambda s, p, h, ph: p.moved),
    ("LB", lambda s, p, h, ph: p.needs_language),
    ("HO", lambda s, p, h, ph: h.hostile_note == "Dog loose" and h.hostile_at is not None),
    ("WN", lambda s, p, h, ph: ph.status == PhoneStatus.wrong),
    ("DNC", lambda s, p, h, ph: p.do_not_call),
])
def test_result_codes_do_what_their_rules_say_and_undo_puts_it_back(session, campaign, turf, volunteer, code, check):
    ana = person(session, "Ana")
    phone = session.exec(select(Phone).where(Phone.person_id == ana.id)).one()
    channel = Channel.phone if code in ("WN", "DNC") else Channel.door
    item = contacts.ContactIn(client_uuid=uuid.uuid4(), person_id=ana.id, turf_id=turf.id, channel=channel,
                              result_code=code, notes="Dog loose", phone_id=phone.id if channel == Channel.phone else None)
    [result] = contacts.log_contacts(session, volunteer, campaign, [item])
    session.commit()
    assert result.status == "created"
    session.expire_all()
    ana, household, phone = person(session, "Ana"), session.get(Household, ana.household_id), session.get(Phone, phone.id)
    assert check(session, ana, household, phone)
    contacts.undo_contact(session, volunteer, result.contact_id)
    session.commit()
    session.expire_all()
    ana, household, phone = person(session, "Ana"), session.get(Household, ana.household_id), session.get(Phone, phone.id)
    assert not check(session, ana, household, phone)
    assert session.get(ContactAttempt, result.contact_id).undone_at is not None


def test_a_disconnected_number_is_dead_for_everyone_who_has_it(session, campaign, turf, volunteer):
    ana, luis = person(session, "Ana"), person(session, "Luis")
    shared = session.exec(select(Phone).where(Phone.person_id == ana.id)).one()
    session.add(Phone(person_id=luis.id, e164=shared.e164))
    session.commit()
    contacts.log_contacts(session, volunteer, campaign, [contacts.ContactIn(
        client_uuid=uuid.uuid4(), person_id=ana.id, turf_id=turf.id, channel=Channel.phone, result_code="DS",
        phone_id=shared.id)])
    session.commit()
    statuses = session.exec(select(Phone.status).where(Phone.e164 == shared.e164)).all()
    assert statuses == [PhoneStatus.disconnected, PhoneStatus.disconnected]


def test_hostile_door_warns_the_next_volunteer(app, session, campaign, turf, volunteer):
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    tap(client, turf, ana, "HO", notes="Shouted, has a dog")
    session.rollback()  # this test's session writes next: start from what the app committed
    other = make_user(session, "volunteer", "next@example.org")
    turfs.assign_turf(session, session.get(Turf, turf.id), other)
    session.commit()
    page = door_page(app.test_client(user=other), turf, ana.household_id)
    assert "Careful here:" in page and "Shouted, has a dog" in page


def test_undo_from_the_walk_page(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    tap(client, turf, person(session, "Cy"), "MV")
    assert person(session, "Cy").moved is True or count(session) == 1
    client.post(f"/walk/{turf.id}/undo")
    session.rollback()
    assert person(session, "Cy").moved is False
    assert session.exec(select(ContactAttempt.undone_at)).one() is not None


def test_add_a_person_met_at_the_door(app, session, turf, volunteer):
    client = app.test_client(user=volunteer)
    cy = person(session, "Cy")
    client.post(f"/walk/{turf.id}/door/{cy.household_id}/person", data={"first_name": "Mai", "language": "vi"})
    session.rollback()
    mai = person(session, "Mai")
    assert (mai.household_id, mai.language, mai.added_by_id) == (cy.household_id, "vi", volunteer.id)
    assert "Mai" in door_page(client, turf, cy.household_id)


def test_volunteers_see_only_what_the_door_needs(app, session, campaign, turf, volunteer):
    page = without_random_tokens(door_page(app.test_client(user=volunteer), turf, person(session, "Ana").household_id))
    assert "1980" not in page and "DEM" not in page and "9195550001" not in page
    campaigns.update_settings(session, campaign, {"show_party": True})
    session.commit()
    assert "DEM" in door_page(app.test_client(user=volunteer), turf, person(session, "Ana").household_id)


def test_script_in_the_volunteers_language_beside_the_residents(app, session, campaign, turf):
    for language, body in (("en", "Hello, I'm {volunteer}."), ("vi", "Xin chào, tôi là {volunteer}."),
                           ("es", "Hola, soy {volunteer}.")):
        session.add(Script(campaign_id=campaign.id, channel=Channel.door, language=language, body=body))
    minh = make_user(session, "volunteer", "minh@example.org", name="Minh", language="vi")
    turfs.assign_turf(session, session.get(Turf, turf.id), minh)
    session.commit()
    page = door_page(app.test_client(user=minh), turf, person(session, "Ana").household_id)
    assert "Xin chào, tôi là Minh." in page and "Hola, soy Minh." in page and "Hello" not in page


def test_a_door_page_shows_each_edit_of_the_wording_at_once_though_processes_keep_it_in_memory(
        app, session, campaign, turf, volunteer, lead):
    """The script, survey, follow-up tags and result codes are kept in memory by the campaign's version, which any
    edit changes (in any process): the next door page reads them again, and only then."""
    client = app.test_client(user=volunteer)
    household = person(session, "Ana").household_id
    assert "Ask about rent" not in door_page(client, turf, household)
    lead_client = app.test_client(user=lead)
    base = f"/campaigns/{campaign.slug}/setup"
    edits = [
        (f"{base}/script", {"channel": "door", "language": "en", "body": "Ask about rent"}, "Ask about rent"),
        (f"{base}/question", {"code": "wage", "text": "Paid on time?", "kind": "single", "options": "Y = Yes\nN = No"},
         "Paid on time?"),
        (f"{base}/tag", {"name": "Wants a yard sign", "kind": "followup"}, "Wants a yard sign"),
        (f"{base}/code", {"code": "GONE", "label": "Gone fishing", "channel": "door", "suppresses": "none",
                          "active": "1"}, "Gone fishing"),
    ]
    for url, data, shown in edits:
        assert shown not in door_page(client, turf, household)
        lead_client.post(url, data=data)
        assert shown in door_page(client, turf, household), url


def statements_of(engine, request):
    statements = []

    def record(_connection, _cursor, statement, *_):
        if not statement.startswith("BEGIN"):  # SQLite's own, not a question asked
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert request().status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize("routed", [True, False])
def test_a_door_page_asks_the_database_a_handful_of_questions(app, engine, session, turf, volunteer, routed):
    """A GOTV Saturday is a door page every few seconds per volunteer: it reads what changes (the user, the turf with
    its campaign, the door with its place in the walk, the people with their last results, the last entry), not the
    campaign's wording, which is kept in memory by version, nor the turf's whole walk order once it is stored."""
    if routed:
        walk_lists.route_turf(session, session.get(Turf, turf.id))
        session.commit()
    client = app.test_client(user=volunteer)
    url = f"/walk/{turf.id}/door/{person(session, 'Ana').household_id}"
    client.get(url)  # the wording is read once
    tap(client, turf, person(session, "Ana"), "NH")  # a last entry to show, with its person
    statements = statements_of(engine, lambda: client.get(url))
    assert len(statements) <= (5 if routed else 6), "\n".join(statements)
    luis = person(session, "Luis")
    assert client.post(f"{url}/opt-out", data={"person_id": luis.id}).status_code == 302
    statements = statements_of(engine, lambda: client.get(url))  # and why Luis is not to be knocked
    assert len(statements) <= (6 if routed else 7), "\n".join(statements)


def test_a_walk_list_and_the_turf_package_ask_the_database_a_handful_of_questions(app, engine, session, turf,
                                                                                   volunteer):
    """The doors with whether they were knocked, the people with their last results and the do-not-contact list,
    and what the user did on the turf: a few statements however many doors the turf has."""
    client = app.test_client(user=volunteer)
    tap(client, turf, person(session, "Ana"), "NH")
    client.post(f"/walk/{turf.id}/check-in")
    for url, most in ((f"/walk/{turf.id}", 6), (f"/api/v1/turfs/{turf.id}", 5)):
        client.get(url)
        statements = statements_of(engine, lambda url=url: client.get(url))
        assert len(statements) <= most, "\n".join(statements)


@pytest.mark.parametrize("routed", [True, False])
def test_a_door_page_says_where_the_door_is_in_the_walk(app, session, campaign, tmp_path, volunteer, routed):
    rows = [f"{n},P{n},Q{n},{n} Elm St,27701,en,,,\n" for n in range(1, 6)]
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE.splitlines()[0] + "\n" + "".join(rows))
    turf = walkable_turf(session, campaign, volunteer, path)
    if routed:
        walk_lists.route_turf(session, turf)
        session.commit()
    order = walk_lists.walk_order(session, turf)
    client = app.test_client(user=volunteer)
    for position, household_id in enumerate(order):
        page = door_page(client, turf, household_id)
        assert f"Door {position + 1} of {len(order)}" in page
        previous = re.search(r'href="/walk/\d+/door/(\d+)">← Previous', page)
        skip = re.search(r'href="/walk/\d+/door/(\d+)">Skip →', page)
        assert (int(previous.group(1)) if previous else None) == (order[position - 1] if position else None)
        assert (int(skip.group(1)) if skip else None) == (order[position + 1] if position + 1 < len(order) else None)
    other = session.exec(select(Household.id).where(Household.id.not_in(order))).first()
    assert other is None or client.get(f"/walk/{turf.id}/door/{other}").status_code == 404


def test_a_volunteers_pages_cost_the_same_after_a_day_of_entries(app, session, turf, volunteer):
    """The last entry (what Undo would take back) is one row however many the volunteer logged: reading all of them
    to keep the newest made a door page cost 4x after ~600 entries, on the busiest page of a GOTV Saturday."""
    client = app.test_client(user=volunteer)
    ana = person(session, "Ana")
    for _ in range(25):
        tap(client, turf, ana, "NH")
    loaded = []

    def record(target, _context):
        loaded.append(target.id)

    sa.event.listen(ContactAttempt, "load", record)
    try:
        for url in (f"/walk/{turf.id}/door/{ana.household_id}", f"/walk/{turf.id}", f"/api/v1/turfs/{turf.id}"):
            loaded.clear()
            assert client.get(url).status_code == 200
            assert len(loaded) <= 1, url
    finally:
        sa.event.remove(ContactAttempt, "load", record)


def test_check_in_and_out_and_leads_see_who_is_overdue(app, session, campaign, turf, volunteer, lead):
    client = app.test_client(user=volunteer)
    client.post(f"/walk/{turf.id}/check-in")
    page = app.test_client(user=lead).get("/lead").get_data(as_text=True)
    assert "Out canvassing now" in page and volunteer.display_name in page and "overdue" not in page.split("id=\"out\"")[1].split("</section>")[0]
    session.rollback()
    shift = session.exec(select(Shift)).one()
    shift.checked_in_at = shift.checked_in_at - timedelta(hours=4)
    session.add(shift)
    session.commit()
    assert "overdue: call them" in app.test_client(user=lead).get("/lead").get_data(as_text=True)
    client.post(f"/walk/{turf.id}/check-out")
    assert "Nobody is checked in." in app.test_client(user=lead).get("/lead").get_data(as_text=True)


# ------------------------------------------------------------------------------------------------------------------
# Setup by field leads


def test_lead_sets_up_scripts_questions_codes_tags_and_settings(app, session, campaign, lead):
    client = app.test_client(user=lead)
    base = f"/campaigns/{campaign.slug}/setup"
    assert client.get(base).status_code == 200
    client.post(f"{base}/script", data={"channel": "door", "language": "es", "body": "Hola {volunteer}"})
    client.post(f"{base}/question", data={"code": "issue", "text": "Top issue?", "kind": "single",
                                          "options": "RENT = Rent\nWAGE = Wages", "text_es": "¿Tema principal?"})
    client.post(f"{base}/code", data={"code": "NH", "label": "Not home", "channel": "door", "retry_after_hours": "48",
                                      "suppresses": "none", "active": "1", "label_es": "Nadie en casa"})
    client.post(f"{base}/tag", data={"name": "Wants to volunteer", "kind": "followup"})
    bad = client.post(f"{base}/settings", data={"calling_from": "21:00", "calling_to": "09:00", "max_call_attempts": "4",
                                                "no_answer_retry_hours": "6", "lease_minutes": "10",
                                                "shift_expected_minutes": "120"})
    client.post(f"{base}/settings", data={"calling_from": "10:00", "calling_to": "20:00", "max_call_attempts": "4",
                                          "no_answer_retry_hours": "6", "lease_minutes": "10",
                                          "shift_expected_minutes": "120"})
    session.rollback()
    assert session.exec(select(Script.body).where(Script.language == "es")).one() == "Hola {volunteer}"
    question = session.exec(select(SurveyQuestion)).one()
    assert (question.code, question.translations) == ("ISSUE", {"es": "¿Tema principal?"})
    nh = session.exec(select(ResultCode).where(ResultCode.code == "NH")).one()
    assert (nh.retry_after_hours, nh.translations["es"]) == (48, "Nadie en casa")
    from canvass.models import Campaign

    settings = session.exec(select(Campaign.settings).where(Campaign.id == campaign.id)).one()
    assert settings["calling_hours"] == ["10:00", "20:00"] and settings["max_call_attempts"] == 4
    assert bad.status_code == 400  # shown again, with what is wrong
    assert "Calling hours are two times like 09:00 and 21:00, the first earlier." in bad.get_data(as_text=True)


def test_settings_are_validated(session, campaign):
    with pytest.raises(campaigns.CampaignError, match="Calling hours are two times"):
        campaigns.update_settings(session, campaign, {"calling_hours": ["9am", "9pm"]})
    with pytest.raises(campaigns.CampaignError, match="between 1 and 20"):
        campaigns.update_settings(session, campaign, {"max_call_attempts": 0})
    with pytest.raises(campaigns.CampaignError, match="at least two options"):
        campaigns.add_question(session, campaign, code="X", text="Pick", kind="single", options="Only one")


def test_volunteers_and_data_staff_cannot_change_setup(app, campaign, volunteer, data_staff):
    for user in (volunteer, data_staff):
        client = app.test_client(user=user)
        assert client.get(f"/campaigns/{campaign.slug}/setup").status_code == 403
        assert client.post(f"/campaigns/{campaign.slug}/setup/code", data={"code": "X", "label": "X"}).status_code == 403
