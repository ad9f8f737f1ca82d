"""The sign-in forms: logging in, setting a password from a link, choosing the interface language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from canvass import accounts
from canvass.models import LANGUAGE_NAMES
from canvass.web.forms import Form, at_most

LANGUAGE_CHOICES = [SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()]


class LoginForm(Form):
    email = EmailField(_l("Email"), [DataRequired(_l("Give your email address.")), at_most(254)])
    password = PasswordField(_l("Password"), [DataRequired(_l("Give your password."))])


class SetPasswordForm(Form):
    name = StringField(_l("Your name"), [at_most(120)])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES,
                           invalid_choice_message=_l("Choose one from the list."))
    password = PasswordField(_l("New password"), [
        DataRequired(_l("Choose a password.")),
        Length(min=accounts.MIN_PASSWORD_LENGTH, message=_l("At least %(min)s characters.",
                                                            min=accounts.MIN_PASSWORD_LENGTH))])
    confirm = PasswordField(_l("Repeat the password"), [
        DataRequired(_l("Type the password again.")), EqualTo("password", _l("The two passwords differ."))])


class LanguageForm(Form):
    """The footer's language picker (drawn by base.html on every page); ``lang`` takes the app's languages."""

    lang = SelectField(choices=LANGUAGE_CHOICES)
    next = HiddenField()
