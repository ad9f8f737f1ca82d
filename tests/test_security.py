"""CSRF on every form, cookie flags, response headers, and the production secret-key guard."""

import pytest

from canvass.app import create_app
from canvass.config import ConfigError
from tests.conftest import PASSWORD


@pytest.fixture
def csrf_app(database_url, tmp_path):
    app = create_app({"MODE": "testing", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": "test-secret", "JOB_THREADS": 0})
    yield app
    app.extensions["canvass.engine"].dispose()


def test_login_without_csrf_token_is_rejected(csrf_app, volunteer):
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": volunteer.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form expired or was sent from elsewhere" in response.get_data(as_text=True)
    assert client.get("/my").status_code == 302


def test_login_with_csrf_token_from_the_form_works(csrf_app, volunteer):
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post("/login", data={"email": volunteer.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_every_form_route_rejects_a_post_without_csrf_token(csrf_app, admin):
    """Walks the URL map, so a route added later without CSRF protection fails this test."""
    client = csrf_app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = admin.get_id()
    exempt = {"static"}
    checked = 0
    for rule in csrf_app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in exempt:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "x").replace(f"<string:{arg}>", "x")
        response = client.post(url, data={})
        assert response.status_code == 400, f"{rule.endpoint} accepted a POST without a CSRF token"
        checked += 1
    assert checked >= 6


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_production_refuses_the_default_secret_key(tmp_path, database_url):
    with pytest.raises(ConfigError, match="Refusing to start in production with the default secret key"):
        create_app({"MODE": "production", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})


def test_production_cookies_are_secure_and_http_only(tmp_path, database_url, volunteer):
    app = create_app({"MODE": "production", "SECRET_KEY": "x" * 40, "DATABASE_URL": database_url,
                      "INSTANCE_PATH": str(tmp_path), "WTF_CSRF_ENABLED": False})
    response = app.test_client().post("/login", data={"email": volunteer.email, "password": PASSWORD},
                                      base_url="https://canvass.example.org")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("canvass_session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Strict-Transport-Security" in response.headers
    app.extensions["canvass.engine"].dispose()


def test_development_mode_makes_its_own_secret(tmp_path, database_url):
    app = create_app({"MODE": "development", "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)})
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert len(app.config["SECRET_KEY"]) == 64
    app.extensions["canvass.engine"].dispose()


def test_pages_with_data_are_not_cached(app, volunteer):
    response = app.test_client(user=volunteer).get("/my")
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_page_and_api_errors(client):
    assert "This page does not exist" in client.get("/nowhere").get_data(as_text=True)
    assert client.get("/api/v1/nowhere").get_json() == {"error": "This page does not exist, or it is not yours to see."}
