"""The turf pages' forms: cutting turf, editing one (rename, merge, move doors), assigning volunteers, joining
approval, and entering paper results."""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from wtforms import Form as Subform
from wtforms import FormField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import UUID, DataRequired, Optional, ValidationError

from canvass.contact_input import MAX_NOTES, ContactIn
from canvass.models import Channel, QuestionKind
from canvass.turfs import METHODS
from canvass.web.forms import Form, PickOne, PickSome, Switch, at_most, whole_number
from canvass.web.forms.universe import TAMPERED, UniverseForm, campaign_field

METHOD_NAMES = {"geo": _l("Map: compact turfs (streets when no coordinates)"), "precinct": _l("Precinct"),
                "zip": _l("ZIP code"), "street": _l("Street")}


class CutForm(UniverseForm):
    campaign_id = campaign_field()
    by = SelectField(_l("Cut by"), choices=[SelectChoice(m, METHOD_NAMES[m]) for m in METHODS],
                     invalid_choice_message=_l("Choose one from the list."))
    doors = whole_number(_l("Doors per turf"), 1, 10_000, required=True, default=60)


class RenameForm(Form):
    name = StringField(_l("Name"), [DataRequired(_l("Give the turf a name.")), at_most(120)])


class MergeForm(Form):
    other = PickOne(_l("Merge with"), message=_l("Choose a turf of this campaign."))


class MoveForm(Form):
    doors = PickSome(message=_l("Tick doors of this turf only."))
    target = PickOne(_l("Move the ticked doors to"), message=_l("Choose a turf of this campaign."))

    def validate_doors(self, field):
        if not field.data:
            raise ValidationError(_l("Tick the doors to move."))


class AssignForm(Form):
    user_id = PickOne(_l("Assign to"), message=_l("Choose a volunteer."))
    next = HiddenField()


class ReturnForm(Form):
    """A button whose page says where to go back to."""

    next = HiddenField()


class ApprovalForm(Form):
    required = Switch()


def paper_entry_form(doors, survey, codes) -> type[Form]:
    """The paper-entry form for this turf: one group of fields per person listed (``person_<id>-result`` and so
    on), so only the turf's own people can be entered, each result a code of the campaign and each answer an option
    of its question."""
    fields = {"uuid": HiddenField(validators=[UUID(TAMPERED)]), "notes": StringField(_l("Notes"), [at_most(MAX_NOTES)]),
              "result": SelectField(_l("Result"), [Optional()], choices=[SelectChoice("", "—")] +
                                    [SelectChoice(c.code, f"{c.code} · {c.label}") for c in codes],
                                    invalid_choice_message=_l("Choose one from the list."))}
    for question, options in survey:
        if question.kind == QuestionKind.text:
            fields[f"answer_{question.id}"] = StringField(question.code, [at_most(MAX_NOTES)])
        else:
            fields[f"answer_{question.id}"] = SelectField(question.code, [Optional()], choices=[SelectChoice("", "—")] + [
                SelectChoice(o.code, f"{o.code} · {o.label}") for o in options],
                invalid_choice_message=_l("Choose one from the list."))
    person_form = type("PersonEntry", (Subform,), fields)
    people = {f"person_{p.id}": FormField(person_form, label=f"{p.first_name} {p.last_name}")
              for door in doors for p in door.open_people}
    return type("PaperEntryForm", (PaperEntry,), {**people, "survey": survey})


class PaperEntry(Form):
    survey: list = []

    def fresh(self) -> PaperEntry:
        """A new UUID per person, so the same page sent twice stores nothing twice."""
        for entry in self._people():
            entry.form.uuid.data = str(uuid.uuid4())
        return self

    def person(self, person_id: int):
        return self[f"person_{person_id}"]

    def _people(self):
        return [item for item in self if item.name.startswith("person_")]

    def contacts(self, doors, turf_id: int) -> list[ContactIn]:
        """One contact per person whose result was filled in."""
        items = []
        for door in doors:
            for person in door.open_people:
                entry = self.person(person.id).form
                if not entry.result.data:
                    continue
                answers = {q.code: entry[f"answer_{q.id}"].data for q, _options in self.survey}
                items.append(ContactIn(
                    client_uuid=entry.uuid.data or uuid.uuid4(), person_id=person.id, household_id=door.household.id,
                    turf_id=turf_id, channel=Channel.door, result_code=entry.result.data,
                    answers={k: v for k, v in answers.items() if v}, notes=entry.notes.data or ""))
        return items
