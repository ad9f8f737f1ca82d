"""Every route x every role x own or someone else's object.

Anonymous visitors are sent to the login page; a role that may not use a route gets 403; a volunteer asking for a
turf, door or call list that is not theirs gets 404 (its existence is not revealed). A route missing from the table
below fails the test, so a new route cannot skip this check.
"""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from canvass import (
    access,
    address_book,
    history,
    importing,
    jobs,
    merging,
    opt_out_files,
    opt_outs,
    phonebank,
    relational,
    shifts,
    turfs,
)
from canvass.history import uploads
from canvass.models import (
    CallEntry,
    JobStatus,
    Person,
    RelationalPerson,
    Role,
    SurveyQuestion,
    Turf,
    TurfDoor,
    User,
    utcnow,
)
from canvass.universe import Universe
from tests import snapshots
from tests.conftest import make_user

ANON, OWNER, STRANGER, DATA, LEAD, ADMIN = "anon", "owner", "stranger", "data", "lead", "admin"


def visitors(rule: access.Rule) -> set[str]:
    """The test's six visitors a rule of ``access.PAGES`` lets in: the table is the access module's, not a copy."""
    if rule.public:
        return {ANON, OWNER, STRANGER, DATA, LEAD, ADMIN}
    allowed = {who for who, role in ((DATA, Role.data), (LEAD, Role.lead), (ADMIN, Role.admin)) if role in rule.roles}
    if rule.scope == access.Scope.turf_work:
        allowed.discard(DATA)  # data staff look at turfs, but log only on a turf assigned to them
    if Role.volunteer in rule.roles:
        allowed |= {OWNER} if rule.scope != access.Scope.none else {OWNER, STRANGER}
    if rule.scope == access.Scope.call_list:
        allowed.discard(DATA)  # a call list is for its callers and leads
    if rule.scope == access.Scope.relational:
        allowed = {OWNER}  # someone on a relational list is for the volunteer whose list it is, whatever the role
    return allowed


#: endpoint -> who may use it (everyone else is refused)
ALLOWED = {endpoint: visitors(rule) for endpoint, rule in access.PAGES.items()}
#: routes that remove their object: the next allowed visitor finds it gone
REMOVES_OBJECT = {"turfs.delete", "history.confirm", "history.discard", "opt_outs.confirm", "opt_outs.discard"}
#: routes about a turf or call list: a volunteer who does not have it gets 404, not 403
OBJECT_SCOPED = {endpoint for endpoint, rule in access.PAGES.items() if rule.scope != access.Scope.none}


def all_rules():
    from canvass.app import create_app

    app = create_app({"MODE": "testing", "DATABASE_URL": "sqlite://", "INSTANCE_PATH": "/tmp/canvass-rules"})
    rules = sorted(((r.endpoint, method, r) for r in app.url_map.iter_rules()
                    for method in sorted(r.methods - {"HEAD", "OPTIONS"})), key=lambda x: (x[0], x[1]))
    app.extensions["canvass.engine"].dispose()
    return [(endpoint, method, rule.rule) for endpoint, method, rule in rules]


RULES = all_rules()


def test_every_route_is_in_the_table():
    assert {endpoint for endpoint, _, _ in RULES} == set(ALLOWED)


#: The world as built by the first test of this process: its rows, upload files, and the ids its tests use
_BUILT: dict = {}


@pytest.fixture
def world(request, app, session, engine):
    """A campaign with two turfs (one the owner's), a call list, an import, an export, and the six visitors.
    Built once per test process, then restored for each test from a snapshot, as each test may change it."""
    uploads_folder = Path(app.config["UPLOAD_FOLDER"])
    if not _BUILT:
        built = build_world(app, session, request.getfixturevalue("campaign"), request.getfixturevalue("tmp_path"))
        _BUILT.update(snapshot=snapshots.take(engine), values=built["values"],
                      user_ids={who: user.id for who, user in built["users"].items()},
                      uploads=request.getfixturevalue("tmp_path_factory").mktemp("world-uploads"))
        shutil.copytree(uploads_folder, _BUILT["uploads"], dirs_exist_ok=True)
        return built
    snapshots.restore(engine, _BUILT["snapshot"])
    shutil.copytree(_BUILT["uploads"], uploads_folder, dirs_exist_ok=True)
    return {"users": {who: session.get(User, user_id) for who, user_id in _BUILT["user_ids"].items()},
            "values": _BUILT["values"]}


