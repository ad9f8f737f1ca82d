"""Exports and tallies: every figure checked against the database, formula-safe files, audit, permissions."""

import csv
import json
import os
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import select

from canvass import campaigns, contacts, exports, importing, tallies, turfs
from canvass.cli import main
from canvass.models import AuditLog, Person, Turf
from canvass.universe import Universe
from tests.conftest import make_user

TZ = "America/New_York"
PEOPLE = ("voter_id,van_id,first,last,address,zip,precinct,language\n"
          "1,101,Ana,Diaz,1 Oak St,27701,P1,es\n2,102,Bo,Kim,3 Oak St,27701,P1,ko\n3,,Cy,Lo,5 Oak St,27701,P2,\n"
          "4,104,Di,Ng,7 Elm St,27702,P2,vi\n5,105,Ed,Ray,9 Elm St,27702,P2,\n")
INJECTIONS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "=1+1", "-cmd|' /C calc'!A0"]


@pytest.fixture
def history(session, campaign, tmp_path):
    """Contacts by two volunteers in two turfs over two days, doors and phones, with survey answers."""
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    campaigns.add_question(session, campaign, code="SUPPORT", text="Support?", kind="scale")
    campaigns.add_question(session, campaign, code="ISSUES", text="Issues?", kind="multi", options="RENT = Rent\nWAGE = Wages")
    first, second = turfs.cut_turfs(session, campaign, Universe(), by="zip", target=10)
    ana = make_user(session, "volunteer", "ana@example.org", name="Ana V")
    bo = make_user(session, "volunteer", "bo@example.org", name="Bo V")
    for user in (ana, bo):
        for turf_id in (first, second):
            turfs.assign_turf(session, session.get(Turf, turf_id), user)
    people = {p.first_name: p for p in session.exec(select(Person)).all()}
    day1 = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
    day2 = day1 + timedelta(days=1)
    plan = [
        (ana, "Ana", first, "door", "TK", day1, {"SUPPORT": "1", "ISSUES": ["RENT", "WAGE"]}, INJECTIONS[0]),
        (ana, "Bo", first, "door", "NH", day1 + timedelta(minutes=4), {}, INJECTIONS[1]),
        (ana, "Cy", first, "door", "RF", day1 + timedelta(minutes=9), {}, INJECTIONS[2]),
        (bo, "Di", second, "door", "TK", day1 + timedelta(minutes=3), {"SUPPORT": "2", "ISSUES": ["RENT"]}, INJECTIONS[3]),
        (bo, "Ed", second, "door", "NH", day2, {}, INJECTIONS[4]),
        (bo, "Ed", second, "door", "TK", day2 + timedelta(hours=2), {"SUPPORT": "1"}, INJECTIONS[5]),
        (ana, "Bo", None, "phone", "NA", day2 + timedelta(minutes=30), {}, ""),
        (ana, "Bo", None, "phone", "TK", day2 + timedelta(minutes=45), {"SUPPORT": "3"}, "plain note"),
    ]
    for user, name, turf_id, channel, code, at, answers, notes in plan:
        [result] = contacts.log_contacts(session, user, campaign, [contacts.ContactIn(
            client_uuid=uuid.uuid4(), person_id=people[name].id, turf_id=turf_id, channel=channel, result_code=code,
            answers=answers, notes=notes, contacted_at=at)], now=day2 + timedelta(hours=3))
        assert result.status == "created", result.error
    undone = contacts.log_contacts(session, ana, campaign, [contacts.ContactIn(
        client_uuid=uuid.uuid4(), person_id=people["Ana"].id, turf_id=first, channel="door", result_code="MV",
        contacted_at=day2)], now=day2 + timedelta(hours=3))[0]
    session.commit()
    contacts.undo_contact(session, ana, undone.contact_id, window=timedelta(days=3650))
    session.commit()
    return campaign


def sql_count(session, where: str, what: str = "count(*)") -> int:
    return session.execute(sa.text(f"SELECT {what} FROM contact_attempt WHERE undone_at IS NULL AND {where}")).scalar_one()


