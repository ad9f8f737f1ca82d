"""A contact as the door page and the caller's screen post it (one person's result, survey answers, notes,
follow-ups), and the door's other forms: "nobody home" for everyone at it, and someone met at the door.

The field names are the page's own (``q-<person>-<question code>`` for an answer), which the offline queue reads
too (static/offline.js). ``ContactIn`` then checks every value again, as it does for the sync API."""

from __future__ import annotations

import uuid
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    Field,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import UUID, DataRequired, Optional, ValidationError

from canvass.contact_input import MAX_NOTES, ContactIn
from canvass.models import LANGUAGE_NAMES, Channel, QuestionKind
from canvass.web.forms import Form, PickOne, PickSome, Switch, at_most
from canvass.web.forms.universe import TAMPERED

NOT_IN_LIST = _l("Choose one from the list.")


class ContactForm(Form):
    """Drawn per page by ``contact_form`` with the campaign's survey and follow-ups."""

    client_uuid = HiddenField(validators=[Optional(), UUID(TAMPERED)])
    result = StringField(validators=[DataRequired(_l("Tap a result.")), at_most(16)])
    notes = TextAreaField(_l("Notes"), [at_most(MAX_NOTES)])
    language_heard = SelectField(_l("Language they spoke"), [Optional()], invalid_choice_message=NOT_IN_LIST,
                                 choices=[SelectChoice("", "—")] + [SelectChoice(c, n) for c, n in LANGUAGE_NAMES.items()])
    followups = PickSome(_l("Follow up"))
    for_person = 0
    survey: list[dict[str, Any]] = []

    def contact(self, *, channel: Channel, person_id: int | None, household_id: int | None = None,
                turf_id: int | None = None, phone_id: int | None = None) -> ContactIn:
        """The contact the fields describe (``ValueError`` when ``ContactIn`` refuses a value). Its UUID is the one
        the page was drawn with, so a form sent twice (a double tap, a retry on a weak signal) stores one contact."""
        return ContactIn(
            client_uuid=self.client_uuid.data or uuid.uuid4(), person_id=person_id, household_id=household_id,
            turf_id=turf_id, phone_id=phone_id, channel=channel, result_code=self.result.data.strip(),
            answers=self.answers(), notes=self.notes.data or "", language_heard=self.language_heard.data or "",
            followups=self.followups.data or [])

    def answers(self) -> dict[str, Any]:
        """The survey answers given, by question code."""
        answers = {}
        for question in self.survey:
            value = self[answer_name(self.for_person, question["code"])].data
            if isinstance(value, str):
                value = value.strip()
            if value:
                answers[question["code"]] = value
        return answers


def answer_name(person_id: int, code: str) -> str:
    return f"q-{person_id}-{code}"


def contact_form(survey: list[dict[str, Any]], followups: list[dict[str, Any]], person_id: int | None,
                 **formdata) -> ContactForm:
    """The contact form for one person, with a field per survey question (its options the only answers taken) and
    the campaign's follow-up tags the only ones that can be ticked."""
    fields: dict[str, Any] = {"for_person": person_id or 0, "survey": survey}
    for question in survey:
        options = [SelectChoice(o["code"], o["label"]) for o in question["options"]]
        if question["kind"] == QuestionKind.text.value:
            field = StringField(question["text"], [at_most(MAX_NOTES)])
        elif question["kind"] == QuestionKind.multi.value:
            field = SelectMultipleField(question["text"], choices=options, invalid_choice_message=NOT_IN_LIST)
        else:
            field = SelectField(question["text"], [Optional()], choices=options, invalid_choice_message=NOT_IN_LIST)
        fields[answer_name(person_id or 0, question["code"])] = field
    form = type("PersonContactForm", (ContactForm,), fields)(**formdata)
    form.followups.choices = [SelectChoice(tag["id"], tag["name"]) for tag in followups]
    return form


class UuidList(Field):
    """UUIDs a page was drawn with, one hidden field each under the same name."""

    def process_formdata(self, valuelist):
        self.data = list(valuelist)

    def pre_validate(self, form):
        try:
            [uuid.UUID(value) for value in self.data or [] if value]
        except ValueError:
            raise ValidationError(TAMPERED) from None


class DoorPersonForm(Form):
    """Whose result a door's form carries (a person listed at this door), and whether a result that asks for it
    (deceased) was confirmed."""

    person_id = PickOne(message=_l("This person is not listed at this door any more. Load the page again."))
    confirm = Switch()


class DoorOptOutForm(Form):
    """Someone at the door asked not to be contacted: whose name the button was under."""

    person_id = IntegerField(validators=[DataRequired(_l("Load the page again and tap the button under the name."))])


class NobodyHomeForm(Form):
    result = StringField(default="NH", validators=[DataRequired(_l("Tap a result.")), at_most(16)])
    client_uuid = UuidList()


class AddPersonForm(Form):
    first_name = StringField(_l("First name"), [at_most(80)])
    last_name = StringField(_l("Last name"), [at_most(80)])
    language = SelectField(_l("Language"), [Optional()], invalid_choice_message=NOT_IN_LIST,
                           choices=[SelectChoice("", "—")] + [SelectChoice(c, n) for c, n in LANGUAGE_NAMES.items()])


def posted(*forms: Form) -> list[tuple[str, str]]:
    """What the forms were sent, name and value, to send again from a confirmation (the deceased question)."""
    return [(item.name, value) for form in forms for item in form if item.name != "csrf_token"
            for value in (item.raw_data or [])]
