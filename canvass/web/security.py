"""Who is signed in, and what reaches the app: login sessions, CSRF, the trusted proxy, response headers, role
checks, safe redirects, and requests nobody types."""

from __future__ import annotations

import hmac
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, session, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from canvass import access
from canvass.models import Role, User
from canvass.web.database import db

csrf = CSRFProtect()
login_manager = LoginManager()

#: The page each role lands on after logging in.
HOME_ENDPOINTS = {Role.admin: "home.admin", Role.lead: "home.lead", Role.data: "home.data",
                  Role.volunteer: "home.volunteer"}


def init_proxy(app: Flask) -> None:
    """Behind the trusted proxy, the client's address and scheme are the ones it forwards (its last X-Forwarded-For
    entry: the one it added itself). From anywhere else those headers are ignored: a client cannot pick the address
    its failed logins are counted against."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    trusted = {address.strip() for address in app.config["FORWARDED_ALLOW_IPS"].split(",") if address.strip()}
    direct = app.wsgi_app
    forwarded = ProxyFix(direct, x_for=1, x_proto=1)

    def wsgi_app(environ, start_response):
        chosen = forwarded if environ.get("REMOTE_ADDR") in trusted else direct
        return chosen(environ, start_response)

    app.wsgi_app = wsgi_app


def init_security(app: Flask) -> None:
    secure = bool(app.config["COOKIE_SECURE"])
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="canvass_session",
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_DURATION=timedelta(days=14), PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        WTF_CSRF_TIME_LIMIT=None,  # a volunteer's form may sit open for hours on a porch; the session bounds it
        WTF_CSRF_SSL_STRICT=secure,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # "basic": a phone moving from wifi to cellular keeps its session; "strong" would log volunteers out mid-turf.
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    app.before_request(enforce_page_rules)
    app.after_request(_security_headers)


def _load_user(session_id: str) -> User | None:
    user_id, _, key = session_id.partition(".")
    if not user_id.isdigit():
        return None
    user = db().get(User, int(user_id))
    return user if user is not None and _still_signed_in(user.is_active, user.sign_in_key, key) else None


def _still_signed_in(active: bool, sign_in_key: str | None, key: str) -> bool:
    """A session counts while its user is active and its key is the user's current one (see User.sign_in_key)."""
    return active and bool(sign_in_key) and hmac.compare_digest(sign_in_key, key)


def signed_in_claim() -> tuple[int, str] | None:
    """The user id and sign-in key the login session claims, not yet checked against the database.

    For a route that reads the user in its own first statement (the sync API) instead of through Flask-Login's
    loader; it must then check the row with ``signed_in_user``. A session without the claim falls back on
    Flask-Login, which may sign the user in again from the remember-me cookie."""
    user_id, _, key = str(session.get("_user_id") or "").partition(".")
    if user_id.isdigit():
        return int(user_id), key
    if current_user.is_authenticated:
        return current_user.id, current_user.sign_in_key
    return None


def signed_in_user(row, key: str):
    """The user row (id, role, active, key = sign-in key) if it still matches the claim: the same test as
    ``_load_user``. None means the session no longer counts (deactivated, password changed, logged out, deleted)."""
    return row if row is not None and _still_signed_in(row.active, row.key, key) else None


CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'")


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(self), microphone=()")
    if current_app.config["COOKIE_SECURE"]:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if session.get("_user_id"):  # signed in (read from the cookie: the database may be the thing that is down)
        response.headers.setdefault("Cache-Control", "no-store")  # pages with voter data stay off shared caches
    return response


def safe_next(target: str | None) -> str | None:
    """A "come back here" address from a form or query, only if it is a path on this site (never another site,
    which would make the app an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target) else target


def enforce_page_rules():
    """Every request, before its page: the role rule of ``access.PAGES`` (403, or the login page when signed out).
    Objects (a turf, a call list) are checked by each page's load helper, which answers 404."""
    if request.endpoint is None:  # no such page: the router answers 404
        return None
    rule = access.PAGES.get(request.endpoint)
    if rule is not None and (rule.public or rule.checked_by_the_page):
        return None  # without loading the user: static files, the health check, the sync API's own check
    allowed = access.may_use(request.endpoint, current_user)
    if allowed is None:
        return current_app.login_manager.unauthorized()
    if not allowed:
        abort(403)
    return None


def refuse_nul_characters():
    """Nobody types a NUL character; PostgreSQL refuses it in text. A request carrying one, in its address, query or
    form, is answered 400 before any page sees it."""
    values = [request.path, *request.args.values(), *(request.form.values() if request.form else ())]
    if any("\x00" in value for value in values):
        abort(400)


def home_url(user: User | None = None) -> str:
    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return url_for("auth.login")
    return url_for(HOME_ENDPOINTS[Role(user.role)])
