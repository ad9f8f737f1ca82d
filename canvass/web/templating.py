"""What templates may call: filters (dates, numbers, phones, stored words) and the names every page uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, render_template
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from canvass import opt_outs
from canvass.models import LANGUAGE_NAMES, Role
from canvass.web.language import problem_text, said, select_locale, translated
from canvass.web.security import home_url


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = lambda value, fmt="short": format_datetime(value, fmt) if value else ""
    app.jinja_env.filters["day"] = lambda value, fmt="medium": format_date(value, fmt) if value else ""
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = lambda value: f"{round(100 * (value or 0))}%"
    app.jinja_env.filters["translated"] = translated
    app.jinja_env.filters["problem_text"] = problem_text
    app.jinja_env.filters["phone"] = phone_display
    app.jinja_env.filters["said"] = said
    app.jinja_env.filters["language_name"] = lambda code: LANGUAGE_NAMES.get(code, str(code).upper())

    app.jinja_env.globals["in_language"] = in_language

    @app.context_processor
    def globals_for_templates():
        return {"LANGUAGE_NAMES": LANGUAGE_NAMES, "offered_languages": current_app.config["LANGUAGES"],
                "phone_types": {"cell": _("mobile"), "landline": _("landline"), "unknown": ""},
                "current_locale": select_locale(), "Role": Role, "home_url": home_url,
                "REASON_WORDS": opt_outs.REASON_WORDS, "SCOPE_WORDS": opt_outs.SCOPE_WORDS,
                "SOURCE_WORDS": opt_outs.SOURCE_WORDS}


#: Partials drawn once per process and language, by (template, language).
_DRAWN: dict[tuple[str, str], Markup] = {}


def in_language(template: str, context: Callable[[], dict[str, Any]] = dict) -> Markup:
    """A partial that shows nothing but the app's own words (no data, no token, no address; ``context`` makes what
    else it needs, the same for every request): what ``include`` would give, drawn once per process and language.
    The offline queue's texts cost a tenth of a door page otherwise."""
    key = (template, str(get_locale()))
    drawn = _DRAWN.get(key)
    if drawn is None:
        drawn = Markup(render_template(template, **context()))
        if not current_app.jinja_env.auto_reload:  # a template edited while the server runs shows at once
            _DRAWN[key] = drawn
    return drawn


def local_time(value: datetime | None) -> datetime | None:
    """A stored UTC time in the organization's time zone."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


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
