"""The pages' forms, one module per area (``forms/turfs.py`` for ``web/turfs.py``), and what they share: a base
class whose every message is in the reader's language, fields for the app's own words and for ids picked from a
list, and the way a domain error is shown in the form that caused it.

A form parses and checks what a page posts; the domain function it feeds decides the rest and raises a
``UserError`` (shown beside the form by ``refuse``). Which ids a list may hold is the view's to say, from what the
access rules let the user see (``canvass.access``), by setting the field's choices before validating.
"""

from __future__ import annotations

from flask import flash
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import Length, NumberRange, Optional, StopValidation
from wtforms.widgets import Select, html_params

from canvass.i18n import N_, UserError
from canvass.web.language import said

#: WTForms' own messages that a field can still produce (a number that is not one, a date that is not one), kept
#: in the app's catalogs: WTForms ships no Vietnamese.
BUILT_IN_MESSAGES = (N_("Not a valid integer value."), N_("Not a valid date value."), N_("Not a valid time value."),
                     N_("Not a valid datetime value."), N_("Not a valid choice."), N_("This field is required."),
                     N_("Invalid Choice: could not coerce."))


class _Catalog:
    """WTForms asks its form's meta for gettext/ngettext: the app's catalogs, in the page's language."""

    @staticmethod
    def gettext(text: str) -> str:
        return gettext(text)

    @staticmethod
    def ngettext(singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)


class Form(FlaskForm):
    """A page's form (CSRF-checked, as every POST is): all its messages, WTForms' included, in the reader's
    language."""

    class Meta:
        def get_translations(self, form):
            return _Catalog()

    def refuse(self, error: UserError) -> None:
        """Shows a domain error (``UserError``) at the top of this form, in the reader's language."""
        self.form_errors.append(error.in_language(gettext))

    @property
    def has_errors(self) -> bool:
        return bool(self.form_errors or any(f.errors for f in self))


def flash_errors(form: Form) -> None:
    """What is wrong with a form drawn as a button (nothing to type, so nothing to show beside a field), as a
    message on the page it returns to."""
    for message in [*form.form_errors, *(m for item in form for m in item.errors)]:
        flash(str(message), "error")


class Switch(BooleanField):
    """On or off, as a checkbox sends it (``1`` or nothing) or a button's hidden field does (``1`` or ``0``)."""

    false_values = (False, "false", "0", "")


def words(value) -> str:
    """One of the app's own words (a role, a channel, a status) as a choice in a list: "Field lead", not "lead"."""
    text = said(value)
    return text[:1].upper() + text[1:]


def word_choices(values) -> callable:
    """Choices of the app's own words, said in the reader's language when the form is drawn."""
    return lambda: [SelectChoice(str(getattr(v, "value", v)), words(v)) for v in values]


class _ValueFirst(Select):
    """A drop-down whose options read ``<option value="3" selected>``, as the app's hand-written pickers do (WTForms
    sorts the attributes, putting ``selected`` first), so a script reading the page finds the chosen id the same
    way on every page."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        chosen = " selected" if choice.selected else ""
        return Markup(f'<option {html_params(value=choice.value, **(choice.render_kw or {}), **kwargs)}{chosen}>'
                      f"{escape(choice.label or choice.value)}</option>")


class PickOne(SelectField):
    """One row picked by id from a list the view fills (``field.choices``); an id not in the list is refused."""

    widget = _ValueFirst()

    def __init__(self, label=None, validators=None, *, message=None, **kwargs):
        message = message or _l("Choose one from the list.")
        super().__init__(label, validators, coerce=int, choices=[], invalid_choice_message=message,
                         invalid_value_message=message, **kwargs)


class PickSome(SelectMultipleField):
    """Rows ticked by id (checkboxes), from a list the view fills; an id not in the list is refused."""

    def __init__(self, label=None, validators=None, *, message=None, **kwargs):
        message = message or _l("Tick only what the list shows.")
        super().__init__(label, validators, coerce=int, choices=[], invalid_choice_message=message,
                         invalid_value_message=message, **kwargs)


class _Within(NumberRange):
    """NumberRange, silent when the value was no number at all (the field already said so)."""

    def __call__(self, form, field):
        if field.process_errors:
            raise StopValidation()
        super().__call__(form, field)


def whole_number(label, low: int, high: int, *, required: bool = False, message=None, **kwargs) -> IntegerField:
    """A whole number between ``low`` and ``high``, said so in the message when it is not."""
    message = message or _l("A whole number from %(low)s to %(high)s.", low=low, high=high)
    return IntegerField(label, [_Within(low, high, message=message)] if required else
                        [Optional(), _Within(low, high, message=message)],
                        invalid_value_message=message, **kwargs)


def at_most(characters: int) -> Length:
    return Length(max=characters, message=_l("At most %(max)s characters.", max=characters))
