"""Turnout scores and the universe filters built on vote history, on SQLite and PostgreSQL alike: turf cutting,
call lists and exports choose the same people, each in one query."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from click.testing import CliRunner
from sqlmodel import select

from canvass import people, phonebank, turnout
from canvass.cli import main
from canvass.models import Election, ElectionKind, Person, Phone, PhoneType, TurfDoor, Vote, VoteMethod
from canvass.universe import Universe, UniverseError, universe_counts
from tests.conftest import login, make_user
from tests.test_history import make_person

GENERALS = [date(2012, 11, 6), date(2014, 11, 4), date(2016, 11, 8), date(2018, 11, 6), date(2020, 11, 3)]


@pytest.fixture
def voters(session, campaign):
    """Four voters and the campaign's elections: five generals, a primary and a municipal election."""
    elections = {day: Election(campaign_id=campaign.id, held_on=day, kind=ElectionKind.general, name=f"{day} GENERAL")
                 for day in GENERALS}
    primary = Election(campaign_id=campaign.id, held_on=date(2020, 3, 3), kind=ElectionKind.primary, name="PRIMARY")
    municipal = Election(campaign_id=campaign.id, held_on=date(2019, 11, 5), kind=ElectionKind.municipal, name="CITY")
    session.add_all([*elections.values(), primary, municipal])
    found = {name: make_person(session, campaign, "voter_id", name) for name in ("always", "rare", "never", "new")}
    found["new"].registered_on = date(2019, 1, 1)
    voted = {"always": [*GENERALS], "rare": [GENERALS[0], GENERALS[2]], "new": [GENERALS[4]]}
    session.add_all(Vote(person_id=found[name].id, election_id=elections[day].id, method=VoteMethod.early)
                    for name, days in voted.items() for day in days)
    session.add(Vote(person_id=found["always"].id, election_id=primary.id))
    for person in found.values():
        session.add(Phone(person_id=person.id, e164=f"+1919555{person.id:04d}", type=PhoneType.cell))
    session.commit()
    return found


def chosen(session, campaign, voters, **filters) -> set[str]:
    """Who the universe takes, by the name they were made with: the turf cut's people, the call list's and the
    export's must agree."""
    universe = Universe.from_dict(filters)
    ids = set(session.execute(universe.people_query(campaign.id)).scalars())
    names = {name for name, person in voters.items() if person.id in ids}
    assert universe_counts(session, campaign, universe)["people"] == len(names)
    assert phonebank.count_callable(session, campaign, universe) == len(names)
    return names


def test_voted_in_at_most_one_of_the_last_four_generals(session, campaign, voters):
    assert chosen(session, campaign, voters, last_elections=4, voted_at_most=1) == {"rare", "never", "new"}


def test_voted_in_at_least_three_of_the_last_four_generals(session, campaign, voters):
    assert chosen(session, campaign, voters, last_elections=4, voted_at_least=3) == {"always"}


def test_the_last_elections_are_counted_per_kind(session, campaign, voters):
    assert chosen(session, campaign, voters, election_kind="primary", last_elections=1, voted_at_least=1) == {"always"}
    assert chosen(session, campaign, voters, election_kind="municipal", last_elections=2, voted_at_most=0) == \
        {"always", "rare", "never", "new"}


def test_never_voted(session, campaign, voters):
    assert chosen(session, campaign, voters, never_voted=True) == {"never"}


def test_new_registrants_since_a_day(session, campaign, voters):
    assert chosen(session, campaign, voters, registered_since="2019-01-01") == {"new"}
    assert chosen(session, campaign, voters, registered_since="2019-01-02") == set()


def test_turnout_counts_only_the_elections_since_registration(session, campaign, voters):
    # always 5/5, rare 2/5, never 0/5, new 1/1 (registered in 2019: only the 2020 general counts)
    assert chosen(session, campaign, voters, max_turnout=50) == {"rare", "never"}
    assert chosen(session, campaign, voters, max_turnout=0) == {"never"}


def test_filters_narrow_each_other(session, campaign, voters):
    assert chosen(session, campaign, voters, last_elections=4, voted_at_most=1, registered_since="2019-01-01") == \
        {"new"}


def test_another_campaigns_elections_are_not_counted(session, campaign, voters):
    from canvass import campaigns

    other = campaigns.create_campaign(session, "Other", "other")
    session.add_all(Election(campaign_id=other.id, held_on=date(2024 + i, 11, 5), kind=ElectionKind.general)
                    for i in range(4))
    session.commit()
    assert chosen(session, campaign, voters, last_elections=4, voted_at_least=3) == {"always"}


@pytest.mark.parametrize(("filters", "message"), [
    ({"voted_at_most": 1}, "Say how many of the last elections"),
    ({"last_elections": 4}, "Say in at least or at most"),
    ({"last_elections": 4, "voted_at_most": 5}, "more than the last 4"),
    ({"last_elections": "four", "voted_at_most": 1}, "whole numbers from 1 to 50"),
    ({"max_turnout": 150}, "a percentage"), ({"registered_since": "01/02/2019"}, "YYYY-MM-DD"),
    ({"election_kind": "presidential"}, "general, primary, municipal or other")])
def test_a_wrong_turnout_filter_says_what_to_give(filters, message):
    with pytest.raises(UniverseError, match=message):
        Universe.from_dict(filters)


def test_a_person_s_turnout_per_kind(session, campaign, voters):
    def scores(name):
        return {s.kind.value: (s.voted, s.eligible) for s in turnout.person_scores(session, voters[name])}

    assert scores("always") == {"general": (5, 5), "primary": (1, 1), "municipal": (0, 1)}
    assert scores("rare") == {"general": (2, 5), "primary": (0, 1), "municipal": (0, 1)}
    assert scores("new") == {"general": (1, 1), "primary": (0, 1), "municipal": (0, 1)}
    assert [v.held_on for v in turnout.person_votes(session, voters["rare"].id)] == [GENERALS[2], GENERALS[0]]