def test_every_tally_matches_the_database(session, history):
    export = exports.build(session, history, exports.Filters(), TZ)
    summary = export.frames["summary"].set_index("Channel")
    assert summary.loc["All", "Attempts"] == sql_count(session, "1=1") == 8
    assert summary.loc["All", "Contacts"] == sql_count(session, "is_contact")
    assert summary.loc["All", "People reached"] == sql_count(session, "is_contact", "count(DISTINCT person_id)")
    assert summary.loc["All", "Doors knocked"] == sql_count(session, "channel = 'door'", "count(DISTINCT household_id)")
    assert summary.loc["All", "Calls made"] == sql_count(session, "channel = 'phone'")
    assert summary.loc["Door", "Attempts"] == sql_count(session, "channel = 'door'")
    assert summary.loc["All", "Contact rate"] == round(sql_count(session, "is_contact") / 8, 4)
    volunteers = export.frames["by_volunteer"].set_index("Volunteer")
    for name, email in (("Ana V", "ana@example.org"), ("Bo V", "bo@example.org")):
        user_id = session.execute(sa.text("SELECT id FROM \"user\" WHERE email = :e"), {"e": email}).scalar_one()
        assert volunteers.loc[name, "Attempts"] == sql_count(session, f"user_id = {user_id}")
        assert volunteers.loc[name, "Contacts"] == sql_count(session, f"user_id = {user_id} AND is_contact")
        assert volunteers.loc[name, "Calls"] == sql_count(session, f"user_id = {user_id} AND channel = 'phone'")
    by_turf = export.frames["by_turf"].set_index("Turf")
    for turf in session.exec(select(Turf)).all():
        assert by_turf.loc[turf.name, "Attempts"] == sql_count(session, f"turf_id = {turf.id}")
    by_day = export.frames["by_day"].set_index("Day")
    assert list(by_day["Attempts"]) == [4, 4] and by_day.index.tolist() == [date(2026, 11, 1), date(2026, 11, 2)]
    by_result = export.frames["by_result"].set_index("Code")
    for code in ("TK", "NH", "RF", "NA"):
        assert by_result.loc[code, "Attempts"] == sql_count(session, f"result_code = '{code}'")
    survey = export.frames["survey"].set_index(["Question", "Answer"])
    answered = session.execute(sa.text(
        "SELECT o.code, count(*) FROM survey_response r JOIN survey_option o ON o.id = r.option_id "
        "JOIN survey_question q ON q.id = r.question_id JOIN contact_attempt c ON c.id = r.contact_id "
        "WHERE q.code = 'SUPPORT' AND c.undone_at IS NULL GROUP BY o.code")).all()
    for option, number in answered:
        assert survey.loc[("SUPPORT", option), "Count"] == number
    assert survey.loc[("ISSUES", "RENT"), "Count"] == 2 and survey.loc[("ISSUES", "WAGE"), "Count"] == 1
    crosstab = export.frames["survey_by_precinct"].set_index(["Precinct", "Question"])
    assert crosstab.loc[("P1", "SUPPORT"), "1"] == 1 and crosstab.loc[("P2", "SUPPORT"), "1"] == 1


def test_filters_narrow_the_export(session, history):
    day_two = exports.build(session, history, exports.Filters(since=date(2026, 11, 2)), TZ)
    assert day_two.rows == 4
    phones = exports.build(session, history, exports.Filters(channel="phone"), TZ)
    assert phones.rows == 2 and set(phones.frames["contacts"]["Channel"]) == {"phone"}


