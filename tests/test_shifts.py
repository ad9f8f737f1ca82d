"""Shifts and events: setting one up, signing up from its link (a first-timer gets an invite), the calendar files,
check-in with a turf handed out, the roster, throttling of the public sign-up, and who may do what."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from canvass import accounts, calendars, importing, shifts, turfs
from canvass.models import (
    AssignmentStatus,
    Role,
    Shift,
    ShiftKind,
    ShiftSignup,
    Turf,
    TurfAssignment,
    User,
    UserToken,
)
from canvass.universe import Universe
from tests.conftest import make_user, set_clock

# Saturday 14 November 2026, 10:00 to 13:00 in New York (EST, UTC-5): 15:00 to 18:00 UTC.
START = datetime(2026, 11, 14, 15, 0, tzinfo=UTC)
END = START + timedelta(hours=3)
BEFORE = START - timedelta(days=3)
PEOPLE = ("voter_id,first,last,address,zip,language\n1,Ana,Diaz,1 Oak St,27701,es\n2,Bo,Kim,9 Elm St,27702,ko\n"
          "3,Vi,Tran,4 Ash St,27702,vi\n")


def near(at: datetime, expected: datetime) -> bool:
    """The app's clock runs on from the time a test set: a few seconds at most."""
    return abs(at - expected) < timedelta(seconds=30)


def shift_in(**overrides) -> shifts.ShiftIn:
    values = {"kind": ShiftKind.canvass, "title": "Saturday, house visits; East side", "starts_at": START,
              "ends_at": END, "address": "12 Main St, Durham", "directions": "Side door,\nask for Rosa",
              "head_count": 6, "languages_needed": {"es": 2, "vi": 1}}
    return shifts.ShiftIn(**{**values, **overrides})


