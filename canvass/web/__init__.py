"""The web layer: Flask glue around the domain modules. Each area has its blueprint in this package."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, g, has_request_context, render_template, request, session
from flask_babel import Babel, force_locale, format_datetime, format_decimal
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from werkzeug.routing import IntegerConverter

from canvass.db import make_engine, reader, writer
from canvass.models import LANGUAGE_NAMES, Role, User

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()

#: The page each role lands on after logging in.
HOME_ENDPOINTS = {Role.admin: "home.admin", Role.lead: "home.lead", Role.data: "home.data",
                  Role.volunteer: "home.volunteer"}


# ------------------------------------------------------------------------------------------------------------------
# Database: one session per request, opened on first use; views commit once.


def init_database(app: Flask) -> None:
    app.extensions["canvass.engine"] = make_engine(app.config["DATABASE_URL"])

    @app.teardown_appcontext
    def close_session(_exc) -> None:
        db_session = g.pop("db_session", None)
        if db_session is not None:
            db_session.close()


def engine():
    return current_app.extensions["canvass.engine"]


def db() -> Session:
    """The request's session (see canvass.db for the rule): a GET only reads; any other method may write."""
    if "db_session" not in g:
        reads_only = not has_request_context() or request.method in ("GET", "HEAD", "OPTIONS")
        g.db_session = Session(reader(engine()) if reads_only else writer(engine()), expire_on_commit=False)
    return g.db_session


# ------------------------------------------------------------------------------------------------------------------
# Security: login sessions, CSRF on every form, cookie flags, response headers.


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
    app.after_request(_security_headers)


def _load_user(session_id: str) -> User | None:
    user_id, _, stamp = session_id.partition(".")
    if not user_id.isdigit():
        return None
    user = db().get(User, int(user_id))
    return user if user is not None and _still_signed_in(user.is_active, user.sign_in_key, stamp) else None


def _still_signed_in(active: bool, sign_in_key: str | None, key: str) -> bool:
    """A session counts while its user is active and its key is the user's current one (see User.sign_in_key)."""
    return active and bool(sign_in_key) and hmac.compare_digest(sign_in_key, key)


def signed_in_claim() -> tuple[int, str] | None:
    """The user id and session stamp the login session claims, not yet checked against the database.

    For a route that reads the user in its own first statement (the sync API) instead of through Flask-Login's
    loader; it must then check the row with ``signed_in_user``. A session without the claim falls back on
    Flask-Login, which may sign the user in again from the remember-me cookie."""
    user_id, _, stamp = str(session.get("_user_id") or "").partition(".")
    if user_id.isdigit():
        return int(user_id), stamp
    if current_user.is_authenticated:
        return current_user.id, current_user.sign_in_key
    return None


def signed_in_user(row, stamp: str):
    """The user row (id, role, active, stamp = sign-in key) if it still matches the claim: the same test as
    ``_load_user``. None means the session no longer counts (deactivated, password changed, logged out, deleted)."""
    return row if row is not None and _still_signed_in(row.active, row.stamp, stamp) else None


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


def form_object(model, field: str):
    """The row a form field names by id: 400 when the field is missing or not a number, 404 when no such row."""
    object_id = request.form.get(field, type=int)
    if object_id is None:
        abort(400, description=_("The form is missing “%(field)s”.", field=field))
    return db().get(model, object_id) or abort(404)


def safe_next(target: str | None) -> str | None:
    """A "come back here" address from a form or query, only if it is a path on this site (never another site,
    which would make the app an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target) else target


def role_required(*roles: Role):
    """Lets only these roles through (403 for the rest; anonymous users go to the login page)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


STAFF = (Role.admin, Role.lead, Role.data)
LEADS = (Role.admin, Role.lead)


# ------------------------------------------------------------------------------------------------------------------
# Languages and display formats


