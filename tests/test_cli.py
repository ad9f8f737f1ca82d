"""The canvass command: init, users, campaigns, demo."""

import json

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlmodel import Session, select

from canvass import db
from canvass.cli import main
from canvass.models import Campaign, User
from tests.conftest import PG_URL


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CANVASS_INSTANCE_PATH", str(tmp_path / "instance"))

    def run(*args, database_url=None, input=None):
        env = {"CANVASS_DATABASE_URL": database_url} if database_url else {}
        result = CliRunner().invoke(main, [str(a) for a in args], input=input, env=env, catch_exceptions=False)
        return result

    return run


def last_json(result):
    return json.loads(result.output.strip().splitlines()[-1])


def test_help_documents_every_command(run):
    output = run("--help").output
    for command in ("init", "user", "campaign", "serve", "demo"):
        assert command in output
    assert "--password-stdin" in run("user", "add", "--help").output
    assert "--no-serve" in run("demo", "--help").output


def test_init_creates_a_fresh_sqlite_database(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run("init", "--json", database_url=url)
    assert result.exit_code == 0
    assert last_json(result) == {"database": url, "before": None, "after": db.head_revision()}


def test_init_upgrades_an_existing_database_and_keeps_its_data(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    first = ScriptDirectory.from_config(db.alembic_config(engine)).get_base()
    db.upgrade(engine, first)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO user (email, name, role, language, languages_spoken, phone, is_active, "
                             "created_at) VALUES ('kept@example.org', 'Kept', 'lead', 'en', '[]', '', 1, "
                             "'2026-01-01 00:00:00')"))
    result = run("init", "--json", database_url=url)
    assert result.exit_code == 0
    assert last_json(result)["before"] == first and last_json(result)["after"] == db.head_revision()
    with Session(engine) as session:
        assert session.exec(select(User.email)).all() == ["kept@example.org"]
    assert run("init", database_url=url).output.startswith("Already up to date")
    engine.dispose()


def test_migrations_match_the_models(engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": db.is_model_table})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_commands_before_init_say_what_to_do(run, tmp_path):
    result = run("campaign", "list", database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.exit_code == 1
    assert "is not ready: run `canvass init` to initialise it." in result.output


def test_user_add_with_password_from_stdin(run, database_url, session):
    result = run("user", "add", "Lead@Example.org", "--role", "lead", "--password-stdin", "--json",
                 database_url=database_url, input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert last_json(result)["email"] == "lead@example.org"
    from canvass import accounts

    assert accounts.authenticate(session, "lead@example.org", "a long enough password").role == "lead"


def test_user_add_with_prompted_password(run, database_url):
    result = run("user", "add", "v@example.org", "--role", "volunteer", database_url=database_url,
                 input="a long enough password\na long enough password\n")
    assert result.exit_code == 0
    assert "Created volunteer v@example.org." in result.output


def test_user_add_refuses_short_password_and_duplicates(run, database_url):
    short = run("user", "add", "a@example.org", "--role", "data", "--password-stdin", database_url=database_url,
                input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    run("user", "add", "a@example.org", "--role", "data", "--password-stdin", database_url=database_url,
        input="a long enough password\n")
    again = run("user", "add", "a@example.org", "--role", "data", "--password-stdin", database_url=database_url,
                input="a long enough password\n")
    assert again.exit_code == 1 and "There is already an account for a@example.org." in again.output


def test_user_invite_prints_a_working_link(run, database_url, app):
    result = run("user", "invite", "new@example.org", "--role", "volunteer", "--json", database_url=database_url)
    link = last_json(result)["link"]
    assert app.test_client().get(link.split("127.0.0.1:5000", 1)[1]).status_code == 200


def test_campaign_add_and_list(run, database_url):
    created = run("campaign", "add", "Fall GOTV 2026", "--json", database_url=database_url)
    assert last_json(created) == {"id": 1, "name": "Fall GOTV 2026", "slug": "fall-gotv-2026"}
    run("campaign", "add", "Tenant Union", "--slug", "tenants", database_url=database_url)
    listed = last_json(run("campaign", "list", "--json", database_url=database_url))
    assert [c["slug"] for c in listed["campaigns"]] == ["fall-gotv-2026", "tenants"]
    dup = run("campaign", "add", "Again", "--slug", "tenants", database_url=database_url)
    assert dup.exit_code == 1 and "already a campaign with the short name “tenants”" in dup.output


def test_demo_refuses_a_database_with_real_data(run, database_url, session, lead):
    result = run("demo", "--no-serve", "--database", database_url)
    assert result.exit_code == 1
    assert "holds data that the demo did not create" in result.output
    session.expire_all()
    assert session.exec(select(User.email)).all() == ["lead@example.org"]
    assert session.exec(select(Campaign)).all() == []


@pytest.mark.skipif(bool(PG_URL), reason="the demo is built on its own SQLite file")
def test_demo_builds_a_populated_organization_and_rebuilds_it(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = run("demo", "--no-serve", "--json", "--people", 1500, "--database", url)
    assert result.exit_code == 0, result.output
    out = last_json(result)
    assert {login["role"] for login in out["logins"]} == {"admin", "lead", "data", "volunteer"}
    engine = db.make_engine(url)
    with engine.connect() as conn:
        count = lambda table: conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar()  # noqa: E731
        assert count("person") == 1500
        assert count("household") > 500
        assert count("phone") > 900
        assert count("turf") >= 10
        assert count("contact_attempt") > 500
        assert count("survey_response") > 100
        languages = {row[0] for row in conn.execute(sa.text("SELECT DISTINCT language FROM person"))}
        assert {"es", "vi", "ko", "zh"} <= languages
        assert conn.execute(sa.text("SELECT count(*) FROM household WHERE lat IS NULL")).scalar() == 0
    engine.dispose()
    assert run("demo", "--no-serve", "--people", 300, "--database", url).exit_code == 0  # rebuilds its own


@pytest.mark.skipif(bool(PG_URL), reason="the demo is built on its own SQLite file")
def test_each_demo_login_lands_on_its_page(run, tmp_path):
    from canvass.app import create_app
    from canvass.demo import DEMO_PASSWORD

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    logins = last_json(run("demo", "--no-serve", "--json", "--people", 400, "--database", url))["logins"]
    app = create_app({"MODE": "testing", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path), "WTF_CSRF_ENABLED": False})
    homes = {"admin": "/admin", "lead": "/lead", "data": "/data", "volunteer": "/my"}
    for login in logins:
        client = app.test_client()
        response = client.post("/login", data={"email": login["email"], "password": DEMO_PASSWORD})
        assert response.headers["Location"] == homes[login["role"]]
        assert client.get(homes[login["role"]]).status_code == 200
    app.extensions["canvass.engine"].dispose()


def test_commands_open_the_database_without_building_the_web_app(run, tmp_path, monkeypatch):
    import canvass.app

    def refuse(*args, **kwargs):
        raise AssertionError("a command built the web app")

    monkeypatch.setattr(canvass.app, "create_app", refuse)
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    assert run("init", database_url=url).exit_code == 0
    assert run("campaign", "add", "Fall GOTV", "--slug", "fall", database_url=url).exit_code == 0
    assert last_json(run("campaign", "list", "--json", database_url=url))["campaigns"][0]["slug"] == "fall"