@pytest.fixture
def shift_turfs(session, campaign, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    ids = turfs.cut_turfs(session, campaign, Universe(), by="zip", target=5)
    session.commit()
    return [session.get(Turf, i) for i in ids]


@pytest.fixture
def shift(session, campaign, lead, shift_turfs):
    made = shifts.create_shift(session, campaign, shift_in(turf_ids=[t.id for t in shift_turfs]), by=lead)
    session.commit()
    return made


# ------------------------------------------------------------------------------------------------------------------
# Calendar files (pure)


def test_calendar_text_is_escaped_and_folded_per_rfc_5545():
    assert calendars.escape_text("a,b;c\\d\r\ne\x07") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "Nhà văn hóa " * 12
    folded = calendars.fold(line)
    assert all(len(piece.encode()) <= 75 for piece in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line  # unfolding gives the line back, no character split
    with pytest.raises(ValueError):
        calendars.utc_stamp(datetime(2026, 11, 14, 10))


def test_language_needs_count_each_volunteer_once_per_language():
    needs = shifts.language_needs({"es": 2, "vi": 1, "ko": 0}, [["es", "en"], ["es", "es"], ["en"]])
    assert [(n.language, n.needed, n.signed_up, n.short) for n in needs] == [("es", 2, 2, 0), ("vi", 1, 0, 1)]


# ------------------------------------------------------------------------------------------------------------------
# Sign-up -> reminder -> check-in


def test_newcomer_signs_up_gets_a_reminder_and_a_turf_at_check_in(app, session, shift, lead, shift_turfs):
    set_clock(app, BEFORE)
    client = app.test_client()
    page = client.get(f"/s/{shift.signup_code.lower()}", headers={"Accept-Language": "es"})
    assert page.status_code == 200 and "Saturday, house visits; East side" in page.get_data(as_text=True)
    answer = client.post(f"/s/{shift.signup_code}", data={
        "name": "Rosa Pérez", "phone": "(919) 555-0142", "email": "Rosa@Example.org", "languages": ["es", "en"]})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/invite/")
    session.rollback()  # a fresh snapshot: the app committed meanwhile
    rosa = accounts.get_user_by_email(session, "rosa@example.org")
    assert (rosa.role, rosa.name, rosa.phone, rosa.languages_spoken, rosa.password_hash) == (
        Role.volunteer, "Rosa Pérez", "+19195550142", ["en", "es"], None)
    assert session.exec(select(UserToken).where(UserToken.user_id == rosa.id)).one().purpose == "invite"
    token = answer.headers["Location"].removeprefix("/invite/")
    set_password = client.post(f"/invite/{token}", data={"name": "Rosa Pérez", "language": "es",
                                                         "password": "a-long-password", "confirm": "a-long-password"})
    assert set_password.status_code == 302

    mine = client.get("/my/shifts").get_data(as_text=True)
    assert "Saturday, house visits; East side" in mine and f"/s/{shift.signup_code}/shift.ics" in mine
    feed = client.get("/my/shifts.ics")
    assert feed.mimetype == "text/calendar"
    text = feed.get_data(as_text=True)
    assert "\r\nDTSTART:20261114T150000Z\r\n" in text and "\r\nDTEND:20261114T180000Z\r\n" in text
    assert "\r\nSUMMARY:Saturday\\, house visits\\; East side\r\n" in text
    assert "\r\nLOCATION:12 Main St\\, Durham\r\n" in text
    assert "Side door\\,\\nask for Rosa" in text.replace("\r\n ", "")
    assert "TRIGGER:-PT120M" in text and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 1

    set_clock(app, START - timedelta(minutes=5))
    lead_client = app.test_client(user=lead)
    roster = lead_client.get(f"/shifts/{shift.id}").get_data(as_text=True)
    assert "Rosa Pérez" in roster and "Needs 1 speaker, has 0" in roster and "Needs 2 speakers, has 1" in roster
    answer = lead_client.post(f"/shifts/{shift.id}/check-in/{rosa.id}")
    assert answer.status_code == 302
    session.rollback()  # a fresh snapshot: the app committed meanwhile (SQLite)
    signup = session.exec(select(ShiftSignup).where(ShiftSignup.user_id == rosa.id)).one()
    assert near(signup.checked_in_at, START - timedelta(minutes=5)) and signup.checked_in_by_id == lead.id
    # Rosa speaks Spanish: of the two turfs, she gets the one whose doors speak it
    spanish = next(t for t in shift_turfs if turfs.turf_languages(session, [t.id])[t.id]["es"])
    assert signup.turf_id == spanish.id
    assert session.get(TurfAssignment, (spanish.id, rosa.id)).status == AssignmentStatus.active
    assert session.exec(select(Shift).where(Shift.user_id == rosa.id, Shift.turf_id == spanish.id)).one()
    follow = lead_client.get(f"/shifts/{shift.id}")
    assert f"Rosa Pérez is checked in and has {spanish.name}." in follow.get_data(as_text=True)
    assert client.get(f"/walk/{spanish.id}").status_code == 200  # she lands on its walk list
    assert f"/walk/{spanish.id}" in client.get("/my/shifts").get_data(as_text=True)


def test_a_second_arrival_gets_the_other_turf_and_checking_in_twice_changes_nothing(session, shift, lead,
                                                                                   shift_turfs):
    first, second = make_user(session), make_user(session)
    for user in (first, second):
        shifts.sign_up(session, shift, user, now=BEFORE)
    a = shifts.check_in(session, shift, first, by=lead, now=START)
    b = shifts.check_in(session, shift, second, by=lead, now=START)
    assert {a.turf_id, b.turf_id} == {t.id for t in shift_turfs}
    again = shifts.check_in(session, shift, first, by=lead, now=START + timedelta(hours=1))
    assert (again.turf_id, again.checked_in_at) == (a.turf_id, START)


def test_a_volunteer_checks_in_on_their_phone_only_within_the_shift(app, session, shift, volunteer):
    shifts.sign_up(session, shift, volunteer, now=BEFORE)
    session.commit()
    client = app.test_client(user=volunteer)
    set_clock(app, START - timedelta(minutes=45))
    assert f"/s/{shift.signup_code}/check-in" not in client.get("/my/shifts").get_data(as_text=True)
    client.post(f"/s/{shift.signup_code}/check-in")
    assert "Check-in opens half an hour before the start." in client.get("/my/shifts").get_data(as_text=True)
    set_clock(app, START - timedelta(minutes=20))
    answer = client.post(f"/s/{shift.signup_code}/check-in")
    session.rollback()  # a fresh snapshot: the app committed meanwhile
    signup = shifts.signup_of(session, shift, volunteer)
    assert near(signup.checked_in_at, START - timedelta(minutes=20)) and signup.checked_in_by_id == volunteer.id
    assert answer.headers["Location"] == f"/walk/{signup.turf_id}"


def test_someone_not_signed_up_cannot_check_in_and_a_shift_over_takes_no_sign_up(app, session, shift, volunteer):
    with pytest.raises(shifts.ShiftError, match="Sign up for this shift first"):
        shifts.check_in_myself(session, shift, volunteer, now=START)
    with pytest.raises(shifts.ShiftError, match="This shift is over"):
        shifts.sign_up(session, shift, volunteer, now=END + timedelta(minutes=1))


def test_a_member_signs_up_in_one_tap_once(app, session, shift, volunteer):
    set_clock(app, BEFORE)
    client = app.test_client(user=volunteer)
    assert "Sign me up" in client.get(f"/s/{shift.signup_code}").get_data(as_text=True)
    for _ in range(2):
        answer = client.post(f"/s/{shift.signup_code}")
        assert answer.headers["Location"] == f"/my/shifts#shift-{shift.id}"
    assert len(session.exec(select(ShiftSignup).where(ShiftSignup.user_id == volunteer.id)).all()) == 1
    assert "You're signed up for this shift." in client.get(f"/s/{shift.signup_code}").get_data(as_text=True)


def test_a_sign_up_racing_another_for_the_same_volunteer_keeps_the_first(session, shift, volunteer, monkeypatch):
    first = shifts.sign_up(session, shift, volunteer, now=BEFORE)
    session.commit()
    real = shifts.signup_of
    calls = iter([None])  # the racing request looked before the first one's row was there
    monkeypatch.setattr(shifts, "signup_of", lambda *a: next(calls, "unused") and real(*a))
    again = shifts.sign_up(session, shift, volunteer, now=BEFORE + timedelta(minutes=1))
    session.commit()
    assert again.id == first.id
    assert len(session.exec(select(ShiftSignup).where(ShiftSignup.user_id == volunteer.id)).all()) == 1


def test_the_calendar_file_of_a_shift_is_public_and_names_no_one(app, session, shift, volunteer):
    shifts.sign_up(session, shift, volunteer, now=BEFORE)
    session.commit()
    text = app.test_client().get(f"/s/{shift.signup_code}/shift.ics").get_data(as_text=True)
    assert "DTSTART:20261114T150000Z" in text and volunteer.email not in text
    assert app.test_client().get("/s/NOSUCHCODE/shift.ics").status_code == 404


# ------------------------------------------------------------------------------------------------------------------
# The lead's side


def test_lead_sets_up_a_shift_in_local_time_and_changes_it(app, session, campaign, lead, shift_turfs):
    client = app.test_client(user=lead)
    form = {"campaign_id": campaign.id, "kind": "clinic", "title": "Clínica de ciudadanía", "address": "5 Elm",
            "directions": "", "day": "2026-11-14", "starts": "10:00", "ends": "13:00", "head_count": "4",
            "needs_es": "2", "needs_vi": "0", "needs_ko": "", "needs_zh": "0", "needs_en": "0",
            "turf_ids": [shift_turfs[0].id]}
    answer = client.post("/shifts/new", data=form)
    assert answer.status_code == 302
    session.rollback()
    made = session.exec(select(shifts.ShiftEvent)).one()
    assert (made.starts_at, made.ends_at, made.kind, made.languages_needed) == (START, END, "clinic", {"es": 2})
    assert shifts.shift_turf_ids(session, made) == [shift_turfs[0].id]
    assert "Clínica de ciudadanía is set up." in client.get(answer.headers["Location"]).get_data(as_text=True)
    wrong = client.post(f"/shifts/{made.id}/edit", data={**form, "ends": "09:00"})
    assert wrong.status_code == 400 and "The end must come after the start." in wrong.get_data(as_text=True)
    other_campaign_turf = client.post(f"/shifts/{made.id}/edit", data={**form, "turf_ids": [99999]})
    assert other_campaign_turf.status_code == 400
    client.post(f"/shifts/{made.id}/edit", data={**form, "turf_ids": [], "ends": "14:30"})
    session.rollback()  # a fresh snapshot: the app committed meanwhile
    assert session.get(shifts.ShiftEvent, made.id).ends_at == START + timedelta(hours=4, minutes=30)
    assert shifts.shift_turf_ids(session, made) == []


def test_roster_csv_is_formula_safe_and_the_printed_roster_lists_everyone(app, session, shift, lead):
    sneaky = make_user(session, name="=HYPERLINK(\"http://x\")", languages_spoken=["vi"])
    sneaky.phone = "+19195550100"
    session.add(sneaky)
    shifts.sign_up(session, shift, sneaky, now=BEFORE)
    session.commit()
    client = app.test_client(user=lead)
    rows = list(csv.reader(io.StringIO(client.get(f"/shifts/{shift.id}/roster.csv").get_data(as_text=True)
                                       .lstrip("\ufeff"))))
    assert rows[0][:4] == ["Name", "Phone", "Email", "Languages"]
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")" and rows[1][1] == "(919) 555-0100"
    assert rows[1][3] == "Tiếng Việt"
    printed = client.get(f"/shifts/{shift.id}/print").get_data(as_text=True)
    assert "(919) 555-0100" in printed and "print-page" in printed


def test_shift_list_says_which_languages_are_short(app, session, shift, lead):
    set_clock(app, BEFORE)
    speaker = make_user(session, languages_spoken=["es"])
    shifts.sign_up(session, shift, speaker, now=BEFORE)
    session.commit()
    page = app.test_client(user=lead).get(f"/shifts/?campaign={shift.campaign_id}").get_data(as_text=True)
    assert "1 of 6 volunteers signed up" in page
    assert re.search(r"Español</span>\s*Needs 2 speakers, has 1", page)
    assert re.search(r"Tiếng Việt</span>\s*Needs 1 speaker, has 0", page)


# ------------------------------------------------------------------------------------------------------------------
# Abuse of the public sign-up, and access


def newcomer(n: int) -> dict:
    return {"name": f"Person {n}", "phone": f"919555{n:04d}", "email": f"p{n}@example.org", "languages": ["en"]}


def test_public_sign_up_is_throttled_per_address(app, session, shift):
    set_clock(app, BEFORE)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    statuses = [client.post(f"/s/{shift.signup_code}", data=newcomer(n)).status_code for n in range(7)]
    assert statuses == [302] * 5 + [429] * 2
    assert "Too many sign-ups from here just now." in client.post(
        f"/s/{shift.signup_code}", data=newcomer(9)).get_data(as_text=True)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert other.post(f"/s/{shift.signup_code}", data=newcomer(20)).status_code == 302
    set_clock(app, BEFORE + timedelta(hours=1, minutes=1))
    assert client.post(f"/s/{shift.signup_code}", data=newcomer(30)).status_code == 302


def test_public_sign_up_reveals_and_changes_no_existing_account(app, session, shift, volunteer):
    volunteer.name, volunteer.phone = "Huong Tran", "+19195550199"
    session.add(volunteer)
    session.commit()
    set_clock(app, BEFORE)
    before = (volunteer.name, volunteer.phone, volunteer.password_hash)
    answer = app.test_client().post(f"/s/{shift.signup_code}", data={**newcomer(1), "email": volunteer.email})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "This email already has an account. Sign in to sign up in one tap." in body
    assert "Huong" not in body and "555-0199" not in body
    session.rollback()  # a fresh snapshot: the app committed meanwhile
    stored = session.get(User, volunteer.id)
    assert (stored.name, stored.phone, stored.password_hash) == before
    assert shifts.signup_of(session, shift, stored) is None
    assert session.exec(select(UserToken).where(UserToken.user_id == volunteer.id)).first() is None


def test_the_public_page_shows_counts_never_names(app, session, shift, volunteer):
    volunteer.name = "Huong Tran"
    shifts.sign_up(session, shift, volunteer, now=BEFORE)
    session.commit()
    set_clock(app, BEFORE)
    body = app.test_client().get(f"/s/{shift.signup_code}").get_data(as_text=True)
    assert "1 of 6 volunteers signed up" in body
    assert volunteer.email not in body and "Huong" not in body


@pytest.mark.parametrize("trap", [{"website": "http://spam.example"}, {"phone": "12"}, {"email": "not-an-email"}])
def test_a_robot_or_a_bad_form_creates_no_account(app, session, shift, trap):
    set_clock(app, BEFORE)
    answer = app.test_client().post(f"/s/{shift.signup_code}", data={**newcomer(1), **trap})
    assert answer.status_code == 400
    assert accounts.get_user_by_email(session, "p1@example.org") is None


def test_volunteers_reach_only_their_own_shifts_and_no_lead_page(app, session, shift, volunteer):
    other = make_user(session, name="Minh Le")
    shifts.sign_up(session, shift, other, now=BEFORE)
    session.commit()
    client = app.test_client(user=volunteer)
    for url in (f"/shifts/{shift.id}", f"/shifts/{shift.id}/roster.csv", f"/shifts/{shift.id}/print",
                "/shifts/", f"/shifts/{shift.id}/edit"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/shifts/{shift.id}/check-in/{other.id}").status_code == 403
    assert "Minh Le" not in client.get("/my/shifts").get_data(as_text=True)
    assert "BEGIN:VEVENT" not in client.get("/my/shifts.ics").get_data(as_text=True)
    set_clock(app, START)
    client.post(f"/s/{shift.signup_code}/check-in")  # not signed up: nothing stored
    assert shifts.signup_of(session, shift, volunteer) is None
    assert app.test_client().get("/my/shifts").status_code == 302  # anonymous: to the login page


def test_a_lead_checks_in_only_someone_signed_up(app, session, shift, lead, volunteer):
    answer = app.test_client(user=lead).post(f"/shifts/{shift.id}/check-in/{volunteer.id}")
    assert answer.status_code == 302
    assert shifts.signup_of(session, shift, volunteer) is None
    assert session.exec(select(TurfAssignment).where(TurfAssignment.user_id == volunteer.id)).first() is None


def test_two_leads_checking_in_the_same_volunteer_at_once_hand_out_one_turf(app, session, campaign, shift, lead,
                                                                             volunteer):
    """At a busy shift two leads tap the same name at once: one check-in, one turf, no error page."""
    import threading

    other_lead = make_user(session, "lead", "lead2@example.org")
    shifts.sign_up(session, shift, volunteer, now=BEFORE)
    session.commit()
    set_clock(app, START)
    statuses, start = [], threading.Barrier(4)

    def tap(user) -> None:
        client = app.test_client(user=user)
        start.wait()
        statuses.append(client.post(f"/shifts/{shift.id}/check-in/{volunteer.id}").status_code)

    threads = [threading.Thread(target=tap, args=(user,)) for user in (lead, other_lead, lead, other_lead)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 4
    session.rollback()
    signup = shifts.signup_of(session, shift, volunteer)
    assert signup.checked_in_at is not None and signup.turf_id is not None
    assert [a.turf_id for a in session.exec(select(TurfAssignment).where(TurfAssignment.user_id == volunteer.id))] \
        == [signup.turf_id]
