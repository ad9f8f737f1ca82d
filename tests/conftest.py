"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when CANVASS_TEST_DATABASE_URL is set).

The schema is built once per run with the real migrations; each test then gets a copy (SQLite) or emptied tables
(PostgreSQL), which keeps the suite fast on both engines.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from flask_login import FlaskLoginClient
from sqlmodel import Session, SQLModel
from werkzeug.routing import Rule

from canvass import accounts, campaigns, db, importing, turfs
from canvass.app import create_app
from canvass.models import Role, Turf
from canvass.universe import Universe

PG_URL = os.environ.get("CANVASS_TEST_DATABASE_URL", "")
PASSWORD = "correct horse battery"


#: Variables that steer the test run itself; every other CANVASS_* variable is an app setting.
TEST_CONTROLS = ("CANVASS_TEST_", "CANVASS_REQUIRE_", "CANVASS_SCREENSHOTS", "CANVASS_CHROMIUM")


@pytest.fixture(autouse=True)
def no_developer_settings(monkeypatch):
    """Tests never read the developer's environment (a production CANVASS_SECRET_KEY exported in the shell, say)."""
    for name in list(os.environ):
        if name.startswith("CANVASS_") and not name.startswith(TEST_CONTROLS):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def no_queue_worker_outlives_its_test():
    """An app built in production or development mode on PostgreSQL works the job queue in a thread with a pool of
    its own; stopped here, its connections close with it instead of being collected open during a later test (which
    then failed on psycopg's ResourceWarning, on whichever test the collector happened to run)."""
    yield
    from canvass import queue

    queue.stop_workers(timeout=20)


def pytest_report_header(config):
    return f"canvass test database: {'PostgreSQL ' + db.make_engine(PG_URL).url.render_as_string() if PG_URL else 'SQLite'}"


def pytest_sessionstart(session):
    from canvass.i18n import compile_catalogs

    compile_catalogs()  # message catalogs are compiled at install or, here, at test time
    if os.environ.get("CANVASS_REQUIRE_POSTGRES") and not PG_URL.startswith("postgresql"):
        raise pytest.UsageError("CANVASS_REQUIRE_POSTGRES is set but CANVASS_TEST_DATABASE_URL is not a PostgreSQL URL.")


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set CANVASS_TEST_DATABASE_URL)")
    skip_again = pytest.mark.skip(reason="what it checks does not depend on the database: checked on SQLite")
    for item in items:
        if "postgres_only" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if PG_URL and ("same_on_every_database" in item.keywords or not _touches_a_database(item)):
            item.add_marker(skip_again)


