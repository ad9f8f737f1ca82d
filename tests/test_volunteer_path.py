"""A volunteer's path: each volunteer's history counted in bulk (shifts signed up for, attended and led; doors, calls
and relational contacts), the steps the organization names, who is ready to be asked to lead, the leads' pages and
who may see them (volunteers never see others' figures)."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from canvass import campaigns, shifts, volunteer_path
from canvass.models import (
    AuditLog,
    CampaignMember,
    Channel,
    ContactAttempt,
    Household,
    Role,
    ShiftKind,
    ShiftSignup,
)
from canvass.volunteer_path import DEFAULT_STEPS, Metric, Step
from tests.conftest import make_user

START = datetime(2026, 10, 10, 15, 0, tzinfo=UTC)


def shift_at(session, campaign, starts_at, title="House visits"):
    return shifts.create_shift(session, campaign, shifts.ShiftIn(
        kind=ShiftKind.canvass, title=title, starts_at=starts_at, ends_at=starts_at + timedelta(hours=3)))


def came(session, shift, user, *, lead, leader=False):
    """``user`` signed up for ``shift`` two days before and was checked in at its start."""
    shifts.sign_up(session, shift, user, now=shift.starts_at - timedelta(days=2))
    shifts.check_in(session, shift, user, by=lead, now=shift.starts_at)
    if leader:
        shifts.set_leader(session, shift, user, True)


def households(session, campaign, n):
    rows = [Household(campaign_id=campaign.id, address_key=f"{i} oak st", building_key=f"{i} oak st",
                      street="Oak St", house_number=str(i), zip5="27701") for i in range(n)]
    session.add_all(rows)
    session.flush()
    return rows


def contacts(session, campaign, user, channel, at, n, *, homes=(), undone=False, is_contact=False):
    """``n`` contacts by ``user``: at doors, one per household of ``homes`` (cycling through them)."""
    session.execute(sa.insert(ContactAttempt), [
        {"client_uuid": uuid.uuid4(), "campaign_id": campaign.id, "user_id": user.id, "channel": channel.value,
         "result_code": "TK" if is_contact else "NH", "is_contact": is_contact,
         "contacted_at": at + timedelta(minutes=i),
         "received_at": at + timedelta(minutes=i),
         "household_id": homes[i % len(homes)].id if homes else None,
         "undone_at": at if undone else None, "notes": "", "language_heard": "", "effects": {}}
        for i in range(n)])


@pytest.fixture
def team(session, campaign, lead):
    """Four volunteers of the campaign, one on each rung, and one of another campaign."""
    names = {"new": "Nina New", "came": "Carl Came", "knocks": "Kim Knocks", "led": "Lee Led"}
    people = {key: make_user(session, Role.volunteer, f"{key}@example.org", name=name) for key, name in names.items()}
    campaigns.add_member(session, campaign, people["new"])
    first = shift_at(session, campaign, START - timedelta(days=31), "September visits")
    second = shift_at(session, campaign, START, "October visits")
    came(session, first, people["came"], lead=lead)
    came(session, first, people["knocks"], lead=lead)
    came(session, second, people["knocks"], lead=lead)
    came(session, first, people["led"], lead=lead)
    came(session, second, people["led"], lead=lead, leader=True)
    shifts.sign_up(session, shift_at(session, campaign, START + timedelta(days=7), "Next visits"), people["led"],
                   now=START)
    homes = households(session, campaign, 30)
    contacts(session, campaign, people["knocks"], Channel.door, START, 40, homes=homes)  # 30 different doors
    contacts(session, campaign, people["knocks"], Channel.door, START, 5, homes=homes, undone=True)
    contacts(session, campaign, people["knocks"], Channel.phone, START - timedelta(days=31), 7, is_contact=True)
    contacts(session, campaign, people["knocks"], Channel.relational, START, 3)
    contacts(session, campaign, people["came"], Channel.door, START, 10, homes=homes[:10])
    other = campaigns.create_campaign(session, "Other campaign", "other")
    stranger = make_user(session, Role.volunteer, "stranger@example.org", name="Sam Stranger")
    came(session, shift_at(session, other, START, "Elsewhere"), stranger, lead=lead)
    contacts(session, other, people["knocks"], Channel.door, START, 50, homes=households(session, other, 50))
    session.commit()
    return {**people, "stranger": stranger, "other": other, "second": second}


def by_name(rows):
    return {r.name: r for r in rows}


# ------------------------------------------------------------------------------------------------------------------
# History and steps


def test_each_volunteers_history_counts_only_this_campaigns_work(session, campaign, team):
    rows = by_name(volunteer_path.paths(session, campaign))
    assert set(rows) == {"Nina New", "Carl Came", "Kim Knocks", "Lee Led"}  # not the other campaign's volunteer
    kim = rows["Kim Knocks"]
    assert kim.counts == {Metric.signed_up: 2, Metric.attended: 2, Metric.led: 0, Metric.doors: 30,
                          Metric.calls: 7, Metric.relational: 3, Metric.conversations: 7}
    assert kim.first_at == START - timedelta(days=33)  # signed up two days before the September shift
    assert kim.last_at == START + timedelta(minutes=39)  # her last door (undone ones do not count)
    assert rows["Lee Led"].counts[Metric.led] == 1 and rows["Lee Led"].counts[Metric.signed_up] == 3
    assert rows["Nina New"].counts == dict.fromkeys(Metric, 0) and rows["Nina New"].last_at is None


def test_each_volunteer_stands_on_the_highest_step_they_reached(session, campaign, team):
    rows = by_name(volunteer_path.paths(session, campaign))
    names = [s.name for s in DEFAULT_STEPS]
    assert names == ["Signed up", "Attended a shift", "Knocked doors", "Led a shift"]
    assert {n: (names[r.step] if r.step >= 0 else None) for n, r in rows.items()} == {
        "Nina New": None, "Carl Came": "Attended a shift", "Kim Knocks": "Knocked doors", "Lee Led": "Led a shift"}


def test_ready_to_lead_is_the_step_before_the_top_one(session, campaign, team):
    steps = volunteer_path.steps_of(campaign)
    rows = volunteer_path.paths(session, campaign, steps)
    assert volunteer_path.ready_step(steps) == 2
    assert [r.name for r in volunteer_path.filtered(rows, steps, ready=True)] == ["Kim Knocks"]
    assert [r.name for r in volunteer_path.filtered(rows, steps, step=-1)] == ["Nina New"]
    assert volunteer_path.counts_per_step(rows, steps) == [0, 1, 1, 1, 1]
    # The organization's own, shorter path: Came twice -> Led. Whoever came twice and has not led is ready.
    own = [Step("Came twice", Metric.attended, 2), Step("Led", Metric.led, 1)]
    assert [r.name for r in volunteer_path.filtered(volunteer_path.paths(session, campaign, own), own,
                                                    ready=True)] == ["Kim Knocks"]
    assert volunteer_path.ready_step(own[:1]) is None


def test_a_step_is_reached_whatever_the_steps_before_it():
    steps = list(DEFAULT_STEPS)
    assert volunteer_path.step_reached({Metric.led: 1}, steps) == 3
    assert volunteer_path.step_reached({Metric.doors: 24, Metric.signed_up: 1}, steps) == 0
    assert volunteer_path.step_reached({}, steps) == -1


def test_the_history_of_one_volunteer_has_their_shifts_and_months(session, campaign, team):
    found = volunteer_path.history(session, campaign, team["knocks"].id)
    assert [(s.title, s.checked_in_at is not None, s.leader) for s in found.shifts] == [
        ("October visits", True, False), ("September visits", True, False)]
    assert [(m.month, m.attended, m.doors, m.calls, m.relational) for m in found.months] == [
        ("2026-10", 1, 30, 0, 3), ("2026-09", 1, 0, 7, 0)]
    lee = volunteer_path.history(session, campaign, team["led"].id)
    assert [(s.title, s.checked_in_at is not None, s.leader) for s in lee.shifts][:2] == [
        ("Next visits", False, False), ("October visits", True, True)]
    assert volunteer_path.history(session, campaign, team["stranger"].id) is None


def test_the_figures_of_every_volunteer_take_the_same_few_queries_however_many(session, engine, campaign, team,
                                                                            lead):
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        volunteer_path.paths(session, campaign)
        few = len(statements)
        for i in range(20):
            extra = make_user(session, Role.volunteer, f"many{i}@example.org")
            came(session, team["second"], extra, lead=lead)
            contacts(session, campaign, extra, Channel.phone, START, 2)
        session.commit()
        statements.clear()
        assert len(volunteer_path.paths(session, campaign)) == 24
        assert len(statements) == few <= 5
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_steps_are_saved_as_typed_and_checked(session, campaign):
    def spanish(text):
        return {"Attended a shift": "Asistió a un turno"}.get(text, text)

    typed = [volunteer_path.named("Asistió a un turno", Metric.attended, 1, spanish),
             volunteer_path.named("  Tocó   50 puertas ", Metric.doors, 50, spanish),
             volunteer_path.named("Dirigió un turno", Metric.led, 1, spanish)]
    volunteer_path.save_steps(session, campaign, typed)
    session.commit()
    session.refresh(campaign)
    assert volunteer_path.steps_of(campaign) == [
        Step("Attended a shift", Metric.attended, 1, translated=True),  # left as the default: said in each language
        Step("Tocó 50 puertas", Metric.doors, 50), Step("Dirigió un turno", Metric.led, 1)]
    assert campaign.settings["calling_hours"] == ["09:00", "21:00"]  # the other settings are kept
    for steps, message in [([], "Give the path at least one step."),
                           ([Step("A", Metric.doors, 1), Step("a", Metric.calls, 1)],
                            "Two steps are named “a”: give each its own name."),
                           ([Step("A", Metric.doors, 0)], "“A” needs a number from 1 to 100000."),
                           ([Step(str(i), Metric.doors, 1) for i in range(9)], "A path has at most 8 steps.")]:
        with pytest.raises(volunteer_path.PathError) as raised:
            volunteer_path.save_steps(session, campaign, steps)
        assert str(raised.value) == message
    volunteer_path.reset_steps(session, campaign)
    assert volunteer_path.steps_of(campaign) == list(DEFAULT_STEPS)


def test_my_own_figures_count_every_campaign_and_nobody_elses(session, campaign, team):
    assert volunteer_path.my_figures(session, team["knocks"]) == {
        Metric.attended: 2, Metric.led: 0, Metric.doors: 80, Metric.calls: 7, Metric.relational: 3}
    assert volunteer_path.my_figures(session, team["new"]) == dict.fromkeys(
        [Metric.attended, Metric.led, Metric.doors, Metric.calls, Metric.relational], 0)


# ------------------------------------------------------------------------------------------------------------------
# Pages and who may see them


def test_a_lead_sees_the_list_filters_those_ready_to_lead_and_opens_one(app, campaign, team, lead):
    client = app.test_client(user=lead)
    page = client.get(f"/path/?campaign={campaign.id}").get_data(as_text=True)
    assert all(name in page for name in ("Nina New", "Carl Came", "Kim Knocks", "Lee Led"))
    assert "Sam Stranger" not in page
    assert "volunteers on the step just before the last one, now “Knocked doors”." in page
    assert "Ready to be asked to lead (1)" in page and "Name the steps" in page
    ready = client.get(f"/path/?campaign={campaign.id}&show=ready").get_data(as_text=True)
    assert "Kim Knocks" in ready and "Carl Came" not in ready and "Lee Led" not in ready
    assert "1 of 4 volunteers" in ready
    on_step = client.get(f"/path/?campaign={campaign.id}&show=2").get_data(as_text=True)
    assert "Carl Came" in on_step and "Kim Knocks" not in on_step
    show = client.get(f"/path/volunteer/{team['knocks'].id}?campaign={campaign.id}").get_data(as_text=True)
    assert "Kim Knocks" in show and "September visits" in show and "10/2026" in show
    assert 'data-label="Doors knocked">30</td>' in show


def test_volunteers_never_see_the_path_and_data_staff_only_read_it(app, session, campaign, team, data_staff):
    volunteer = app.test_client(user=team["knocks"])
    assert volunteer.get(f"/path/?campaign={campaign.id}").status_code == 403
    assert volunteer.get(f"/path/volunteer/{team['came'].id}?campaign={campaign.id}").status_code == 403
    assert volunteer.get(f"/path/export.csv?campaign={campaign.id}").status_code == 403
    data = app.test_client(user=data_staff)
    page = data.get(f"/path/?campaign={campaign.id}").get_data(as_text=True)
    assert "Kim Knocks" in page and "Name the steps" not in page
    assert data.get(f"/path/steps?campaign={campaign.id}").status_code == 403
    assert data.post(f"/path/steps?campaign={campaign.id}", data={}).status_code == 403


def test_another_campaigns_volunteer_is_not_found_on_this_campaigns_path(app, campaign, team, lead):
    client = app.test_client(user=lead)
    assert client.get(f"/path/volunteer/{team['stranger'].id}?campaign={campaign.id}").status_code == 404
    assert client.get(f"/path/volunteer/{team['stranger'].id}?campaign={team['other'].id}").status_code == 200
    assert client.get("/path/?campaign=999999").status_code == 404


def test_a_volunteers_home_shows_their_own_figures_in_their_language(app, session, campaign, team):
    client = app.test_client(user=team["knocks"])
    page = client.get("/my").get_data(as_text=True)
    assert "You've attended 2 shifts." in page and "You've knocked on 80 doors." in page
    assert "Carl Came" not in page and "Lee Led" not in page
    client.post("/language", data={"lang": "es"})
    page = client.get("/my").get_data(as_text=True)
    assert "Has participado en 2 turnos." in page and "Has tocado 80 puertas." in page
    client.post("/language", data={"lang": "vi"})
    assert "Bạn đã tham gia 2 ca." in client.get("/my").get_data(as_text=True)
    assert "What you have done" not in app.test_client(user=team["new"]).get("/my").get_data(as_text=True)


@pytest.mark.parametrize(("language", "expected"), [
    ("es", ["Trayectoria de voluntarios", "Tocó puertas", "Listos para pedirles que dirijan (1)"]),
    ("vi", ["Lộ trình tình nguyện viên", "Đã gõ cửa", "Sẵn sàng để mời dẫn dắt (1)"]),
])
def test_the_path_page_and_the_default_steps_are_in_the_leads_language(app, campaign, team, lead, language,
                                                                       expected):
    client = app.test_client(user=lead)
    client.post("/language", data={"lang": language})
    page = client.get(f"/path/?campaign={campaign.id}").get_data(as_text=True)
    assert all(text in page for text in expected), [t for t in expected if t not in page]


def test_a_lead_names_the_steps_and_the_page_shows_them_as_typed(app, session, campaign, team, lead):
    client = app.test_client(user=lead)
    blank = client.get(f"/path/steps?campaign={campaign.id}").get_data(as_text=True)
    assert 'value="Knocked doors"' in blank and "Step 6" in blank and "Step 7" not in blank  # 4 steps, 2 to add
    form = {"steps-0-name": "Vino a un turno", "steps-0-metric": "attended", "steps-0-at_least": "1",
            "steps-1-name": "Llamó 5 veces", "steps-1-metric": "calls", "steps-1-at_least": "5",
            "steps-2-name": "Dirigió", "steps-2-metric": "led", "steps-2-at_least": "1"}
    response = client.post(f"/path/steps?campaign={campaign.id}", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Steps saved." in page and "the last one, now “Llamó 5 veces”." in page
    assert "Ready to be asked to lead (1)" in page  # Kim made 7 calls
    assert session.exec(select(AuditLog.details).where(AuditLog.action == "path.steps_saved")).one() == {"steps": 3}
    bad = client.post(f"/path/steps?campaign={campaign.id}", data={**form, "steps-1-name": "dirigió"})
    assert bad.status_code == 400
    assert "Two steps are named “Dirigió”: give each its own name." in bad.get_data(as_text=True)
    back = client.post(f"/path/steps/reset?campaign={campaign.id}", follow_redirects=True).get_data(as_text=True)
    assert "Back to the default steps." in back and "Knocked doors" in back


def test_a_lead_marks_the_shifts_leader_on_the_roster_and_it_counts_once_checked_in(app, session, campaign, team,
                                                                                   lead):
    client = app.test_client(user=lead)
    shift = team["second"]
    kim = team["knocks"]
    response = client.post(f"/shifts/{shift.id}/leader/{kim.id}", data={"leader": "1"}, follow_redirects=True)
    assert "Kim Knocks leads this shift." in response.get_data(as_text=True)
    session.expire_all()
    assert session.exec(select(ShiftSignup.leader).where(ShiftSignup.user_id == kim.id,
                                                         ShiftSignup.shift_id == shift.id)).one() is True
    assert by_name(volunteer_path.paths(session, campaign))["Kim Knocks"].step == 3
    response = client.post(f"/shifts/{shift.id}/leader/{team['new'].id}", data={"leader": "1"},
                           follow_redirects=True)
    assert "Nina New is not signed up for this shift." in response.get_data(as_text=True)
    response = client.post(f"/shifts/{shift.id}/leader/{kim.id}", data={"leader": "0"}, follow_redirects=True)
    assert "Kim Knocks no longer leads this shift." in response.get_data(as_text=True)
    assert app.test_client(user=kim).post(f"/shifts/{shift.id}/leader/{kim.id}",
                                          data={"leader": "1"}).status_code == 403


def test_the_list_exports_as_csv_with_formulas_made_harmless(app, session, campaign, team, lead):
    team["new"].name = "=HYPERLINK(\"http://x\")"
    session.add(team["new"])
    session.commit()
    response = app.test_client(user=lead).get(f"/path/export.csv?campaign={campaign.id}")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Name", "Email", "Step", "Ready to be asked to lead"]
    kim = next(r for r in rows if r[0] == "Kim Knocks")
    assert kim[2:4] == ["Knocked doors", "yes"] and kim[7] == "30"
    assert any(r[0] == "'=HYPERLINK(\"http://x\")" for r in rows)
    ready = app.test_client(user=lead).get(f"/path/export.csv?campaign={campaign.id}&show=ready")
    assert len(list(csv.reader(io.StringIO(ready.get_data(as_text=True))))) == 2


def test_staff_appear_only_once_they_did_some_of_the_work(session, campaign, team, lead):
    campaigns.add_member(session, campaign, lead)
    session.commit()
    assert "lead" not in by_name(volunteer_path.paths(session, campaign))
    assert session.get(CampaignMember, (campaign.id, lead.id)) is not None
