"""The do-not-contact list: filled by results, by hand and by files; honoured by doors, call lists and exports for
outreach; lifted only by staff; never cleared by a re-import; exported and imported as CSV."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlmodel import select

from canvass import (
    canvassing,
    contacts,
    exports,
    importing,
    opt_out_files,
    opt_outs,
    phonebank,
    turfs,
    walk_lists,
)
from canvass.campaigns import create_campaign
from canvass.models import (
    AuditLog,
    CallEntry,
    CallEntryStatus,
    Campaign,
    Channel,
    ContactAttempt,
    OptOut,
    OptOutScope,
    OptOutSource,
    Person,
    Phone,
    PhoneStatus,
)
from canvass.universe import Universe, universe_counts
from tests.conftest import make_user, walkable_turf

TZ = "America/New_York"
NOON = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
VOTERS = ("voter_id,van_id,first,last,address,zip,cell_phone,home_phone,email\n"
          "1,101,Ana,Diaz,1 Oak St,27701,9195550001,9195550101,ana@example.org\n"
          "2,102,Luis,Diaz,1 Oak St,27701,9195550002,,\n"
          "3,103,Cy,Lo,3 Oak St,27701,9195550003,,cy@example.org\n"
          "4,104,Di,Ng,5 Oak St,27701,9195550004,,\n")


def load_voters(session, campaign, tmp_path, text: str = VOTERS, name: str = "voters.csv"):
    path = tmp_path / name
    path.write_text(text)
    importing.import_file(session, campaign, path)
    session.commit()
    return {p.first_name: p for p in session.exec(select(Person).where(Person.campaign_id == campaign.id))}


@pytest.fixture
def people(session, campaign, tmp_path):
    return load_voters(session, campaign, tmp_path)


@pytest.fixture
def turf(session, campaign, people, volunteer):
    return walkable_turf(session, campaign, volunteer)


def phone_of(session, person, e164=None) -> Phone:
    query = select(Phone).where(Phone.person_id == person.id).order_by(Phone.rank)
    phones = session.exec(query).all()
    return next(p for p in phones if e164 in (None, p.e164))


def log(session, user, campaign, person, code, channel=Channel.door, turf=None, phone=None):
    item = contacts.ContactIn(client_uuid=uuid.uuid4(), person_id=person.id, household_id=person.household_id,
                              turf_id=turf.id if turf else None, channel=channel, result_code=code,
                              phone_id=phone.id if phone else None)
    [result] = contacts.log_contacts(session, user, campaign, [item])
    session.commit()
    assert result.status == "created", result.error
    return result


def active_entries(session, person=None):
    session.rollback()  # read what the app committed, not this session's earlier snapshot
    query = select(OptOut).where(OptOut.lifted_at.is_(None))
    if person is not None:
        query = query.where(OptOut.person_id == person.id)
    return session.exec(query.order_by(OptOut.id)).all()


def by_hand(session, person, user, reason="do_not_contact", scope=None, phone=None):
    entry = opt_outs.record_by_hand(session, person, user, reason=reason, scope=scope,
                                    phone_id=phone.id if phone else None)
    session.commit()
    return entry


# ------------------------------------------------------------------------------------------------------------------
# What goes on the list


def test_do_not_call_result_puts_the_person_on_the_list_and_undo_takes_it_off(session, campaign, people, volunteer):
    ana = people["Ana"]
    result = log(session, volunteer, campaign, ana, "DNC", Channel.phone, phone=phone_of(session, ana))
    [entry] = active_entries(session, ana)
    assert (entry.scope, entry.reason, entry.source, entry.contact_id, entry.created_by_id) == \
        (OptOutScope.phone, "do_not_call", OptOutSource.contact, result.contact_id, volunteer.id)
    session.refresh(ana)
    assert ana.do_not_call and not ana.do_not_contact  # the flag follows the list
    contacts.undo_contact(session, volunteer, result.contact_id)
    session.commit()
    session.refresh(ana)
    assert active_entries(session, ana) == [] and not ana.do_not_call


def test_a_final_refusal_goes_on_the_list_a_refusal_made_not_final_does_not(session, campaign, people, volunteer, lead):
    log(session, volunteer, campaign, people["Ana"], "RF")
    [entry] = active_entries(session, people["Ana"])
    assert (entry.reason, entry.scope) == ("refused", OptOutScope.all)
    session.refresh(people["Ana"])
    assert people["Ana"].do_not_contact
    refusal = session.exec(select(opt_outs.OptOut.__table__.c.id)).first()
    assert refusal is not None
    code = session.exec(select(contacts.ResultCode).where(contacts.ResultCode.campaign_id == campaign.id,
                                                          contacts.ResultCode.code == "RF")).one()
    code.is_final = False
    session.add(code)
    session.commit()
    log(session, volunteer, campaign, people["Cy"], "RF")
    assert active_entries(session, people["Cy"]) == []


def test_a_wrong_number_is_listed_on_the_number_and_the_person_stays_callable(session, campaign, people, volunteer):
    ana = people["Ana"]
    cell = phone_of(session, ana, "+19195550001")
    log(session, volunteer, campaign, ana, "WN", Channel.phone, phone=cell)
    [entry] = active_entries(session, ana)
    assert (entry.phone_id, entry.e164, entry.reason) == (cell.id, "+19195550001", "wrong_number")
    session.refresh(ana)
    session.refresh(cell)
    assert cell.status == PhoneStatus.wrong and not ana.do_not_call and not ana.do_not_contact
    call_list = phonebank.create_call_list(session, campaign, "Calls", Universe())
    assert ana.id in session.exec(select(CallEntry.person_id).where(CallEntry.call_list_id == call_list.id)).all()
    assert [p.e164 for p in phonebank.numbers_to_dial(session, session.exec(select(CallEntry).where(
        CallEntry.person_id == ana.id)).one())] == ["+19195550101"]


# ------------------------------------------------------------------------------------------------------------------
# Without a contact, and lifting


def test_staff_record_an_opt_out_without_a_contact_and_lift_it_audited(session, campaign, people, data_staff):
    cy = people["Cy"]
    entry = by_hand(session, cy, data_staff, reason="stop_texting")
    assert (entry.scope, entry.source, entry.created_by_id) == (OptOutScope.texts, OptOutSource.manual, data_staff.id)
    assert session.exec(select(Person.id).where(Person.id == cy.id, opt_outs.closed_to("texts"))).first() == cy.id
    assert session.exec(select(Person.id).where(Person.id == cy.id, opt_outs.closed_to("phone"))).first() is None
    opt_outs.lift(session, entry, data_staff, note="Texted us to start again")
    session.commit()
    assert entry.lifted_at is not None and entry.lifted_by_id == data_staff.id
    actions = session.exec(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["opt_out.recorded", "opt_out.lifted"]
    assert session.get(OptOut, entry.id) is not None  # lifting keeps the entry as history


def test_a_volunteer_can_record_only_asked_not_to_be_contacted_and_never_lift(session, campaign, people, volunteer):
    with pytest.raises(opt_outs.OptOutError):
        by_hand(session, people["Ana"], volunteer, reason="do_not_call")
    session.rollback()
    entry = by_hand(session, people["Ana"], volunteer)
    with pytest.raises(opt_outs.OptOutError, match="Only staff"):
        opt_outs.lift(session, entry, volunteer)


def test_person_page_records_with_reason_and_channels_and_lifts(app, session, campaign, people, lead):
    client = app.test_client(user=lead)
    ana = people["Ana"]
    cell = phone_of(session, ana, "+19195550001")
    response = client.post(f"/people/{ana.id}/opt-out", data={"reason": "stop_texting", "scope": "texts",
                                                              "phone_id": str(cell.id), "note": "STOP"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#do-not-contact")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: on the do-not-contact list." in page and "Asked for no texts" in page and "+19195550001" in page
    [entry] = active_entries(session, ana)
    assert (entry.phone_id, entry.scope, entry.note, entry.created_by_id) == (cell.id, "texts", "STOP", lead.id)
    client.post(f"/people/{ana.id}/opt-out/{entry.id}/lift", data={"note": "asked again"})
    page = client.get(f"/people/{ana.id}").get_data(as_text=True)
    assert "Not on the list: every channel may reach them." in page and "Lifted earlier (1)" in page
    assert client.post(f"/people/{people['Cy'].id}/opt-out/{entry.id}/lift").status_code == 404  # not Cy's


def test_volunteers_cannot_reach_the_person_page_or_the_list(app, session, campaign, people, volunteer):
    client = app.test_client(user=volunteer)
    assert client.post(f"/people/{people['Ana'].id}/opt-out", data={"reason": "do_not_contact"}).status_code == 403
    assert client.get("/do-not-contact/").status_code == 403


# ------------------------------------------------------------------------------------------------------------------
# Every channel honours it


def test_the_door_greys_an_opted_out_person_with_the_reason_and_no_result_buttons(app, session, turf, people, lead,
                                                                                  volunteer):
    ana, luis = people["Ana"], people["Luis"]
    by_hand(session, ana, lead)
    client = app.test_client(user=volunteer)
    page = client.get(f"/walk/{turf.id}/door/{ana.household_id}").get_data(as_text=True)
    section = re.search(rf'<section class="person card closed[^"]*" id="person-{ana.id}".*?</section>', page, re.S)
    assert section and "Asked not to be contacted. Do not knock for them." in section.group(0)
    assert 'name="result"' not in section.group(0) and f'value="{ana.id}"' not in section.group(0)
    assert f'name="person_ids" value="{luis.id}"' in page  # "Nobody home" is for Luis only
    # A result for her is refused, the whole-door tap records Luis alone.
    response = client.post(f"/walk/{turf.id}/door/{ana.household_id}/log",
                           data={"person_id": ana.id, "client_uuid": str(uuid.uuid4()), "result": "TK"})
    assert response.status_code == 302
    assert session.exec(select(ContactAttempt).where(ContactAttempt.person_id == ana.id)).first() is None
    client.post(f"/walk/{turf.id}/door/{ana.household_id}/nobody-home", data={"result": "NH"})
    session.rollback()
    assert session.exec(select(ContactAttempt.person_id)).all() == [luis.id]
    # In Spanish, in words.
    client.post("/language", data={"lang": "es"})
    page = client.get(f"/walk/{turf.id}/door/{ana.household_id}").get_data(as_text=True)
    assert "Pidió que no le contacten. No toques a su puerta." in page


def test_a_door_whose_everyone_opted_out_is_never_offered_and_the_turf_package_says_why(app, session, turf, people,
                                                                                       lead, volunteer):
    for name in ("Ana", "Luis"):
        by_hand(session, people[name], lead)
    doors = walk_lists.turf_doors(session, turf)
    first = next(d for d in doors if d.household.id == people["Ana"].household_id)
    assert first.all_closed and first.closed == {people["Ana"].id: "Asked not to be contacted",
                                                 people["Luis"].id: "Asked not to be contacted"}
    client = app.test_client(user=volunteer)
    response = client.get(f"/walk/{turf.id}/next")
    assert response.headers["Location"].endswith(f"/door/{people['Cy'].household_id}")
    package = canvassing.turf_package(session, turf, volunteer)
    door = next(d for d in package["doors"] if d["id"] == people["Ana"].household_id)
    assert door["closed"] and {p["closed"] for p in door["people"]} == {"Asked not to be contacted"}
    with pytest.raises(canvassing.CanvassError, match="on the do-not-contact list"):
        canvassing.log_whole_door(session, volunteer, session.get(Campaign, turf.campaign_id), turf,
                                  first.household, "NH", [])


def test_a_greyed_door_nobody_knocked_is_left_out_of_the_turfs_progress_so_it_can_be_finished(
        app, session, campaign, turf, people, lead, volunteer):
    """Three doors, one whose everyone asked not to be contacted: the volunteer's home and the lead's board count
    two doors to knock, and knocking those two finishes the turf."""
    for name in ("Ana", "Luis"):
        by_hand(session, people[name], lead)
    by_hand(session, people["Di"], lead, scope=OptOutScope.phone)  # calls only: Di's door is still to knock
    home = app.test_client(user=volunteer).get("/my").get_data(as_text=True)
    assert "0 / 2" in home
    assert [(row["doors"], row["attempted"]) for row in turfs.board(session, campaign)] == [(2, 0)]
    for name in ("Cy", "Di"):
        log(session, volunteer, campaign, people[name], "NH", turf=turf)
    assert "2 / 2" in app.test_client(user=volunteer).get("/my").get_data(as_text=True)
    assert [(row["doors"], row["attempted"]) for row in turfs.board(session, campaign)] == [(2, 2)]


def test_a_volunteer_records_asked_not_to_be_contacted_at_the_door(app, session, turf, people, volunteer):
    client = app.test_client(user=volunteer)
    cy = people["Cy"]
    response = client.post(f"/walk/{turf.id}/door/{cy.household_id}/opt-out", data={"person_id": cy.id})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Saved: Cy Lo asked not to be contacted. Nobody will be sent to them again." in page
    [entry] = active_entries(session, cy)
    assert (entry.reason, entry.scope, entry.source, entry.created_by_id) == \
        ("do_not_contact", "all", "manual", volunteer.id)
    other = people["Di"]  # not on this door
    assert client.post(f"/walk/{turf.id}/door/{cy.household_id}/opt-out",
                       data={"person_id": other.id}).status_code == 302
    assert active_entries(session, other) == []


def test_door_only_opt_out_keeps_them_off_walk_lists_but_callable(session, campaign, people, lead):
    di = people["Di"]
    by_hand(session, di, lead, reason="other", scope="door")
    counts = universe_counts(session, campaign, Universe())
    assert counts["people"] == 3  # Di's door is not cut
    call_list = phonebank.create_call_list(session, campaign, "Calls", Universe())
    assert di.id in session.exec(select(CallEntry.person_id).where(CallEntry.call_list_id == call_list.id)).all()


def test_call_lists_leave_them_out_and_claims_skip_who_opted_out_since(session, campaign, people, lead, volunteer):
    by_hand(session, people["Ana"], lead)  # every channel
    call_list = phonebank.create_call_list(session, campaign, "Calls", Universe())
    listed = set(session.exec(select(CallEntry.person_id).where(CallEntry.call_list_id == call_list.id)).all())
    assert people["Ana"].id not in listed and people["Luis"].id in listed
    by_hand(session, people["Luis"], lead, reason="do_not_call")
    by_hand(session, people["Cy"], volunteer)  # at the door, after the list was made
    called = []
    while (claim := phonebank.claim_next(session, call_list, volunteer, timezone=TZ, now=NOON)) is not None:
        called.append(claim.person.first_name)
        claim.entry.status = CallEntryStatus.done
        session.add(claim.entry)
        session.commit()
    assert called == ["Di"]
    skipped = session.exec(select(CallEntry.status).where(CallEntry.person_id.in_(
        [people["Luis"].id, people["Cy"].id]))).all()
    assert skipped == [CallEntryStatus.done, CallEntryStatus.done]


def test_a_number_opted_out_of_calls_is_not_dialled_the_others_are(session, campaign, people, lead):
    ana = people["Ana"]
    by_hand(session, ana, lead, reason="do_not_call", scope="phone", phone=phone_of(session, ana, "+19195550001"))
    session.refresh(ana)
    assert not ana.do_not_call  # one number, not the person
    call_list = phonebank.create_call_list(session, campaign, "Calls", Universe())
    entry = session.exec(select(CallEntry).where(CallEntry.call_list_id == call_list.id,
                                                 CallEntry.person_id == ana.id)).one()
    assert [p.e164 for p in phonebank.numbers_to_dial(session, entry)] == ["+19195550101"]


def test_exports_for_outreach_mark_them_and_results_keep_history(session, campaign, people, turf, volunteer, lead,
                                                                 tmp_path):
    log(session, volunteer, campaign, people["Ana"], "TK", turf=turf)
    log(session, volunteer, campaign, people["Luis"], "NH", turf=turf)
    by_hand(session, people["Ana"], lead)
    path = tmp_path / "van.csv"
    exports.export_file(session, campaign, exports.Filters(), path=path, timezone=TZ, van=True)
    van = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert dict(zip(van["VANID"], van["Do Not Contact"], strict=True)) == \
        {"101": "Asked not to be contacted", "102": ""}
    results = exports.build(session, campaign, exports.Filters(), TZ, only="contacts").frames["contacts"]
    assert sorted(results["First name"]) == ["Ana", "Luis"]  # a results export keeps her history


def test_the_paper_walk_list_has_no_result_boxes_for_them(app, session, turf, people, lead):
    by_hand(session, people["Ana"], lead)
    page = app.test_client(user=lead).get(f"/turfs/{turf.id}/print").get_data(as_text=True)
    row = re.search(r'<tr class="person-row closed">.*?</tr>', page, re.S).group(0)
    assert "Ana Diaz — Asked not to be contacted. Do not knock for them." in row and 'class="opt"' not in row


# ------------------------------------------------------------------------------------------------------------------
# Re-imports, merges


def test_a_reimported_voter_file_never_clears_the_list(session, campaign, people, lead, volunteer, tmp_path):
    ana, cy = people["Ana"], people["Cy"]
    log(session, volunteer, campaign, ana, "DNC", Channel.phone, phone=phone_of(session, ana))
    log(session, volunteer, campaign, cy, "WN", Channel.phone, phone=phone_of(session, cy))
    by_hand(session, people["Luis"], lead)
    before = [(e.person_id, e.scope, e.reason, e.phone_id) for e in active_entries(session)]
    changed = VOTERS.replace("Ana,Diaz,1 Oak St", "Ana,Diaz-Ruiz,1 Oak St") + "do_not_call\n"
    reimport = tmp_path / "again.csv"
    reimport.write_text(VOTERS.replace("email\n", "email,do_not_call\n", 1).replace("Ana,Diaz", "Ana,Díaz"))
    importing.import_file(session, campaign, reimport)
    session.commit()
    assert changed  # the file above says nothing of do-not-call for anyone (an empty column)
    session.expire_all()
    assert [(e.person_id, e.scope, e.reason, e.phone_id) for e in active_entries(session)] == before
    assert session.get(Person, ana.id).do_not_call and session.get(Person, people["Luis"].id).do_not_contact
    assert session.get(Phone, phone_of(session, cy).id).status == PhoneStatus.wrong


def test_a_voter_files_do_not_call_column_goes_on_the_list(session, campaign, tmp_path):
    people = load_voters(session, campaign, tmp_path, "voter_id,first,last,address,zip,do_not_call\n"
                                                      "1,Ana,Diaz,1 Oak St,27701,Y\n2,Bo,Kim,2 Oak St,27701,\n",
                         name="dnc.csv")
    [entry] = active_entries(session)
    assert (entry.person_id, entry.reason, entry.scope, entry.source) == \
        (people["Ana"].id, "do_not_call", "phone", "import")
    assert session.get(Person, people["Ana"].id).do_not_call and not session.get(Person, people["Bo"].id).do_not_call


def test_a_merge_moves_the_entries_to_the_survivor(session, campaign, people, lead, admin):
    from canvass import merging
    twin = Person(campaign_id=campaign.id, first_name="Ana", last_name="Diaz")
    session.add(twin)
    session.commit()
    by_hand(session, twin, lead)
    merging.merge_people(session, people["Ana"], twin, admin)
    session.commit()
    assert [e.person_id for e in active_entries(session)] == [people["Ana"].id]


# ------------------------------------------------------------------------------------------------------------------
# The list as CSV


def test_the_list_exports_formula_safe_and_imports_into_another_campaign(app, session, campaign, people, lead,
                                                                         data_staff, tmp_path):
    by_hand(session, people["Ana"], lead)
    opt_outs.record_by_hand(session, people["Luis"], lead, reason="do_not_call", note="=HYPERLINK(\"x\")")
    by_hand(session, people["Cy"], lead, reason="wrong_number", phone=phone_of(session, people["Cy"]))
    client = app.test_client(user=data_staff)
    response = client.post(f"/do-not-contact/{campaign.id}/export")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True).lstrip("\ufeff")
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(table["Voter ID"]) == ["1", "2", "3"] and list(table["Reason"]) == \
        ["Asked not to be contacted", "Asked not to be called", "Wrong number"]
    assert table["Note"][1] == "'=HYPERLINK(\"x\")" and table["Phone"][2] == "9195550003"

    other = create_campaign(session, "Spring", "spring")
    session.commit()
    spring = load_voters(session, other, tmp_path, name="spring.csv")
    upload = client.post("/do-not-contact/", data={"campaign_id": other.id,
                                                   "file": (io.BytesIO(text.encode()), "list.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302
    check = client.get(upload.headers["Location"]).get_data(as_text=True)
    assert re.search(r"New on the list</dt><dd>3<", check)
    done = client.post(upload.headers["Location"] + "/confirm")
    assert "Imported: 3 people or numbers added to the do-not-contact list." in \
        client.get(done.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    entries = {e.person_id: e for e in active_entries(session) if e.campaign_id == other.id}
    assert set(entries) == {spring["Ana"].id, spring["Luis"].id, spring["Cy"].id}
    assert entries[spring["Cy"].id].phone_id == phone_of(session, spring["Cy"]).id  # the number, not the person
    assert entries[spring["Luis"].id].source == OptOutSource.imported
    assert session.get(Person, spring["Ana"].id).do_not_contact and session.get(Person, spring["Luis"].id).do_not_call
    assert session.get(Phone, phone_of(session, spring["Cy"]).id).status == PhoneStatus.wrong


def test_an_import_after_clearing_restores_the_list(session, campaign, people, lead, tmp_path):
    by_hand(session, people["Ana"], lead)
    by_hand(session, people["Di"], lead, reason="stop_texting")
    text = opt_out_files.export_csv(session, campaign)
    for entry in active_entries(session):
        opt_outs.lift(session, entry, lead)
    session.commit()
    assert active_entries(session) == []
    path = tmp_path / "list.csv"
    path.write_text(text)
    added = opt_out_files.import_file(session, campaign, path, lead, "list.csv")
    session.commit()
    assert added == 2
    assert {(e.person_id, e.scope) for e in active_entries(session)} == \
        {(people["Ana"].id, "all"), (people["Di"].id, "texts")}
    assert opt_out_files.check_file(session, campaign, path).already == 2  # a second import adds nothing


def test_the_check_names_each_row_it_cannot_use(session, campaign, people, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Voter ID,Phone,Email,Reason\n"
                    "1,,,Asked not to be contacted\n"  # row 2: fine
                    "999,,,\n"  # row 3: nobody has that ID
                    ",919-555-0002,,stop\n"  # row 4: fine, by phone (Luis's number)
                    ",12,,Wrong number\n"  # row 5: not a phone number
                    ",,cy@example.org,maybe later\n"  # row 6: unknown reason
                    ",,,Refused\n"  # row 7: nothing to match
                    ",,CY@example.org,Refused\n")  # row 8: fine, by email
    check = opt_out_files.check_file(session, campaign, path)
    assert (check.rows, check.matched, check.new) == (7, 3, 3)
    assert [(p["row"], p["column"]) for p in sorted(check.problems, key=lambda p: p["row"])] == \
        [(3, "Voter ID"), (5, "Phone"), (6, "Reason"), (7, "Voter ID")]
    messages = {p["row"]: p["message"] for p in check.problems}
    assert messages[3] == "Nobody in this campaign has this voter ID."
    assert messages[5] == "This is not a phone number we can use. Write it with its area code."
    assert active_entries(session) == []  # checking writes nothing


def test_a_file_without_an_id_phone_or_email_column_is_refused(session, campaign, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Name,Reason\nAna,Refused\n")
    with pytest.raises(opt_out_files.OptOutFileError, match="Voter ID, Phone or Email"):
        opt_out_files.check_file(session, campaign, path)


def test_other_staff_see_the_list_page_with_its_entries(app, session, campaign, people, lead):
    by_hand(session, people["Ana"], lead)
    page = app.test_client(user=make_user(session, "data")).get(f"/do-not-contact/?campaign={campaign.id}") \
        .get_data(as_text=True)
    assert "1 entry on the list" in page and "Ana Diaz" in page and "Asked not to be contacted" in page


def test_the_command_line_exports_and_imports_the_list(session, database_url, campaign, people, lead, tmp_path,
                                                       monkeypatch):
    import json

    from click.testing import CliRunner

    from canvass.cli import main

    monkeypatch.setenv("CANVASS_INSTANCE_PATH", str(tmp_path / "instance"))
    by_hand(session, people["Ana"], lead)
    out = tmp_path / "dnc.csv"

    def run(*args):
        result = CliRunner().invoke(main, [str(a) for a in args], env={"CANVASS_DATABASE_URL": database_url},
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])

    assert run("optout", "export", "--campaign", "test", "--out", out, "--json") == {"rows": 1, "path": str(out)}
    other = create_campaign(session, "Spring", "spring")
    session.commit()
    spring = load_voters(session, other, tmp_path, name="spring.csv")
    assert run("optout", "import", out, "--campaign", "spring", "--dry-run", "--json")["would_add"] == 1
    assert active_entries(session, spring["Ana"]) == []
    summary = run("optout", "import", out, "--campaign", "spring", "--json")
    assert (summary["added"], summary["problems"]) == (1, 0)
    [entry] = active_entries(session, spring["Ana"])
    assert (entry.source, entry.import_name) == ("import", "dnc.csv")


def test_a_volunteers_own_list_offers_no_call_or_text_to_someone_on_the_list(session, campaign, people, volunteer,
                                                                           lead):
    from canvass import address_book, relational
    from canvass.models import RelationalPerson

    relational.add_people(session, volunteer, campaign, address_book.one_person("Di Ng", "9195550004", "", None),
                          "typed", today=datetime(2026, 12, 3).date())
    session.commit()
    mine = session.exec(select(RelationalPerson).where(RelationalPerson.user_id == volunteer.id)).one()
    relational.decide_match(session, mine, confirmed=True)
    session.commit()

    def offered():
        [row] = relational.my_list(session, volunteer, campaign, volunteer_language="en",
                                   today=datetime(2026, 12, 3).date())
        return not row["opted_out"]

    assert mine.person_id == people["Di"].id and offered()
    entry = by_hand(session, people["Di"], lead, reason="stop_texting")  # texts only: the sms: link is out too
    assert not offered()
    opt_outs.lift(session, entry, lead)
    session.commit()
    assert offered()
    by_hand(session, people["Di"], lead, reason="other", scope="door")  # doors only: a friend may still call
    assert offered()
