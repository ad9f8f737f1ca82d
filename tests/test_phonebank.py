"""Phone banking: who is on a list, one person per caller at a time, the rules after each call."""

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from canvass import campaigns, contacts, db, importing, phonebank
from canvass.models import CallEntry, CallEntryStatus, CallList, Person, Phone, PhoneStatus, User
from canvass.universe import Universe
from tests.conftest import make_user, set_clock

TZ = "America/New_York"
NOON = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # 12:00 in New York, inside the default 09:00-21:00
PEOPLE = ("voter_id,first,last,address,zip,cell_phone,home_phone,language\n"
          "1,Ana,Diaz,1 Oak St,27701,9195550001,9195550101,es\n"
          "2,Bo,Kim,2 Oak St,27701,,9195550002,ko\n"
          "3,Cy,Lo,3 Oak St,27701,9195550003,,\n"
          "4,Di,Ng,4 Oak St,27701,,,vi\n"
          "5,Ed,Ray,5 Oak St,27701,9195550005,,\n")


@pytest.fixture
def people(session, campaign, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    session.commit()
    return {p.first_name: p for p in session.exec(select(Person)).all()}


@pytest.fixture
def call_list(session, campaign, people):
    call_list = phonebank.create_call_list(session, campaign, "Everyone", Universe())
    session.commit()
    return call_list


def call(session, user, entry, code, **extra):
    phone = session.exec(select(Phone).where(Phone.person_id == entry.person_id, Phone.status == PhoneStatus.ok)
                         .order_by(Phone.rank)).first()
    item = contacts.ContactIn(client_uuid=uuid.uuid4(), result_code=code, channel="phone",
                              phone_id=phone.id if phone else None)
    result = phonebank.record_call(session, user, entry, item, now=extra.pop("now", NOON), **extra)
    session.commit()
    return result


def claim(session, call_list, user, now=NOON):
    result = phonebank.claim_next(session, call_list, user, timezone=TZ, now=now)
    session.commit()
    return result


def test_a_call_list_holds_callable_people_cell_phones_first(session, campaign, people):
    people["Ed"].do_not_call = True
    session.add(people["Ed"])
    session.commit()
    call_list = phonebank.create_call_list(session, campaign, "Everyone", Universe())
    entries = session.exec(select(CallEntry).where(CallEntry.call_list_id == call_list.id)
                           .order_by(CallEntry.priority, CallEntry.id)).all()
    names = [session.get(Person, e.person_id).first_name for e in entries]
    assert names == ["Ana", "Cy", "Bo"]  # Di has no phone, Ed asked not to be called; Bo only has a landline


def test_filters_choose_who_is_called(session, campaign, people):
    call_list = phonebank.create_call_list(session, campaign, "Spanish", Universe(languages=["es"]))
    assert phonebank.progress(session, call_list)["total"] == 1
    with pytest.raises(phonebank.CallingError, match="Nobody matches"):
        phonebank.create_call_list(session, campaign, "Nobody", Universe(languages=["zh"]))


def test_each_caller_holds_one_person_and_two_callers_never_share(session, call_list, volunteer):
    other = make_user(session, "volunteer", "other@example.org")
    first = claim(session, call_list, volunteer)
    again = claim(session, call_list, volunteer)
    second = claim(session, call_list, other)
    assert first.entry.id == again.entry.id != second.entry.id
    assert first.phones[0].type == "cell"


def test_an_expired_lease_returns_the_person_to_the_list(session, call_list, volunteer):
    other = make_user(session, "volunteer", "other@example.org")
    first = claim(session, call_list, volunteer)
    later = NOON + timedelta(minutes=11)  # the default lease is 10 minutes
    taken = [claim(session, call_list, other, now=later).entry.id]
    assert taken == [first.entry.id]
    with pytest.raises(phonebank.CallingError, match="no longer yours"):
        phonebank.find_entry(session, call_list, first.entry.id, volunteer)


def test_no_answer_is_retried_after_the_delay_up_to_the_maximum(session, campaign, call_list, volunteer):
    campaigns.update_settings(session, campaign, {"no_answer_retry_hours": 4, "max_call_attempts": 2})
    session.commit()
    entry = claim(session, call_list, volunteer).entry
    call(session, volunteer, entry, "NA")
    assert entry.status == CallEntryStatus.pending and entry.next_attempt_at == NOON + timedelta(hours=4)
    handed = [claim(session, call_list, volunteer).entry.id]
    assert entry.id not in handed  # not before the delay
    for held in handed:
        phonebank.release(session, session.get(CallEntry, held), volunteer)
    session.commit()
    later = NOON + timedelta(hours=4, minutes=1)
    while True:  # the others first (priority), then Ana again
        got = claim(session, call_list, volunteer, now=later)
        if got.entry.id == entry.id:
            break
        call(session, volunteer, got.entry, "TK", now=later)
    call(session, volunteer, entry, "NA", now=later)
    assert entry.status == CallEntryStatus.done and entry.attempts == 2  # the maximum reached


def test_a_call_back_comes_back_at_its_time(session, call_list, volunteer):
    entry = claim(session, call_list, volunteer).entry
    with pytest.raises(phonebank.CallingError, match="Choose when to call back"):
        call(session, volunteer, entry, "CL")
    session.rollback()
    entry = session.get(CallEntry, entry.id)
    at = NOON + timedelta(days=1, hours=2)
    call(session, volunteer, entry, "CL", callback_at=at)
    assert entry.next_attempt_at == at and entry.attempts == 0
    while True:  # everyone else is handed out and finished
        other = claim(session, call_list, volunteer, now=at - timedelta(minutes=1))
        if other is None:
            break
        call(session, volunteer, other.entry, "TK", now=at - timedelta(minutes=1))
    assert claim(session, call_list, volunteer, now=at).entry.id == entry.id


def test_calls_are_only_handed_out_in_calling_hours(session, campaign, call_list, volunteer):
    late = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)  # 22:00 in New York
    with pytest.raises(phonebank.OutsideCallingHours, match="between 09:00 and 21:00"):
        phonebank.claim_next(session, call_list, volunteer, timezone=TZ, now=late)
    campaigns.update_settings(session, campaign, {"calling_hours": ["08:00", "23:00"]})
    assert phonebank.claim_next(session, call_list, volunteer, timezone=TZ, now=late) is not None


