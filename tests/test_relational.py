"""Relational lists: contacts files and pasted lines read as people, matched to the voter file, reached with the
script in each person's language, logged exactly once on the "relational" channel, seen only by their volunteer,
counted for leads and exported with the other contacts."""

import io
import re
import threading
import uuid
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass import address_book, contacts, exports, importing, relational, turfs
from canvass.contact_input import ContactIn
from canvass.models import (
    Channel,
    ContactAttempt,
    Person,
    RelationalMatch,
    RelationalPerson,
    Script,
    TurfDoor,
)
from canvass.universe import Universe
from canvass.walk_lists import turf_doors
from tests.conftest import make_user, walkable_turf

FILES = Path(__file__).parent / "fixtures" / "relational"
TODAY = date(2026, 12, 3)
VOTERS = ("voter_id,first,last,address,city,zip,birth_year,language,cell_phone\n"
          "1,José,García,1200 Oak St,Durham,27701,1984,es,\n"
          "2,Robert,O'Brien,3 Elm St,Durham,27701,1970,,\n"
          "3,Mai,Nguyễn,45 Elmwood Ct,Raleigh,27601,1990,vi,\n"
          "4,Maria,Lopez,12 Pine St,Durham,27701,1990,es,9195550180\n"
          "5,Maria,Lopez,99 Far Rd,Asheville,28801,1950,,\n"
          "6,Ana,Diaz,7 Oak St,Durham,27701,1980,es,\n")


@pytest.fixture
def voters(session, campaign, tmp_path):
    path = tmp_path / "voters.csv"
    path.write_text(VOTERS)
    importing.import_file(session, campaign, path)
    session.commit()
    return {p.first_name + " " + p.last_name + " " + str(p.birth_year): p for p in session.exec(select(Person))}


def read(name: str) -> pd.DataFrame:
    return address_book.read_upload((FILES / name).read_bytes(), name, today=TODAY)


# ------------------------------------------------------------------------------------------------------------------
# Reading contacts files


def test_an_iphone_vcard_file_gives_every_card_with_its_numbers_cell_first_and_faxes_left_out():
    people = read("iphone.vcf")
    assert list(people["name"]) == ["José Luis García", "Nguyễn Thị Mai", "Bob O'Brien"]
    assert list(people["first_name"]) == ["José", "Mai", "Bob"]
    assert list(people["last_name"]) == ["García", "Nguyễn", "O'Brien"]
    assert people.loc[0, "phones"] == ["+19195550143", "+19195550142"]  # the cell first, the fax not at all
    assert people.loc[1, "phones"] == ["+19195550150", "+19195550151"]  # vCard 4.0 tel: URIs, the extension dropped
    assert list(people["city"]) == ["Durham", "Raleigh", ""]  # ADR folded across lines ("Ra" + "leigh")
    assert people.loc[0, "email"] == "jose.garcia@example.org"
    assert people.loc[0, "age"] == 42 and pd.isna(people.loc[1, "age"])  # from BDAY 1984-03-09


def test_folded_lines_with_crlf_and_a_folded_phone_number_are_joined():
    people = read("crlf.vcf")
    assert list(people["name"]) == ["Ana Díaz"]
    assert people.loc[0, "phones"] == ["+19195550170"]


def test_a_google_contacts_csv_gives_every_number_of_a_cell_and_the_city():
    people = read("google.csv")
    assert list(people["name"]) == ["María López", "Tran Van Hai"]
    assert people.loc[0, "phones"] == ["+19195550180", "+19195550181", "+19195550182"]  # " ::: " split
    assert list(people["city"]) == ["Durham", "Cary"] and people.loc[0, "age"] == 36


def test_an_ios_export_csv_with_semicolons_reads_mobile_and_phone_columns():
    people = read("ios_export.csv")
    assert list(people["name"]) == ["Luis Pérez", "Kim Le"]
    assert [p for p in people["phones"]] == [["+19195550200"], ["+19845550201"]]
    assert list(people["city"]) == ["Durham", "Raleigh"]


def test_pasted_lines_take_name_phone_city_and_age_in_any_order():
    people = address_book.parse_lines("Maria Lopez, 919-555-0101, Durham, 42\n\n35\tBob Smith\tRaleigh\n")
    assert list(people["name"]) == ["Maria Lopez", "Bob Smith"]
    assert list(people["phones"]) == [["+19195550101"], []]
    assert list(people["city"]) == ["Durham", "Raleigh"] and list(people["age"]) == [42, 35]


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"BEGIN:VCALENDAR\nEND:VCALENDAR\n", "cal.vcf", "holds no contact cards"),
    (b"Item,Price\nTea,3\n", "shop.csv", "no name and phone columns"),
])
def test_a_file_that_is_not_contacts_says_what_to_do(data, name, message):
    with pytest.raises(address_book.AddressBookError, match=message):
        address_book.read_upload(data, name, today=TODAY)


