"""Finding likely duplicate people: each reason, what is not a duplicate, and "not the same person" decisions."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import select

from canvass import duplicates, importing
from canvass.duplicates import SAME_ID, SAME_NAME_BIRTH_YEAR, SAME_PHONE
from canvass.models import AuditLog, NotDuplicate, Person, Phone

VOTER_FILE = """voter_id,first_name,last_name,address,zip,phone,birth_year
100,Ana,Diaz,1 Oak St,27701,9195550001,1980
200,ANA,DÍAZ,9 Elm St,27702,9195550002,1980
300,Robert,Lee,7 Ash St,27701,9195550009,1990
301,Bob,Lee,8 Ash St,27701,9195550009,1990
400,Maria,Cruz,3 Oak St,27701,9195550005,1960
401,Jose,Cruz,3 Oak St,27701,9195550005,1985
500,Carl,Fox,2 Fir St,27701,9195550006,1950
501,Carl,Fox,4 Fir St,27701,9195550007,1980
X777,Dee,Nguyen,6 Birch St,27701,,
"""
COUNTY_FILE = """county voter id,first_name,last_name,address,zip
X777,Dee,Ng,4 Birch St,27701
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def people(session, campaign, tmp_path):
    """The campaign's people by "First Last year", after a voter file and a county file."""
    for name, text in (("voters.csv", VOTER_FILE), ("county.csv", COUNTY_FILE)):
        importing.import_file(session, campaign, write(tmp_path, name, text))
        session.commit()
    return {f"{p.first_name} {p.last_name} {p.birth_year or ''}".strip(): p for p in session.exec(select(Person))}


def pairs(session, campaign) -> dict[frozenset, duplicates.Candidate]:
    found = duplicates.candidates(duplicates.find_duplicates(session, campaign.id), limit=100)
    names = {p.id: f"{p.first_name} {p.last_name}" for p in session.exec(select(Person))}
    return {frozenset((names[c.person_id], names[c.other_id])): c for c in found}


def test_the_same_id_under_two_sources_is_a_likely_duplicate(session, campaign, people):
    found = pairs(session, campaign)[frozenset(("Dee Nguyen", "Dee Ng"))]
    assert found.codes == [SAME_ID]
    assert found.reasons[0]["value"] == "X777"
    assert found.reasons[0]["sources"] == ["county_voter_id", "voter_id"]
    assert found.confidence == 0.9


def test_the_same_name_and_birth_year_at_two_addresses_is_a_likely_duplicate(session, campaign, people):
    found = pairs(session, campaign)[frozenset(("Ana Diaz", "ANA DÍAZ"))]  # case and accents do not matter
    assert found.codes == [SAME_NAME_BIRTH_YEAR]
    assert found.reasons[0] == {"code": SAME_NAME_BIRTH_YEAR, "birth_year": 1980, "two_addresses": True}
    assert found.confidence == 0.7


def test_the_same_phone_with_the_same_birth_year_is_a_possible_duplicate(session, campaign, people):
    found = pairs(session, campaign)[frozenset(("Robert Lee", "Bob Lee"))]
    assert found.codes == [SAME_PHONE]
    assert found.reasons[0]["phone"] == "+19195550009"
    assert found.confidence == 0.5


def test_a_shared_family_phone_and_a_parent_of_the_same_name_are_not_duplicates(session, campaign, people):
    found = pairs(session, campaign)
    assert frozenset(("Maria Cruz", "Jose Cruz")) not in found  # a landline the family shares
    assert frozenset(("Carl Fox", "Carl Fox")) not in found  # same name, born 30 years apart
    assert len(found) == 3


def test_reasons_add_up_and_the_likeliest_pair_comes_first(session, campaign, people):
    ana, other = people["Ana Diaz 1980"], people["ANA DÍAZ 1980"]
    session.add(Phone(person_id=other.id, e164="+19195550001"))  # Ana's number, on the other record too
    session.commit()
    found = duplicates.candidates(duplicates.find_duplicates(session, campaign.id))
    assert [round(c.confidence, 2) for c in found] == [0.9, 0.85, 0.5]
    both = found[1]
    assert {both.person_id, both.other_id} == {ana.id, other.id}
    assert sorted(both.codes) == [SAME_NAME_BIRTH_YEAR, SAME_PHONE]
    assert duplicates.pair_reasons(session, other, ana) == both  # the review page says the same


def test_not_the_same_person_is_remembered_and_never_offered_again(session, campaign, people, data_staff):
    ana, other = people["Ana Diaz 1980"], people["ANA DÍAZ 1980"]
    duplicates.mark_not_duplicates(session, other, ana, data_staff)
    duplicates.mark_not_duplicates(session, ana, other, data_staff)  # twice is once
    session.commit()
    assert frozenset(("Ana Diaz", "ANA DÍAZ")) not in pairs(session, campaign)
    assert len(pairs(session, campaign)) == 2
    decision = session.exec(select(NotDuplicate)).one()
    assert (decision.person_id, decision.other_id, decision.decided_by_id) == (
        min(ana.id, other.id), max(ana.id, other.id), data_staff.id)
    audit = session.exec(select(AuditLog).where(AuditLog.action == "person.not_duplicate")).all()
    assert len(audit) == 1 and audit[0].details == {"other_id": max(ana.id, other.id)}


def test_a_pair_must_be_two_people_of_one_campaign(session, campaign, people):
    ana = people["Ana Diaz 1980"]
    with pytest.raises(duplicates.DuplicateError):
        duplicates.mark_not_duplicates(session, ana, ana, None)


def test_common_names_and_office_lines_shared_by_many_are_left_out():
    frame = pd.DataFrame({"person_id": range(1, 9), "e164": ["+1"] * 8})
    assert duplicates._pairs_within(frame, "e164").empty
    assert len(duplicates._pairs_within(frame.iloc[:3], "e164")) == 3


def test_names_are_folded_for_comparison():
    assert duplicates.fold_names(pd.Series(["O'Brien", "Nguyễn", "mary ann", None])).tolist() == [
        "OBRIEN", "NGUYEN", "MARYANN", ""]


def test_an_empty_campaign_has_no_duplicates(session, campaign):
    assert duplicates.find_duplicates(session, campaign.id).empty
