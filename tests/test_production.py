"""The documented production command: gunicorn with several workers, a health check, logs without personal data."""

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import sqlalchemy as sa

from canvass import db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def gunicorn(database_url, tmp_path):
    port = free_port()
    env = {**os.environ, "CANVASS_DATABASE_URL": database_url, "CANVASS_SECRET_KEY": "x" * 64,
           "CANVASS_MODE": "production", "CANVASS_INSTANCE_PATH": str(tmp_path / "instance"),
           "CANVASS_BIND": f"127.0.0.1:{port}", "CANVASS_WORKERS": "2", "CANVASS_THREADS": "2"}
    with open(tmp_path / "gunicorn.log", "w+") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:canvass.gunicorn_conf",
                                    "canvass.app:create_app()"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}", tmp_path / "gunicorn.log"
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_gunicorn_serves_the_app_with_several_workers_and_a_health_check(gunicorn):
    base, log_path = gunicorn
    assert wait_for(f"{base}/healthz") == (200, b'{"status":"ok"}\n')
    status, body = wait_for(f"{base}/login?next=/people/?q=maria.lopez@example.org")
    assert status == 200 and b"csrf_token" in body
    time.sleep(0.5)  # the access log line is written after the response
    log = log_path.read_text()
    assert log.count("Booting worker") == 2
    assert '"GET /healthz" 200' in log and '"GET /login" 200' in log
    assert "maria" not in log and "127.0.0.1 -" not in log  # no query strings, no client addresses


def test_database_errors_do_not_quote_the_row_into_logs(app, caplog):
    engine = db.make_engine(app.config["DATABASE_URL"], poolclass=sa.pool.NullPool)
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as caught:
        conn.execute(sa.text("INSERT INTO person (id, campaign_id, first_name) VALUES (:id, :c, :name)"),
                     {"id": 1, "c": 999_999, "name": "Maria Lopez"})
    engine.dispose()
    assert "parameters hidden" in str(caught.value)
    with caplog.at_level(logging.ERROR):
        try:
            raise caught.value
        except sa.exc.DBAPIError:
            app.logger.exception("request failed")
            logging.getLogger("canvass.jobs").exception("job failed")
    assert "request failed" in caplog.text and "job failed" in caplog.text and "IntegrityError" in caplog.text
    assert "Maria" not in caplog.text  # PostgreSQL's "Failing row contains (..., Maria Lopez, ...)" is removed


@pytest.mark.parametrize(("path", "language"), [("/healthz", "en"), ("/api/v1/me", "es"), ("/login", "vi")])
def test_a_database_that_is_down_gets_503_with_retry_after(tmp_path, path, language):
    from flask_login import FlaskLoginClient

    from canvass.app import create_app
    from canvass.models import Role, User

    down = create_app({"MODE": "testing", "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none",
                       "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "JOB_THREADS": 0})
    down.test_client_class = FlaskLoginClient
    client = down.test_client(user=User(id=1, email="v@example.org", role=Role.volunteer, password_hash="x"))
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    text = response.get_data(as_text=True)
    assert {"en": "cannot reach its database", "es": "base de datos", "vi": "cơ sở dữ liệu"}[language] in text
    down.extensions["canvass.engine"].dispose()