def test_a_call_list_keeps_its_turnout_filters(session, campaign, voters):
    universe = Universe.from_dict({"last_elections": 4, "voted_at_most": 1, "registered_since": "2019-01-01"})
    call_list = phonebank.create_call_list(session, campaign, "Rare voters", universe)
    session.commit()
    assert call_list.filters["registered_since"] == "2019-01-01" and call_list.filters["election_kind"] == "general"
    assert phonebank.progress(session, call_list)["total"] == 1


def test_the_person_page_shows_turnout(client, session, campaign, voters):
    login(client, make_user(session, "data"))
    page = client.get(f"/people/{voters['rare'].id}").get_data(as_text=True)
    assert "Turnout" in page and "voted in 2 of 5" in page and "2 votes on record" in page


# ------------------------------------------------------------------------------------------------------------------
# Command line


def _run(monkeypatch, database_url, *args):
    monkeypatch.setenv("CANVASS_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_turf_cut_takes_the_turnout_options(app, session, campaign, voters, monkeypatch, database_url):
    line = _run(monkeypatch, database_url, "turf", "cut", "--campaign", "test", "--doors", "10", "--last", "4",
                "--voted-at-most", "1")
    assert (line["doors"], line["people"]) == (3, 3)


def test_calllist_create_takes_the_turnout_options(app, session, campaign, voters, monkeypatch, database_url):
    line = _run(monkeypatch, database_url, "calllist", "create", "--campaign", "test", "--name", "New",
                "--registered-since", "2019-01-01")
    assert line["people"] == 1


def test_export_takes_the_turnout_options(app, session, campaign, voters, monkeypatch, database_url, tmp_path):
    import uuid

    from canvass.models import ContactAttempt

    session.add_all(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=person.id,
                                   household_id=person.household_id, channel="door", result_code="NH")
                    for person in voters.values())
    session.commit()
    line = _run(monkeypatch, database_url, "export", "--campaign", "test", "--out", str(tmp_path / "out.csv"),
                "--never-voted")
    assert line["rows"] == 1
    everyone = _run(monkeypatch, database_url, "export", "--campaign", "test", "--out", str(tmp_path / "all.csv"))
    assert everyone["rows"] == 4


def test_the_web_export_takes_the_turnout_filters(app, session, campaign, voters):
    import uuid

    from canvass.models import ContactAttempt, Job

    session.add_all(ContactAttempt(client_uuid=uuid.uuid4(), campaign_id=campaign.id, person_id=person.id,
                                   household_id=person.household_id, channel="door", result_code="NH")
                    for person in voters.values())
    session.commit()
    client = app.test_client(user=make_user(session, "data"))
    form = client.get(f"/exports/?campaign={campaign.id}").get_data(as_text=True)
    assert "Vote history" in form and 'name="voted_at_most"' in form and 'name="precincts"' in form

    def export(**filters):
        response = client.post("/exports/", data={"campaign_id": campaign.id, "format": "csv", "sheet": "contacts",
                                                  **filters})
        assert response.status_code == 302, response.get_data(as_text=True)
        session.rollback()  # a fresh snapshot: the job committed in another session
        return session.get(Job, int(response.headers["Location"].rsplit("/", 1)[1])).result["rows"]

    assert export(last_elections="4", voted_at_most="1") == 3
    assert export(never_voted="y") == 1
    assert export() == 4
    refused = client.post("/exports/", data={"campaign_id": campaign.id, "format": "csv", "sheet": "contacts",
                                             "voted_at_most": "1"})
    assert refused.status_code == 400
    assert "Say how many of the last elections to count" in refused.get_data(as_text=True)


def test_votes_go_with_their_person(session, campaign, voters):
    session.delete(session.get(Person, voters["always"].id))
    session.commit()
    assert len(session.execute(select(Vote)).all()) == 3
    assert people.person_detail(session, voters["rare"].id).turnout[0].voted == 2


# ------------------------------------------------------------------------------------------------------------------
# The universe forms (turf board, call lists)


def test_the_turf_board_counts_and_cuts_by_vote_history(client, session, campaign, voters, lead):
    login(client, lead)
    query = f"campaign={campaign.id}&election_kind=general&last_elections=4&voted_at_most=1"
    page = client.get(f"/turfs/?{query}").get_data(as_text=True)
    assert re.search(r"<strong>3</strong> doors, <strong>3</strong> people", page)
    assert 'name="voted_at_most" value="1"' in page  # carried along to the cut
    response = client.post("/turfs/cut", data={"campaign_id": campaign.id, "election_kind": "general",
                                                "last_elections": "4", "voted_at_most": "1", "by": "zip",
                                                "doors": "10"})
    assert response.status_code == 302
    session.rollback()
    in_turf = set(session.execute(select(TurfDoor.household_id)).scalars())
    assert in_turf == {voters[name].household_id for name in ("rare", "never", "new")}


def test_a_wrong_vote_history_filter_is_shown_beside_the_form(client, session, campaign, voters, lead):
    login(client, lead)
    page = client.get(f"/turfs/?campaign={campaign.id}&last_elections=4").get_data(as_text=True)
    assert "Say in at least or at most how many of the last 4 elections they voted." in page


def test_a_call_list_of_new_registrants_from_the_web(client, session, campaign, voters, lead):
    login(client, lead)
    page = client.get(f"/calllists/?campaign={campaign.id}&registered_since=2019-01-01").get_data(
        as_text=True)
    assert re.search(r"<strong>1</strong> people to call", page)
