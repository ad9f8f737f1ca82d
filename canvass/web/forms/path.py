"""The volunteer path's forms: the steps a lead names (each a name, what it counts and how many), and the shift
leader marker on a roster."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask_babel import lazy_gettext as _l
from wtforms import FieldList, FormField, SelectChoice, SelectField, StringField
from wtforms import Form as Row
from wtforms.validators import ValidationError

from canvass import volunteer_path
from canvass.volunteer_path import METRIC_NAMES, Metric, Step
from canvass.web.forms import Form, Switch, at_most, whole_number


class StepRow(Row):
    """One step: left empty, it is not kept."""

    name = StringField(_l("Name of the step"), [at_most(volunteer_path.NAME_LENGTH)])
    metric = SelectField(_l("Counts"), choices=[SelectChoice(m.value, _l(METRIC_NAMES[m])) for m in Metric],
                         validate_choice=False)
    at_least = whole_number(_l("At least"), 1, volunteer_path.MOST, default=1)

    def validate_metric(self, field):
        # Checked only for a step that is kept: an empty row is left out whatever it sends.
        if (self.name.data or "").strip() and field.data not in {m.value for m in Metric}:
            raise ValidationError(_l("Choose one from the list."))


class StepsForm(Form):
    steps = FieldList(FormField(StepRow), min_entries=volunteer_path.MAX_STEPS,
                      max_entries=volunteer_path.MAX_STEPS)

    @classmethod
    def showing(cls, steps: Sequence[Step], translate: Callable[[str], str]) -> StepsForm:
        """The form filled in with the campaign's steps, the default names in the reader's language."""
        rows = [{"name": translate(s.name) if s.translated else s.name, "metric": s.metric.value,
                 "at_least": s.at_least} for s in steps]
        return cls(formdata=None, data={"steps": rows})

    def typed(self, translate: Callable[[str], str]) -> list[Step]:
        """The steps as typed, in order; rows without a name are left out."""
        return [volunteer_path.named(row.form.name.data or "", Metric(row.form.metric.data),
                                     row.form.at_least.data or 1, translate)
                for row in self.steps if (row.form.name.data or "").strip()]


class LeaderForm(Form):
    """The roster's button: marks a volunteer as the shift's leader (``leader=1``) or not (``0``)."""

    leader = Switch()


class ResetForm(Form):
    """Back to the default steps: the CSRF token is all it carries."""