def _touches_a_database(item) -> bool:
    """Whether a test's outcome may depend on the database: it asks for one (``template_url`` is under every database
    fixture, ``databases`` under the served apps), or its module picks one itself. The pure rest (parsing, cleaning,
    translations) runs on SQLite's run only, which keeps CI within its time."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(fixtures & {"template_url", "databases"}) or "PG_URL" in vars(item.module) \
        or "CANVASS_TEST_DATABASE_URL" in Path(str(item.fspath)).read_text()


def _pg_admin(statement: str) -> None:
    engine = db.make_engine(sa.make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False),
                            poolclass=sa.pool.NullPool)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture(scope="session")
def template_url(request, tmp_path_factory):
    """The migrated schema each test starts from. On PostgreSQL with several workers (pytest -n), each worker gets
    a database of its own beside the given one (the given role must be allowed to create databases)."""
    if PG_URL:
        worker = getattr(request.config, "workerinput", {}).get("workerid")
        url = PG_URL
        if worker:
            name = f"{sa.make_url(PG_URL).database}_{worker}"
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _pg_admin(f'CREATE DATABASE "{name}"')
            url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            # A test database need not survive a power cut: commits return without waiting for the disk (new
            # connections, so the app's too, take this setting; a server crash could lose only the last commits)
            conn.execute(sa.text(f'ALTER DATABASE "{sa.make_url(url).database}" SET synchronous_commit = off'))
        db.upgrade(engine)
        engine.dispose()
        yield url
        for emptying in _EMPTYING.values():
            emptying.dispose()
        if worker:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield str(path)


_EMPTYING: dict[str, sa.Engine] = {}


def _empty_postgres(url: str) -> None:
    """Empties the tables the last test wrote to and restarts every id at 1. Truncating all 41 tables each time
    took 0.2-1 s a test (PostgreSQL makes new files for each table and index); truncating only the written ones
    still 60 ms, where deleting their few rows, children first, takes 7."""
    engine = _EMPTYING.get(url) or _EMPTYING.setdefault(url, db.make_engine(url, pool_size=1))
    names = [table.name for table in SQLModel.metadata.sorted_tables]
    written = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT FROM \"{name}\")" for name in names)
    with engine.begin() as conn:
        used = set(conn.execute(sa.text(written)).scalars())
        for name in reversed(names):
            if name in used:
                conn.execute(sa.text(f'DELETE FROM "{name}"'))
        # Ids taken by rows since rolled back count too: the tables' own sequences start again (RESTART IDENTITY
        # did that); the job queue's tables, which the tests leave alone, keep theirs.
        conn.execute(sa.text(
            "SELECT setval(d.objid::regclass, 1, false) FROM pg_depend d "
            "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE d.deptype IN ('a', 'i') AND t.relname = ANY(:names) "
            "AND t.relnamespace = current_schema()::regnamespace"), {"names": names})


@pytest.fixture
def database_url(template_url, tmp_path) -> str:
    """A URL to an empty, fully migrated database of its own."""
    if PG_URL:
        _empty_postgres(template_url)
        return template_url
    path = tmp_path / "canvass.db"
    shutil.copy(template_url, path)
    return f"sqlite:///{path}"


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per test process, shared by every test's app (Jinja checks each template's source
    against its checksum, so an edited template is compiled again)."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


def _remember_url_builders() -> None:
    """Werkzeug compiles each route's URL builder from a syntax tree whenever an app is made: 0.18 s of the 0.2 s
    that creating an app took, and the tests make about a thousand apps. A builder depends only on its rule's parts
    and defaults (converters are looked up on the rule it is bound to), so one compiled per process serves all."""
    compile_builder = Rule._compile_builder
    compiled: dict[tuple, Callable] = {}

    def remembered(self: Rule, append_unknown: bool = True) -> Callable:
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown,
               tuple((name, type(converter)) for name, converter in self._converters.items()))
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = remembered


_remember_url_builders()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"MODE": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False, "JOB_THREADS": 0,
                      "EXPORT_FOLDER": str(tmp_path / "exports")})
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    app.test_client_class = FlaskLoginClient
    yield app
    app.extensions["canvass.engine"].dispose()


def set_clock(app, instant) -> None:
    """Sets the app's clock (what CANVASS_CLOCK_START does for a server) to read ``instant`` now."""
    from canvass.models import utcnow

    app.extensions["canvass.clock_offset"] = instant - utcnow()


@pytest.fixture
def engine(app):
    return app.extensions["canvass.engine"]


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(app):
    return app.test_client()


def make_user(session: Session, role: Role | str = Role.volunteer, email: str | None = None, **overrides):
    email = email or f"{Role(role).value}{make_user.counter}@example.org"
    make_user.counter += 1
    user = accounts.create_user(session, email, role, password=overrides.pop("password", PASSWORD), **overrides)
    session.commit()
    return user


make_user.counter = 1


@pytest.fixture
def admin(session):
    return make_user(session, Role.admin, "admin@example.org")


@pytest.fixture
def lead(session):
    return make_user(session, Role.lead, "lead@example.org")


@pytest.fixture
def data_staff(session):
    return make_user(session, Role.data, "data@example.org")


@pytest.fixture
def volunteer(session):
    return make_user(session, Role.volunteer, "volunteer@example.org")


@pytest.fixture
def campaign(session):
    campaign = campaigns.create_campaign(session, "Test campaign", "test")
    session.commit()
    return campaign


def walkable_turf(session: Session, campaign, volunteer, people: Path | None = None, *, by: str = "street",
                  target: int = 10) -> Turf:
    """The first turf cut from the campaign's people (the voter file ``people`` is imported first when given),
    assigned to ``volunteer`` so they can walk it. Commits."""
    if people is not None:
        importing.import_file(session, campaign, people)
    turf = session.get(Turf, turfs.cut_turfs(session, campaign, Universe(), by=by, target=target)[0])
    turfs.assign_turf(session, turf, volunteer)
    session.commit()
    return turf


def login(client, user, password: str = PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password})


@pytest.fixture
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"


SHARED_DATA = Path(__file__).resolve().parents[1] / "imports"  # copies of ../shared/data, with SOURCES.md


# ------------------------------------------------------------------------------------------------------------------
# Real headless Chromium (Debian's package; Playwright drives it, nothing is downloaded)

CHROMIUM = os.environ.get("CANVASS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture
def live_server(app):
    """The app served over HTTP from a thread, for the browser tests. Yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False  # so server_close() waits for requests still running before the engine goes
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CANVASS_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium is required (CANVASS_REQUIRE_BROWSER) but {CHROMIUM} is missing.")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A browser context the size of a small Android phone (360 px wide)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    yield context
    context.close()


def screenshot(page, name: str) -> None:
    """Saves a full-page screenshot into CANVASS_SCREENSHOTS (when set) for a person to look at."""
    folder = os.environ.get("CANVASS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def browser_login(page, base_url: str, user, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
