"""End-to-end harness: the app run as people run it, in a process of its own, driven by headless Chromium.

On SQLite the server is ``canvass serve`` (the development server people start on a laptop); with
``CANVASS_TEST_DATABASE_URL`` set to PostgreSQL it is gunicorn with ``canvass/gunicorn_conf.py`` in production mode.
Background jobs run in the server's own threads; nothing is inline. Each test gets a fresh demo (or an empty,
initialised database) of its own, copied from one built per test worker.

The one departure from production: cookies are not marked Secure, because the browser talks plain HTTP on loopback
(in production a TLS proxy sits in front, see the README).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from canvass import db
from tests.conftest import PG_URL

VENV_BIN = Path(sys.executable).parent
DEMO_PASSWORD = "canvass-demo"
PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


# ------------------------------------------------------------------------------------------------------------------
# Databases: one template per worker, a copy per test


def _pg_server_url(name: str) -> str:
    return sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _pg_admin(statement: str) -> None:
    engine = db.make_engine(_pg_server_url("postgres"), poolclass=sa.pool.NullPool)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(statement)
    engine.dispose()


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a server or command gets: the developer's CANVASS_* settings never leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVASS_")}
    env.update(extra)
    return env


@dataclass
class Template:
    url: str
    kind: str  # "demo" or "empty"


class Databases:
    """Builds templates once per worker and hands out fresh copies; drops what it made (PostgreSQL)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.templates: dict[str, Template] = {}
        self.made: list[str] = []
        self.tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def template(self, kind: str) -> Template:
        if kind not in self.templates:
            url = self._new_url(f"template_{kind}")
            env = clean_env(CANVASS_INSTANCE_PATH=str(self.folder / "instance"), CANVASS_DATABASE_URL=url,
                            CANVASS_MODE="development")
            if kind == "demo":
                _run([str(VENV_BIN / "canvass"), "demo", "--no-serve", "--database", url, "--json"], env)
            else:
                _run([str(VENV_BIN / "canvass"), "init"], env)
                self._add_admin(env)
            if not PG_URL:
                engine = db.make_engine(url)
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                engine.dispose()
            self.templates[kind] = Template(url, kind)
        return self.templates[kind]

    def _add_admin(self, env: dict[str, str]) -> None:
        done = subprocess.run([str(VENV_BIN / "canvass"), "user", "add", "admin@example.org", "--role", "admin",
                               "--password-stdin"], env=env, input=DEMO_PASSWORD + "\n", capture_output=True,
                              text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(done.stderr)

    def copy(self, kind: str) -> str:
        template = self.template(kind)
        url = self._new_url(f"{kind}_{len(self.made)}")
        if PG_URL:
            source = sa.engine.make_url(template.url).database
            _pg_admin(f'CREATE DATABASE "{sa.engine.make_url(url).database}" TEMPLATE "{source}"')
        else:
            shutil.copy(sa.engine.make_url(template.url).database, sa.engine.make_url(url).database)
        return url

    def _new_url(self, name: str) -> str:
        if PG_URL:
            database = f"e2e_{self.tag}_{name}"
            if name.startswith("template"):
                _pg_admin(f'CREATE DATABASE "{database}"')
            self.made.append(database)
            return _pg_server_url(database)
        self.made.append(name)
        return f"sqlite:///{self.folder / (name + '.db')}"

    def drop_all(self) -> None:
        if PG_URL:
            for database in reversed(self.made):
                _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# ------------------------------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running app: its address, its database (for checking what was stored) and its log."""

    base_url: str
    database_url: str
    folder: Path
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    _engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = db.make_engine(self.database_url, poolclass=sa.pool.NullPool)
        return self._engine

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def cli(self, *args: str, input: str | None = None) -> str:
        """A `canvass` command against this server's database, as data staff would run it beside the app."""
        done = subprocess.run([str(VENV_BIN / "canvass"), *args], env=self.env, input=input, capture_output=True,
                              text=True, timeout=300, cwd=self.folder)
        if done.returncode:
            raise RuntimeError(f"canvass {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout


def start_server(database_url: str, folder: Path, **settings: str) -> Server:
    """Starts the app the way people start it and waits until /healthz answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = clean_env(CANVASS_DATABASE_URL=database_url, CANVASS_INSTANCE_PATH=str(folder / "instance"),
                    CANVASS_EXPORT_FOLDER=str(folder / "exports"), **settings)
    if PG_URL:  # production settings, unless the test chose otherwise (a set clock needs another mode)
        env.update({"CANVASS_MODE": "production", "CANVASS_SECRET_KEY": uuid.uuid4().hex * 2,
                    "CANVASS_COOKIE_SECURE": "false", "CANVASS_BIND": f"127.0.0.1:{port}", "CANVASS_WORKERS": "2",
                    **settings})
        args = [str(VENV_BIN / "gunicorn"), "-c", "python:canvass.gunicorn_conf", "canvass.app:create_app()"]
    else:
        args = [str(VENV_BIN / "canvass"), "serve", "--port", str(port)]
    log_path = folder / "server.log"
    with log_path.open("w") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
                                   start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", database_url, folder, process, log_path, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped at start:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the server did not answer within 60 s:\n{server.log_text()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
    if server._engine is not None:
        server._engine.dispose()


def server_errors(server: Server) -> list[str]:
    """Lines of the server's log that show a failure: a traceback or an error-level record."""
    return [line for line in server.log_text().splitlines()
            if "Traceback" in line or " ERROR " in line or "[ERROR]" in line or '" 50' in line]


# ------------------------------------------------------------------------------------------------------------------
# The browser


class Phones:
    """Opens browser contexts the size of a small phone, each its own person; closes them all at the end."""

    def __init__(self, browser):
        self.browser = browser
        self.contexts = []

    def open(self, locale: str = "en-US"):
        context = self.browser.new_context(locale=locale, accept_downloads=True, **PHONE)
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        return context

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def sign_in(page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Logs in through the login page and waits for the home page."""
    page.goto(f"{base_url}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{email} could not sign in: {page.locator('main').inner_text()[:300]}"


def follow(page, target) -> None:
    """Clicks a link or a form's button and waits until the page it leads to has loaded."""
    with page.expect_navigation():
        target.click()


def choose_language(page, code: str) -> None:
    """Picks ``code`` in the page's language menu and waits for the page to load again in that language."""
    page.locator("#lang-select").select_option(code)
    follow(page, page.locator("form.lang-form button[type=submit]"))


def wait_for(fetch, expected, seconds: float = 20) -> None:
    """Reads ``fetch()`` until it gives ``expected`` (what a background job or the phone's queue stores comes a
    moment later), and fails with the last reading after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (value := fetch()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert value == expected, f"{value} != {expected}"


def menu_link(page, name: str):
    """A link of the main navigation as a phone shows it: staff open the Menu button first (volunteers have none)."""
    menu = page.locator("details.menu")
    if menu.count() and menu.is_visible():
        if menu.get_attribute("open") is None:
            menu.locator("summary").click()
        return menu.get_by_role("link", name=name, exact=True)
    return page.locator("header.top nav").first.get_by_role("link", name=name, exact=True)


def save_screenshot(page, name: str) -> None:
    """A full-page screenshot in CANVASS_SCREENSHOTS (when set), for a person to look at."""
    folder = os.environ.get("CANVASS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