# ------------------------------------------------------------------------------------------------------------------
# Matching


def _match(session, campaign, people: pd.DataFrame) -> list[tuple]:
    found = relational.find_matches(session, campaign.id, people, today=TODAY)
    by_id = {p.id: f"{p.first_name} {p.last_name} {p.birth_year}" for p in session.exec(select(Person))}
    return [(by_id.get(int(i)) if pd.notna(i) else None, q) for i, q in zip(found["suggested_id"], found["quality"],
                                                                           strict=True)]


def test_the_same_name_and_city_is_an_exact_match(session, campaign, voters):
    people = address_book.one_person("Ana Diaz", "", "Durham", None)
    assert _match(session, campaign, people) == [("Ana Diaz 1980", "exact")]


def test_accents_and_case_fold_away_and_a_nickname_is_a_near_match(session, campaign, voters):
    people = pd.concat([address_book.one_person("bob o'brien", "", "durham", None),
                        address_book.one_person("Jose Garcia", "", "", 42),
                        address_book.one_person("Pepe García", "", "Durham", None)], ignore_index=True)
    assert _match(session, campaign, people) == [("Robert O'Brien 1970", "near"), ("José García 1984", "exact"),
                                                 ("José García 1984", "near")]


def test_city_and_age_tell_two_people_of_the_same_name_apart(session, campaign, voters):
    people = pd.concat([address_book.one_person("Maria Lopez", "", "Asheville", None),
                        address_book.one_person("Maria Lopez", "", "", 36)], ignore_index=True)
    assert _match(session, campaign, people) == [("Maria Lopez 1950", "exact"), ("Maria Lopez 1990", "exact")]


def test_a_phone_number_on_file_finds_the_voter(session, campaign, voters):
    people = address_book.one_person("Mari L.", "919-555-0180", "", None)
    assert _match(session, campaign, people)[0][0] == "Maria Lopez 1990"


def test_nobody_alike_is_no_match(session, campaign, voters):
    people = pd.concat([address_book.one_person("Zed Quux", "", "Durham", None),
                        address_book.one_person("Ana Diaz", "", "Asheville", None),  # another city
                        address_book.one_person("Ana Diaz", "", "", 20)], ignore_index=True)  # another age
    assert _match(session, campaign, people) == [(None, ""), (None, ""), (None, "")]


def test_a_contacts_file_is_added_once_with_suggestions(session, campaign, voters, volunteer):
    first = relational.add_people(session, volunteer, campaign, read("iphone.vcf"), "vcard", today=TODAY)
    again = relational.add_people(session, volunteer, campaign, read("iphone.vcf"), "vcard", today=TODAY)
    session.commit()
    assert (first.added, first.suggested, again.added, again.already) == (3, 3, 0, 3)
    rows = session.exec(select(RelationalPerson).order_by(RelationalPerson.id)).all()
    assert [r.match for r in rows] == [RelationalMatch.suggested] * 3 and all(r.person_id is None for r in rows)
    assert session.get(Person, rows[0].suggested_id).first_name == "José"


# ------------------------------------------------------------------------------------------------------------------
# The list: the message in each person's language


@pytest.fixture
def scripts(session, campaign):
    session.add_all([Script(campaign_id=campaign.id, channel=Channel.relational, language="en",
                            body="Hi {name}, it's {volunteer}. Will you vote?"),
                     Script(campaign_id=campaign.id, channel=Channel.relational, language="es",
                            body="Hola {name}, soy {volunteer}. ¿Vas a votar?"),
                     Script(campaign_id=campaign.id, channel=Channel.phone, language="vi",
                            body="Chào {name}, mình là {volunteer}.")])
    session.commit()


def test_each_person_gets_the_script_in_their_own_language_else_the_volunteers(session, campaign, voters, scripts):
    volunteer = make_user(session, "volunteer", "vi-volunteer@example.org", name="Hoa", language="vi")
    relational.add_people(session, volunteer, campaign, read("iphone.vcf"), "vcard", today=TODAY)
    relational.add_people(session, volunteer, campaign, address_book.one_person("Luz", "9195550111", "", None),
                          "typed", today=TODAY, language="es")
    session.flush()
    jose = session.exec(select(RelationalPerson).where(RelationalPerson.first_name == "José")).one()
    relational.decide_match(session, jose, confirmed=True)
    session.commit()
    people = {p["name"]: p for p in relational.my_list(session, volunteer, campaign, volunteer_language="vi",
                                                       today=TODAY)}
    assert people["José Luis García"]["message"] == "Hola José, soy Hoa. ¿Vas a votar?"  # the voter file says es
    assert people["Luz"]["message_language"] == "es"  # the volunteer said so
    assert people["Bob O'Brien"]["message"] == "Chào Bob, mình là Hoa."  # unknown: the volunteer's (phone script)
    assert people["José Luis García"]["tel"] == "tel:+19195550143"
    assert people["José Luis García"]["sms"] == ("sms:+19195550143?&body=Hola%20Jos%C3%A9%2C%20soy%20Hoa."
                                                 "%20%C2%BFVas%20a%20votar%3F")


