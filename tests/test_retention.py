"""Retention: a closed campaign takes no new contacts (at the door, on the phone, with people volunteers know,
through the sync API item by item) and can be reopened; once its retention period has passed, a purge deletes its
personal data in one transaction, keeping its tallies, other campaigns untouched, audited with counts only."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, select

from canvass import campaigns, contacts, exports, importing, overview, phonebank, retention
from canvass.cli import main
from canvass.contact_input import ContactIn
from canvass.models import (
    AuditLog,
    CallEntry,
    Campaign,
    CampaignTally,
    Channel,
    ContactAttempt,
    Email,
    ExternalId,
    Household,
    ImportBatch,
    OptOut,
    Person,
    PersonTag,
    Phone,
    QuestionKind,
    RelationalPerson,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
    Tag,
    Turf,
    TurfDoor,
    User,
)
from canvass.universe import Universe
from tests.conftest import make_user, set_clock, walkable_turf

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
TZ = "America/New_York"
PEOPLE = ("voter_id,first,last,address,zip,precinct,cell_phone,email\n"
          "1,Ana,Diaz,1 Oak St,27701,P1,9195550101,ana@example.com\n"
          "2,Bo,Kim,1 Oak St,27701,P1,9195550102,\n"
          "3,Cy,Lo,3 Oak St,27701,P2,9195550103,cy@example.com\n"
          "4,Di,Ng,5 Oak St,27701,P2,9195550104,\n")
#: Every table that holds a campaign's personal data, and how to find the campaign's rows in it.
PERSONAL = {
    Person: lambda c: Person.campaign_id == c, Household: lambda c: Household.campaign_id == c,
    Phone: lambda c: Phone.person_id.in_(select(Person.id).where(Person.campaign_id == c)),
    Email: lambda c: Email.person_id.in_(select(Person.id).where(Person.campaign_id == c)),
    ExternalId: lambda c: ExternalId.campaign_id == c, ContactAttempt: lambda c: ContactAttempt.campaign_id == c,
    SurveyResponse: lambda c: SurveyResponse.contact_id.in_(select(ContactAttempt.id)
                                                            .where(ContactAttempt.campaign_id == c)),
    OptOut: lambda c: OptOut.campaign_id == c, RelationalPerson: lambda c: RelationalPerson.campaign_id == c,
    TurfDoor: lambda c: TurfDoor.campaign_id == c,
    CallEntry: lambda c: CallEntry.call_list_id.in_(select(phonebank.CallList.id)
                                                    .where(phonebank.CallList.campaign_id == c)),
    PersonTag: lambda c: PersonTag.tag_id.in_(select(Tag.id).where(Tag.campaign_id == c)),
}


def rows(session, campaign_id: int) -> dict[str, int]:
    return {model.__name__: session.exec(select(sa.func.count()).select_from(model).where(where(campaign_id))).one()
            for model, where in PERSONAL.items()}


def fill(session, tmp_path, volunteer, name: str, slug: str) -> Campaign:
    """A campaign with people, doors, phones, emails, a turf, a call list, a relational person, a tag, a survey and
    contacts (with notes, answers and a do-not-call) by ``volunteer``."""
    campaign = campaigns.create_campaign(session, name, slug)
    session.commit()
    path = tmp_path / f"{slug}.csv"
    path.write_text(PEOPLE)
    importing.import_file(session, campaign, path)
    question = SurveyQuestion(campaign_id=campaign.id, code="SUPPORT", text="Support?", kind=QuestionKind.scale)
    session.add(question)
    session.flush()
    session.add_all([SurveyOption(question_id=question.id, code=str(n), label=str(n), position=n) for n in range(1, 6)])
    turf = walkable_turf(session, campaign, volunteer)
    phonebank.create_call_list(session, campaign, "Calls", Universe())
    tag = campaigns.add_tag(session, campaign, "Yard sign")
    people = session.exec(select(Person).where(Person.campaign_id == campaign.id).order_by(Person.id)).all()
    session.add(PersonTag(person_id=people[0].id, tag_id=tag.id))
    friend = RelationalPerson(campaign_id=campaign.id, user_id=volunteer.id, name="Tía Rosa", first_name="Rosa",
                              phone="+19195550199", dedupe_key=f"rosa-{slug}")
    session.add(friend)
    session.flush()
    items = [ContactIn(client_uuid=uuid.uuid4(), person_id=p.id, household_id=p.household_id, turf_id=turf.id,
                       result_code=code, notes=f"note about {p.first_name}", answers={"SUPPORT": answer},
                       contacted_at=NOW - timedelta(days=days))
             for p, code, answer, days in zip(people, ("TK", "NH", "TK", "RF"), ("2", None, "5", None), (1, 1, 2, 3),
                                              strict=True)]
    result = contacts.log_contacts(session, volunteer, campaign, items, on_turfs={turf.id}, now=NOW)
    phone = session.exec(select(Phone).where(Phone.person_id == people[1].id)).first()
    result += contacts.log_contacts(session, volunteer, campaign, [
        ContactIn(client_uuid=uuid.uuid4(), person_id=people[1].id, phone_id=phone.id, channel=Channel.phone,
                  result_code="DNC", contacted_at=NOW - timedelta(days=1)),
        ContactIn(client_uuid=uuid.uuid4(), relational_id=friend.id, channel=Channel.relational, result_code="TK",
                  contacted_at=NOW - timedelta(days=1))], now=NOW)
    assert [r.status for r in result] == ["created"] * 6, [r.error for r in result]
    session.commit()
    return campaign


@pytest.fixture
def filled(session, tmp_path, volunteer):
    return fill(session, tmp_path, volunteer, "Fall GOTV", "fall")


@pytest.fixture
def other(session, tmp_path, volunteer):
    return fill(session, tmp_path, volunteer, "Spring drive", "spring")


def test_a_filled_campaign_has_rows_in_every_personal_table(session, filled):
    assert all(rows(session, filled.id).values()), rows(session, filled.id)


# ------------------------------------------------------------------------------------------------------------------
# Closing and reopening


def test_closing_sets_the_purge_date_from_the_period_and_records_it(session, filled, admin):
    retention.close_campaign(session, filled, admin, days=30, now=NOW)
    session.commit()
    assert filled.closed_at == NOW and filled.closed_by_id == admin.id and filled.purge_after == NOW + timedelta(30)
    assert retention.state(filled, NOW) == "closed" and retention.state(filled, NOW + timedelta(30)) == "due"
    entry = session.exec(select(AuditLog).where(AuditLog.action == "campaign.closed")).one()
    assert entry.user_id == admin.id and entry.details["retention_days"] == 30


def test_a_closed_campaign_refuses_each_new_contact_with_a_reason_but_keeps_answering_duplicates(session, filled,
                                                                                                 volunteer):
    stored = session.exec(select(ContactAttempt).where(ContactAttempt.campaign_id == filled.id)).first()
    retention.close_campaign(session, filled, None, days=30, now=NOW)
    session.commit()
    person = session.exec(select(Person).where(Person.campaign_id == filled.id)).first()
    turf = session.exec(select(Turf).where(Turf.campaign_id == filled.id)).first()
    results = contacts.log_contacts(session, volunteer, filled, [
        ContactIn(client_uuid=uuid.uuid4(), person_id=person.id, household_id=person.household_id, turf_id=turf.id,
                  result_code="TK"),
        ContactIn(client_uuid=stored.client_uuid, person_id=person.id, result_code="TK")], on_turfs={turf.id})
    assert [r.status for r in results] == ["rejected", "duplicate"]
    assert results[0].error == "This campaign is closed: it takes no new contacts."


def test_the_sync_api_refuses_a_closed_campaigns_items_one_by_one_and_stores_the_open_ones(app, session, filled,
                                                                                            other, volunteer):
    retention.close_campaign(session, filled, None, days=30, now=NOW)
    session.commit()
    batch = []
    for campaign in (filled, other):
        person = session.exec(select(Person).where(Person.campaign_id == campaign.id)).first()
        turf = session.exec(select(Turf).where(Turf.campaign_id == campaign.id)).first()
        batch.append({"client_uuid": str(uuid.uuid4()), "person_id": person.id, "household_id": person.household_id,
                      "turf_id": turf.id, "result_code": "NH"})
    friend = session.exec(select(RelationalPerson).where(RelationalPerson.campaign_id == filled.id)).one()
    batch.append({"client_uuid": str(uuid.uuid4()), "relational_id": friend.id, "channel": "relational",
                  "result_code": "TK"})
    client = app.test_client(user=volunteer)
    results = client.post("/api/v1/contacts", json={"contacts": batch}).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "created", "rejected"]
    assert results[0]["error"] == results[2]["error"] == "This campaign is closed: it takes no new contacts."
    session.rollback()  # a fresh snapshot: the request above wrote
    volunteer.language = "es"  # the reason comes in the volunteer's language
    session.add(volunteer)
    session.commit()
    spanish = app.test_client(user=volunteer).post("/api/v1/contacts", json={"contacts": batch[:1]})
    assert spanish.get_json()["results"][0]["error"] == "Esta campaña está cerrada: ya no acepta contactos nuevos."


def test_a_volunteer_opening_a_closed_campaigns_turf_reads_a_plain_sentence(app, session, filled, volunteer):
    retention.close_campaign(session, filled, None, days=30, now=NOW)
    session.commit()
    turf = session.exec(select(Turf).where(Turf.campaign_id == filled.id)).first()
    household = session.exec(select(TurfDoor).where(TurfDoor.turf_id == turf.id)).first().household_id
    client = app.test_client(user=volunteer)
    for url in (f"/walk/{turf.id}", f"/walk/{turf.id}/door/{household}"):
        page = client.get(url).get_data(as_text=True)
        assert "The campaign Fall GOTV is closed: no more doors or calls for it." in page and "Ana" not in page


def test_reopening_takes_contacts_again_and_is_audited(session, filled, volunteer, admin):
    retention.close_campaign(session, filled, admin, days=0, now=NOW)
    retention.reopen_campaign(session, filled, admin)
    session.commit()
    assert filled.closed_at is None and filled.purge_after is None and retention.state(filled, NOW) == "open"
    person = session.exec(select(Person).where(Person.campaign_id == filled.id)).first()
    [result] = contacts.log_contacts(session, volunteer, filled, [ContactIn(client_uuid=uuid.uuid4(),
                                                                            person_id=person.id, result_code="NH")])
    assert result.status == "created"
    with pytest.raises(retention.RetentionError):
        retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW + timedelta(days=999))
    assert [a.action for a in session.exec(select(AuditLog).where(AuditLog.action.like("campaign.%"))
                                           .order_by(AuditLog.id))][-2:] == ["campaign.closed", "campaign.reopened"]


# ------------------------------------------------------------------------------------------------------------------
# Purging


def _tallies(session, campaign) -> dict[str, list]:
    built = exports.build(session, campaign, exports.Filters(), TZ)
    return {name: frame.reset_index(drop=True).astype(object).where(frame.notna().to_numpy(), None)
            .to_dict("split")["data"] for name, frame in built.frames.items() if name != "contacts"}


def test_purge_leaving_tallies_deletes_every_personal_row_and_keeps_the_same_tallies(session, filled, other, admin,
                                                                                      tmp_path):
    before, others = _tallies(session, filled), rows(session, other.id)
    other_tallies = _tallies(session, other)
    dashboard_before = overview.dashboard(session, filled, TZ, now=NOW)
    upload = tmp_path / "uploads" / "voters.csv"
    upload.parent.mkdir()
    upload.write_text(PEOPLE)
    session.add(ImportBatch(campaign_id=filled.id, filename="voters.csv", stored_path=str(upload),
                            problems=[{"row": 2, "value": "Ana Diaz"}]))
    retention.close_campaign(session, filled, admin, days=10, now=NOW)
    session.commit()
    report = retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW + timedelta(days=10))
    session.commit()
    retention.remove_files(report)

    assert rows(session, filled.id) == {name: 0 for name in rows(session, filled.id)}
    assert rows(session, other.id) == others and _tallies(session, other) == other_tallies
    assert _tallies(session, filled) == before
    assert report.deleted["people"] == 4 and report.deleted["contacts"] == 6 and report.deleted["files"] == 1
    assert not upload.exists()
    batch = session.exec(select(ImportBatch).where(ImportBatch.campaign_id == filled.id,
                                                   ImportBatch.filename == "voters.csv")).one()
    assert batch.problems == [] and batch.stored_path == ""
    assert filled.purged_at == NOW + timedelta(days=10) and filled.purged_by_id == admin.id
    assert session.exec(select(sa.func.count()).select_from(CampaignTally)
                        .where(CampaignTally.campaign_id == filled.id)).one() == len(retention.TALLY_SHEETS)
    assert session.exec(select(sa.func.count()).select_from(Turf).where(Turf.campaign_id == filled.id)).one() == 1
    assert session.get(User, admin.id) is not None
    after = overview.dashboard(session, filled, TZ, now=NOW)
    assert after["summary"] == dashboard_before["summary"] and after["results"] == dashboard_before["results"]
    pd.testing.assert_frame_equal(after["survey"].reset_index(drop=True),
                                  dashboard_before["survey"].reset_index(drop=True), check_dtype=False)


def test_the_purge_is_audited_with_counts_and_no_personal_data(session, filled, admin):
    retention.close_campaign(session, filled, admin, days=0, now=NOW)
    retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW)
    session.commit()
    entry = session.exec(select(AuditLog).where(AuditLog.action == "campaign.purged")).one()
    assert entry.user_id == admin.id and entry.object_id == filled.id and entry.details["deleted"]["people"] == 4
    text = json.dumps(entry.details)
    for personal in ("Ana", "Diaz", "Oak", "9195550101", "ana@example.com", "note about", "Rosa"):
        assert personal not in text


def test_a_dry_run_changes_nothing(session, filled, admin):
    retention.close_campaign(session, filled, admin, days=0, now=NOW)
    session.commit()
    before = rows(session, filled.id)
    report = retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW, dry_run=True)
    session.commit()
    assert report.dry_run and report.deleted["people"] == 4
    assert rows(session, filled.id) == before and filled.purged_at is None
    assert not session.exec(select(AuditLog).where(AuditLog.action == "campaign.purged")).all()


def test_a_purge_is_refused_before_the_date_and_for_an_open_campaign(session, filled, admin):
    with pytest.raises(retention.RetentionError, match="Close the campaign first"):
        retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW)
    retention.close_campaign(session, filled, admin, days=5, now=NOW)
    with pytest.raises(retention.RetentionError, match="has not passed yet"):
        retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW + timedelta(days=4))


def test_the_cli_purges_only_the_campaigns_that_are_due_and_its_dry_run_changes_nothing(app, session, filled, other,
                                                                                        monkeypatch, database_url):
    monkeypatch.setenv("CANVASS_DATABASE_URL", database_url)
    retention.close_campaign(session, filled, None, days=0, now=NOW - timedelta(days=1))
    retention.close_campaign(session, other, None, days=3650, now=NOW)
    session.commit()
    runner = CliRunner()
    dry = runner.invoke(main, ["campaign", "purge", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    out = json.loads(dry.output.splitlines()[-1])
    assert out["dry_run"] and [c["campaign"] for c in out["campaigns"]] == ["fall"]
    session.rollback()
    assert rows(session, filled.id)["Person"] == 4
    session.rollback()  # this reader's transaction ends before the purge, as a request's does
    done = runner.invoke(main, ["campaign", "purge"])
    assert done.exit_code == 0 and "Purged fall: 4 people" in done.output, done.output
    session.rollback()
    assert rows(session, filled.id)["Person"] == 0 and rows(session, other.id)["Person"] == 4
    assert "No campaign is due" in runner.invoke(main, ["campaign", "purge"]).output


# ------------------------------------------------------------------------------------------------------------------
# The admin's page


def test_an_admin_closes_sees_the_export_offered_and_purges_with_the_typed_name(app, session, filled, admin):
    set_clock(app, NOW)
    client = app.test_client(user=admin)
    page = client.get("/campaigns/fall/retention").get_data(as_text=True)
    assert "Export the results" in page and "Download the do-not-contact list" in page and "Purge" not in \
        page.split("What it keeps")[1]
    closed = client.post("/campaigns/fall/close", data={"days": "0"}, follow_redirects=True).get_data(as_text=True)
    assert "Campaign closed: it takes no new contacts." in closed and 'id="purge"' in closed
    wrong = client.post("/campaigns/fall/purge", data={"name": "Fall"})
    assert wrong.status_code == 400 and "The name typed is not this campaign" in wrong.get_data(as_text=True)
    done = client.post("/campaigns/fall/purge", data={"name": " fall gotv "}, follow_redirects=True)
    assert "Personal data purged: 4 people and 6 contacts deleted. The tallies are kept." in done.get_data(as_text=True)
    session.rollback()
    assert rows(session, filled.id)["Person"] == 0
    dashboard = client.get(f"/dashboard?campaign={filled.id}")
    assert dashboard.status_code == 200


@pytest.mark.parametrize("role", ["lead", "data", "volunteer"])
def test_only_admins_may_close_or_purge(app, session, filled, role):
    client = app.test_client(user=make_user(session, role))
    assert client.get("/campaigns/fall/retention").status_code == 403
    assert client.post("/campaigns/fall/close", data={"days": "0"}).status_code == 403
    assert client.post("/campaigns/fall/purge", data={"name": "Fall GOTV"}).status_code == 403
    session.rollback()
    assert session.get(Campaign, filled.id).closed_at is None


def test_after_a_purge_the_tally_export_still_writes_its_workbook_and_sheets(session, filled, admin, tmp_path):
    before = tmp_path / "before.csv"
    exports.export_file(session, filled, exports.Filters(), path=before, timezone=TZ, sheet="by_turf")
    retention.close_campaign(session, filled, admin, days=0, now=NOW)
    retention.purge_campaign(session, filled, admin, timezone=TZ, now=NOW)
    session.commit()
    after = tmp_path / "after.csv"
    exports.export_file(session, filled, exports.Filters(), path=after, timezone=TZ, sheet="by_turf")
    assert after.read_text() == before.read_text()
    workbook = exports.export_file(session, filled, exports.Filters(), path=tmp_path / "all.xlsx", timezone=TZ)
    assert workbook["rows"] == 0 and (tmp_path / "all.xlsx").stat().st_size > 0
    with pytest.raises(exports.ExportError):
        exports.export_file(session, filled, exports.Filters(), path=tmp_path / "van.csv", timezone=TZ, van=True)


def test_a_closed_campaign_takes_no_one_new_on_a_volunteers_list_of_people_they_know(app, session, filled, volunteer):
    retention.close_campaign(session, filled, None, days=30, now=NOW)
    session.commit()
    client = app.test_client(user=volunteer)
    page = client.get(f"/people-i-know/?campaign_id={filled.id}").get_data(as_text=True)
    assert "Tía Rosa" not in page
    client.post("/people-i-know/add", data={"campaign_id": filled.id, "name": "Nuevo Amigo", "phone": "9195550111"})
    session.rollback()
    assert session.exec(select(sa.func.count()).select_from(RelationalPerson)
                        .where(RelationalPerson.campaign_id == filled.id)).one() == 1


def test_a_purge_that_cannot_get_its_tables_soon_fails_cleanly_instead_of_stalling_everyone(engine, session, filled,
                                                                                            admin, monkeypatch):
    """On PostgreSQL an open transaction on the purged tables (a long export) would keep the purge waiting, and
    every page queued behind it: the purge gives up after a few seconds and nothing is changed."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one at a time: the purge waits for the write lock like any write")
    monkeypatch.setattr(retention, "LOCK_WAIT_SECONDS", 1)
    retention.close_campaign(session, filled, None, days=0, now=NOW - timedelta(days=1))
    session.commit()
    with Session(engine) as reader:
        reader.exec(select(sa.func.count()).select_from(Person)).one()  # an export reading, its transaction open
        with Session(engine) as purging:
            campaign = purging.get(Campaign, filled.id)
            with pytest.raises(retention.RetentionError, match="nothing was purged"):
                retention.purge_campaign(purging, campaign, admin, timezone="UTC", now=NOW, export_folder=None)
            purging.rollback()
    session.rollback()
    assert rows(session, filled.id)["Person"] == 4
