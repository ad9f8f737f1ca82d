"""Merging two people keeps every row that refers to either, and an undo puts each row back exactly."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from canvass import duplicates, importing, merging
from canvass.models import (
    AuditLog,
    CallEntry,
    CallList,
    ContactAttempt,
    Election,
    Email,
    ExternalId,
    MergeRecord,
    NotDuplicate,
    Person,
    PersonTag,
    Phone,
    PhoneStatus,
    SurveyQuestion,
    SurveyResponse,
    Tag,
    Vote,
)

VOTER_FILE = """voter_id,first_name,last_name,address,zip,phone,birth_year
100,Ana,Diaz,1 Oak St,27701,9195550001,1980
200,ANA,DÍAZ,9 Elm St,27702,9195550002,1980
300,Bo,Kim,5 Pine St,27701,9195550003,1975
"""
#: Tables whose rows a merge does not keep one for one: the merged person, and their repeats of what the
#: survivor has (the same phone number, email, tag, call list and election); the record and its audit entry.
EXPECTED_CHANGE = {"person": -1, "phone": -1, "email": -1, "person_tag": -1, "call_entry": -1, "vote": -1,
                   "not_duplicate": -1, "merge_record": 1, "audit_log": 1}


@pytest.fixture
def pair(session, campaign, tmp_path, lead):
    """Ana (the survivor) and her second record, with contacts, answers, phones, emails, tags, IDs, call-list places,
    votes, flags and fields on both; some repeated on both."""
    path = tmp_path / "voters.csv"
    path.write_text(VOTER_FILE, encoding="utf-8")
    importing.import_file(session, campaign, path)
    session.commit()
    by_id = {e.value: session.get(Person, e.person_id) for e in session.exec(select(ExternalId))}
    ana, other, bo = by_id["100"], by_id["200"], by_id["300"]
    shared = Phone(person_id=other.id, e164="+19195550001", status=PhoneStatus.wrong)  # Ana's number, again
    session.add(shared)
    session.add_all([Email(person_id=ana.id, address="ana@example.org"),
                     Email(person_id=other.id, address="ana@example.org"),
                     Email(person_id=other.id, address="ana.d@example.org")])
    tags = [Tag(campaign_id=campaign.id, name=name) for name in ("Volunteer", "Yard sign")]
    session.add_all(tags)
    session.flush()
    session.add_all([PersonTag(person_id=ana.id, tag_id=tags[0].id), PersonTag(person_id=other.id, tag_id=tags[0].id),
                     PersonTag(person_id=other.id, tag_id=tags[1].id)])
    calls = CallList(campaign_id=campaign.id, name="Calls")
    question = SurveyQuestion(campaign_id=campaign.id, code="NOTE", text="Anything?", kind="text")
    elections = [Election(campaign_id=campaign.id, held_on=date(2020 + 2 * i, 11, 3), kind="general")
                 for i in range(2)]
    session.add_all([calls, question, *elections])
    session.flush()
    session.add_all([CallEntry(call_list_id=calls.id, person_id=ana.id),
                     CallEntry(call_list_id=calls.id, person_id=other.id, status="done", attempts=2),
                     Vote(person_id=ana.id, election_id=elections[0].id),
                     Vote(person_id=other.id, election_id=elections[0].id),
                     Vote(person_id=other.id, election_id=elections[1].id),
                     NotDuplicate(person_id=min(other.id, bo.id), other_id=max(other.id, bo.id),
                                  campaign_id=campaign.id)])
    for person, count in ((ana, 2), (other, 3)):
        for n in range(count):
            session.add(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=person.id,
                                       household_id=person.household_id, channel="phone", result_code="NH",
                                       phone_id=shared.id if person is other and n == 0 else None))
    session.flush()
    talked = session.exec(select(ContactAttempt).where(ContactAttempt.person_id == other.id)).first()
    session.add(SurveyResponse(contact_id=talked.id, question_id=question.id, value="Call after 5"))
    ana.custom, other.custom = {"Ward": "4"}, {"Ward": "3", "Shirt": "L"}
    other.do_not_contact = other.moved = True
    session.add_all([ana, other])
    session.commit()
    return ana, other, bo


def counts(session) -> dict[str, int]:
    return {t.name: session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in SQLModel.metadata.sorted_tables}


def everything(session, *leave_out: str) -> dict[str, list]:
    """Every row of every table, as stored."""
    return {t.name: sorted(map(repr, session.execute(sa.select(t)).all())) for t in SQLModel.metadata.sorted_tables
            if t.name not in leave_out}


def rows_of(session, model, person_id) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(model).where(model.person_id == person_id)
                           ).scalar_one()


def test_every_table_that_refers_to_a_person_is_taught_to_merge():
    """A new table with a foreign key to person must say what a merge does with its rows (merging.py)."""
    assert merging.unlisted_references() == []
    assert len(merging.person_references()) >= 8


def test_merging_keeps_every_contact_phone_email_tag_id_vote_and_list_place(session, pair, lead):
    ana, other, _bo = pair
    before, per_person = counts(session), {m: rows_of(session, m, ana.id) + rows_of(session, m, other.id)
                                           for m in (ContactAttempt, ExternalId, Phone, Email, PersonTag, Vote)}
    record = merging.merge_people(session, ana, other, lead, reasons=[{"code": "same_name_birth_year"}])
    session.commit()
    after = counts(session)
    assert {name: after[name] - before[name] for name in after if after[name] != before[name]} == EXPECTED_CHANGE
    assert session.get(Person, other.id) is None
    kept = {m: rows_of(session, m, ana.id) for m in per_person}
    assert kept == {ContactAttempt: 5, ExternalId: 2, Phone: 2, Email: 2, PersonTag: 2, Vote: 2}
    assert per_person == {ContactAttempt: 5, ExternalId: 2, Phone: 3, Email: 3, PersonTag: 3, Vote: 3}

    session.expire_all()
    ana = session.get(Person, ana.id)
    assert ana.do_not_contact and ana.moved and not ana.deceased  # flags combine in the safe direction
    assert ana.custom == {"Ward": "4", "Ward (2)": "3", "Shirt": "L"}
    phone = session.exec(select(Phone).where(Phone.person_id == ana.id, Phone.e164 == "+19195550001")).one()
    assert phone.status == PhoneStatus.wrong  # the safer status of the two records' same number
    on_that_phone = session.exec(select(ContactAttempt).where(ContactAttempt.phone_id == phone.id)).all()
    assert len(on_that_phone) == 1  # the call made on the dropped repeat now names the kept number
    entry = session.exec(select(CallEntry).where(CallEntry.person_id == ana.id)).one()
    assert (entry.status, entry.attempts) == ("done", 2)  # reached on that list already: not called again
    answer = session.exec(select(SurveyResponse)).one()
    assert session.get(ContactAttempt, answer.contact_id).person_id == ana.id
    assert record.moved["contact_attempt.person_id"] and record.moved["external_id.person_id"] == [
        [ana.campaign_id, "voter_id", "200"]]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "person.merged")).one()
    assert audit.object_id == record.id and audit.details["merged_id"] == other.id
    assert "DÍAZ" not in repr(audit.details)  # ids and counts, never names


def test_undo_puts_every_row_back_exactly(session, pair, lead, admin):
    ana, other, _bo = pair
    stored = everything(session, "merge_record", "audit_log")
    record = merging.merge_people(session, ana, other, lead)
    session.commit()
    restored = merging.undo_merge(session, record, admin)
    session.commit()
    assert restored.id == other.id
    assert everything(session, "merge_record", "audit_log") == stored
    assert record.undone_at is not None and record.undone_by_id == admin.id
    with pytest.raises(merging.MergeError, match="already undone"):
        merging.undo_merge(session, record, admin)


def test_undo_leaves_what_happened_since_the_merge(session, pair, lead, campaign):
    ana, other, _bo = pair
    record = merging.merge_people(session, ana, other, lead)
    session.commit()
    ana.deceased = True  # learned at the door after the merge
    session.add(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=ana.id, channel="door",
                               result_code="DEC"))
    session.commit()
    merging.undo_merge(session, record, lead)
    session.commit()
    session.expire_all()
    ana = session.get(Person, ana.id)
    assert ana.deceased and not ana.do_not_contact  # the merge's flag goes, the volunteer's stays
    assert rows_of(session, ContactAttempt, ana.id) == 3 and rows_of(session, ContactAttempt, other.id) == 3


def test_a_merge_into_someone_merged_since_is_undone_last(session, pair, lead):
    ana, other, bo = pair
    first = merging.merge_people(session, ana, other, lead)
    second = merging.merge_people(session, bo, ana, lead)
    session.commit()
    with pytest.raises(merging.MergeError, match="merged again"):
        merging.undo_merge(session, first, lead)
    session.rollback()
    merging.undo_merge(session, second, lead)
    merging.undo_merge(session, first, lead)
    session.commit()
    assert {p.id for p in session.exec(select(Person))} == {ana.id, other.id, bo.id}
    assert rows_of(session, ContactAttempt, other.id) == 3


def test_reimporting_the_voter_file_finds_the_survivor_by_either_id(session, campaign, pair, lead, tmp_path):
    ana, other, _bo = pair
    merging.merge_people(session, ana, other, lead)
    session.commit()
    path = tmp_path / "again.csv"
    path.write_text(VOTER_FILE, encoding="utf-8")
    summary = importing.import_file(session, campaign, path)
    session.commit()
    assert summary["inserted"] == 0
    assert session.get(Person, other.id) is None
    assert session.exec(select(sa.func.count()).select_from(Person)).one() == 2
    assert {e.value: e.person_id for e in session.exec(select(ExternalId))} == {"100": ana.id, "200": ana.id,
                                                                               "300": _bo.id}
    assert duplicates.find_duplicates(session, campaign.id).empty


def test_merging_refuses_while_a_table_that_refers_to_people_is_not_listed(session, pair, lead, monkeypatch):
    ana, other, _bo = pair
    monkeypatch.delitem(merging.PERSON_REFERENCES, "vote.person_id")
    with pytest.raises(merging.MergeError, match="vote.person_id"):
        merging.merge_people(session, ana, other, lead)
    session.rollback()
    assert session.get(Person, other.id) is not None
    assert session.exec(select(sa.func.count()).select_from(MergeRecord)).one() == 0


def test_people_of_two_campaigns_are_never_merged(session, pair, lead):
    ana, _other, _bo = pair
    stranger = Person(campaign_id=ana.campaign_id + 1000, first_name="Ana")
    stranger.id = ana.id + 1000
    with pytest.raises(duplicates.DuplicateError):
        merging.merge_people(session, ana, stranger, lead)
