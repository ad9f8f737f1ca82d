"""The reader's language: choosing it, and showing the app's stored English (job messages, import problems, its
closed vocabularies) in it."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask_babel import Babel
from flask_babel import gettext as _
from flask_login import current_user

from canvass.paths import PACKAGE_DIR

babel = Babel()


def init_i18n(app: Flask) -> None:
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


def said(value) -> str:
    """One of the app's own stored words (a role, a status, a kind) as the reader says it."""
    from canvass.i18n import VOCABULARY

    text = str(getattr(value, "value", value) or "")
    return _(VOCABULARY[text]) if text in VOCABULARY else text
