"""Every page's form: a bad value is shown again beside its field, with a sentence in the reader's language; a
domain refusal (a UserError) too; a list of ids takes only ids the user may pick."""

import re

import pytest
from sqlmodel import select

from canvass.models import ResultCode

#: One sentence a page must show, in each language.
LANGUAGES = ("en", "es", "vi")


def error_beside(html: str, field_id: str) -> str:
    """The error shown under the field with this id (empty when there is none)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def form_error(html: str) -> str:
    """The message at the top of a form (a domain refusal)."""
    match = re.search(r'<div class="flash flash-error form-error" role="alert"><p>([^<]*)</p>', html)
    return match.group(1) if match else ""


EXPECTED = {
    "whole 0-8760": {"en": "A whole number from 0 to 8760.", "es": "Un número entero de 0 a 8760.",
                     "vi": "Một số nguyên từ 0 đến 8760."},
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_result_code_with_hours_that_are_not_a_number_is_shown_again_not_a_server_error(app, session, campaign, lead,
                                                                                       lang):
    """The set-up page once caught the ValueError of int("soon") and asked it for a translation: a 500."""
    client = app.test_client(user=lead)
    response = client.post(f"/campaigns/{campaign.slug}/setup/code?lang={lang}",
                           data={"code": "NH", "label": "Not home", "channel": "door", "retry_after_hours": "soon",
                                 "suppresses": "none", "active": "1"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error_beside(html, "code-NH-retry_after_hours") == EXPECTED["whole 0-8760"][lang]
    assert 'value="soon"' in html  # what was typed stays in the field
    session.rollback()
    assert session.exec(select(ResultCode.retry_after_hours).where(ResultCode.code == "NH")).one() != "soon"


def test_new_result_code_error_is_shown_in_the_form_that_adds_one(app, campaign, lead):
    response = app.test_client(user=lead).post(f"/campaigns/{campaign.slug}/setup/code",
                                               data={"code": "", "label": "Moved away", "channel": "door",
                                                     "suppresses": "moved"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_beside(html, "new-code-code") == "Give the result a short code, such as NH."
    assert 'value="Moved away"' in html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_calling_hours_refused_by_the_campaign_are_said_in_the_readers_language(app, campaign, lead, lang):
    client = app.test_client(user=lead)
    response = client.post(f"/campaigns/{campaign.slug}/setup/settings?lang={lang}",
                           data={"calling_from": "21:00", "calling_to": "09:00", "no_answer_retry_hours": "4",
                                 "max_call_attempts": "3", "lease_minutes": "10", "shift_expected_minutes": "180"})
    assert response.status_code == 400
    message = form_error(response.get_data(as_text=True))
    english = "Calling hours are two times like 09:00 and 21:00, the first earlier."
    assert message and (message == english) == (lang == "en")


def test_campaign_without_a_name_is_shown_again_with_the_reason(app, lead):
    response = app.test_client(user=lead).post("/campaigns/?lang=es", data={"name": "", "slug": "fall"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error_beside(html, "name") == "Ponle un nombre a la campaña."
    assert 'value="fall"' in html


# ------------------------------------------------------------------------------------------------------------------
# Accounts


def test_role_choices_are_words_of_the_reader_not_codes(app, admin, volunteer):
    html = app.test_client(user=admin).get("/users/").get_data(as_text=True)
    assert '<option value="lead">Field lead</option>' in html
    assert ">lead<" not in html


def test_invite_with_a_bad_email_is_shown_again_beside_it_in_vietnamese(app, lead):
    response = app.test_client(user=lead).post("/users/invite?lang=vi", data={
        "email": "not-an-address", "name": "Mai", "role": "volunteer", "language": "vi"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert error_beside(html, "email") == "Đó không phải là địa chỉ email, ví dụ ana@example.org."
    assert 'value="Mai"' in html


def test_a_lead_cannot_pick_a_role_the_form_does_not_offer(app, session, lead):
    response = app.test_client(user=lead).post("/users/invite", data={
        "email": "boss@example.org", "role": "admin", "language": "en"})
    assert response.status_code == 400
    assert error_beside(response.get_data(as_text=True), "role") == "Choose one of the roles listed."


def test_an_account_error_reaches_a_spanish_reader_in_spanish(app, session, admin, lead):
    from canvass import accounts

    accounts.invite_user(session, admin, "boss@example.org", "admin")
    session.commit()
    response = app.test_client(user=lead).post("/users/invite?lang=es", data={
        "email": "boss@example.org", "role": "volunteer", "language": "en"})
    message = form_error(response.get_data(as_text=True))
    assert message and "only an admin" not in message


# ------------------------------------------------------------------------------------------------------------------
# Turf: lists of ids take only what the page offered


PEOPLE = ("voter_id,first,last,address,zip,party,language,birth_year,phone\n"
          "1,Ana,Diaz,1 Oak St,27701,DEM,es,1990,\n2,Bo,Kim,2 Oak St,27701,REP,ko,1950,\n"
          "3,Cy,Lo,3 Elm St,27702,DEM,,1985,\n4,Di,Ng,4 Elm St,27702,DEM,vi,2000,\n")


@pytest.fixture
def two_turfs(session, campaign, tmp_path):
    from canvass import importing, turfs
    from canvass.models import Turf
    from canvass.universe import Universe

    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    session.commit()
    ids = turfs.cut_turfs(session, campaign, Universe(), by="street", target=2)
    session.commit()
    return [session.get(Turf, i) for i in ids]


def test_doors_of_another_turf_cannot_be_moved_from_this_one(app, session, lead, two_turfs):
    from canvass import walk_lists
    from canvass.models import TurfDoor

    oak, elm = two_turfs
    elm_door = walk_lists.turf_doors(session, elm)[0].household.id
    response = app.test_client(user=lead).post(f"/turfs/{oak.id}/move?lang=es",
                                               data={"doors": [str(elm_door)], "target": str(elm.id)})
    assert response.status_code == 400
    assert "Marca solo puertas de este territorio." in response.get_data(as_text=True)
    session.rollback()
    assert session.exec(select(TurfDoor.turf_id).where(TurfDoor.household_id == elm_door)).one() == elm.id


def test_a_turf_error_reaches_a_vietnamese_reader_in_vietnamese(app, lead, campaign, two_turfs):
    """Every door is in a turf already: the cut is refused by the domain (TurfError), in the reader's language."""
    response = app.test_client(user=lead).post("/turfs/cut?lang=vi", data={
        "campaign_id": campaign.id, "by": "geo", "doors": "10"})
    assert response.status_code == 400
    message = form_error(response.get_data(as_text=True))
    assert message and "No doors match" not in message


