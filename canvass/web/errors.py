"""Error pages: a sentence in the reader's language for every refusal, and a 503 that never touches the database."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request, session
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError


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
