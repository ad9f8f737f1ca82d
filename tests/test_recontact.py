"""Re-contact rules: who a next pass takes back (doors and calls alike), and what the dashboard counts."""

import re
import uuid
from datetime import UTC, timedelta

import pytest
from sqlmodel import select

from canvass import campaigns, importing, phonebank, recontact, turfs
from canvass.models import (
    CallEntry,
    ContactAttempt,
    Household,
    Person,
    ResultCode,
    Turf,
    TurfDoor,
    TurfStatus,
    utcnow,
)
from canvass.universe import Universe, universe_counts, universe_frame

PEOPLE = ("voter_id,first,last,address,zip,phone\n"
          "1,Ana,Diaz,1 Oak St,27701,919-555-0101\n2,Bo,Kim,2 Oak St,27701,919-555-0102\n"
          "3,Cy,Lo,3 Oak St,27701,919-555-0103\n4,Di,Ng,4 Oak St,27701,919-555-0104\n"
          "5,Ed,Wu,5 Oak St,27701,919-555-0105\n6,Fa,Yi,6 Oak St,27701,919-555-0106\n"
          "7,Gus,Le,7 Oak St,27701,919-555-0107\n8,Hal,Tran,8 Oak St,27701,919-555-0108\n")


@pytest.fixture
def passed(session, campaign, tmp_path, volunteer):
    """A campaign after a first pass: each person's attempts at the door or on the phone, hours before ``now``."""
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    session.commit()
    first = turfs.cut_turfs(session, campaign, Universe(), by="street", target=100)
    session.commit()
    now = utcnow()
    people = {p.first_name: p for p in session.exec(select(Person)).all()}
    history = {
        "Ana": [("NH", "door", 72)],  # not home three days ago: back after two days
        "Bo": [("NA", "phone", 1)],  # no answer an hour ago: calls again after 4 hours
        "Cy": [("NH", "door", 240), ("NH", "door", 190), ("NH", "door", 72)],  # three tries: out
        "Di": [("TK", "door", 120)],  # talked: done
        "Ed": [("RF", "phone", 150), ("NH", "door", 72)],  # refused once: never again, whatever came after
        "Gus": [("LM", "phone", 48)],  # left a message two days ago: calls again after a day
        "Hal": [("LB", "door", 72)],  # language barrier: no automatic retry, held for a lead
    }  # Fa: never tried
    for name, attempts in history.items():
        person = people[name]
        for code, channel, hours in attempts:
            session.add(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=person.id,
                                       household_id=person.household_id if channel == "door" else None,
                                       turf_id=first[0] if channel == "door" else None, channel=channel,
                                       result_code=code, is_contact=code in ("TK", "RF"), user_id=volunteer.id,
                                       contacted_at=now - timedelta(hours=hours)))
    session.commit()
    return {"now": now, "people": people, "first": first}


def names(session, ids) -> set[str]:
    return set(session.exec(select(Person.first_name).where(Person.id.in_(list(ids)))).all())


def test_each_persons_last_result_decides_and_any_final_result_keeps_them_out(session, campaign, passed):
    due = session.execute(recontact.due_people(campaign.id, passed["now"])).scalars().all()
    assert names(session, due) == {"Ana", "Gus", "Fa"}
    summary = recontact.pass_summary(session, campaign.id, passed["now"])
    assert summary["states"] == {"never_tried": 1, "back_now": 2, "waiting": 1, "out_of_tries": 1, "held": 1,
                                 "done": 2}
    assert summary["tried"] == {1: 5, 2: 1, 3: 1} and summary["people"] == 8


def test_the_wait_counts_to_the_moment_given(session, campaign, passed):
    later = passed["now"] + timedelta(hours=4)  # Bo's no-answer wait is over
    assert names(session, session.execute(recontact.due_people(campaign.id, later)).scalars().all()) == {"Ana", "Gus", "Fa", "Bo"}


def test_a_lead_changes_a_codes_rules_and_the_next_pass_follows(session, campaign, passed):
    def due_with(hours, tries):
        campaigns.update_result_code(session, campaign, "NH", label="Not home", channel="door", is_contact=False,
                                     is_final=False, retry_after_hours=hours, suppresses="none", max_attempts=tries)
        session.commit()
        return names(session, session.execute(recontact.due_people(campaign.id, passed["now"])).scalars().all())

    assert due_with(24, 4) == {"Ana", "Cy", "Gus", "Fa"}  # Cy has a fourth try
    assert due_with(96, 4) == {"Gus", "Fa"}  # a four-day wait is not over for Ana and Cy
    assert due_with(24, None) == {"Ana", "Cy", "Gus", "Fa"}  # no limit
    with pytest.raises(campaigns.CampaignError):
        due_with(48, 0)