def test_doors_per_turf_must_be_a_number(app, lead, campaign, two_turfs):
    response = app.test_client(user=lead).post("/turfs/cut", data={"campaign_id": campaign.id, "by": "geo",
                                                                   "doors": "lots"})
    assert error_beside(response.get_data(as_text=True), "doors") == "A whole number from 1 to 10000."


def test_paper_entry_takes_only_the_campaigns_result_codes(app, session, lead, two_turfs):
    from canvass.models import ContactAttempt, Person

    oak = two_turfs[0]
    ana = session.exec(select(Person).where(Person.first_name == "Ana")).one()
    response = app.test_client(user=lead).post(f"/turfs/{oak.id}/entry", data={f"person_{ana.id}-result": "WIN"})
    assert response.status_code == 400
    assert error_beside(response.get_data(as_text=True), f"person_{ana.id}-result") == "Choose one from the list."
    assert session.exec(select(ContactAttempt)).first() is None


# ------------------------------------------------------------------------------------------------------------------
# At the door and on the phone


def test_someone_met_at_the_door_without_a_name_is_refused_in_spanish(app, session, lead, two_turfs):
    from canvass import walk_lists

    oak = two_turfs[0]
    door = walk_lists.turf_doors(session, oak)[0].household.id
    response = app.test_client(user=lead).post(f"/walk/{oak.id}/door/{door}/person?lang=es",
                                               data={"first_name": " ", "last_name": "", "language": "vi"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert form_error(html) == "Escribe al menos un nombre o un apellido."
    assert '<details class="card" id="add-person" open>' in html


def test_a_result_the_campaign_does_not_know_is_refused_in_vietnamese(app, session, lead, two_turfs):
    from canvass import walk_lists

    oak = two_turfs[0]
    door = walk_lists.turf_doors(session, oak)[0]
    client = app.test_client(user=lead)
    client.post(f"/walk/{oak.id}/door/{door.household.id}/log?lang=vi",
                data={"person_id": str(door.people[0].id), "result": "ZZ"})
    with client.session_transaction() as cookie:
        flashed = [message for kind, message in cookie.get("_flashes", []) if kind == "error"]
    assert flashed and "is not a door result code" not in flashed[0]


def test_a_person_not_at_this_door_cannot_be_logged_there(app, session, lead, two_turfs):
    from canvass import walk_lists
    from canvass.models import ContactAttempt

    oak, elm = two_turfs
    door = walk_lists.turf_doors(session, oak)[0]
    stranger = walk_lists.turf_doors(session, elm)[0].people[0]
    client = app.test_client(user=lead)
    client.post(f"/walk/{oak.id}/door/{door.household.id}/log", data={"person_id": str(stranger.id), "result": "NH"})
    with client.session_transaction() as cookie:
        flashed = [message for kind, message in cookie.get("_flashes", []) if kind == "error"]
    assert flashed == ["This person is not listed at this door any more. Load the page again."]
    assert session.exec(select(ContactAttempt)).first() is None


def test_a_calling_error_reaches_a_spanish_reader_in_spanish(app, lead, campaign, two_turfs):
    """Nobody in the file has a phone: the domain refuses the call list (CallingError), in Spanish."""
    response = app.test_client(user=lead).post("/calllists/?lang=es", data={"campaign_id": campaign.id,
                                                                           "name": "Tuesday"})
    assert response.status_code == 400
    assert form_error(response.get_data(as_text=True)) == \
        "Nadie que coincida tiene un teléfono al que se pueda llamar."


def test_export_takes_only_a_turf_of_its_campaign(app, session, data_staff, campaign, two_turfs):
    from canvass import campaigns

    other = campaigns.create_campaign(session, "Other", "other")
    session.commit()
    response = app.test_client(user=data_staff).post("/exports/", data={
        "campaign_id": other.id, "format": "xlsx", "sheet": "contacts", "turf_id": str(two_turfs[0].id)})
    assert response.status_code == 400
    assert error_beside(response.get_data(as_text=True), "turf_id") == "Choose a turf of this campaign."


def test_a_cut_form_shown_again_still_counts_with_its_filters_and_can_be_sent(app, session, lead, campaign, tmp_path):
    from canvass import importing

    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    session.commit()
    response = app.test_client(user=lead).post("/turfs/cut", data={
        "campaign_id": campaign.id, "by": "geo", "doors": "lots", "zips": "27702"})
    html = response.get_data(as_text=True)
    assert error_beside(html, "doors") == "A whole number from 1 to 10000."
    assert re.search(r"<strong>2</strong> doors", html)  # the two Elm St doors, not all four
    assert re.search(r'<button class="button" type="submit" >', html)  # not disabled: fix the number and cut