# ------------------------------------------------------------------------------------------------------------------
# Logging: exactly once, only one's own people


def _mine(session, campaign, user, name="Ana Diaz", phone="9195550123"):
    relational.add_people(session, user, campaign, address_book.one_person(name, phone, "Durham", None), "typed",
                          today=TODAY)
    session.commit()
    return session.exec(select(RelationalPerson).where(RelationalPerson.user_id == user.id,
                                                       RelationalPerson.name == name)).one()


def _item(person, code="TK", key=None) -> ContactIn:
    return ContactIn(client_uuid=key or uuid.uuid4(), channel=Channel.relational, relational_id=person.id,
                     result_code=code)


def test_the_same_uuid_twice_is_stored_once(session, campaign, voters, volunteer):
    ana = _mine(session, campaign, volunteer)
    relational.decide_match(session, ana, confirmed=True)
    key = uuid.uuid4()
    first = contacts.log_contacts(session, volunteer, campaign, [_item(ana, key=key)])
    second = contacts.log_contacts(session, volunteer, campaign, [_item(ana, key=key), _item(ana, key=key)])
    session.commit()
    assert [r.status for r in first + second] == ["created", "duplicate", "duplicate"]
    stored = session.exec(select(ContactAttempt)).one()
    assert (stored.channel, stored.relational_id, stored.person_id) == ("relational", ana.id, ana.suggested_id)


def test_a_door_code_is_refused_and_a_phone_code_applies_its_rules(session, campaign, voters, volunteer):
    ana = _mine(session, campaign, volunteer)
    relational.decide_match(session, ana, confirmed=True)
    results = contacts.log_contacts(session, volunteer, campaign, [_item(ana, "NH"), _item(ana, "DNC")])
    session.commit()
    assert [r.status for r in results] == ["rejected", "created"]
    assert results[0].error == "NH is not a result for reaching people you know."
    assert session.get(Person, ana.person_id).do_not_call is True


def test_another_volunteers_relational_person_is_refused(session, campaign, voters, volunteer):
    other = make_user(session, "volunteer", "other@example.org")
    theirs = _mine(session, campaign, other)
    [result] = contacts.log_contacts(session, volunteer, campaign, [_item(theirs)])
    assert (result.status, result.error) == ("rejected", "This door or person is not on your list.")
    lead = make_user(session, "lead", "a-lead@example.org")
    [result] = contacts.log_contacts(session, lead, campaign, [_item(theirs)])
    assert result.status == "rejected"  # a lead logs at any door, never on someone's relational list
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 0


def test_through_the_api_two_phones_sending_the_same_contact_at_once_store_it_once(app, session, campaign, voters,
                                                                                    volunteer):
    ana = _mine(session, campaign, volunteer)
    body = {"contacts": [{"client_uuid": str(uuid.uuid4()), "channel": "relational", "relational_id": ana.id,
                          "result_code": "TK"}]}
    start, answers = threading.Barrier(2), []

    def send():
        client = app.test_client(user=volunteer)
        start.wait()
        answers.append(client.post("/api/v1/contacts", json=body).get_json()["results"][0]["status"])

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["created", "duplicate"]
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(ContactAttempt)).one() == 1


def test_the_api_refuses_someone_elses_relational_person(app, session, campaign, voters, volunteer):
    theirs = _mine(session, campaign, make_user(session, "volunteer", "other@example.org"))
    answer = app.test_client(user=volunteer).post("/api/v1/contacts", json={"contacts": [{
        "client_uuid": str(uuid.uuid4()), "channel": "relational", "relational_id": theirs.id,
        "result_code": "TK"}]}).get_json()["results"][0]
    assert (answer["status"], answer["error"]) == ("rejected", "This door or person is not on your list.")


# ------------------------------------------------------------------------------------------------------------------
# Pages: only one's own list; leads see counts