def test_a_wrong_number_marks_that_phone_bad_not_the_person(session, campaign, call_list, people, volunteer):
    entry = claim(session, call_list, volunteer).entry
    assert entry.person_id == people["Ana"].id
    call(session, volunteer, entry, "WN")
    phones = {p.e164: p.status for p in session.exec(select(Phone).where(Phone.person_id == entry.person_id))}
    assert phones == {"+19195550001": PhoneStatus.wrong, "+19195550101": PhoneStatus.ok}
    assert entry.status == CallEntryStatus.pending and entry.attempts == 0
    again = claim(session, call_list, volunteer)
    assert again.entry.id == entry.id and [p.e164 for p in again.phones] == ["+19195550101"]
    other_list = phonebank.create_call_list(session, campaign, "Again", Universe())
    session.commit()
    assert session.exec(select(Phone.status).where(Phone.e164 == "+19195550001")).one() == PhoneStatus.wrong
    assert phonebank.progress(session, other_list)["total"] == 4  # Ana is still callable on her other number


def test_a_disconnected_only_number_ends_the_entry(session, call_list, people, volunteer):
    entry = None
    while entry is None or entry.person_id != people["Cy"].id:
        got = claim(session, call_list, volunteer)
        entry = got.entry
        if entry.person_id != people["Cy"].id:
            call(session, volunteer, entry, "TK")
    call(session, volunteer, entry, "DS")
    assert entry.status == CallEntryStatus.done
    assert session.exec(select(Phone.status).where(Phone.person_id == people["Cy"].id)).one() == \
        PhoneStatus.disconnected


def test_do_not_call_is_final_and_never_called_again(session, campaign, call_list, people, volunteer):
    entry = claim(session, call_list, volunteer).entry
    call(session, volunteer, entry, "DNC")
    assert entry.status == CallEntryStatus.done
    assert session.get(Person, entry.person_id).do_not_call is True
    fresh = phonebank.create_call_list(session, campaign, "Next week", Universe())
    session.commit()
    ids = session.exec(select(CallEntry.person_id).where(CallEntry.call_list_id == fresh.id)).all()
    assert entry.person_id not in ids


def test_a_paused_list_hands_out_nobody(session, call_list, volunteer):
    phonebank.set_status(session, call_list, "paused")
    with pytest.raises(phonebank.CallingError, match="paused or closed"):
        phonebank.claim_next(session, call_list, volunteer, timezone=TZ, now=NOON)


def test_sending_a_result_twice_records_one_call(session, call_list, volunteer):
    entry = claim(session, call_list, volunteer).entry
    item = contacts.ContactIn(client_uuid=uuid.uuid4(), result_code="NA", channel="phone")
    first = phonebank.record_call(session, volunteer, entry, item, now=NOON)
    second = phonebank.record_call(session, volunteer, entry, item, now=NOON)
    session.commit()
    assert (first.status, second.status, entry.attempts) == ("created", "duplicate", 1)


# ------------------------------------------------------------------------------------------------------------------
# Many callers at once


def run_callers(engine, list_id: int, user_ids: list[int], now: datetime, outcome: str = "TK") -> Counter:
    """Callers in parallel threads, each claiming and finishing calls until the list is empty."""
    handed: Counter = Counter()
    errors: list[BaseException] = []
    start = threading.Barrier(len(user_ids))

    def caller(user_id: int) -> None:
        try:
            start.wait()
            while True:
                with Session(db.writer(engine), expire_on_commit=False) as session:  # as a POST request
                    call_list = session.get(CallList, list_id)
                    user = session.get(User, user_id)
                    got = phonebank.claim_next(session, call_list, user, timezone=TZ, now=now)
                    if got is None:
                        session.commit()
                        return
                    handed[got.entry.person_id] += 1
                    session.commit()
                with Session(db.writer(engine), expire_on_commit=False) as session:
                    entry = session.get(CallEntry, got.entry.id)
                    user = session.get(User, user_id)
                    phonebank.record_call(session, user, entry, contacts.ContactIn(
                        client_uuid=uuid.uuid4(), result_code=outcome, channel="phone"), now=now)
                    session.commit()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return handed