def test_workbook_is_formula_safe_opens_in_openpyxl_and_has_real_dates(session, history, tmp_path):
    path = tmp_path / "results.xlsx"
    exports.export_file(session, history, exports.Filters(), path=path, timezone=TZ)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Contacts", "By volunteer", "By turf", "By day", "By result",
                               "Survey results", "Survey by turf", "Survey by precinct"]
    sheet = book["Contacts"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    header = [c.value for c in sheet[1]]
    assert {"When", "Voter ID", "VAN ID", "Result", "Volunteer", "SUPPORT", "ISSUES", "Notes"} <= set(header)
    first = {header[i]: cell for i, cell in enumerate(sheet[2])}
    assert isinstance(first["When"].value, datetime) and first["When"].value == datetime(2026, 11, 1, 10, 0)
    notes = [row[header.index("Notes")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    cells = [row[header.index("Notes")] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in cells if cell.value)  # text, never a formula
    for injected in INJECTIONS:
        assert "'" + injected in notes
    assert sheet.column_dimensions["A"].width > 8


def test_csv_is_formula_safe(session, history, tmp_path):
    path = tmp_path / "contacts.csv"
    exports.export_file(session, history, exports.Filters(), path=path, timezone=TZ)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    notes = [row["Notes"] for row in rows]
    for injected in INJECTIONS:
        assert "'" + injected in notes
    assert all(not value.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for value in row.values())


def test_tab_and_carriage_return_starts_are_neutralized_too():
    from canvass.spreadsheets import neutralize, neutralize_frame

    assert neutralize("\tcmd") == "'\tcmd" and neutralize("\rcmd") == "'\rcmd" and neutralize(-5) == -5
    frame = neutralize_frame(pd.DataFrame({"a": ["=1", "ok", None, "\tx"], "n": [1, -2, 3, 4]}))
    assert frame["a"].tolist()[:2] == ["'=1", "ok"] and frame["a"].tolist()[3] == "'\tx"
    assert frame["n"].tolist() == [1, -2, 3, 4]  # numbers stay numbers


def test_workbook_converts_with_libreoffice(session, history, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        if os.environ.get("CANVASS_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is required (CANVASS_REQUIRE_LIBREOFFICE) but soffice is missing.")
        pytest.skip("no LibreOffice (apt-get install libreoffice-calc-nogui)")
    path = tmp_path / "results.xlsx"
    exports.export_file(session, history, exports.Filters(), path=path, timezone=TZ)
    done = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(path)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    pdf = tmp_path / "results.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000


def test_van_results_for_people_imported_with_a_van_id(session, history, tmp_path):
    path = tmp_path / "van.csv"
    exports.export_file(session, history, exports.Filters(), path=path, timezone=TZ, van=True)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["VANID", "Contact Type", "Result", "Date Canvassed", "Canvassed By", "Do Not Contact",
                                   "Survey Question", "Survey Response"]
    assert "103" not in set(table["VANID"])  # Cy came without a VAN ID
    ana = table[table["VANID"] == "101"]
    assert set(ana["Survey Response"]) == {"1", "RENT", "WAGE"} and set(ana["Result"]) == {""}  # canvassed
    assert set(ana["Contact Type"]) == {"Walk"} and set(ana["Date Canvassed"]) == {"11/01/2026"}
    bo = table[table["VANID"] == "102"]
    assert {"Not Home", "No Answer"} <= set(bo["Result"]) and "Phone" in set(bo["Contact Type"])


def test_every_export_is_audited_with_filters_and_rows(session, engine, history, tmp_path):
    exports.make_export(engine, history.id, exports.Filters(channel="door"), path=tmp_path / "x.xlsx", timezone=TZ)
    entry = session.exec(select(AuditLog).where(AuditLog.action == "export")).one()
    assert entry.details["rows"] == 6 and entry.details["filters"] == {"channel": "door"}


def test_data_quality_flags_show_their_numbers():
    base = datetime(2026, 11, 1, 10, 0)
    rows = [{"volunteer": "Fast", "volunteer_email": "f@x", "is_contact": n % 4 == 0, "channel": "door",
             "household_id": n, "contacted_at": base + timedelta(seconds=10 * n)} for n in range(30)]
    rows += [{"volunteer": "Lucky", "volunteer_email": "l@x", "is_contact": True, "channel": "door",
              "household_id": 100 + n, "contacted_at": base + timedelta(minutes=4 * n)} for n in range(25)]
    rows += [{"volunteer": "Usual", "volunteer_email": "u@x", "is_contact": n % 5 == 0, "channel": "door",
              "household_id": 200 + n, "contacted_at": base + timedelta(minutes=3 * n)} for n in range(25)]
    flags = tallies.quality_flags(pd.DataFrame(rows))
    assert {(f["volunteer"], f["kind"]) for f in flags} == {("Fast", "pace"), ("Lucky", "contact rate")}
    assert next(f for f in flags if f["volunteer"] == "Lucky")["contact_rate"] == 1.0


def test_volunteers_cannot_export_or_see_the_dashboard(app, history, volunteer):
    client = app.test_client(user=volunteer)
    assert client.get("/exports/").status_code == 403
    assert client.post("/exports/", data={"campaign_id": history.id, "format": "xlsx"}).status_code == 403
    assert client.get("/dashboard").status_code == 403


def test_web_export_runs_as_a_job_then_downloads(app, session, history, data_staff, lead):
    client = app.test_client(user=data_staff)
    response = client.post("/exports/", data={"campaign_id": history.id, "format": "xlsx", "sheet": "contacts"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Export ready" in page
    download = client.get(response.headers["Location"] + "/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    download.close()
    dashboard = app.test_client(user=lead).get("/dashboard").get_data(as_text=True)
    assert "attempts today" in dashboard and '<svg xmlns="http://www.w3.org/2000/svg"' in dashboard


def test_cli_export(database_url, history, tmp_path):
    out = tmp_path / "r.xlsx"
    result = CliRunner().invoke(main, ["export", "--campaign", "test", "--out", str(out), "--since", "2026-11-02",
                                       "--json"], env={"CANVASS_DATABASE_URL": database_url,
                                                       "CANVASS_TIMEZONE": TZ})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["rows"] == 4 and data["path"] == str(out) and out.exists()
    bad = CliRunner().invoke(main, ["export", "--campaign", "test", "--out", str(tmp_path / "r.pdf")],
                             env={"CANVASS_DATABASE_URL": database_url})
    assert bad.exit_code == 1 and "ending in .xlsx or .csv" in bad.output
    assert Path(out).stat().st_size > 0


def test_free_text_answers_that_become_crosstab_headers_are_not_formulas(session, history, tmp_path):
    import csv
    import io

    from canvass.models import User

    campaigns.add_question(session, history, code="WHY", text="Why?", kind="text")
    ana = session.exec(select(User).where(User.email == "ana@example.org")).one()
    answers = ['=HYPERLINK("http://evil")', "+1+1", "@SUM(1,2)"]
    for person, answer in zip(session.exec(select(Person)).all(), answers, strict=False):
        [result] = contacts.log_contacts(session, ana, history, [contacts.ContactIn(
            client_uuid=uuid.uuid4(), person_id=person.id, channel="phone", result_code="TK",
            answers={"WHY": answer})])
        assert result.status == "created", result.error
    session.commit()
    for sheet in ("survey_by_turf", "survey_by_precinct"):
        path = tmp_path / f"{sheet}.csv"
        exports.export_file(session, history, exports.Filters(), path=path, timezone=TZ, sheet=sheet)
        header = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert {"'" + answer for answer in answers} <= set(header)
        assert not any(cell.startswith(("=", "+", "@", "-")) for cell in header)


def test_two_exports_in_the_same_second_get_their_own_files():
    names = {exports.export_name("fall", {"format": "xlsx"}, TZ) for _ in range(20)}
    assert len(names) == 20


def test_answers_are_exported_in_words_with_their_codes_beside_them(session, history):
    export = exports.build(session, history, exports.Filters(), TZ)
    contacts = export.frames["contacts"]
    ana = contacts[contacts["First name"] == "Ana"].iloc[0]
    assert (ana["ISSUES"], ana["ISSUES code"]) == ("Rent; Wages", "RENT; WAGE")
    assert {"SUPPORT", "SUPPORT code", "ISSUES", "ISSUES code"} == set(contacts.columns[-4:])
    survey = export.frames["survey"].set_index(["Question", "Answer"])
    assert survey.loc[("ISSUES", "WAGE"), "Label"] == "Wages"
    crosstab = export.frames["survey_by_precinct"]
    assert {"Rent", "Wages"} <= set(crosstab.columns) and "RENT" not in crosstab.columns
    assert set(exports.van_results(session, history, exports.Filters(), TZ)["Survey Response"]) >= {"RENT", "WAGE"}