def init_i18n(app: Flask) -> None:
    from canvass.app import PACKAGE_DIR
    from canvass.i18n import compile_catalogs

    try:
        compile_catalogs()  # a checkout run without reinstalling; an install has compiled them already
    except OSError:
        app.logger.warning("message catalogs could not be compiled (read-only install?)")

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PACKAGE_DIR / "translations"))
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config["TIMEZONE"]
    babel.init_app(app, locale_selector=select_locale)


def select_locale() -> str:
    offered = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in offered:
        return chosen
    if current_user.is_authenticated and current_user.language in offered:
        return current_user.language
    return request.accept_languages.best_match(offered) or "en"


def page_language() -> str:
    """The language this page is shown in (the one chosen, else the user's, else the browser's): what a campaign's
    own texts (result names, survey, scripts) are shown in, so a page never mixes two languages."""
    return select_locale()


def local_time(value: datetime | None) -> datetime | None:
    """A stored UTC time in the organization's time zone."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def translated(text: str | None) -> str:
    """A text stored in English (a job's progress, an import's error), in the viewer's language when the catalogs
    hold it (texts marked N_). Not Jinja's _(): that marks the result safe and %-formats it, and a failure can quote
    a file's own text."""
    return _(text) if text else ""


def problem_text(problem: dict) -> str:
    """A row problem of an import in the viewer's language. (Problems stored before templates were kept have the
    English sentence only; it is shown as it is.)"""
    from canvass.importing.problems import problem_sentence

    return problem_sentence(problem, translated)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = lambda value, fmt="short": format_datetime(value, fmt) if value else ""
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = lambda value: f"{round(100 * (value or 0))}%"
    app.jinja_env.filters["translated"] = translated
    app.jinja_env.filters["problem_text"] = problem_text
    app.jinja_env.filters["phone"] = phone_display
    app.jinja_env.filters["said"] = said
    app.jinja_env.filters["language_name"] = lambda code: LANGUAGE_NAMES.get(code, str(code).upper())

    @app.context_processor
    def globals_for_templates():
        return {"LANGUAGE_NAMES": LANGUAGE_NAMES, "offered_languages": current_app.config["LANGUAGES"],
                "phone_types": {"cell": _("mobile"), "landline": _("landline"), "unknown": ""},
                "current_locale": select_locale(), "Role": Role, "home_url": home_url}


def said(value) -> str:
    """One of the app's own stored words (a role, a status, a kind) as the reader says it."""
    from canvass.i18n import VOCABULARY

    text = str(getattr(value, "value", value) or "")
    return _(VOCABULARY[text]) if text in VOCABULARY else text


def phone_display(e164: str | None) -> str:
    """A stored number as people dial it: (919) 555-0101 at home, +44 20 7123 4567 abroad."""
    import phonenumbers

    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 1 else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def format_number(value) -> str:
    """A count in the reader's locale (1,234 / 1.234); anything that is not a number is shown as it is."""
    if value is None or value == "":
        return ""
    try:
        return format_decimal(value)
    except (ValueError, ArithmeticError):
        return str(value)


def home_url(user: User | None = None) -> str:
    from flask import url_for

    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return url_for("auth.login")
    return url_for(HOME_ENDPOINTS[Role(user.role)])


# ------------------------------------------------------------------------------------------------------------------
# Blueprints, errors, background jobs


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id past a PostgreSQL integer names nothing, so it is a 404 here rather than
    an overflow error in the database."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def refuse_nul_characters():
    """Nobody types a NUL character; PostgreSQL refuses it in text. A request carrying one, in its address, query or
    form, is answered 400 before any page sees it."""
    values = [request.path, *request.args.values(), *(request.form.values() if request.form else ())]
    if any("\x00" in value for value in values):
        abort(400)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter  # before any route is registered
    app.before_request(refuse_nul_characters)
    from canvass.web import (
        api,
        auth,
        calling,
        campaigns,
        canvassing,
        exports,
        home,
        importing,
        people,
        turfs,
        users,
    )

    for module in (auth, home, users, campaigns, importing, people, turfs, canvassing, calling, exports, api):
        app.register_blueprint(module.bp)


