"""Vote history: reading the states' history files (fixtures built from the published layouts), matching them to
people by voter ID, importing them again without adding anything, and the command line."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner
from sqlmodel import select

from canvass import history
from canvass.cli import main
from canvass.history.layouts import HistoryFileError, election_kind, method_of, sniff, wide_column_election
from canvass.models import Election, ElectionKind, ExternalId, Household, Person, Vote, VoteMethod

NC = "ncvhis_chatham_sample.txt"
FL = "fl_LAF_H_20170103_sample.txt"
MN = "mn_election01_sample.csv"
VAN = "van_export_history.tsv"


@pytest.fixture
def history_dir(fixtures_dir):
    return fixtures_dir / "history"


def make_person(session, campaign, source: str, value: str, **overrides) -> Person:
    """A person of the campaign known by ``source`` ID ``value``, at a door of their own."""
    household = Household(campaign_id=campaign.id, address=f"{value} OAK ST", street="OAK ST", address_key=value,
                          building_key=value)
    session.add(household)
    session.flush()
    person = Person(campaign_id=campaign.id, household_id=household.id, first_name="Ana", last_name=value,
                    **overrides)
    session.add(person)
    session.flush()
    session.add(ExternalId(campaign_id=campaign.id, person_id=person.id, source=source, value=value))
    session.flush()
    return person


def votes_of(session, person: Person) -> dict[tuple[str, date], str]:
    rows = session.execute(select(Election.kind, Election.held_on, Vote.method).join(
        Vote, Vote.election_id == Election.id).where(Vote.person_id == person.id)).all()
    return {(kind, day): method for kind, day, method in rows}


# ------------------------------------------------------------------------------------------------------------------
# Pure: layouts and cells


@pytest.mark.parametrize(("name", "layout", "source"), [
    (NC, "nc_history", "voter_id"), (FL, "fl_history", "voter_id"), (MN, "mn_history", "voter_id"),
    (VAN, "wide", "van_id")])
def test_each_published_history_layout_is_recognised(history_dir, name, layout, source):
    found = sniff((history_dir / name).read_bytes())
    assert (found.name, found.source) == (layout, source)


def test_a_file_without_a_voter_id_is_refused_with_a_sentence():
    with pytest.raises(HistoryFileError, match="no voter ID column"):
        sniff(b"first_name,last_name\nAna,Garcia\n")


@pytest.mark.parametrize(("header", "expected"), [
    ("General16", (date(2016, 11, 8), ElectionKind.general)), ("Primary16", (date(2016, 6, 1), ElectionKind.primary)),
    ("MuniPrimary17", (date(2017, 9, 1), ElectionKind.municipal)),
    ("Municipal19", (date(2019, 11, 1), ElectionKind.municipal)),
    ("General_2018_11_06", (date(2018, 11, 6), ElectionKind.general)),
    ("GENERAL-11/08/2016", (date(2016, 11, 8), ElectionKind.general)),
    ("vf_g2016", (date(2016, 11, 8), ElectionKind.general)), ("General98", (date(1998, 11, 3), ElectionKind.general)),
    ("Primary16Party", None), ("Age", None), ("FirstName", None)])
def test_wide_history_columns_name_their_election(header, expected):
    found = wide_column_election(header)
    assert (found[:2] if found else None) == expected


@pytest.mark.parametrize(("name", "kind"), [
    ("11/08/2016 GENERAL", ElectionKind.general), ("03/15/2016 PRIMARY", ElectionKind.primary),
    ("11/07/2017 MUNICIPAL GENERAL", ElectionKind.municipal), ("05/08/2018 SECOND PRIMARY", ElectionKind.primary),
    ("11/07/2017 - CITY GENERAL - MINNEAPOLIS", ElectionKind.municipal), ("GEN", ElectionKind.general),
    ("PPP", ElectionKind.primary), ("RUN", ElectionKind.other), ("10/10/2017 SPECIAL", ElectionKind.other)])
def test_election_kinds_come_from_their_names(name, kind):
    assert election_kind(name) == kind


@pytest.mark.parametrize(("cell", "layout", "method"), [
    ("ABSENTEE ONESTOP", "nc_history", VoteMethod.early), ("IN-PERSON", "nc_history", VoteMethod.election_day),
    ("ABSENTEE BY MAIL", "nc_history", VoteMethod.absentee), ("PROVISIONAL", "nc_history", VoteMethod.unknown),
    ("A", "fl_history", VoteMethod.absentee), ("E", "fl_history", VoteMethod.early),
    ("Y", "fl_history", VoteMethod.election_day), ("N", "fl_history", None), ("B", "fl_history", None),
    ("P", "fl_history", None), ("P", "mn_history", VoteMethod.election_day), ("A", "mn_history", VoteMethod.absentee),
    ("Y", "wide", VoteMethod.unknown), ("", "wide", None), ("N", "wide", None), ("A", "wide", VoteMethod.absentee)])
def test_cells_say_whether_and_how_a_person_voted(cell, layout, method):
    assert method_of(cell, layout) == method


# ------------------------------------------------------------------------------------------------------------------
# Importing


def test_north_carolina_history_links_votes_by_ncid_and_reports_the_unmatched(session, campaign, history_dir):
    ana = make_person(session, campaign, "voter_id", "AA100001", registered_on=date(2015, 1, 5))
    ben = make_person(session, campaign, "voter_id", "AA100002")
    cy = make_person(session, campaign, "voter_id", "AA100003")
    report = history.import_history(session, campaign, history_dir / NC)
    session.commit()
    assert (report.rows, report.matched, report.unmatched, report.elections) == (9, 7, 2, 5)
    assert [r["value"] for r in report.unmatched_rows] == ["EH999999", "EH999999"]
    assert report.unmatched_rows[0]["row"] == 9  # the spreadsheet row: the header is row 1
    assert votes_of(session, ana) == {
        ("general", date(2016, 11, 8)): "e", ("general", date(2018, 11, 6)): "d", ("general", date(2020, 11, 3)): "a",
        ("primary", date(2016, 3, 15)): "d"}
    assert votes_of(session, ben) == {("general", date(2016, 11, 8)): "d", ("municipal", date(2017, 11, 7)): ""}
    assert votes_of(session, cy) == {("general", date(2020, 11, 3)): "e"}  # its ID had a trailing space


def test_importing_the_same_history_again_adds_nothing(session, campaign, history_dir):
    make_person(session, campaign, "voter_id", "AA100001")
    first = history.import_history(session, campaign, history_dir / NC)
    session.commit()
    again = history.import_history(session, campaign, history_dir / NC)
    session.commit()
    assert (first.added, first.new_elections) == (4, 5)
    assert (again.added, again.new_elections, again.matched) == (0, 0, 4)
    assert session.execute(select(Vote)).all().__len__() == 4


def test_florida_history_without_header_keeps_only_counted_votes(session, campaign, history_dir):
    voter = make_person(session, campaign, "voter_id", "100432871")
    other = make_person(session, campaign, "voter_id", "100432872")
    report = history.import_history(session, campaign, history_dir / FL)
    session.commit()
    assert (report.rows, report.matched, report.unmatched, report.elections) == (9, 7, 2, 6)
    assert votes_of(session, voter) == {
        ("general", date(2016, 11, 8)): "a", ("primary", date(2016, 8, 30)): "d", ("primary", date(2016, 3, 15)): "e",
        ("general", date(2018, 11, 6)): "d"}
    # N: did not vote; B: a mail ballot that was not counted
    assert votes_of(session, other) == {("general", date(2020, 11, 3)): "e"}


def test_minnesota_history_reads_pandas_dates_and_rejects_a_row_without_one(session, campaign, history_dir):
    voter = make_person(session, campaign, "voter_id", "2000111")
    report = history.import_history(session, campaign, history_dir / MN)
    session.commit()
    assert (report.rows, report.matched, report.unmatched, report.rejected) == (6, 3, 2, 1)
    assert report.problems[0]["row"] == 7 and report.problems[0]["value"] == "not a date"
    assert votes_of(session, voter) == {("general", date(2016, 11, 8)): "d", ("general", date(2018, 11, 6)): "a",
                                        ("primary", date(2016, 8, 9)): "d"}


def test_van_history_columns_in_a_voter_file_become_votes(session, campaign, history_dir):
    maria = make_person(session, campaign, "van_id", "100001")
    minh = make_person(session, campaign, "van_id", "100002")
    report = history.import_history(session, campaign, history_dir / VAN)
    session.commit()
    assert (report.rows, report.matched, report.unmatched, report.elections) == (4, 2, 2, 5)
    assert votes_of(session, maria) == {
        ("general", date(2016, 11, 8)): "", ("general", date(2018, 11, 6)): "a", ("primary", date(2016, 6, 1)): "",
        ("primary", date(2020, 3, 1)): "e"}
    assert votes_of(session, minh) == {("municipal", date(2019, 11, 1)): ""}


def test_a_check_writes_nothing(session, campaign, history_dir):
    make_person(session, campaign, "voter_id", "AA100001")
    report = history.check_history(session, campaign, history_dir / NC)
    assert (report.matched, report.elections, report.added) == (4, 5, 0)
    assert report.sample[0]["ncid"] == "AA100001"
    assert session.execute(select(Election)).all() == [] and session.execute(select(Vote)).all() == []


def test_registration_dates_come_from_the_voter_files_column(session, campaign, history_dir):
    person = make_person(session, campaign, "voter_id", "AA100001", custom={"registr_dt": "04/02/2017"})
    history.import_history(session, campaign, history_dir / NC)
    session.commit()
    session.refresh(person)
    assert person.registered_on == date(2017, 4, 2)


def test_another_campaigns_people_are_not_matched(session, campaign, history_dir):
    from canvass import campaigns

    other = campaigns.create_campaign(session, "Other", "other")
    make_person(session, other, "voter_id", "AA100001")
    report = history.import_history(session, campaign, history_dir / NC)
    assert report.matched == 0 and report.unmatched == 9


# ------------------------------------------------------------------------------------------------------------------
# Command line


def test_history_import_prints_its_figures_as_the_last_json_line(app, session, campaign, history_dir, monkeypatch,
                                                                  database_url):
    make_person(session, campaign, "voter_id", "100432871")
    session.commit()
    monkeypatch.setenv("CANVASS_DATABASE_URL", database_url)
    runner = CliRunner()
    result = runner.invoke(main, ["history", "import", str(history_dir / FL), "--campaign", "test", "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert list(line)[:5] == ["rows", "matched", "unmatched", "elections", "seconds"]
    assert (line["rows"], line["matched"], line["unmatched"], line["elections"]) == (9, 4, 5, 6)
    again = runner.invoke(main, ["history", "import", str(history_dir / FL), "--campaign", "test", "--json"])
    assert json.loads(again.output.strip().splitlines()[-1])["votes_added"] == 0


def test_history_import_of_a_file_it_cannot_read_says_why(app, campaign, tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("CANVASS_DATABASE_URL", database_url)
    path = tmp_path / "names.csv"
    path.write_text("first,last\nAna,Garcia\n")
    result = CliRunner().invoke(main, ["history", "import", str(path), "--campaign", "test", "--json"])
    assert result.exit_code == 1
    assert "no voter ID column" in json.loads(result.output.strip().splitlines()[-1])["error"]