def many_people(session, campaign, count: int) -> CallList:
    import pandas as pd

    from canvass import bulk

    bulk.take_write_lock(session, Person.__table__)
    ids = bulk.reserve_ids(session, Person.__table__, count)
    bulk.insert_frame(session, Person.__table__, pd.DataFrame({
        "id": ids, "campaign_id": campaign.id, "first_name": [f"P{i}" for i in range(count)], "last_name": "X",
        "middle_name": "", "suffix": "", "language": "", "language_source": "", "party": "", "precinct": "",
        "gender": "", "email": "", "is_protected": False, "match_key": "", "source_hash": "", "custom": "{}",
        "vote_history": "{}"}))
    bulk.insert_frame(session, Phone.__table__, pd.DataFrame({
        "person_id": ids, "e164": [f"+1919{5000000 + i:07d}" for i in range(count)], "type": "cell", "status": "ok",
        "rank": 0, "source": "test"}))
    call_list = phonebank.create_call_list(session, campaign, "Big", Universe())
    session.commit()
    return call_list


def callers(session, count: int) -> list[int]:
    return [make_user(session, "volunteer", f"caller{n}@example.org", password="a long password").id
            for n in range(count)]


@pytest.mark.postgres_only
def test_fifty_callers_in_parallel_each_person_handed_out_exactly_once(engine, session, campaign):
    call_list = many_people(session, campaign, 400)
    handed = run_callers(engine, call_list.id, callers(session, 50), NOON)
    assert len(handed) == 400 and set(handed.values()) == {1}
    session.rollback()
    assert phonebank.progress(session, call_list) == {"total": 400, "done": 400, "claimed": 0, "pending": 0,
                                                      "calls": 400}
    assert set(session.exec(select(CallEntry.handed_out).where(CallEntry.call_list_id == call_list.id)).all()) == {1}


@pytest.mark.postgres_only
def test_expired_leases_come_back_to_parallel_callers(engine, session, campaign):
    call_list = many_people(session, campaign, 60)
    users = callers(session, 20)
    abandoned = []
    for user_id in users[:10]:  # ten callers take a person each and walk away
        got = phonebank.claim_next(session, call_list, session.get(User, user_id), timezone=TZ, now=NOON)
        abandoned.append(got.entry.person_id)
        session.commit()
    later = NOON + timedelta(minutes=15)
    handed = run_callers(engine, call_list.id, users[10:], later)
    assert set(abandoned) <= set(handed) and len(handed) == 60 and set(handed.values()) == {1}


def test_parallel_callers_on_sqlite_also_never_share(engine, session, campaign):
    if engine.dialect.name != "sqlite":
        pytest.skip("the PostgreSQL tests above cover this with 50 callers")
    call_list = many_people(session, campaign, 80)
    handed = run_callers(engine, call_list.id, callers(session, 8), NOON)
    assert len(handed) == 80 and set(handed.values()) == {1}


# ------------------------------------------------------------------------------------------------------------------
# On the web


def test_caller_screen_shows_numbers_to_tap_and_saves_a_result(app, session, call_list, volunteer):
    set_clock(app, NOON)
    phonebank.assign(session, call_list, volunteer)
    session.commit()
    client = app.test_client(user=volunteer)
    client.post(f"/call/{call_list.id}/next")
    page = client.get(f"/call/{call_list.id}").get_data(as_text=True)
    assert 'href="tel:+19195550001"' in page and "Ana Diaz" in page
    entry_id = session.exec(select(CallEntry.id).where(CallEntry.status == "claimed")).one()
    uuid_value = page.split('name="client_uuid" value="', 1)[1].split('"', 1)[0]
    client.post(f"/call/{call_list.id}/entry/{entry_id}/result", data={"result": "TK", "client_uuid": uuid_value})
    session.rollback()
    assert session.get(CallEntry, entry_id).status == CallEntryStatus.done
    assert "Cy Lo" in client.get(f"/call/{call_list.id}").get_data(as_text=True)  # the next one, automatically


def test_only_assigned_callers_or_an_open_list(app, session, call_list, volunteer):
    client = app.test_client(user=volunteer)
    assert client.get(f"/call/{call_list.id}").status_code == 404
    call_list.open_to_all = True
    session.add(call_list)
    session.commit()
    assert client.get(f"/call/{call_list.id}").status_code == 200
    assert client.get("/calllists/").status_code == 403


def test_cli_calllist_create(database_url, people):
    import json

    from click.testing import CliRunner

    from canvass.cli import main

    result = CliRunner().invoke(main, ["calllist", "create", "--campaign", "test", "--name", "Koreans", "--language",
                                       "ko", "--json"], env={"CANVASS_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"id": 1, "name": "Koreans", "people": 1,
                                                                  "open_to_all": False}
    assert sa is not None