def _end_broken_transaction() -> None:
    db_session = g.get("db_session")
    if db_session is None:
        return
    try:
        db_session.rollback()
    except Exception:  # the connection itself is gone: the page opens a new session if it needs one
        g.pop("db_session", None)
        current_app.logger.warning("the request's session could not be rolled back after an error")


def register_error_pages(app: Flask) -> None:
    messages = {
        400: lambda: _("The request could not be understood."),
        403: lambda: _("Your account cannot open this page."),
        404: lambda: _("This page does not exist, or it is not yours to see."),
        405: lambda: _("This page cannot be used that way."),
        409: lambda: _("This cannot be done now: the page you came from is out of date. Reload it."),
        410: lambda: _("This file is no longer here. Run the export again."),
        413: lambda: _("The file is too large to upload."),
        429: lambda: _("Too many requests. Wait a moment and try again."),
        500: lambda: _("Something went wrong on our side. Nothing you entered was lost; try again."),
    }

    def render_error(code: int, message: str | None = None):
        if code == 500:
            _end_broken_transaction()  # the page may read (the user, the language) after a failed statement
        if request.path.startswith("/api/"):
            return {"error": message or messages[code]()}, code
        return render_template("error.html", code=code, message=message or messages[code]()), code

    def own_description(exc) -> str | None:
        """A view's abort(code, description=...) message, not werkzeug's generic English one."""
        description = getattr(exc, "description", None)
        return description if description and description != type(exc).description else None

    for code in messages:
        app.register_error_handler(code, lambda exc, code=code: render_error(code, own_description(exc)))

    @app.errorhandler(OperationalError)
    def database_unavailable(exc):
        """The database is down or restarting: answer 503 without touching it again (the usual error page would
        look up the user's language in it). Phones keep their queue and send it again."""
        app.logger.warning("database unavailable (%s); answered 503", type(getattr(exc, "orig", exc)).__name__)
        offered = app.config["LANGUAGES"]
        chosen = session.get("lang") if session.get("lang") in offered else None
        lang = chosen or request.accept_languages.best_match(offered) or "en"
        with force_locale(lang):
            message = _("The app cannot reach its database for a moment. Nothing was lost: try again in a minute.")
            try_again = _("Try again")
        headers = {"Retry-After": "10"}
        if request.path.startswith("/api/"):
            return {"error": message}, 503, headers
        retry_url = request.full_path if request.method == "GET" else request.referrer or "/"
        # Straight from the Jinja environment: render_template's context processors would load the user.
        page = app.jinja_env.get_template("unavailable.html").render(lang=lang, message=message,
                                                                     try_again=try_again, retry_url=retry_url)
        return page, 503, headers

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, _("This form expired or was sent from elsewhere. Go back, reload the page and "
                                   "send it again."))


def start_job(kind: str, fn, *args, campaign_id: int | None = None):
    """Records a job, commits the request's work with it, then runs ``fn(progress, engine, *args)`` in the
    background. Returns the job."""
    from canvass import jobs

    job = jobs.create_job(db(), kind, user_id=current_user.id, campaign_id=campaign_id)
    db().commit()
    current_app.extensions["canvass.jobs"].submit(job.id, fn, engine(), *args)
    return job


def init_clock(app: Flask) -> None:
    from canvass.models import utcnow

    start = app.config["CLOCK_START"]
    app.extensions["canvass.clock_offset"] = datetime.fromisoformat(start) - utcnow() if start else timedelta(0)


def now() -> datetime:
    """The app's clock (UTC): the real time, or the time CLOCK_START set running (tests, demos)."""
    from canvass.models import utcnow

    return utcnow() + current_app.extensions["canvass.clock_offset"]


def init_jobs(app: Flask) -> None:
    from canvass.jobs import JobRunner

    app.extensions["canvass.jobs"] = JobRunner(app.extensions["canvass.engine"], threads=app.config["JOB_THREADS"])