def build_world(app, session, campaign, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("voter_id,first,last,address,zip,cell_phone\n1,Ana,Diaz,1 Oak St,27701,9195550001\n"
                    "2,Bo,Kim,9 Elm St,27702,9195550002\n")
    importing.import_file(session, campaign, path)
    users = {OWNER: make_user(session, "volunteer", "owner@example.org"),
             STRANGER: make_user(session, "volunteer", "stranger@example.org"),
             DATA: make_user(session, "data", "data@example.org"), LEAD: make_user(session, "lead", "lead@example.org"),
             ADMIN: make_user(session, "admin", "admin@example.org")}
    mine, other = [session.get(Turf, i) for i in turfs.cut_turfs(session, campaign, Universe(), by="zip", target=5)]
    turfs.assign_turf(session, mine, users[OWNER])
    call_list = phonebank.create_call_list(session, campaign, "Calls", Universe())
    phonebank.assign(session, call_list, users[OWNER])
    question = session.exec(select(SurveyQuestion)).first()
    batch = importing.create_batch(session, campaign, "x.csv", tmp_path / "x.csv", users[DATA])
    job = jobs.create_job(session, "export", user_id=users[DATA].id, campaign_id=campaign.id)
    job.status, job.result = JobStatus.done, {"filename": "none.xlsx"}
    upload = uploads.new_upload(Path(app.config["UPLOAD_FOLDER"]), campaign.id, "ncvhis.txt", users[DATA].id)
    upload.path.write_text("ncid\telection_lbl\telection_desc\n1\t11/08/2016\t11/08/2016 GENERAL\n")
    upload.check = history.check_history(session, campaign, upload.path).as_dict()
    uploads.save(upload)
    twins = [Person(campaign_id=campaign.id, first_name="Cy", last_name="Lu") for _ in range(2)]
    session.add_all(twins)
    session.flush()
    merge = merging.merge_people(session, *twins, users[ADMIN])  # a merge to look at and undo
    first = session.exec(select(Person).order_by(Person.id)).first()
    opt_out = opt_outs.record(session, first, reason="do_not_contact", source="manual", user=users[DATA])
    dnc = uploads.new_upload(Path(app.config["UPLOAD_FOLDER"]), campaign.id, "dnc.csv", users[DATA].id, "opt_outs")
    dnc.path.write_text("Voter ID,Reason\n2,Wrong number\n")
    dnc.check = opt_out_files.check_file(session, campaign, dnc.path).as_dict()
    uploads.save(dnc)
    relational.add_people(session, users[OWNER], campaign, address_book.one_person("Ana Diaz", "", "", None),
                          "typed", today=date(2026, 12, 3))
    starts = utcnow() + timedelta(days=2)
    shift = shifts.create_shift(session, campaign, shifts.ShiftIn(
        kind="canvass", title="Saturday", starts_at=starts, ends_at=starts + timedelta(hours=3), turf_ids=[mine.id]))
    shifts.sign_up(session, shift, users[OWNER], now=utcnow())  # the owner is on its roster
    session.commit()
    door = session.exec(select(TurfDoor.household_id).where(TurfDoor.turf_id == mine.id)).first()
    values = {"turf_id": mine.id, "household_id": door, "list_id": call_list.id,
              "entry_id": session.exec(select(CallEntry.id)).first(), "batch_id": batch.id, "job_id": job.id,
              "person_id": session.exec(select(Person.id).order_by(Person.id)).first(),
              "other_id": session.exec(select(Person.id).order_by(Person.id).offset(1)).first(),
              "merge_id": merge.id, "user_id": users[OWNER].id,
              "relational_id": session.exec(select(RelationalPerson.id)).first(),
              "question_id": question.id if question else 1, "slug": campaign.slug, "token": "not-a-token",
              "code": mine.join_code, "filename": "app.css", "upload_id": upload.token,
              "shift_id": shift.id, "shift_code": shift.signup_code, "campaign_id": campaign.id,
              "opt_out_id": opt_out.id, "list_upload_id": dnc.token}
    return {"users": users, "values": values}


def url_for_rule(rule: str, values: dict) -> str:
    import re

    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def request(app, who, method: str, url: str, users):
    client = app.test_client(user=users[who]) if who != ANON else app.test_client()
    response = client.open(url, method=method, data={})
    response.close()
    return response.status_code, response.headers.get("Location", "")


@pytest.mark.parametrize(("endpoint", "method", "rule"), RULES, ids=[f"{e}-{m}" for e, m, _ in RULES])
def test_route_is_open_only_to_its_roles_and_objects(app, world, endpoint, method, rule):
    allowed = ALLOWED[endpoint]
    url = url_for_rule(rule, world["values"])
    order = [ANON, STRANGER, OWNER, DATA, LEAD, ADMIN]  # refusals first: an allowed POST may change the world
    order.sort(key=lambda who: who in allowed)
    removed = False
    for who in order:
        status, location = request(app, who, method, url, world["users"])
        if who in allowed and removed:
            assert status == 404, (who, status)
        elif who in allowed:
            assert status not in (401, 403, 404) and "/login?next=" not in location, (who, status)
            removed = endpoint in REMOVES_OBJECT
        elif who == ANON:
            assert status in (302, 401) and "/login?next=" in location, (who, status, location)
        elif endpoint in OBJECT_SCOPED and (who == STRANGER or (endpoint.startswith("calling.") and who == DATA)
                                            or access.PAGES[endpoint].scope == access.Scope.relational):
            assert status == 404, (who, status)
        else:
            assert status == 403, (who, status)


def test_a_volunteer_never_reaches_people_outside_their_turf_through_the_api(app, world, session):
    other_door = session.exec(select(TurfDoor.household_id).where(
        TurfDoor.turf_id != world["values"]["turf_id"])).first()
    person = session.exec(select(Person).where(Person.household_id == other_door)).first()
    client = app.test_client(user=world["users"][OWNER])
    import uuid

    result = client.post("/api/v1/contacts", json={"contacts": [{
        "client_uuid": str(uuid.uuid4()), "person_id": person.id, "household_id": other_door,
        "turf_id": world["values"]["turf_id"], "result_code": "TK"}]}).get_json()
    assert result["results"][0]["status"] == "rejected"
    assert client.get(f"/walk/{world['values']['turf_id']}/door/{other_door}").status_code == 404