def test_next_pass_cuts_the_doors_of_closed_turfs_that_have_someone_back(session, campaign, passed):
    universe = Universe(next_pass=True, now=passed["now"])
    assert universe_counts(session, campaign, universe)["doors"] == 0  # the first pass's turf is still open
    for turf in session.exec(select(Turf)).all():
        turf.status = TurfStatus.closed
        session.add(turf)
    session.commit()
    frame = universe_frame(session, campaign, universe)
    doors = set(session.exec(select(Household.address).where(Household.id.in_(frame["id"].tolist()))).all())
    assert doors == {"1 Oak St", "6 Oak St", "7 Oak St"}  # Ana's, Fa's, and Gus's: his wait after a message is over
    new = turfs.cut_turfs(session, campaign, universe, by="street", target=100)
    session.commit()
    moved = session.exec(select(TurfDoor.household_id).where(TurfDoor.turf_id.in_(new))).all()
    assert set(moved) == set(frame["id"].tolist())
    assert session.exec(select(TurfDoor).where(TurfDoor.turf_id == passed["first"][0])).all()  # the rest stay
    kept = session.exec(select(ContactAttempt.turf_id).where(ContactAttempt.channel == "door")).all()
    assert set(kept) == {passed["first"][0]}  # the first pass's contacts keep their turf


def test_next_pass_builds_a_call_list_of_who_remains(session, campaign, passed, lead):
    universe = Universe(next_pass=True, now=passed["now"])
    call_list = phonebank.create_call_list(session, campaign, "Second pass", universe, user=lead)
    session.commit()
    assert call_list.filters["next_pass"] is True and "now" not in call_list.filters
    called = names(session, session.exec(select(CallEntry.person_id).where(CallEntry.call_list_id == call_list.id)))
    assert called == {"Ana", "Gus", "Fa"}


def test_new_campaigns_bring_not_home_back_after_two_days_three_times(session, campaign):
    codes = {c.code: c for c in session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign.id))}
    assert (codes["NH"].retry_after_hours, codes["NH"].max_attempts) == (48, 3)
    assert codes["TK"].is_final and codes["RF"].is_final and codes["MV"].is_final and codes["MV"].suppresses == "moved"


def test_a_lead_sets_the_limit_on_the_setup_page_and_reads_the_passes_on_the_dashboard(app, session, campaign,
                                                                                         passed, lead):
    client = app.test_client(user=lead)
    response = client.post(f"/campaigns/{campaign.slug}/setup/code", data={
        "code": "NH", "label": "Not home", "channel": "door", "retry_after_hours": "48", "max_attempts": "5",
        "suppresses": "none", "active": "1"})
    assert response.status_code == 302
    session.expire_all()
    assert session.exec(select(ResultCode.max_attempts).where(ResultCode.campaign_id == campaign.id,
                                                              ResultCode.code == "NH")).one() == 5
    html = client.get(f"/dashboard?campaign={campaign.id}&lang=es").get_data(as_text=True)
    assert "Vueltas y quién queda" in html and "Nunca intentado" in html


def test_the_board_counts_and_cuts_a_next_pass(app, session, campaign, passed, lead):
    for turf in session.exec(select(Turf)).all():
        turf.status = TurfStatus.closed
        session.add(turf)
    session.commit()
    html = app.test_client(user=lead).get(f"/turfs/?campaign={campaign.id}&next_pass=1").get_data(as_text=True)
    assert re.search(r"<strong>3</strong> doors", html)


def test_the_rules_follow_contacts_logged_at_the_door_and_on_the_phone(session, campaign, tmp_path, volunteer, lead):
    """Through the entry points volunteers use: a door batch (as a phone syncs it) and a call on a call list."""
    from datetime import datetime

    from canvass import contacts
    from canvass.contact_input import ContactIn

    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    session.commit()
    [turf_id] = turfs.cut_turfs(session, campaign, Universe(), by="street", target=100)
    session.commit()
    people = {p.first_name: p for p in session.exec(select(Person)).all()}
    now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # within calling hours
    at_door = {"Ana": "NH", "Bo": "RF", "Cy": "MV"}
    results = contacts.log_contacts(session, volunteer, campaign, [
        ContactIn(client_uuid=uuid.uuid4(), person_id=people[name].id, household_id=people[name].household_id,
                  turf_id=turf_id, result_code=code, contacted_at=now) for name, code in at_door.items()], now=now)
    assert [r.status for r in results] == ["created"] * 3
    # The never-tried people go on a call list and are called once each.
    call_list = phonebank.create_call_list(session, campaign, "Calls", Universe(next_pass=True, now=now), user=lead)
    phonebank.assign(session, call_list, volunteer)
    session.commit()
    on_phone = {"Di": "NA", "Ed": "TK", "Fa": "RF", "Gus": "NA", "Hal": "TK"}
    while (claim := phonebank.claim_next(session, call_list, volunteer, timezone="UTC", now=now)) is not None:
        code = on_phone.pop(claim.person.first_name)
        phonebank.record_call(session, volunteer, claim.entry,
                              ContactIn(client_uuid=uuid.uuid4(), result_code=code, contacted_at=now), now=now)
        session.commit()
    assert on_phone == {}

    def due(hours: int) -> set[str]:
        return names(session, session.execute(recontact.due_people(campaign.id, now + timedelta(hours=hours)))
                     .scalars().all())

    assert due(1) == set()
    assert due(5) == {"Di", "Gus"}  # no answer: back after 4 hours
    assert due(49) == {"Ana", "Di", "Gus"}  # not home: back after two days; refused, moved, talked: never