def test_the_page_shows_only_my_people_and_another_volunteers_person_is_a_404(app, session, campaign, voters,
                                                                              volunteer):
    walkable_turf(session, campaign, volunteer, by="zip", target=50)  # makes them a member of the campaign
    other = make_user(session, "volunteer", "other@example.org")
    theirs = _mine(session, campaign, other, name="Secret Friend")
    mine = _mine(session, campaign, volunteer, name="Ana Diaz")
    client = app.test_client(user=volunteer)
    page = client.get("/people-i-know/").get_data(as_text=True)
    assert "Ana Diaz" in page and "Secret Friend" not in page
    assert 'href="tel:+19195550123"' in page and "sms:+19195550123?&amp;body=" in page
    assert client.post(f"/people-i-know/{theirs.id}/match", data={"answer": "yes"}).status_code == 404
    assert client.post(f"/people-i-know/{theirs.id}/log", data={"result": "TK"}).status_code == 404
    response = client.post(f"/people-i-know/{mine.id}/match", data={"answer": "yes"}, follow_redirects=True)
    assert "Saved: Ana Diaz is in the voter file." in response.get_data(as_text=True)
    response = client.post(f"/people-i-know/{mine.id}/log", data={"result": "TK"}, follow_redirects=True)
    assert "Saved: Ana Diaz · Talked" in response.get_data(as_text=True)


def test_uploading_a_vcard_on_the_page_adds_the_people(app, session, campaign, voters, volunteer):
    walkable_turf(session, campaign, volunteer, by="zip", target=50)
    client = app.test_client(user=volunteer)
    response = client.post("/people-i-know/upload", data={
        "campaign_id": campaign.id, "file": (io.BytesIO((FILES / "iphone.vcf").read_bytes()), "contacts.vcf")},
        content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Added 3 people to your list." in page and "Is this them in the voter file?" in page
    bad = client.post("/people-i-know/upload", data={"campaign_id": campaign.id,
                                                     "file": (io.BytesIO(b"Item,Price\n"), "shop.csv")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "no name and phone columns" in bad.get_data(as_text=True)


def test_a_volunteer_without_a_campaign_cannot_add_to_one(app, session, campaign, volunteer):
    client = app.test_client(user=volunteer)
    response = client.post("/people-i-know/add", data={"campaign_id": campaign.id, "name": "Ana"})
    assert response.status_code == 400
    assert session.exec(select(sa.func.count()).select_from(RelationalPerson)).one() == 0


def test_leads_see_reach_per_volunteer_as_counts(app, session, campaign, voters, volunteer, lead):
    ana = _mine(session, campaign, volunteer, name="Ana Diaz")
    _mine(session, campaign, volunteer, name="Zed Quux", phone="9195550124")
    relational.decide_match(session, ana, confirmed=True)
    contacts.log_contacts(session, volunteer, campaign, [_item(ana, "TK"), _item(ana, "NA")])
    session.commit()
    assert relational.reach(session, campaign) == [{"volunteer": "volunteer", "added": 2, "matched": 1,
                                                    "reached": 1, "attempts": 2}]
    page = app.test_client(user=lead).get(f"/people-i-know/reach?campaign_id={campaign.id}").get_data(as_text=True)
    assert re.search(r'<th scope="row">volunteer</th><td class="num" data-label="Added">2</td>'
                     r'<td class="num" data-label="In the voter file">1</td>'
                     r'<td class="num" data-label="Reached">1</td>', page)
    assert "Ana Diaz" not in page


def test_not_in_the_voter_file_stays_off_walk_lists_and_the_export_names_only_voters(session, campaign, voters,
                                                                                     volunteer):
    friend = _mine(session, campaign, volunteer, name="Zed Quux")
    ana = _mine(session, campaign, volunteer, name="Ana Diaz", phone="9195550125")
    relational.decide_match(session, ana, confirmed=True)
    contacts.log_contacts(session, volunteer, campaign, [_item(friend), _item(ana)])
    session.commit()
    assert session.exec(select(sa.func.count()).select_from(Person).where(Person.first_name == "Zed")).one() == 0
    cut = turfs.cut_turfs(session, campaign, Universe(), by="zip", target=50)
    walked = [p.first_name for t in cut for d in turf_doors(session, session.get(turfs.Turf, t)) for p in d.people]
    assert "Zed" not in walked and session.exec(select(TurfDoor)).first() is not None
    frame = exports.contacts_frame(session, campaign, exports.Filters(channel="relational"), "America/New_York")
    assert list(frame["channel"]) == ["relational", "relational"]
    assert sorted(frame["first_name"].fillna("")) == ["", "Ana"]
    assert exports.contacts_frame(session, campaign, exports.Filters(channel="door"), "America/New_York").empty
